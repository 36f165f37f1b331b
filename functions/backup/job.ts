/**
 * @module
 * The one child of a PostgresBackup: a Job running `pgbackrest backup` of the requested type
 * to the requested repository with the cluster's Job configuration, which writes the new
 * backup's `pgbackrest info` to its termination message for the status.
 */
import type { V1Job } from "@kubernetes/client-node";
import type { PostgresBackupSpec } from "../../shared/api/postgres-backup.ts";
import type { Repo } from "../../shared/api/postgres-cluster.ts";
import { names } from "../../shared/names.ts";
import { backupCommand } from "../../shared/pgbackrest/commands.ts";
import { backupLabels, pgbackrestJobSpec } from "../../shared/pgbackrest/job-pod.ts";
import type { PgBackRestCluster } from "../../shared/pgbackrest/layout.ts";
import { withKind } from "./kinds.ts";

export interface BackupRef {
  name: string;
  namespace: string;
  spec: PostgresBackupSpec;
}

export function buildBackupJob(backup: BackupRef, cluster: PgBackRestCluster, repo: Repo): V1Job {
  const labels = backupLabels(cluster.name, { repoName: repo.name, backup: backup.name, type: backup.spec.type });
  return withKind("Job", {
    metadata: { name: names.backupJob(backup.name), namespace: backup.namespace, labels },
    spec: pgbackrestJobSpec({
      cluster,
      command: backupCommand({ repoName: repo.name, type: backup.spec.type, options: backup.spec.options }),
      repos: [repo],
      labels,
    }),
  });
}
