/**
 * @module
 * A cache of repository reads for the hooks' adapters, so a resync does not read the bucket
 * each time: a result is served as it is for `refreshAfterMs`; after that (or when the caller
 * has reason to think it changed, and it is at least `minRefreshMs` old) one refresh runs,
 * bounded by `budgetMs` (then aborted and recorded as a failure), and the caller waits for it at
 * most `waitMs` before going on with what it had (the refresh lands for a later call). One
 * refresh per key at a time, however many hooks ask; at most `maxEntries` keys, the least
 * recently used forgotten first. Time is injected so tests control it.
 */
import type { RepoStatus } from "../pgbackrest/repo-read.ts";

export interface CachedRepoStatus {
  status: RepoStatus;
  /** When the result was read (the injected clock, ms). */
  checkedAt: number;
  /** A newer read is in flight. */
  refreshing: boolean;
}

export interface RepoStatusCacheOptions {
  /** Age after which a result is read again. */
  refreshAfterMs?: number;
  /** The youngest result a caller may have read again early (`refresh: true`). */
  minRefreshMs?: number;
  /** Time one read may take before it counts as failed. */
  budgetMs?: number;
  /** Entries kept (least recently used go first). */
  maxEntries?: number;
  /** Milliseconds since the epoch; injected so tests control time. */
  now?: () => number;
}

export type RepoStatusLoader = (signal: AbortSignal) => Promise<RepoStatus>;

export interface GetOptions {
  /** How long the caller waits for a refresh it starts or finds running (default 0: never waits). */
  waitMs?: number;
  /** Read again before `refreshAfterMs` (the caller saw a sign of change), if `minRefreshMs` allows. */
  refresh?: boolean;
}

export interface RepoStatusCache {
  /**
   * The status for `key` (any string identifying the repository and the credentials used):
   * the cached one while it is fresh; otherwise after a refresh through `load`, or, when that
   * takes longer than `waitMs`, the previous one (undefined when there is none yet).
   */
  get(key: string, load: RepoStatusLoader, options?: GetOptions): Promise<CachedRepoStatus | undefined>;
  /** The cached status for `key` as it is, without reading or waiting. */
  peek(key: string): CachedRepoStatus | undefined;
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
  const minRefresh = options.minRefreshMs ?? 5_000;
  const budget = options.budgetMs ?? 5_000;
  const max = options.maxEntries ?? 1_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  const refresh = (entry: Entry, load: RepoStatusLoader): Promise<void> => {
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
    const inflight = Promise.race([read, timeout]).then((status) => {
      clearTimeout(timer);
      entry.status = status;
      entry.checkedAt = now();
      entry.inflight = undefined;
    });
    entry.inflight = inflight;
    return inflight;
  };

  const view = (entry: Entry): CachedRepoStatus | undefined =>
    entry.status === undefined
      ? undefined
      : { status: entry.status, checkedAt: entry.checkedAt, refreshing: entry.inflight !== undefined };

  return {
    async get(key, load, getOptions = {}) {
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
      const age = now() - entry.checkedAt;
      const due =
        entry.status === undefined || age >= refreshAfter || (getOptions.refresh === true && age >= minRefresh);
      if (!due && !entry.inflight) return view(entry);
      const inflight = entry.inflight ?? refresh(entry, load);
      const wait = getOptions.waitMs ?? 0;
      if (wait > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          inflight,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, wait);
          }),
        ]);
        clearTimeout(timer);
      }
      return view(entry);
    },
    peek(key) {
      const entry = entries.get(key);
      return entry ? view(entry) : undefined;
    },
    async settled() {
      await Promise.all([...entries.values()].map((e) => e.inflight));
    },
    size: () => entries.size,
  };
}
