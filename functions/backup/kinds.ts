/**
 * @module
 * The kinds the backup work emits or reads, picked from shared/kinds.ts. The PostgresBackup
 * controller's only child is its Job; the schedule builders' kinds (CronJob, PingSource) belong
 * to the cluster's controller.
 */
import { kindKey, pickKinds, withKind as withAnyKind } from "../../shared/kinds.ts";

export const KINDS = pickKinds("Job", "CronJob", "PingSource", "Pod", "PostgresCluster", "PostgresBackup");

export type Kind = keyof typeof KINDS;

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(kind: Kind, body: T): T & { apiVersion: string; kind: string } {
  return withAnyKind(kind, body);
}

/** The Metacontroller map key of a kind (`Job.batch/v1`). */
export function mapKey(kind: Kind): string {
  return kindKey(kind);
}
