/**
 * @module
 * PGO-style manual backups: `spec.backups.pgbackrest.manual` ({repoName, options}) plus the
 * annotation `postgres.tusk.dev/pgbackrest-backup: <id>`. Each new id is a new Job (its name
 * carries a hash of the id), so the same id never runs twice and a new one always runs. The
 * cluster hook emits the Job this returns; the backup type comes from `--type` in the options
 * (pgBackRest's default otherwise: incremental, or full when there is none).
 */
import type { V1Job } from "@kubernetes/client-node";
import { ANNOTATION } from "../../../shared/labels.ts";
import { names, shortHash } from "../../../shared/names.ts";
import { backupCommand } from "../../../shared/pgbackrest/commands.ts";
import { backupLabels, pgbackrestJobSpec } from "../../../shared/pgbackrest/job-pod.ts";
import type { PgBackRestCluster } from "../../../shared/pgbackrest/layout.ts";
import { optionValue } from "../../../shared/pgbackrest/options.ts";
import { withKind } from "../objects/kinds.ts";

export function manualBackupJobName(cluster: string, id: string): string {
  return names.manualBackupJob(cluster, shortHash(id, 10));
}

/** The manual backup Job for trigger `id`, or undefined when the spec asks for none. */
export function buildManualBackupJob(cluster: PgBackRestCluster, id: string): V1Job | undefined {
  const pgbackrest = cluster.spec.backups?.pgbackrest;
  const manual = pgbackrest?.manual;
  if (!manual || id.trim() === "" || cluster.spec.shutdown) return undefined;
  const repo = pgbackrest.repos.find((r) => r.name === manual.repoName);
  if (!repo) return undefined;
  const type = optionValue(manual.options, "type");
  const labels = backupLabels(cluster.name, {
    repoName: repo.name,
    role: "manual-backup",
    ...(type ? { type } : {}),
  });
  const annotations = { [ANNOTATION.backupTrigger]: id };
  return withKind("Job", {
    metadata: { name: manualBackupJobName(cluster.name, id), namespace: cluster.namespace, labels, annotations },
    spec: pgbackrestJobSpec({
      cluster,
      command: backupCommand({ repoName: repo.name, options: manual.options }),
      repos: [repo],
      labels,
      annotations,
    }),
  });
}
