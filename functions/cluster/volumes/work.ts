/**
 * @module
 * The day-2 work on the cluster's PVCs in one place for sync.ts: expansion
 * (volumes/expansion.ts) and the cleanup after a scale-down (volumes/claim-cleanup.ts), with the
 * ServiceAccount, Role and RoleBinding their Jobs share (volumes/claim-access.ts). All of it is emitted
 * only while there is work, so a cluster that never resizes or scales down has none of it.
 */
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { type Part, part } from "../part.ts";
import { buildClaimRbac } from "./claim-access.ts";
import { planClaimCleanup } from "./claim-cleanup.ts";
import { expansionCondition, planVolumeExpansion } from "./expansion.ts";

export function volumeWork(model: ClusterModel, observed: ObservedCluster): Part {
  const expansion = planVolumeExpansion(model, observed);
  const cleanup = planClaimCleanup(model, observed);
  const grants = { patch: expansion.patch, delete: cleanup.delete };
  const rbac = grants.patch.length || grants.delete.length ? buildClaimRbac(model, grants) : [];
  const resizing = expansionCondition(expansion.notes, model.generation);
  return part({
    children: [...rbac, ...expansion.jobs, ...cleanup.jobs],
    jobs: [...expansion.reports, ...cleanup.reports],
    conditions: [...(resizing ? [resizing] : []), ...(cleanup.condition ? [cleanup.condition] : [])],
  });
}
