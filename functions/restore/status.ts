/**
 * @module
 * A PostgresRestore's status: the API fields (phase, target, backup set, timings, error) plus
 * what the restore work and the cluster's restore gate read back from it (the pinned target
 * instance, the instances reset, whether a failed restore changed data, the instance the cluster
 * may start). Every time comes from an observed Job or Pod, never from a clock.
 */
import * as z from "zod";
import { PostgresRestoreStatus } from "../../shared/api/postgres-restore.ts";

export const RestoreStatus = PostgresRestoreStatus.extend({
  repoName: z.string().optional(),
  /** The instance (StatefulSet) whose volume receives the restore, chosen once. */
  instance: z.string().optional(),
  jobName: z.string().optional(),
  timeline: z.number().int().optional(),
  lsn: z.string().optional(),
  /** The other instances whose data is cleared so they re-clone, chosen once. */
  resetInstances: z.array(z.string()).optional(),
  /** Set once Patroni's DCS and the other instances are reset: the cluster starts this instance first. */
  startInstance: z.string().optional(),
  /** On failure: whether the cluster's data may have been changed (the cluster then stays stopped). */
  dataChanged: z.boolean().optional(),
});
export type RestoreStatus = z.infer<typeof RestoreStatus>;
export type Phase = NonNullable<RestoreStatus["phase"]>;

export const TERMINAL: readonly Phase[] = ["Succeeded", "Failed"];

export function previousStatus(raw: unknown): RestoreStatus {
  const parsed = RestoreStatus.safeParse(raw ?? {});
  return parsed.success ? parsed.data : {};
}

export const CONDITION = "Succeeded";
