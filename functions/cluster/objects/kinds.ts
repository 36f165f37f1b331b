/**
 * @module
 * apiVersion and kind of every object the cluster hook emits or reads, in one place. The child
 * kinds must equal the CompositeController's `childResources` (same apiVersion), or
 * Metacontroller creates objects it never observes (docs/metacontroller-contract.md §2.2).
 */
import { groupKey } from "../../../shared/metacontroller.ts";

export const KINDS = {
  StatefulSet: { apiVersion: "apps/v1", kind: "StatefulSet", resource: "statefulsets" },
  Deployment: { apiVersion: "apps/v1", kind: "Deployment", resource: "deployments" },
  Service: { apiVersion: "v1", kind: "Service", resource: "services" },
  ConfigMap: { apiVersion: "v1", kind: "ConfigMap", resource: "configmaps" },
  Secret: { apiVersion: "v1", kind: "Secret", resource: "secrets" },
  Job: { apiVersion: "batch/v1", kind: "Job", resource: "jobs" },
  CronJob: { apiVersion: "batch/v1", kind: "CronJob", resource: "cronjobs" },
  PodDisruptionBudget: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", resource: "poddisruptionbudgets" },
  ServiceAccount: { apiVersion: "v1", kind: "ServiceAccount", resource: "serviceaccounts" },
  Role: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", resource: "roles" },
  RoleBinding: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", resource: "rolebindings" },
} as const;

export type ChildKind = keyof typeof KINDS;

/** Objects the hook reads but does not own (asked for by the customize hook). */
export const RELATED = {
  Pod: { apiVersion: "v1", kind: "Pod", resource: "pods" },
  PostgresRestore: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresRestore", resource: "postgresrestores" },
  PersistentVolumeClaim: { apiVersion: "v1", kind: "PersistentVolumeClaim", resource: "persistentvolumeclaims" },
} as const;

/**
 * Children that exist only where their CRD is installed, so only overlays declare them
 * (knative/ declares PingSource for TUSK_BACKUP_SCHEDULER=knative).
 */
export const OPTIONAL_KINDS = {
  PingSource: { apiVersion: "sources.knative.dev/v1", kind: "PingSource", resource: "pingsources" },
  /** Returned only under a controller that lists it (manifests/components/prometheus-operator). */
  PodMonitor: { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", resource: "podmonitors" },
} as const;

/** The kinds a CompositeController for PostgresCluster must declare as `childResources`. */
export const CHILD_KINDS: readonly ChildKind[] = Object.keys(KINDS) as ChildKind[];

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(
  kind: ChildKind | keyof typeof OPTIONAL_KINDS,
  body: T,
): T & { apiVersion: string; kind: string } {
  const { apiVersion, kind: k } =
    kind in KINDS ? KINDS[kind as ChildKind] : OPTIONAL_KINDS[kind as keyof typeof OPTIONAL_KINDS];
  return { apiVersion, kind: k, ...body };
}

/** The Metacontroller map key of a kind (`StatefulSet.apps/v1`, `Secret.v1`). */
export function childKey(kind: ChildKind | keyof typeof RELATED): string {
  const k = kind in KINDS ? KINDS[kind as ChildKind] : RELATED[kind as keyof typeof RELATED];
  return groupKey(k.kind, k.apiVersion);
}
