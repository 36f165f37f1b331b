import { describe, expect, it } from "vitest";
import {
  repoReachableCondition,
  repoStatusKey,
  repoSummary,
  s3RepoTargets,
} from "../../../functions/backup/repo-status.ts";
import { createRepoStatusCache } from "../../../shared/io/repo-status-cache.ts";
import {
  type RepoObjectReader,
  type RepoStatus,
  readRepoStatus,
  repoKeyPrefix,
} from "../../../shared/io/s3-repository.ts";
import { SCENARIOS } from "../pgbackrest/scenarios.ts";
import { real } from "./fixtures.ts";

/** A bucket in memory, holding the real info files of an S3 repo at /pgbackrest/repo1. */
function bucket(
  objects: Record<string, { text?: string; lastModified?: string }>,
): RepoObjectReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async getText(key) {
      reads.push(`get ${key}`);
      return objects[key]?.text;
    },
    async list(prefix) {
      reads.push(`list ${prefix}`);
      const below = Object.keys(objects).filter((k) => k.startsWith(prefix));
      const prefixes = [
        ...new Set(
          below
            .map((k) => k.slice(prefix.length))
            .filter((r) => r.includes("/"))
            .map((r) => `${prefix}${r.split("/")[0]}/`),
        ),
      ];
      const files = below
        .filter((k) => !k.slice(prefix.length).includes("/"))
        .map((key) => ({ key, ...(objects[key]!.lastModified ? { lastModified: objects[key]!.lastModified } : {}) }));
      return { objects: files, prefixes };
    },
  };
}

const ROOT = "pgbackrest/repo1/";
const WAL = `${ROOT}archive/db/15-1/0000000100000000/`;
const REPO = {
  [`${ROOT}backup/db/backup.info`]: { text: real("backup.info") },
  [`${ROOT}archive/db/archive.info`]: { text: real("archive.info") },
  [`${WAL}000000010000000000000001-45d2f9ffcff0e8af04d8799307ba01f8d7bf8d28.lz4`]: {
    lastModified: "2026-11-22T22:33:10Z",
  },
  [`${WAL}000000010000000000000002.00000028.backup`]: { lastModified: "2026-11-22T22:33:41Z" },
  [`${WAL}000000010000000000000004-706e6279c8b66052e5282ac810ab9766574e69d6.lz4`]: {
    lastModified: "2026-11-22T23:10:00Z",
  },
  [`${WAL}000000010000000000000003-806e6279c8b66052e5282ac810ab9766574e69d6.lz4`]: {
    lastModified: "2026-11-22T23:00:00Z",
  },
  [`${ROOT}archive/db/15-1/0000000100000000/../x`]: {},
};

describe("readRepoStatus", () => {
  it("maps a repo path to pgBackRest's object keys", () => {
    expect(repoKeyPrefix("/pgbackrest/repo1")).toBe("pgbackrest/repo1/");
    expect(repoKeyPrefix("/")).toBe("");
    expect(repoKeyPrefix("pgbackrest/x/")).toBe("pgbackrest/x/");
  });

  it("reads the backups, the last one, the newest WAL segment and the recoverability window", async () => {
    const status = await readRepoStatus(bucket(REPO), { repoPath: "/pgbackrest/repo1" });
    if (!status.reachable) throw new Error(status.error);
    expect(status.stanzaExists).toBe(true);
    expect(status.backups.map((b) => b.label)).toEqual(["20261122-223335F", "20261122-223357F"]);
    expect(status.lastBackup?.label).toBe("20261122-223357F");
    expect(status.archive).toEqual({
      id: "15-1",
      newestSegment: "000000010000000000000004",
      newestSegmentTime: "2026-11-22T23:10:00Z",
    });
    expect(status.recoverability).toEqual({
      earliest: status.backups[0]!.stopTime,
      latest: "2026-11-22T23:10:00Z",
      latestFrom: "wal",
    });
    expect(status.systemId).toBe("7711127497098134972");
  });

  it("falls back to the .copy files pgBackRest writes beside each info file", async () => {
    const copy = Object.fromEntries(Object.entries(REPO).map(([k, v]) => [k.endsWith(".info") ? `${k}.copy` : k, v]));
    const status = await readRepoStatus(bucket(copy), { repoPath: "/pgbackrest/repo1" });
    expect(status.reachable && status.backups.length).toBe(2);
  });

  it("says the stanza is missing when the repo has no backup.info", async () => {
    expect(await readRepoStatus(bucket({}), { repoPath: "/pgbackrest/repo1" })).toEqual({
      reachable: true,
      stanzaExists: false,
      backups: [],
    });
  });

  it("turns storage errors and unreadable files into reachable: false with the error, never a throw", async () => {
    const failing: RepoObjectReader = {
      getText: async () => {
        throw Object.assign(new Error("The AWS Access Key Id you provided does not exist in our records."), {
          name: "InvalidAccessKeyId",
          $metadata: { httpStatusCode: 403 },
        });
      },
      list: async () => ({ objects: [], prefixes: [] }),
    };
    const status = await readRepoStatus(failing, { repoPath: "/r" });
    expect(status).toEqual({
      reachable: false,
      error: "InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records. (HTTP 403)",
    });
    const garbage = await readRepoStatus(bucket({ "r/backup/db/backup.info": { text: "<html>proxy error</html>" } }), {
      repoPath: "/r",
    });
    expect(garbage).toMatchObject({ reachable: false });
    expect(!garbage.reachable && garbage.error).toMatch(/not a pgBackRest backup.info/);
  });
});

describe("repo status cache", () => {
  const ok: RepoStatus = { reachable: true, stanzaExists: true, backups: [] };

  it("answers at once, refreshes in the background, and serves the result afterwards", async () => {
    let now = 1000;
    let loads = 0;
    const cache = createRepoStatusCache({ now: () => now, refreshAfterMs: 60_000 });
    const load = async () => {
      loads++;
      return ok;
    };
    expect(cache.get("k", load)).toBeUndefined();
    await cache.settled();
    expect(cache.get("k", load)).toEqual({ status: ok, checkedAt: 1000, refreshing: false });
    now += 59_999;
    cache.get("k", load);
    expect(loads).toBe(1);
    now += 1;
    const stale = cache.get("k", load);
    expect(stale).toEqual({ status: ok, checkedAt: 1000, refreshing: true });
    await cache.settled();
    expect(loads).toBe(2);
    expect(cache.get("k", load)?.checkedAt).toBe(now);
  });

  it("runs one refresh at a time per key however many hooks ask", async () => {
    let loads = 0;
    let release: () => void = () => {};
    const cache = createRepoStatusCache({ now: () => 0 });
    const load = () =>
      new Promise<RepoStatus>((resolve) => {
        loads++;
        release = () => resolve(ok);
      });
    for (let i = 0; i < 50; i++) expect(cache.get("k", load)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 0));
    expect(loads).toBe(1);
    release();
    await cache.settled();
    expect(cache.get("k", load)?.status).toEqual(ok);
  });

  it("never lets a slow store hold a hook: past the budget the result is an error, and the read is aborted", async () => {
    let aborted = false;
    const cache = createRepoStatusCache({ budgetMs: 30 });
    const first = cache.get("slow", (signal) => {
      signal.addEventListener("abort", () => {
        aborted = true;
      });
      return new Promise<RepoStatus>(() => {});
    });
    // get() is synchronous: a hook never awaits the store.
    expect(first).toBeUndefined();
    await cache.settled();
    expect(aborted).toBe(true);
    expect(cache.get("slow", async () => ok)?.status).toEqual({ reachable: false, error: "no answer within 30 ms" });
  });

  it("turns a loader that throws into reachable: false", async () => {
    const cache = createRepoStatusCache();
    cache.get("k", async () => {
      throw new Error("boom");
    });
    await cache.settled();
    expect(cache.get("k", async () => ok)?.status).toEqual({ reachable: false, error: "boom" });
  });

  it("forgets the least recently used repositories beyond its size", async () => {
    const cache = createRepoStatusCache({ maxEntries: 2 });
    for (const k of ["a", "b", "c"]) cache.get(k, async () => ok);
    await cache.settled();
    expect(cache.size()).toBe(2);
  });
});

describe("cluster-side repository status helpers", () => {
  it("targets each S3 repo where pgBackRest writes it, path-style unless AWS or told otherwise", () => {
    expect(s3RepoTargets(SCENARIOS.minio!.spec)).toEqual([
      {
        repoName: "repo2",
        bucket: "backups",
        endpoint: "https://minio.minio.svc:9000",
        region: "minio",
        forcePathStyle: true,
        repoPath: "/pgbackrest/repo2",
        caFile: "repo2-ca.crt",
      },
    ]);
    expect(s3RepoTargets(SCENARIOS["s3-only"]!.spec)[0]).toMatchObject({
      forcePathStyle: false,
      repoPath: "/pgbackrest/repo1",
    });
    expect(s3RepoTargets(SCENARIOS["volume-only"]!.spec)).toEqual([]);
  });

  it("keys the cache by location and credentials without exposing the secret", () => {
    const [t] = s3RepoTargets(SCENARIOS.minio!.spec);
    const a = repoStatusKey("db", "hippo", t!, { accessKeyId: "AK", secretAccessKey: "very-secret" });
    const b = repoStatusKey("db", "hippo", t!, { accessKeyId: "AK", secretAccessKey: "rotated" });
    expect(a).not.toBe(b);
    expect(a).not.toContain("very-secret");
  });

  it("summarises reads into RepoReachable", () => {
    const okRead = {
      status: {
        reachable: true as const,
        stanzaExists: true,
        backups: [],
        lastBackup: { label: "L", type: "full" as const, startTime: "s", stopTime: "2026-01-01T00:00:00Z" },
      },
      checkedAt: 1,
      refreshing: false,
    };
    const bad = {
      status: { reachable: false as const, error: "AccessDenied (HTTP 403)" },
      checkedAt: 1,
      refreshing: false,
    };
    expect(repoSummary("repo2", okRead)).toEqual({
      repoName: "repo2",
      reachable: true,
      lastBackup: { label: "L", type: "full", completed: "2026-01-01T00:00:00Z" },
    });
    expect(repoReachableCondition([repoSummary("repo2", okRead)])).toMatchObject({ status: "True" });
    expect(repoReachableCondition([repoSummary("repo2", okRead), repoSummary("repo3", bad)])).toEqual({
      type: "RepoReachable",
      status: "False",
      reason: "RepoUnreachable",
      message: "repo3: AccessDenied (HTTP 403)",
    });
    expect(repoReachableCondition([repoSummary("repo2", undefined)])).toMatchObject({ status: "Unknown" });
    expect(repoReachableCondition([])).toBeUndefined();
  });
});
