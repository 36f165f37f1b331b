/**
 * @module
 * Observe once: everything the sync hook reads from a request, parsed into one typed structure
 * before anything is planned. Every part of the hook reads this structure and never the raw
 * children or related maps, so each observed object is parsed exactly once per sync, and a
 * newcomer finds in one place everything the hook's answer can depend on.
 */
import { observedOf, type SyncRequest } from "../../../shared/metacontroller.ts";
import { isPodOfJob, type PodObject, observedPods as relatedPods } from "../../../shared/observed-job.ts";
import { type ChildKind, OPTIONAL_KINDS } from "../objects/kinds.ts";
import { type ObservedClaim, observedClaims } from "./claims.ts";
import {
  asDesired,
  type JobState,
  jobState,
  type ObservedPod,
  type ObservedStatefulSet,
  observedChildren,
  observedInstanceStatefulSets,
  observedPods,
  observedSecretData,
} from "./observed.ts";
import { type ClusterRestore, clusterRestores } from "./restores.ts";

export interface ObservedSecret {
  /** Its data decoded to UTF-8 (keys that are not text are left out: the hook never wrote them). */
  data: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ObservedJob {
  state: Exclude<JobState, "absent">;
  /** As Metacontroller sent it: a Job is returned unchanged while it exists. */
  raw: Record<string, unknown>;
}

export interface ObservedCluster {
  /** The PostgresCluster's annotations: triggers and per-cluster choices. */
  annotations: Record<string, string>;
  /** The status the hook published last (latches such as `dataSource.restored` live there). */
  previousStatus: unknown;
  /**
   * An instance has run as a Patroni member: Patroni labels its pod with its role once it runs,
   * and the status latches it (`status.initialized`), so a cluster whose pods are all gone is
   * still known to hold data.
   */
  initialized: boolean;
  /** The CompositeController lists PodMonitors among its children (the CRD is installed). */
  podMonitorsListed: boolean;
  /** Instance Pods by name. */
  pods: Map<string, ObservedPod>;
  /** Instance StatefulSets by name (not the repository host). */
  instanceStatefulSets: Map<string, ObservedStatefulSet>;
  /** Every observed StatefulSet's name, instances and repository host alike. */
  statefulSetNames: Set<string>;
  jobs: Map<string, ObservedJob>;
  secrets: Map<string, ObservedSecret>;
  /** The cluster's PVCs by name. */
  claims: Map<string, ObservedClaim>;
  /** This cluster's PostgresRestores, oldest first. */
  restores: ClusterRestore[];
  /** A child of `kind` named `name` was observed. */
  has(kind: ChildKind, name: string): boolean;
  /** An observed child as Metacontroller sent it (for the few fields no reader above covers). */
  child(kind: ChildKind, name: string): Record<string, unknown> | undefined;
  /** The Pods of a Job (they carry the cluster label, so the customize hook asks for them). */
  jobPods(job: string): PodObject[];
  /** A related object of another kind (the data source's PostgresCluster). */
  related(kind: string, apiVersion: string, name: string): Record<string, unknown> | undefined;
  /** Every observed child, as a sync response would return it unchanged. */
  asDesired(): Record<string, unknown>[];
}

export function observeCluster(request: SyncRequest): ObservedCluster {
  const { children, related } = request;
  const everyPod = relatedPods(related);
  const jobs = new Map<string, ObservedJob>();
  for (const [name, raw] of Object.entries(observedChildren(children, "Job"))) {
    const state = jobState(children, name);
    if (state !== "absent") jobs.set(name, { state, raw });
  }
  const secrets = new Map<string, ObservedSecret>();
  for (const [name, raw] of Object.entries(observedChildren(children, "Secret"))) {
    const meta = (raw.metadata ?? {}) as { annotations?: Record<string, string> };
    secrets.set(name, { data: observedSecretData(children, name) ?? {}, annotations: meta.annotations ?? {} });
  }
  const pods = observedPods(related);
  const initialized =
    [...pods.values()].some((p) => p.role !== undefined) ||
    (request.parent.status as { initialized?: unknown } | undefined)?.initialized === true;
  return {
    annotations: request.parent.metadata.annotations ?? {},
    initialized,
    previousStatus: request.parent.status,
    podMonitorsListed: podMonitorsListed(request.controller),
    pods,
    instanceStatefulSets: observedInstanceStatefulSets(children),
    statefulSetNames: new Set(Object.keys(observedChildren(children, "StatefulSet"))),
    jobs,
    secrets,
    claims: observedClaims(related),
    restores: clusterRestores(related, request.parent.metadata.name),
    has: (kind, name) => observedChildren(children, kind)[name] !== undefined,
    child: (kind, name) => observedChildren(children, kind)[name],
    jobPods: (job) => everyPod.filter((p) => isPodOfJob(p, job)),
    related: (kind, apiVersion, name) => observedOf(related, kind, apiVersion)[name],
    asDesired: () => Object.values(children).flatMap((group) => Object.values(group).map(asDesired)),
  };
}

/** Whether the CompositeController in a sync request lists PodMonitors among its children. */
export function podMonitorsListed(controller: unknown): boolean {
  const rules = (controller as { spec?: { childResources?: unknown } } | undefined)?.spec?.childResources;
  return (
    Array.isArray(rules) &&
    rules.some(
      (r) =>
        (r as { apiVersion?: string }).apiVersion === OPTIONAL_KINDS.PodMonitor.apiVersion &&
        (r as { resource?: string }).resource === OPTIONAL_KINDS.PodMonitor.resource,
    )
  );
}
