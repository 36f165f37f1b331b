/**
 * @module
 * The kinds the backup work emits or reads, picked from shared/kinds.ts. The PostgresBackup
 * controller's only child is its Job; the schedule builders' kinds (CronJob, PingSource) belong
 * to the cluster's controller.
 */
import { pickKinds, withKind as withAnyKind } from "../../shared/kinds.ts";

export const KINDS = pickKinds("Job", "CronJob", "PingSource", "Pod", "PostgresCluster", "PostgresBackup");

export type Kind = keyof typeof KINDS;

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(kind: Kind, body: T): T & { apiVersion: string; kind: string } {
  return withAnyKind(kind, body);
}
