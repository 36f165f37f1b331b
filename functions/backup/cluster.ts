/**
 * @module
 * The PostgresCluster a backup belongs to, from Metacontroller's `related` objects, and the
 * reasons a backup cannot run against it. Each reason becomes a condition on the
 * PostgresBackup; none is retried on a timer: Metacontroller syncs the backup again when the
 * cluster changes.
 */
import { PostgresClusterSpec, type Repo } from "../../shared/api/postgres-cluster.ts";
import { type ObjectMap, observedOf } from "../../shared/metacontroller.ts";
import type { PgBackRestCluster } from "../../shared/pgbackrest/layout.ts";
import { KINDS } from "./kinds.ts";

export interface RelatedCluster extends PgBackRestCluster {
  deleting: boolean;
}

export type ClusterLookup = { ok: true; cluster: RelatedCluster } | { ok: false; reason: string; message: string };

interface LooseCluster {
  metadata?: { name?: string; namespace?: string; deletionTimestamp?: string };
  spec?: unknown;
}

/** The named cluster from `related`, parsed with the API schema. */
export function relatedCluster(related: ObjectMap, name: string, namespace: string): ClusterLookup {
  const found = observedOf<LooseCluster>(related, KINDS.PostgresCluster.kind, KINDS.PostgresCluster.apiVersion)[name];
  if (!found) return { ok: false, reason: "ClusterNotFound", message: `PostgresCluster ${name} does not exist` };
  const spec = PostgresClusterSpec.safeParse(found.spec ?? {});
  if (!spec.success) {
    const issue = spec.error.issues[0];
    return {
      ok: false,
      reason: "ClusterInvalid",
      message: `PostgresCluster ${name} has an invalid spec${issue ? ` (spec.${issue.path.join(".")}: ${issue.message})` : ""}`,
    };
  }
  return {
    ok: true,
    cluster: {
      name,
      namespace: found.metadata?.namespace ?? namespace,
      spec: spec.data,
      deleting: found.metadata?.deletionTimestamp !== undefined,
    },
  };
}

export type RepoLookup = { ok: true; repo: Repo } | { ok: false; reason: string; message: string };

/** Why a backup of `repoName` cannot start now, or the repo. */
export function backupTarget(cluster: RelatedCluster, repoName: string): RepoLookup {
  const pgbackrest = cluster.spec.backups?.pgbackrest;
  if (!pgbackrest)
    return {
      ok: false,
      reason: "BackupsNotConfigured",
      message: `PostgresCluster ${cluster.name} has no spec.backups.pgbackrest`,
    };
  const repo = pgbackrest.repos.find((r) => r.name === repoName);
  if (!repo)
    return {
      ok: false,
      reason: "RepoNotFound",
      message: `PostgresCluster ${cluster.name} has no repository ${repoName} (it has ${pgbackrest.repos.map((r) => r.name).join(", ")})`,
    };
  if (cluster.spec.shutdown)
    return {
      ok: false,
      reason: "ClusterShutDown",
      message: `PostgresCluster ${cluster.name} is shut down (spec.shutdown: true); start it to back it up`,
    };
  if (cluster.deleting)
    return { ok: false, reason: "ClusterDeleting", message: `PostgresCluster ${cluster.name} is being deleted` };
  return { ok: true, repo };
}
