/**
 * @module
 * The repository reads a hook's adapter makes before it calls its pure core: for each S3
 * repository of a cluster that the operator can read (`planS3Reads`), its `backup.info` and
 * `archive.info` from the bucket, through the cache (`repo-status-cache.ts`) so a resync does
 * not read the bucket each time, and with a bounded wait so a slow bucket never holds the hook.
 * The result is handed to the core as plain data: per repo, the last finished read (if any) and
 * whether a newer one is still running.
 *
 * Several replicas of the functions each have their own cache. So that they do not publish
 * different reads in turn (each status write triggers another sync), a replica whose cached read
 * would publish something other than the status it is given reads again at once (if its read is
 * at least a few seconds old): after a backup, the replicas agree within one sync.
 */
import { type ReadablePlan, readKey, type S3Access, type S3ReadPlan } from "../pgbackrest/repo-access.ts";
import { type RepoStatus, readRepoStatus } from "../pgbackrest/repo-read.ts";
import {
  boundedMessage,
  canonicalJson,
  publishedRepo,
  type RepoRead,
  type RepoReads,
} from "../pgbackrest/repo-summary.ts";
import { createRepoStatusCache, type RepoStatusCache } from "./repo-status-cache.ts";
import { type ClosableRepoObjectReader, type S3RepoOptions, s3ObjectReader } from "./s3-repository.ts";

export type OpenReader = (options: S3RepoOptions) => ClosableRepoObjectReader;

/** The credentials never reach the status: every occurrence in an error becomes `***`. */
function redact(text: string, access: S3Access): string {
  let out = text;
  for (const secret of [
    access.credentials.secretAccessKey,
    access.credentials.sessionToken,
    access.credentials.accessKeyId,
  ])
    if (secret && secret.length >= 4) out = out.split(secret).join("***");
  return boundedMessage(out);
}

/**
 * Reads one repository as the cluster hook's adapter does (the real code path: the S3 SDK,
 * the repository's path, its CA). Never throws; errors carry no credentials.
 */
export async function readS3Repo(
  plan: ReadablePlan,
  options: { signal?: AbortSignal; open?: OpenReader; wal?: boolean; requestTimeoutMs?: number } = {},
): Promise<RepoStatus> {
  const { target, access } = plan;
  const reader = (options.open ?? s3ObjectReader)({
    bucket: target.bucket,
    endpoint: target.endpoint,
    region: target.region,
    credentials: access.credentials,
    forcePathStyle: target.forcePathStyle,
    verifyTls: access.verifyTls,
    ...(access.ca !== undefined ? { ca: access.ca } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  try {
    const status = await readRepoStatus(reader, {
      repoPath: target.repoPath,
      wal: options.wal ?? false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return status.reachable ? status : { reachable: false, error: redact(status.error, access) };
  } catch (err) {
    return { reachable: false, error: redact(err instanceof Error ? err.message : String(err), access) };
  } finally {
    reader.close();
  }
}

export interface RepoReaderOptions {
  cache?: RepoStatusCache;
  /** How long a sync waits for a read it needs (default 2 s: Metacontroller's hook timeout is 10 s). */
  waitMs?: number;
  open?: OpenReader;
}

export interface RepoReader {
  /**
   * The reads for a cluster's plans. `published(repoName)` is the entry the cluster's status
   * holds now (to notice another replica's newer read).
   */
  read(
    cluster: { namespace: string; name: string },
    plans: readonly S3ReadPlan[],
    published: (repoName: string) => unknown,
    /** Repos to read early (a restore waits for a newer read), as often as `minRefreshMs` allows. */
    early?: readonly string[],
  ): Promise<RepoReads>;
  cache: RepoStatusCache;
}

const sameJson = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

export function createRepoReader(options: RepoReaderOptions = {}): RepoReader {
  const cache = options.cache ?? createRepoStatusCache();
  const waitMs = options.waitMs ?? 2_000;
  return {
    cache,
    async read(cluster, plans, published, early = []) {
      const readable = plans.filter((p): p is ReadablePlan => "access" in p);
      const entries = await Promise.all(
        readable.map(async (plan): Promise<[string, RepoRead]> => {
          const key = readKey(cluster.namespace, cluster.name, plan);
          const load = (signal: AbortSignal) =>
            readS3Repo(plan, { signal, ...(options.open ? { open: options.open } : {}) });
          const before = cache.peek(key);
          const differs = !sameJson(published(plan.repoName), publishedRepo(plan.repoName, before?.status));
          const refresh = differs || early.includes(plan.repoName);
          const got = await cache.get(key, load, { waitMs, refresh });
          return [
            plan.repoName,
            { ...(got ? { status: got.status } : {}), pending: got === undefined || got.refreshing },
          ];
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}
