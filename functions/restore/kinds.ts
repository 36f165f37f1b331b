/**
 * @module
 * The kinds the restore work emits or reads, picked from shared/kinds.ts. The PostgresRestore
 * controller's only child is its Job.
 */
import { pickKinds, withKind as withAnyKind } from "../../shared/kinds.ts";

export const KINDS = pickKinds("Job", "Pod", "PersistentVolumeClaim", "PostgresCluster", "PostgresRestore");

export type Kind = keyof typeof KINDS;

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(kind: Kind, body: T): T & { apiVersion: string; kind: string } {
  return withAnyKind(kind, body);
}
