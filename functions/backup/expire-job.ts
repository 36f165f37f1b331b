/**
 * @module
 * The Job that removes a PostgresBackup's set from its repository (`pgbackrest expire --set`)
 * when the PostgresBackup is deleted with `spec.deleteFromRepository: true`. pgBackRest also
 * removes what depends on the set (later incremental and differential backups) and refuses to
 * expire the only full backup of a repo until another exists.
 */
import type { V1Job } from "@kubernetes/client-node";
import type { Repo } from "../../shared/api/postgres-cluster.ts";
import { names } from "../../shared/names.ts";
import { expireCommand } from "../../shared/pgbackrest/commands.ts";
import { backupLabels, pgbackrestJobSpec } from "../../shared/pgbackrest/job-pod.ts";
import type { PgBackRestCluster } from "../../shared/pgbackrest/layout.ts";
import type { BackupRef } from "./job.ts";
import { withKind } from "./kinds.ts";

export function buildExpireJob(backup: BackupRef, cluster: PgBackRestCluster, repo: Repo, label: string): V1Job {
  const labels = backupLabels(cluster.name, { repoName: repo.name, backup: backup.name, role: "expire" });
  return withKind("Job", {
    metadata: { name: names.expireJob(backup.name), namespace: backup.namespace, labels },
    spec: pgbackrestJobSpec({
      cluster,
      command: expireCommand({ repoName: repo.name, set: label }),
      repos: [repo],
      labels,
    }),
  });
}
