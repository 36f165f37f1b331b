/**
 * @module
 * A cache of repository status that a hook can consult without ever waiting on object
 * storage: `get` answers at once with the last known result (or nothing yet) and, when that
 * result is missing or older than `refreshAfterMs`, starts one background refresh bounded by
 * `budgetMs`. A refresh that fails or runs out of time stores `{ reachable: false, error }`,
 * which the cluster status shows as `RepoReachable=False`. So a resync storm costs one read per
 * repository per interval, and a slow bucket costs nothing but staleness.
 */
import type { RepoStatus } from "./s3-repository.ts";

export interface CachedRepoStatus {
  status: RepoStatus;
  /** When the result was read (the injected clock, ms). */
  checkedAt: number;
  /** A newer read is in flight. */
  refreshing: boolean;
}

export interface RepoStatusCacheOptions {
  /** Age after which a result is refreshed in the background. */
  refreshAfterMs?: number;
  /** Time one read may take before it counts as failed. */
  budgetMs?: number;
  /** Entries kept (least recently used go first). */
  maxEntries?: number;
  /** Milliseconds since the epoch; injected so tests control time. */
  now?: () => number;
}

export type RepoStatusLoader = (signal: AbortSignal) => Promise<RepoStatus>;

export interface RepoStatusCache {
  /**
   * The cached status for `key` (any string identifying the repository and the credentials
   * used), never waiting; starts a refresh through `load` when due.
   */
  get(key: string, load: RepoStatusLoader): CachedRepoStatus | undefined;
  /** Resolves when every refresh in flight has finished (tests, graceful shutdown). */
  settled(): Promise<void>;
  size(): number;
}

interface Entry {
  status?: RepoStatus;
  checkedAt: number;
  inflight?: Promise<void>;
}

export function createRepoStatusCache(options: RepoStatusCacheOptions = {}): RepoStatusCache {
  const refreshAfter = options.refreshAfterMs ?? 60_000;
  const budget = options.budgetMs ?? 5_000;
  const max = options.maxEntries ?? 1_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  const refresh = (entry: Entry, load: RepoStatusLoader) => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<RepoStatus>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ reachable: false, error: `no answer within ${budget} ms` });
      }, budget);
    });
    const read = Promise.resolve()
      .then(() => load(controller.signal))
      .catch(
        (err: unknown): RepoStatus => ({ reachable: false, error: err instanceof Error ? err.message : String(err) }),
      );
    entry.inflight = Promise.race([read, timeout]).then((status) => {
      clearTimeout(timer);
      entry.status = status;
      entry.checkedAt = now();
      entry.inflight = undefined;
    });
  };

  return {
    get(key, load) {
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
        entries.set(key, entry);
      } else {
        entry = { checkedAt: 0 };
        entries.set(key, entry);
        while (entries.size > max) {
          const oldest = entries.keys().next().value;
          if (oldest === undefined) break;
          entries.delete(oldest);
        }
      }
      const due = entry.status === undefined || now() - entry.checkedAt >= refreshAfter;
      if (due && !entry.inflight) refresh(entry, load);
      if (entry.status === undefined) return undefined;
      return { status: entry.status, checkedAt: entry.checkedAt, refreshing: entry.inflight !== undefined };
    },
    async settled() {
      await Promise.all([...entries.values()].map((e) => e.inflight));
    },
    size: () => entries.size,
  };
}
