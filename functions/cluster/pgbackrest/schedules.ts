/**
 * @module
 * Scheduled backups (`repos[].schedules.full|differential|incremental`), for the cluster hook
 * to emit: with Knative, a PingSource per schedule whose CloudEvent asks the scheduler
 * function to create a PostgresBackup; without it, a CronJob running the backup directly. Both
 * run in UTC. `nextRun` (croner, from an injected `now`) is what the status shows.
 *
 * A PingSource accepts an optional seconds field (robfig/cron); a CronJob only five fields, so
 * a six-field schedule gives no CronJob (admission should refuse it for CronJob mode).
 */
import type { V1CronJob } from "@kubernetes/client-node";
import { Cron } from "croner";
import type { PgBackRest } from "../../../shared/api/postgres-cluster.ts";
import { clusterLabels, LABEL } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { type BackupType, backupCommand } from "../../../shared/pgbackrest/commands.ts";
import { backupLabels, pgbackrestJobSpec } from "../../../shared/pgbackrest/job-pod.ts";
import type { PgBackRestCluster } from "../../../shared/pgbackrest/layout.ts";
import { withKind } from "../objects/kinds.ts";

/** Schedule keys in the spec and the backup type each runs. */
const SCHEDULE_TYPES: Record<keyof NonNullable<PgBackRest["repos"][number]["schedules"]>, BackupType> = {
  full: "full",
  differential: "diff",
  incremental: "incr",
};

const SCHEDULE_TIME_ZONE = "Etc/UTC";

/** Where PingSources deliver: the scheduler function's route (Knative Service `tusk-scheduler`). */
export const DEFAULT_SCHEDULER_SINK = "http://tusk-scheduler.tusk-system.svc.cluster.local/scheduler/ping";

export interface BackupSchedule {
  /** The PingSource's or CronJob's name. */
  name: string;
  repoName: string;
  type: BackupType;
  schedule: string;
}

/** Every schedule in the spec, in repo then full/diff/incr order. */
export function backupSchedules(cluster: PgBackRestCluster): BackupSchedule[] {
  return (cluster.spec.backups?.pgbackrest?.repos ?? []).flatMap((repo) =>
    (Object.keys(SCHEDULE_TYPES) as (keyof typeof SCHEDULE_TYPES)[]).flatMap((key) => {
      const schedule = repo.schedules?.[key];
      if (!schedule) return [];
      const type = SCHEDULE_TYPES[key];
      return [{ name: names.backupSchedule(cluster.name, repo.name, type), repoName: repo.name, type, schedule }];
    }),
  );
}

/** The PingSource's event data: what the scheduler needs to create the PostgresBackup. */
interface PingData {
  cluster: string;
  namespace: string;
  repoName: string;
  type: BackupType;
}

export interface PingSource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    schedule: string;
    timezone: string;
    contentType: string;
    data: string;
    sink: { uri: string };
  };
}

function scheduleLabels(cluster: string, repoName: string, type: BackupType): Record<string, string> {
  return { ...clusterLabels(cluster, "backup-schedule"), [LABEL.pgbackrestRepo]: repoName, [LABEL.backupType]: type };
}

export function buildSchedulePingSource(
  cluster: PgBackRestCluster,
  repoName: string,
  type: BackupType,
  cron: string,
  options: { sinkUri?: string } = {},
): PingSource {
  const data: PingData = { cluster: cluster.name, namespace: cluster.namespace, repoName, type };
  return withKind("PingSource", {
    metadata: {
      name: names.backupSchedule(cluster.name, repoName, type),
      namespace: cluster.namespace,
      labels: scheduleLabels(cluster.name, repoName, type),
    },
    spec: {
      schedule: cron,
      timezone: SCHEDULE_TIME_ZONE,
      contentType: "application/json",
      data: JSON.stringify(data),
      sink: { uri: options.sinkUri ?? DEFAULT_SCHEDULER_SINK },
    },
  });
}

/** Kubernetes CronJobs take five fields (or a descriptor such as @daily). */
function isCronJobSchedule(cron: string): boolean {
  const trimmed = cron.trim();
  return trimmed.startsWith("@") || trimmed.split(/\s+/).length === 5;
}

/** A CronJob running the backup itself; undefined for a schedule a CronJob cannot take. */
export function buildScheduleCronJob(
  cluster: PgBackRestCluster,
  repoName: string,
  type: BackupType,
  cron: string,
): V1CronJob | undefined {
  const repo = cluster.spec.backups?.pgbackrest?.repos.find((r) => r.name === repoName);
  if (!repo || !isCronJobSchedule(cron)) return undefined;
  const labels = { ...backupLabels(cluster.name, { repoName, type }), [LABEL.scheduled]: "true" };
  return withKind("CronJob", {
    metadata: {
      name: names.backupSchedule(cluster.name, repoName, type),
      namespace: cluster.namespace,
      labels: scheduleLabels(cluster.name, repoName, type),
    },
    spec: {
      schedule: cron,
      timeZone: SCHEDULE_TIME_ZONE,
      // pgBackRest serialises backups of a stanza; a second one would only wait for the lock.
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      // A shut-down cluster has nothing to back up.
      ...(cluster.spec.shutdown ? { suspend: true } : {}),
      jobTemplate: {
        metadata: { labels },
        spec: pgbackrestJobSpec({ cluster, command: backupCommand({ repoName, type }), repos: [repo], labels }),
      },
    },
  });
}

/** The next run after `now` in UTC (RFC 3339), or undefined for a schedule croner rejects. */
export function nextRun(cron: string, now: Date): string | undefined {
  try {
    const job = new Cron(cron, { timezone: SCHEDULE_TIME_ZONE, mode: "5-or-6-parts", paused: true });
    const next = job.nextRun(now);
    job.stop();
    return next ? next.toISOString().replace(".000Z", "Z") : undefined;
  } catch {
    return undefined;
  }
}

export interface ScheduleStatus extends BackupSchedule {
  nextRun?: string;
}

/** Each schedule with its next run, for the cluster status. */
export function scheduleStatus(cluster: PgBackRestCluster, now: Date): ScheduleStatus[] {
  return backupSchedules(cluster).map((s) => {
    const next = nextRun(s.schedule, now);
    return next ? { ...s, nextRun: next } : s;
  });
}
