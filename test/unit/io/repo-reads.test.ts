/**
 * The adapters' side of reading repositories (shared/io/): the cache with its TTL, size bound,
 * budget and bounded wait, the reader the cluster hook's adapter calls (credentials never in an
 * error), and the reads handed to the core, with a bucket in memory instead of S3.
 */
import { describe, expect, it } from "vitest";
import { createRepoReader, readS3Repo } from "../../../shared/io/repo-reads.ts";
import { createRepoStatusCache } from "../../../shared/io/repo-status-cache.ts";
import type { S3RepoOptions } from "../../../shared/io/s3-repository.ts";
import { planS3Reads, type ReadablePlan, type S3ReadPlan } from "../../../shared/pgbackrest/repo-access.ts";
import type { RepoStatus } from "../../../shared/pgbackrest/repo-read.ts";
import { publishedRepo } from "../../../shared/pgbackrest/repo-summary.ts";
import { bucket, REPO } from "../pgbackrest/repo-fixtures.ts";
import { SCENARIOS } from "../pgbackrest/scenarios.ts";

const ok: RepoStatus = { reachable: true, stanzaExists: true, backups: [] };

describe("repo status cache", () => {
  it("serves a fresh result without reading, and reads again once it is older than the TTL", async () => {
    let now = 1000;
    let loads = 0;
    const cache = createRepoStatusCache({ now: () => now, refreshAfterMs: 60_000 });
    const load = async () => {
      loads++;
      return ok;
    };
    expect(await cache.get("k", load)).toBeUndefined();
    await cache.settled();
    expect(await cache.get("k", load)).toEqual({ status: ok, checkedAt: 1000, refreshing: false });
    now += 59_999;
    await cache.get("k", load);
    expect(loads).toBe(1);
    now += 1;
    expect(await cache.get("k", load)).toEqual({ status: ok, checkedAt: 1000, refreshing: true });
    await cache.settled();
    expect(loads).toBe(2);
    expect(cache.peek("k")?.checkedAt).toBe(now);
  });

  it("waits for the read it starts, at most waitMs", async () => {
    const cache = createRepoStatusCache();
    expect(await cache.get("fast", async () => ok, { waitMs: 1000 })).toMatchObject({ status: ok, refreshing: false });
    let release: () => void = () => {};
    const slow = () => new Promise<RepoStatus>((resolve) => (release = () => resolve(ok)));
    const t0 = Date.now();
    expect(await cache.get("slow", slow, { waitMs: 30 })).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);
    release();
    await cache.settled();
    expect(cache.peek("slow")?.status).toEqual(ok);
  });

  it("reads early when asked, but not more often than minRefreshMs", async () => {
    let now = 0;
    let loads = 0;
    const cache = createRepoStatusCache({ now: () => now, minRefreshMs: 5_000 });
    const load = async () => {
      loads++;
      return ok;
    };
    await cache.get("k", load, { waitMs: 100 });
    now += 4_999;
    await cache.get("k", load, { waitMs: 100, refresh: true });
    expect(loads).toBe(1);
    now += 1;
    await cache.get("k", load, { waitMs: 100, refresh: true });
    expect(loads).toBe(2);
  });

  it("runs one read at a time per key however many hooks ask", async () => {
    let loads = 0;
    let release: () => void = () => {};
    const cache = createRepoStatusCache({ now: () => 0 });
    const load = () =>
      new Promise<RepoStatus>((resolve) => {
        loads++;
        release = () => resolve(ok);
      });
    for (let i = 0; i < 50; i++) expect(await cache.get("k", load)).toBeUndefined();
    expect(loads).toBe(1);
    release();
    await cache.settled();
    expect((await cache.get("k", load))?.status).toEqual(ok);
  });

  it("never lets a slow store hold a hook: past the budget the result is an error, and the read is aborted", async () => {
    let aborted = false;
    const cache = createRepoStatusCache({ budgetMs: 30 });
    const first = await cache.get("slow", (signal) => {
      signal.addEventListener("abort", () => {
        aborted = true;
      });
      return new Promise<RepoStatus>(() => {});
    });
    expect(first).toBeUndefined();
    await cache.settled();
    expect(aborted).toBe(true);
    expect((await cache.get("slow", async () => ok))?.status).toEqual({
      reachable: false,
      error: "no answer within 30 ms",
    });
  });

  it("turns a loader that throws into reachable: false", async () => {
    const cache = createRepoStatusCache();
    expect(
      await cache.get(
        "k",
        async () => {
          throw new Error("boom");
        },
        { waitMs: 100 },
      ),
    ).toMatchObject({ status: { reachable: false, error: "boom" } });
  });

  it("forgets the least recently used repositories beyond its size", async () => {
    const cache = createRepoStatusCache({ maxEntries: 2 });
    for (const k of ["a", "b", "c"]) await cache.get(k, async () => ok);
    await cache.settled();
    expect(cache.size()).toBe(2);
    expect(cache.peek("a")).toBeUndefined();
  });
});

const b64 = (s: string) => Buffer.from(s).toString("base64");
const SECRET = "very-secret-value";
const S3_CONF = `[global]\nrepo2-s3-key=AKIAEXAMPLE\nrepo2-s3-key-secret=${SECRET}\n`;
const plan = planS3Reads(SCENARIOS.minio!.spec, (kind, name) =>
  kind === "Secret" && name === "minio-creds" ? { data: { "s3.conf": b64(S3_CONF), "ca.crt": b64("CA") } } : undefined,
)[0] as ReadablePlan;

/** The repo's objects at the minio scenario's path (/pgbackrest/repo2). */
const REPO2 = Object.fromEntries(
  Object.entries(REPO).map(([k, v]) => [k.replace("pgbackrest/repo1/", "pgbackrest/repo2/"), v]),
);

describe("readS3Repo (what the cluster hook's adapter calls per repo)", () => {
  it("opens the bucket with the plan's endpoint, key, CA and addressing, reads without listing WAL, and closes", async () => {
    const opened: S3RepoOptions[] = [];
    let closed = 0;
    const store = bucket(REPO2);
    const status = await readS3Repo(plan, {
      open: (o) => {
        opened.push(o);
        return { ...store, close: () => closed++ };
      },
    });
    expect(opened).toEqual([
      {
        bucket: "backups",
        endpoint: "https://minio.minio.svc:9000",
        region: "minio",
        credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: SECRET },
        forcePathStyle: true,
        verifyTls: true,
        ca: "CA",
      },
    ]);
    expect(status.reachable && status.backups.length).toBe(2);
    expect(store.reads.some((r) => r.startsWith("list"))).toBe(false);
    expect(closed).toBe(1);
  });

  it("never puts the credentials into an error", async () => {
    const status = await readS3Repo(plan, {
      open: () => ({
        getText: async () => {
          throw new Error(`SignatureDoesNotMatch for AKIAEXAMPLE with ${SECRET}`);
        },
        list: async () => ({ objects: [], prefixes: [] }),
        close: () => {},
      }),
    });
    expect(status).toEqual({ reachable: false, error: "Error: SignatureDoesNotMatch for *** with ***" });
  });
});

describe("createRepoReader (the reads handed to the core)", () => {
  const cluster = { namespace: "db", name: "hippo" };

  function counting(objects = REPO2) {
    const store = bucket(objects);
    return { store, open: () => ({ ...store, close: () => {} }) };
  }

  it("reads each readable repo once and serves later syncs from the cache", async () => {
    const { store, open } = counting();
    const reader = createRepoReader({ open, waitMs: 1000 });
    const unreadable: S3ReadPlan = { repoName: "repo3", target: plan.target, problem: "no key" };
    const first = await reader.read(cluster, [plan, unreadable], () => undefined);
    expect(Object.keys(first)).toEqual(["repo2"]);
    expect(first.repo2?.pending).toBe(false);
    expect(first.repo2?.status).toMatchObject({ reachable: true, stanzaExists: true });
    const gets = store.reads.length;
    // the status now holds what this replica publishes: nothing is read again
    const published = publishedRepo("repo2", first.repo2?.status);
    const second = await reader.read(cluster, [plan], () => JSON.parse(JSON.stringify(published)));
    expect(second).toEqual(first);
    expect(store.reads.length).toBe(gets);
  });

  it("compares with the published entry whatever the order of its keys (the API server sorts them)", async () => {
    const { store, open } = counting();
    const cache = createRepoStatusCache({ minRefreshMs: 0 });
    const reader = createRepoReader({ open, waitMs: 1000, cache });
    const first = await reader.read(cluster, [plan], () => undefined);
    const gets = store.reads.length;
    const sorted = (v: unknown): unknown =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
            Object.keys(v as object)
              .sort()
              .reverse()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
    await reader.read(cluster, [plan], () => sorted(publishedRepo("repo2", first.repo2?.status)));
    expect(store.reads.length).toBe(gets);
  });

  it("reads again when the status shows something else (another replica's newer read)", async () => {
    let now = 0;
    const { store, open } = counting();
    const cache = createRepoStatusCache({ now: () => now, minRefreshMs: 5_000 });
    const reader = createRepoReader({ open, waitMs: 1000, cache });
    await reader.read(cluster, [plan], () => undefined);
    const gets = store.reads.length;
    const other = { name: "repo2", state: "Read", backups: { count: 3 } };
    now += 1_000;
    await reader.read(cluster, [plan], () => other);
    expect(store.reads.length).toBe(gets);
    now += 5_000;
    await reader.read(cluster, [plan], () => other);
    expect(store.reads.length).toBeGreaterThan(gets);
  });

  it("reads a repo early when a restore waits for it, as often as minRefreshMs allows", async () => {
    let now = 0;
    const { store, open } = counting();
    const cache = createRepoStatusCache({ now: () => now, minRefreshMs: 5_000 });
    const reader = createRepoReader({ open, waitMs: 1000, cache });
    const first = await reader.read(cluster, [plan], () => undefined);
    const published = () => publishedRepo("repo2", first.repo2?.status);
    const gets = store.reads.length;
    now += 1_000;
    await reader.read(cluster, [plan], published, ["repo2"]);
    expect(store.reads.length).toBe(gets);
    now += 5_000;
    await reader.read(cluster, [plan], published, ["repo9"]);
    expect(store.reads.length).toBe(gets);
    await reader.read(cluster, [plan], published, ["repo2"]);
    expect(store.reads.length).toBeGreaterThan(gets);
  });

  it("says a read is pending when the bucket is slower than the wait, and hands its result later", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { store } = counting();
    const reader = createRepoReader({
      waitMs: 20,
      open: () => ({
        getText: async (key) => {
          await gate;
          return store.getText(key);
        },
        list: store.list,
        close: () => {},
      }),
    });
    expect(await reader.read(cluster, [plan], () => undefined)).toEqual({ repo2: { pending: true } });
    release();
    await reader.cache.settled();
    const later = await reader.read(cluster, [plan], () => undefined);
    expect(later.repo2?.pending).toBe(false);
    expect(later.repo2?.status?.reachable).toBe(true);
  });
});
