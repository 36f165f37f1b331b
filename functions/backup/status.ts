/**
 * @module
 * A PostgresBackup's status, derived only from what Metacontroller observed: the backup Job
 * (phase, start and completion times) and its Pods (the container's termination message holds
 * `pgbackrest info --output=json --set=<label>` on success, the log's tail with pgBackRest's
 * error on failure). No clock: every timestamp comes from the Job.
 */
import * as z from "zod";
import type { PostgresBackupStatus } from "../../shared/api/postgres-backup.ts";
import { type BackupSet, InfoParseError, parsePgBackRestInfo } from "../../shared/pgbackrest/info.ts";
import { CONTAINER } from "../../shared/pgbackrest/job-pod.ts";

export const CONDITION = "Succeeded";
export type Phase = NonNullable<PostgresBackupStatus["phase"]>;

const JobCondition = z.looseObject({
  type: z.string(),
  status: z.string(),
  lastTransitionTime: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

export const ObservedJob = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({}).optional(),
  status: z
    .looseObject({
      active: z.number().optional(),
      succeeded: z.number().optional(),
      failed: z.number().optional(),
      startTime: z.string().optional(),
      completionTime: z.string().optional(),
      conditions: z.array(JobCondition).optional(),
    })
    .optional(),
});
export type ObservedJob = z.infer<typeof ObservedJob>;

const Terminated = z.looseObject({
  exitCode: z.number(),
  message: z.string().optional(),
  reason: z.string().optional(),
  finishedAt: z.string().optional(),
});

export const ObservedPod = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    creationTimestamp: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    ownerReferences: z.array(z.looseObject({ kind: z.string(), name: z.string() })).optional(),
  }),
  status: z
    .looseObject({
      phase: z.string().optional(),
      containerStatuses: z
        .array(
          z.looseObject({
            name: z.string(),
            state: z.looseObject({ terminated: Terminated.optional() }).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type ObservedPod = z.infer<typeof ObservedPod>;

export interface JobState {
  phase: Phase;
  startTime?: string;
  completionTime?: string;
  /** The relevant Pod's termination message: the result on success, the error on failure. */
  message?: string;
  /** The Job's own reason when it failed without a message (BackoffLimitExceeded, DeadlineExceeded). */
  reason?: string;
}

const trueCondition = (job: ObservedJob, type: string) =>
  job.status?.conditions?.find((c) => c.type === type && c.status === "True");

/** The Pods of a Job among related Pods (by owner, else by the Job controller's label). */
export function podsOfJob(jobName: string, pods: unknown[]): ObservedPod[] {
  return pods.flatMap((raw) => {
    const pod = ObservedPod.safeParse(raw);
    if (!pod.success) return [];
    const m = pod.data.metadata;
    const owned = m.ownerReferences?.some((o) => o.kind === "Job" && o.name === jobName);
    const labelled = m.labels?.["batch.kubernetes.io/job-name"] === jobName || m.labels?.["job-name"] === jobName;
    return owned || labelled ? [pod.data] : [];
  });
}

function terminated(pod: ObservedPod) {
  const statuses = pod.status?.containerStatuses ?? [];
  return (statuses.find((c) => c.name === CONTAINER) ?? statuses[0])?.state?.terminated;
}

/** Latest finished first, then by name, so the choice never depends on list order. */
function latest(pods: ObservedPod[]): ObservedPod | undefined {
  return [...pods].sort((a, b) => {
    const fa = terminated(a)?.finishedAt ?? a.metadata.creationTimestamp ?? "";
    const fb = terminated(b)?.finishedAt ?? b.metadata.creationTimestamp ?? "";
    if (fa !== fb) return fa < fb ? 1 : -1;
    return a.metadata.name < b.metadata.name ? 1 : -1;
  })[0];
}

export function jobState(job: ObservedJob, pods: ObservedPod[]): JobState {
  const s = job.status ?? {};
  const base = s.startTime ? { startTime: s.startTime } : {};
  const complete = trueCondition(job, "Complete");
  if (complete || s.completionTime) {
    const pod = latest(pods.filter((p) => terminated(p)?.exitCode === 0));
    const completionTime = s.completionTime ?? complete?.lastTransitionTime;
    const message = pod ? terminated(pod)?.message : undefined;
    return {
      phase: "Succeeded",
      ...base,
      ...(completionTime ? { completionTime } : {}),
      ...(message ? { message } : {}),
    };
  }
  const failed = trueCondition(job, "Failed");
  if (failed) {
    const pod = latest(pods.filter((p) => (terminated(p)?.exitCode ?? 0) !== 0));
    const message = pod ? terminated(pod)?.message : undefined;
    return {
      phase: "Failed",
      ...base,
      ...(failed.lastTransitionTime ? { completionTime: failed.lastTransitionTime } : {}),
      ...(message ? { message } : {}),
      ...(failed.reason ? { reason: failed.message ? `${failed.reason}: ${failed.message}` : failed.reason } : {}),
    };
  }
  if ((s.active ?? 0) > 0 || s.startTime) return { phase: "Running", ...base };
  return { phase: "Pending" };
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
