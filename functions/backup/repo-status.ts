/**
 * @module
 * Pure helpers for publishing repository status on the cluster: where an S3 repository's
 * info files are (the reader's target, matching what pgBackRest is configured with), a cache
 * key that changes with the credentials, and the summary and `RepoReachable` condition built
 * from cached reads. The cluster hook reads through `shared/io/repo-status-cache.ts` and never
 * waits on S3.
 */
import type { Condition } from "../../shared/api/kube.ts";
import type { PostgresClusterSpec } from "../../shared/api/postgres-cluster.ts";
import type { CachedRepoStatus } from "../../shared/io/repo-status-cache.ts";
import { shortHash } from "../../shared/names.ts";
import { repoPath, s3PathStyle } from "../../shared/pgbackrest/config.ts";
import type { RecoverabilityWindow } from "../../shared/pgbackrest/info.ts";
import type { S3Credentials } from "../../shared/pgbackrest/repos.ts";
import { repoCaFiles } from "../../shared/pgbackrest/repos.ts";

export interface S3RepoTarget {
  repoName: string;
  bucket: string;
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  repoPath: string;
  /** The conf.d file name of the repo's CA, when one is projected (`<repo>-ca.crt`). */
  caFile?: string;
}

/** The S3 repositories of a cluster and where their info files live. */
export function s3RepoTargets(spec: PostgresClusterSpec): S3RepoTarget[] {
  const pgbackrest = spec.backups?.pgbackrest;
  const cas = repoCaFiles(pgbackrest?.configuration);
  return (pgbackrest?.repos ?? []).flatMap((repo) => {
    if (!repo.s3) return [];
    const target: S3RepoTarget = {
      repoName: repo.name,
      bucket: repo.s3.bucket,
      endpoint: repo.s3.endpoint,
      region: repo.s3.region,
      forcePathStyle: s3PathStyle(spec, repo),
      repoPath: repoPath(spec, repo),
    };
    const ca = cas[repo.name];
    return [ca ? { ...target, caFile: ca } : target];
  });
}

/** Distinct per cluster, location and credentials (hashed: the key may be logged). */
export function repoStatusKey(
  namespace: string,
  cluster: string,
  target: S3RepoTarget,
  credentials: S3Credentials,
): string {
  const where = `${target.endpoint}/${target.bucket}/${target.repoPath}`;
  const secret = shortHash(
    `${credentials.accessKeyId}\n${credentials.secretAccessKey}\n${credentials.sessionToken ?? ""}`,
    16,
  );
  return `${namespace}/${cluster}/${target.repoName}@${where}#${secret}`;
}

export interface RepoSummary {
  repoName: string;
  /** Unknown until the first read finished. */
  reachable?: boolean;
  error?: string;
  lastBackup?: { label: string; type: string; completed: string };
  recoverability?: RecoverabilityWindow;
}

export function repoSummary(repoName: string, cached: CachedRepoStatus | undefined): RepoSummary {
  if (!cached) return { repoName };
  const s = cached.status;
  if (!s.reachable) return { repoName, reachable: false, error: s.error };
  const out: RepoSummary = { repoName, reachable: true };
  if (!s.stanzaExists) out.error = "the stanza does not exist yet";
  if (s.lastBackup)
    out.lastBackup = { label: s.lastBackup.label, type: s.lastBackup.type, completed: s.lastBackup.stopTime };
  if (s.recoverability) out.recoverability = s.recoverability;
  return out;
}

/** `RepoReachable`: True when every object-store repo answered, False naming each failure. */
export function repoReachableCondition(summaries: RepoSummary[]): Condition | undefined {
  if (summaries.length === 0) return undefined;
  const failed = summaries.filter((s) => s.reachable === false);
  if (failed.length > 0)
    return {
      type: "RepoReachable",
      status: "False",
      reason: "RepoUnreachable",
      message: failed.map((s) => `${s.repoName}: ${s.error}`).join("; "),
    };
  if (summaries.some((s) => s.reachable === undefined))
    return { type: "RepoReachable", status: "Unknown", reason: "Checking", message: "reading the repositories" };
  return {
    type: "RepoReachable",
    status: "True",
    reason: "RepoReachable",
    message: `${summaries.map((s) => s.repoName).join(", ")} answered`,
  };
}
