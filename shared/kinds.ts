/**
 * @module
 * Every Kubernetes kind Tusk emits or reads, with its apiVersion and resource, and which of them
 * each CompositeController owns as children. The hooks' kind tables pick from here; the
 * controllers' `childResources` in manifests/controllers (with the update strategy given here)
 * and Metacontroller's RBAC in manifests/rbac must list exactly these, which
 * test/unit/policy/kinds.test.ts and test/unit/manifests check. A child kind missing from a
 * controller is created by Metacontroller and never observed (docs/metacontroller-contract.md §2.2).
 */
import { groupKey } from "./metacontroller.ts";

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
  Pod: { apiVersion: "v1", kind: "Pod", resource: "pods" },
  PersistentVolumeClaim: { apiVersion: "v1", kind: "PersistentVolumeClaim", resource: "persistentvolumeclaims" },
  PostgresCluster: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresCluster", resource: "postgresclusters" },
  PostgresBackup: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresBackup", resource: "postgresbackups" },
  PostgresRestore: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresRestore", resource: "postgresrestores" },
  PingSource: { apiVersion: "sources.knative.dev/v1", kind: "PingSource", resource: "pingsources" },
  PodMonitor: { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", resource: "podmonitors" },
} as const;

export type Kind = keyof typeof KINDS;
export type KindInfo = (typeof KINDS)[Kind];

/** Picks kinds from the table, for a hook's own (narrower) table. */
export function pickKinds<K extends Kind>(...kinds: K[]): { [P in K]: (typeof KINDS)[P] } {
  return Object.fromEntries(kinds.map((k) => [k, KINDS[k]])) as { [P in K]: (typeof KINDS)[P] };
}

export type Controller = "cluster" | "backup" | "restore";
export type UpdateMethod = "InPlace" | "OnDelete";

/**
 * Each controller's children and how Metacontroller updates them. Jobs are OnDelete: a Job's
 * pod template is immutable and a running Job must never be replaced by a spec change (the hooks
 * name each Job by what it runs, so new work gets a new Job). Everything else is InPlace: the
 * cluster hook itself rolls instances one at a time by changing one StatefulSet per sync.
 */
export const CHILDREN = {
  cluster: [
    ["StatefulSet", "InPlace"],
    ["Deployment", "InPlace"],
    ["Service", "InPlace"],
    ["ConfigMap", "InPlace"],
    ["Secret", "InPlace"],
    ["Job", "OnDelete"],
    ["CronJob", "InPlace"],
    ["PodDisruptionBudget", "InPlace"],
    ["ServiceAccount", "InPlace"],
    ["Role", "InPlace"],
    ["RoleBinding", "InPlace"],
  ],
  backup: [["Job", "OnDelete"]],
  restore: [["Job", "OnDelete"]],
} as const satisfies Record<Controller, readonly (readonly [Kind, UpdateMethod])[]>;

/**
 * Children only overlays declare, because their CRDs may be absent and Metacontroller refuses a
 * controller whose child resource it cannot discover: knative/ adds PingSource (scheduled backups
 * through Knative), manifests/components/prometheus-operator adds PodMonitor.
 */
export const OPTIONAL_CHILDREN = {
  cluster: [
    ["PingSource", "InPlace"],
    ["PodMonitor", "InPlace"],
  ],
  backup: [],
  restore: [],
} as const satisfies Record<Controller, readonly (readonly [Kind, UpdateMethod])[]>;

export interface ChildResource {
  apiVersion: string;
  resource: string;
  updateStrategy: { method: UpdateMethod };
}

/** A controller's `childResources`, as manifests/controllers lists them (optional ones with `optional`). */
export function childResources(controller: Controller, optional = false): ChildResource[] {
  const list: readonly (readonly [Kind, UpdateMethod])[] = [
    ...CHILDREN[controller],
    ...(optional ? OPTIONAL_CHILDREN[controller] : []),
  ];
  return list.map(([kind, method]) => ({
    apiVersion: KINDS[kind].apiVersion,
    resource: KINDS[kind].resource,
    updateStrategy: { method },
  }));
}

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(kind: Kind, body: T): T & { apiVersion: string; kind: string } {
  const { apiVersion, kind: k } = KINDS[kind];
  return { apiVersion, kind: k, ...body };
}

/** The Metacontroller map key of a kind (`StatefulSet.apps/v1`, `Secret.v1`). */
export function kindKey(kind: Kind): string {
  return groupKey(KINDS[kind].kind, KINDS[kind].apiVersion);
}
