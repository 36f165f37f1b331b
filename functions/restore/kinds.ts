/**
 * @module
 * apiVersion and kind of every object the restore work emits or reads, in one place. The
 * PostgresRestore CompositeController declares exactly `Job.batch/v1` as its child.
 */

export const KINDS = {
  Job: { apiVersion: "batch/v1", kind: "Job", resource: "jobs" },
  Pod: { apiVersion: "v1", kind: "Pod", resource: "pods" },
  PersistentVolumeClaim: { apiVersion: "v1", kind: "PersistentVolumeClaim", resource: "persistentvolumeclaims" },
  PostgresCluster: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresCluster", resource: "postgresclusters" },
  PostgresRestore: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresRestore", resource: "postgresrestores" },
} as const;

export type Kind = keyof typeof KINDS;

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(kind: Kind, body: T): T & { apiVersion: string; kind: string } {
  const { apiVersion, kind: k } = KINDS[kind];
  return { apiVersion, kind: k, ...body };
}
