/**
 * @module
 * apiVersion and kind of every object the backup work emits or reads, in one place. The
 * PostgresBackup CompositeController declares exactly `Job.batch/v1` as its child; the
 * schedule builders' kinds (CronJob, PingSource) belong to the cluster's controller.
 */

export const KINDS = {
  Job: { apiVersion: "batch/v1", kind: "Job", resource: "jobs" },
  CronJob: { apiVersion: "batch/v1", kind: "CronJob", resource: "cronjobs" },
  PingSource: { apiVersion: "sources.knative.dev/v1", kind: "PingSource", resource: "pingsources" },
  Pod: { apiVersion: "v1", kind: "Pod", resource: "pods" },
  PostgresCluster: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresCluster", resource: "postgresclusters" },
  PostgresBackup: { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresBackup", resource: "postgresbackups" },
} as const;

export type Kind = keyof typeof KINDS;

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(kind: Kind, body: T): T & { apiVersion: string; kind: string } {
  const { apiVersion, kind: k } = KINDS[kind];
  return { apiVersion, kind: k, ...body };
}
