/**
 * @module
 * The Job that creates the pgBackRest stanza in every repository (`stanza-create`, idempotent,
 * retried while the primary starts or an archive-push holds the lock: docs/dataplane-notes.md B14).
 * The cluster hook emits it once the primary is ready. Its name carries a hash of the repositories,
 * so adding or moving a repository runs it again and nothing else does. With a volume repository it
 * mounts every repository volume next to the repo host.
 */
import type { V1Job } from "@kubernetes/client-node";
import { names, shortHash } from "../../../shared/names.ts";
import { stanzaCreateCommand } from "../../../shared/pgbackrest/commands.ts";
import { repoPath } from "../../../shared/pgbackrest/config.ts";
import { backupLabels, pgbackrestJobSpec } from "../../../shared/pgbackrest/job-pod.ts";
import { type PgBackRestCluster, repoKind } from "../../../shared/pgbackrest/layout.ts";
import { withKind } from "../objects/kinds.ts";

/** What the stanza depends on: each repo's kind, location and path. */
export function stanzaFingerprint(cluster: PgBackRestCluster): string {
  const repos = cluster.spec.backups?.pgbackrest?.repos ?? [];
  const text = repos
    .map((r) => {
      const where = r.s3 ? `${r.s3.bucket}@${r.s3.endpoint}` : r.gcs ? r.gcs.bucket : r.azure ? r.azure.container : "";
      return `${r.name}:${repoKind(r)}:${where}:${repoPath(cluster.spec, r)}`;
    })
    .join("\n");
  return shortHash(text, 10);
}

export function buildStanzaCreateJob(cluster: PgBackRestCluster): V1Job | undefined {
  const repos = cluster.spec.backups?.pgbackrest?.repos ?? [];
  if (repos.length === 0) return undefined;
  const labels = backupLabels(cluster.name, { role: "stanza-create" });
  return withKind("Job", {
    metadata: { name: names.stanzaJob(cluster.name, stanzaFingerprint(cluster)), namespace: cluster.namespace, labels },
    spec: pgbackrestJobSpec({ cluster, command: stanzaCreateCommand(), repos, labels, backoffLimit: 6 }),
  });
}
