/**
 * @module
 * A PostgresBackup's status, derived only from what Metacontroller observed: the backup Job
 * (phase, start and completion times) and its Pods (the container's termination message holds
 * `pgbackrest info --output=json --set=<label>` on success, the log's tail with pgBackRest's
 * error on failure). No clock: every timestamp comes from the Job.
 */
import type { PostgresBackupStatus } from "../../shared/api/postgres-backup.ts";
import type { ObjectMap } from "../../shared/metacontroller.ts";
import { type JobState, jobState, podsOfJob } from "../../shared/observed-job.ts";
import { type BackupSet, InfoParseError, parsePgBackRestInfo } from "../../shared/pgbackrest/info.ts";
import { CONTAINER } from "../../shared/pgbackrest/job-pod.ts";

export const CONDITION = "Succeeded";
export type Phase = NonNullable<PostgresBackupStatus["phase"]>;

/** A backup or expire Job's state as the PostgresBackup's phase. */
export interface BackupJobState extends Omit<JobState, "state"> {
  phase: Phase;
}

const PHASES: Record<JobState["state"], Phase> = {
  pending: "Pending",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
};

/** The shared reader over the Job and its Pods, with the pgBackRest container's termination message. */
export function backupJobState(raw: unknown, related: ObjectMap, jobName: string): BackupJobState {
  const { state, ...rest } = jobState(raw, podsOfJob(related, jobName), CONTAINER);
  return { phase: PHASES[state], ...rest };
}

export interface BackupResult {
  set?: BackupSet;
  label?: string;
  /** Why the result could not be read (the backup itself succeeded). */
  problem?: string;
}

/** The backup set in a successful Job's termination message. */
export function backupResult(message: string | undefined): BackupResult {
  if (!message?.trim()) return { problem: "the backup Job left no termination message" };
  try {
    const stanzas = parsePgBackRestInfo(message);
    const sets = stanzas.flatMap((s) => s.repos.flatMap((r) => r.backups));
    const set = sets[sets.length - 1];
    if (set) return { set, label: set.label };
    return { problem: "pgbackrest info lists no backup set" };
  } catch (err) {
    // The message is cut to the label when the full info would not fit in 4096 bytes.
    try {
      const small = JSON.parse(message) as { label?: unknown };
      if (typeof small.label === "string") return { label: small.label };
    } catch {}
    return { problem: err instanceof InfoParseError ? err.message : String(err) };
  }
}

/** pgBackRest's ERROR lines from a log tail, or its last lines; bounded for the status. */
export function errorText(message: string | undefined, fallback?: string): string {
  const lines = (message ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /\bERROR:/.test(l));
  const text = (errors.length ? errors : lines.slice(-3)).join("\n") || fallback || "the backup Job failed";
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}

/** The result fields of a status from a backup set. */
export function resultFields(set: BackupSet | undefined, label: string | undefined): PostgresBackupStatus {
  const out: PostgresBackupStatus = {};
  if (label) out.backupLabel = label;
  if (!set) return out;
  out.backupType = set.type;
  if (set.size !== undefined) out.size = set.size;
  if (set.repoSize !== undefined) out.repoSize = set.repoSize;
  if (set.walStart) out.walStart = set.walStart;
  if (set.walStop) out.walStop = set.walStop;
  if (set.lsnStart) out.lsnStart = set.lsnStart;
  if (set.lsnStop) out.lsnStop = set.lsnStop;
  return out;
}
