/**
 * @module
 * The day-2 work on the cluster's PVCs in one place for sync.ts: expansion
 * (volumes/expansion.ts) and the cleanup after a scale-down (volumes/claim-cleanup.ts), with the
 * ServiceAccount, Role and RoleBinding their Jobs share (volumes/claim-access.ts). All of it is emitted
 * only while there is work, so a cluster that never resizes or scales down has none of it.
 */
import type { Condition } from "../../../shared/api/kube.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import { type ObservedPod, observedChildren } from "../observe/observed.ts";
import type { JobReport } from "../status.ts";
import { buildClaimRbac, observedClaims } from "./claim-access.ts";
import { planClaimCleanup } from "./claim-cleanup.ts";
import { expansionCondition, planVolumeExpansion } from "./expansion.ts";

export interface VolumeWork {
  children: Record<string, unknown>[];
  /** The Jobs' states, for the Progressing and Degraded conditions. */
  reports: JobReport[];
  conditions: Condition[];
}

export function volumeWork(
  model: ClusterModel,
  annotations: Record<string, string> | undefined,
  children: ObjectMap,
  related: ObjectMap,
  pods: Map<string, ObservedPod>,
): VolumeWork {
  const claims = observedClaims(related);
  const expansion = planVolumeExpansion(model, children, related, claims);
  const statefulSets = new Set(Object.keys(observedChildren(children, "StatefulSet")));
  const cleanup = planClaimCleanup(model, annotations, children, related, claims, statefulSets, pods);
  const grants = { patch: expansion.patch, delete: cleanup.delete };
  const rbac = grants.patch.length || grants.delete.length ? buildClaimRbac(model, grants) : [];
  const resizing = expansionCondition(expansion.notes, model.generation);
  return {
    children: [...(rbac as unknown as Record<string, unknown>[]), ...expansion.jobs, ...cleanup.jobs],
    reports: [...expansion.reports, ...cleanup.reports],
    conditions: [...(resizing ? [resizing] : []), ...(cleanup.condition ? [cleanup.condition] : [])],
  };
}
