/**
 * @module
 * The PostgresBackup sync hook as a pure function: one backup Job while the backup has not
 * finished, and the status read from the observed Job and its Pods.
 *
 * - Before the Job exists the cluster must exist, have the repo, and be running; otherwise the
 *   status says why (a `Succeeded=False` condition, phase Pending) and no Job is emitted. No
 *   `resyncAfterSeconds`: Metacontroller syncs again when the related cluster changes.
 * - Once the Job is observed it is returned as observed (Jobs are immutable, and a changed
 *   cluster spec must not disturb a running backup), and its progress is the status.
 * - A finished backup (Succeeded/Failed with a completion time in the status) whose Job is gone
 *   (TTL, or deleted by hand) is not run again: the status is kept and no Job is emitted.
 */

import type { V1Job } from "@kubernetes/client-node";
import { PostgresBackupSpec, PostgresBackupStatus } from "../../shared/api/postgres-backup.ts";
import { condition } from "../../shared/conditions.ts";
import { zodProblems } from "../../shared/field-path.ts";
import { asDesired, observedOf, type SyncRequest, type SyncResponse } from "../../shared/metacontroller.ts";
import { names } from "../../shared/names.ts";
import { describeRetention, retentionFor } from "../../shared/pgbackrest/config.ts";
import { backupTarget, relatedCluster } from "./cluster.ts";
import { type BackupRef, buildBackupJob } from "./job.ts";
import { KINDS } from "./kinds.ts";
import {
  type BackupJobState,
  backupJobState,
  backupResult,
  CONDITION,
  errorText,
  type Phase,
  resultFields,
} from "./status.ts";

const TERMINAL: Phase[] = ["Succeeded", "Failed"];

export function previousStatus(parent: SyncRequest["parent"]): PostgresBackupStatus {
  const parsed = PostgresBackupStatus.safeParse(parent.status ?? {});
  return parsed.success ? parsed.data : {};
}

/** The parent's spec, or the condition explaining why it is unusable. */
export function parseBackup(
  parent: SyncRequest["parent"],
): { ok: true; backup: BackupRef } | { ok: false; message: string } {
  const spec = PostgresBackupSpec.safeParse(parent.spec ?? {});
  if (!spec.success) {
    const problems = zodProblems(spec.error, ["spec"]);
    return { ok: false, message: problems.map((p) => `${p.field}: ${p.message}`).join("; ") };
  }
  return {
    ok: true,
    backup: { name: parent.metadata.name, namespace: parent.metadata.namespace ?? "default", spec: spec.data },
  };
}

export function syncBackup(req: SyncRequest): SyncResponse {
  const prev = previousStatus(req.parent);
  const parsed = parseBackup(req.parent);
  if (!parsed.ok) {
    return {
      status: {
        phase: "Failed",
        error: parsed.message,
        conditions: [condition(CONDITION, "False", "InvalidSpec", parsed.message, { previous: prev.conditions })],
      },
      children: [],
    };
  }
  const { backup } = parsed;
  const jobName = names.backupJob(backup.name);
  const observedRaw = observedOf(req.children, KINDS.Job.kind, KINDS.Job.apiVersion)[jobName];
  const lookup = relatedCluster(req.related, backup.spec.cluster, backup.namespace);
  const retention = lookup.ok
    ? describeRetention(retentionFor(lookup.cluster.spec, backup.spec.repoName))
    : prev.retention;
  const common: PostgresBackupStatus = {
    jobName,
    backupType: backup.spec.type,
    ...(retention ? { retention } : {}),
  };

  if (observedRaw) {
    const state = backupJobState(observedRaw, req.related, jobName);
    return { status: statusFromJob(state, common, prev), children: [asDesired(observedRaw)] };
  }

  if (prev.phase && TERMINAL.includes(prev.phase) && prev.completionTime) {
    // Finished, and its Job is gone: never run the same backup again.
    return { status: { ...common, ...prev }, children: [] };
  }

  if (!lookup.ok) return blocked(lookup.reason, lookup.message, common, prev);
  const target = backupTarget(lookup.cluster, backup.spec.repoName);
  if (!target.ok) return blocked(target.reason, target.message, common, prev);
  const job: V1Job = buildBackupJob(backup, lookup.cluster, target.repo);
  return {
    status: {
      ...common,
      phase: "Pending",
      conditions: [
        condition(CONDITION, "Unknown", "JobCreated", `backup Job ${jobName} requested`, { previous: prev.conditions }),
      ],
    },
    children: [job as unknown as Record<string, unknown>],
  };
}

const RESULT_KEYS = [
  "backupLabel",
  "backupType",
  "size",
  "repoSize",
  "walStart",
  "walStop",
  "lsnStart",
  "lsnStop",
] as const;

function previousResult(prev: PostgresBackupStatus): PostgresBackupStatus {
  const out: Record<string, unknown> = {};
  for (const key of RESULT_KEYS) if (prev[key] !== undefined) out[key] = prev[key];
  return out as PostgresBackupStatus;
}

function blocked(reason: string, message: string, common: PostgresBackupStatus, prev: PostgresBackupStatus) {
  return {
    status: {
      ...common,
      phase: "Pending" as const,
      conditions: [condition(CONDITION, "False", reason, message, { previous: prev.conditions })],
    },
    children: [],
  };
}

function statusFromJob(
  state: BackupJobState,
  common: PostgresBackupStatus,
  prev: PostgresBackupStatus,
): PostgresBackupStatus {
  const times = {
    ...(state.startTime ? { startTime: state.startTime } : {}),
    ...(state.completionTime ? { completionTime: state.completionTime } : {}),
  };
  switch (state.phase) {
    case "Succeeded": {
      const result = backupResult(state.message);
      // Pods can be garbage-collected before their Job; a result read earlier is kept.
      const fields =
        result.label !== undefined
          ? resultFields(result.set, result.label)
          : prev.phase === "Succeeded"
            ? previousResult(prev)
            : {};
      const message = fields.backupLabel
        ? `backup ${fields.backupLabel} completed`
        : `backup completed; its result could not be read: ${result.problem ?? "unknown"}`;
      return {
        ...common,
        ...fields,
        phase: "Succeeded",
        ...times,
        conditions: [
          condition(CONDITION, "True", "BackupComplete", message, {
            previous: prev.conditions,
            time: state.completionTime,
          }),
        ],
      };
    }
    case "Failed": {
      const error = errorText(state.message, state.reason);
      return {
        ...common,
        phase: "Failed",
        ...times,
        error,
        conditions: [
          condition(CONDITION, "False", "BackupFailed", error, {
            previous: prev.conditions,
            time: state.completionTime,
          }),
        ],
      };
    }
    case "Running":
      return {
        ...common,
        phase: "Running",
        ...times,
        conditions: [
          condition(CONDITION, "Unknown", "JobRunning", "pgbackrest backup is running", {
            previous: prev.conditions,
            time: state.startTime,
          }),
        ],
      };
    default:
      return {
        ...common,
        phase: "Pending",
        conditions: [
          condition(CONDITION, "Unknown", "JobPending", "the backup Job has not started yet", {
            previous: prev.conditions,
          }),
        ],
      };
  }
}
