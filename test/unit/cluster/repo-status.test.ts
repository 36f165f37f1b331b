/**
 * The cluster's S3 repository status (functions/cluster/pgbackrest/repo-status.ts): the customize rules
 * that bring the credentials, the plan read from the related Secrets, and the pure addition to
 * the sync answer from the reads the adapter hands in. Then the adapter itself (app.ts) with a
 * bucket in memory: it reads, the core reports.
 */
import { describe, expect, it } from "vitest";
import { createClusterApp } from "../../../functions/cluster/app.ts";
import { customizeCluster } from "../../../functions/cluster/customize.ts";
import {
  configurationRules,
  REPO_READABLE_CONDITION,
  repoReadPlan,
  reposAwaitedByRestores,
  withRepoStatus,
} from "../../../functions/cluster/pgbackrest/repo-status.ts";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { PostgresClusterStatus } from "../../../shared/api/postgres-cluster.ts";
import { createRepoReader } from "../../../shared/io/repo-reads.ts";
import { CustomizeRequest, type SyncRequest, type SyncResponse } from "../../../shared/metacontroller.ts";
import type { BackupSet } from "../../../shared/pgbackrest/info.ts";
import type { RepoStatus } from "../../../shared/pgbackrest/repo-read.ts";
import { MAX_LABELS, type RepoReads } from "../../../shared/pgbackrest/repo-summary.ts";
import { bucket, REPO } from "../pgbackrest/repo-fixtures.ts";
import { cluster, type Json, request, seededDeps, volume } from "./fixtures.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const SECRET = "wJalrXUtnFEMI-secret";
const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function s3Cluster(extra: Json = {}): Json {
  return cluster({
    backups: {
      pgbackrest: {
        configuration: [
          {
            secret: {
              name: "hippo-s3",
              items: [
                { key: "s3.conf", path: "s3.conf" },
                { key: "ca.crt", path: "repo1-ca.crt" },
              ],
            },
          },
        ],
        repos: [
          { name: "repo1", s3: { bucket: "backups", endpoint: "minio.minio.svc:9000", region: "us-east-1" } },
          { name: "repo2", volume: { volumeClaimSpec: volume } },
        ],
      },
    },
    ...extra,
  });
}

const credentialsSecret = (conf = `[global]\nrepo1-s3-key=AKIAEXAMPLE\nrepo1-s3-key-secret=${SECRET}\n`) => ({
  "Secret.v1": {
    "hippo-s3": {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "hippo-s3", namespace: "db" },
      data: { "s3.conf": b64(conf), "ca.crt": b64(CA) },
    },
  },
});

const set = (label: string, type: BackupSet["type"], start: string, stop: string): BackupSet => ({
  label,
  type,
  startTime: start,
  stopTime: stop,
});

const FULL = set("20260301-010000F", "full", "2026-03-01T01:00:00Z", "2026-03-01T01:04:00Z");
const INCR = set("20260301-010000F_20260301-070000I", "incr", "2026-03-01T07:00:00Z", "2026-03-01T07:01:00Z");
const read = (backups: BackupSet[]): RepoStatus => ({ reachable: true, stanzaExists: true, backups });

async function answer(parent: Json, reads: RepoReads, related: Json = credentialsSecret()): Promise<SyncResponse> {
  const req = request(parent, {}, related);
  return withRepoStatus(req, await syncCluster(req, seededDeps()), reads);
}

const repoStatus = (res: SyncResponse) => (res.status as Json).pgbackrest?.repos;
const readable = (res: SyncResponse) =>
  ((res.status as Json).conditions as Json[]).find((c) => c.type === REPO_READABLE_CONDITION);

describe("the credentials come from Metacontroller, as related objects", () => {
  it("customize asks for the Secrets and ConfigMaps of configuration when there is an S3 repo", () => {
    const parent = s3Cluster();
    parent.spec.backups.pgbackrest.configuration.push(
      { configMap: { name: "tuning" } },
      { secret: { name: "a-second" } },
    );
    const rules = customizeCluster(CustomizeRequest.parse({ parent })).relatedResources;
    expect(rules.filter((r) => r.resource === "secrets" || r.resource === "configmaps")).toEqual([
      { apiVersion: "v1", resource: "secrets", names: ["a-second", "hippo-s3"] },
      { apiVersion: "v1", resource: "configmaps", names: ["tuning"] },
    ]);
  });

  it("asks for nothing more without an S3 repo or with an unparseable spec", () => {
    const volumeOnly = cluster({
      backups: {
        pgbackrest: {
          configuration: [{ secret: { name: "x" } }],
          repos: [{ name: "repo1", volume: { volumeClaimSpec: volume } }],
        },
      },
    });
    expect(configurationRules(CustomizeRequest.parse({ parent: volumeOnly }))).toEqual([]);
    expect(configurationRules(CustomizeRequest.parse({ parent: cluster({ instances: "nope" }) }))).toEqual([]);
  });

  it("plans the read from the related Secret: key, secret and CA", () => {
    const [plan] = repoReadPlan(request(s3Cluster(), {}, credentialsSecret()));
    expect(plan).toMatchObject({
      repoName: "repo1",
      target: {
        bucket: "backups",
        endpoint: "minio.minio.svc:9000",
        forcePathStyle: true,
        repoPath: "/pgbackrest/repo1",
      },
      access: { credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: SECRET }, ca: CA, verifyTls: true },
    });
    expect(repoReadPlan(request(s3Cluster(), {}, {}))[0]).toMatchObject({
      repoName: "repo1",
      problem: expect.any(String),
    });
  });
});

describe("reposAwaitedByRestores", () => {
  const restore = (name: string, spec: Json, status: Json) => ({
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresRestore",
    metadata: { name, namespace: "db" },
    spec,
    status,
  });
  const pending = (reason: string) => ({
    phase: "Pending",
    conditions: [{ type: "Restored", status: "Unknown", reason }],
  });

  it("names the repos a Pending restore of this cluster waits to see read again, and no others", () => {
    const parent = s3Cluster();
    const related = {
      "PostgresRestore.postgres.tusk.dev/v1": {
        a: restore("a", { cluster: parent.metadata.name, repoName: "repo1" }, pending("NoBackupYet")),
        b: restore("b", { cluster: parent.metadata.name, repoName: "repo1" }, pending("BackupSetNotSeen")),
        c: restore("c", { cluster: parent.metadata.name, repoName: "repo2" }, pending("StoppingCluster")),
        d: restore("d", { cluster: "other", repoName: "repo3" }, pending("NoBackupYet")),
        e: restore("e", { cluster: parent.metadata.name, repoName: "repo4" }, { phase: "Failed" }),
      },
    };
    expect(reposAwaitedByRestores(request(parent, {}, related))).toEqual(["repo1"]);
    expect(reposAwaitedByRestores(request(parent, {}, {}))).toEqual([]);
  });
});

describe("withRepoStatus", () => {
  it("publishes a bounded summary per S3 repo: counts, latest, latest full, oldest, the window", async () => {
    const res = await answer(s3Cluster(), { repo1: { status: read([FULL, INCR]), pending: false } });
    expect(repoStatus(res)).toEqual([
      {
        name: "repo1",
        state: "Read",
        backups: {
          count: 2,
          full: 1,
          differential: 0,
          incremental: 1,
          latest: { label: INCR.label, type: "incr", startTime: INCR.startTime, stopTime: INCR.stopTime },
          latestFull: { label: FULL.label, type: "full", startTime: FULL.startTime, stopTime: FULL.stopTime },
          oldest: { label: FULL.label, type: "full", startTime: FULL.startTime, stopTime: FULL.stopTime },
          labels: [FULL.label, INCR.label],
        },
        recoverability: { earliest: FULL.stopTime, latest: INCR.stopTime, latestFrom: "backup" },
      },
    ]);
    expect((res.status as Json).lastBackup).toBe(INCR.stopTime);
    expect(readable(res)).toEqual({
      type: "RepoReadable",
      status: "True",
      reason: "Read",
      message: `repo1: 2 backup(s), the latest ${INCR.label} (incr) done ${INCR.stopTime}`,
      observedGeneration: 1,
    });
    // a finished read asks for no earlier re-sync than the hook itself does
    const plain = await syncCluster(request(s3Cluster(), {}, credentialsSecret()), seededDeps());
    expect(res.resyncAfterSeconds).toBe(plain.resyncAfterSeconds);
  });

  it("stays bounded with many backups: counts and only the newest labels", async () => {
    const many = Array.from({ length: 500 }, (_, i) => {
      const t = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString().replace(".000Z", "Z");
      return set(`L${String(i).padStart(4, "0")}`, i % 7 === 0 ? "full" : "incr", t, t);
    });
    const res = await answer(s3Cluster(), { repo1: { status: read(many), pending: false } });
    const repo = repoStatus(res)[0];
    expect(repo.backups).toMatchObject({ count: 500, full: 72, incremental: 428, oldest: { label: "L0000" } });
    expect(repo.backups.labels).toHaveLength(MAX_LABELS);
    expect(repo.backups.labels[0]).toBe("L0450");
    expect(repo.backups.labels.at(-1)).toBe("L0499");
    expect(JSON.stringify(repo).length).toBeLessThan(1000 + MAX_LABELS * 10);
    // the CRD enforces the same bound: a status over it would be refused by the API server
    expect(PostgresClusterStatus.safeParse(res.status).success).toBe(true);
  });

  it("leaves backup sets pgBackRest marked as failed out of latest and oldest", async () => {
    const broken = { ...set("20260301-120000F", "full", "2026-03-01T12:00:00Z", "2026-03-01T12:03:00Z"), error: true };
    const res = await answer(s3Cluster(), { repo1: { status: read([FULL, broken]), pending: false } });
    expect(repoStatus(res)[0].backups).toMatchObject({ count: 2, full: 2, latest: { label: FULL.label } });
    expect(repoStatus(res)[0].backups.labels).toEqual([FULL.label]);
  });

  it("while the first read runs: Reading, RepoReadable Unknown, and a re-sync soon", async () => {
    const req = request(s3Cluster(), {}, credentialsSecret());
    const base = await syncCluster(req, seededDeps());
    expect(
      withRepoStatus(req, { ...base, resyncAfterSeconds: 30 }, { repo1: { pending: true } }).resyncAfterSeconds,
    ).toBe(10);
    expect(
      withRepoStatus(req, { ...base, resyncAfterSeconds: 5 }, { repo1: { pending: true } }).resyncAfterSeconds,
    ).toBe(5);
    const { resyncAfterSeconds: _, ...noResync } = base;
    expect(withRepoStatus(req, noResync, { repo1: { pending: true } }).resyncAfterSeconds).toBe(10);
    expect(
      withRepoStatus(req, noResync, { repo1: { status: read([FULL]), pending: false } }).resyncAfterSeconds,
    ).toBeUndefined();
    const res = await answer(s3Cluster(), { repo1: { pending: true } });
    expect(repoStatus(res)).toEqual([
      { name: "repo1", state: "Reading", message: "reading the repository's backup.info" },
    ]);
    expect(readable(res)).toMatchObject({ status: "Unknown", reason: "Reading" });
    expect(res.resyncAfterSeconds).toBe(10);
    const stale = await answer(s3Cluster(), { repo1: { status: read([FULL]), pending: true } });
    expect(repoStatus(stale)[0].state).toBe("Read");
    expect(stale.resyncAfterSeconds).toBe(10);
  });

  it("a failed read is a message on that repo and RepoReadable=False, never an error answer", async () => {
    const res = await answer(s3Cluster(), {
      repo1: {
        status: {
          reachable: false,
          error: "InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records. (HTTP 403)",
        },
        pending: false,
      },
    });
    expect(repoStatus(res)).toEqual([
      {
        name: "repo1",
        state: "ReadFailed",
        message: "InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records. (HTTP 403)",
      },
    ]);
    expect(readable(res)).toMatchObject({
      status: "False",
      reason: "ReadFailed",
      message:
        "repo1: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records. (HTTP 403)",
    });
    expect((res.status as Json).phase).not.toBe("Invalid");
  });

  it("a repo without credentials says why, and nothing in the status is secret", async () => {
    const res = await answer(s3Cluster(), {}, {});
    expect(repoStatus(res)).toEqual([
      {
        name: "repo1",
        state: "NotReadable",
        message:
          "no repo1-s3-key and repo1-s3-key-secret in the files of spec.backups.pgbackrest.configuration (not found: Secret hippo-s3)",
      },
    ]);
    expect(readable(res)).toMatchObject({ status: "False", reason: "NotReadable" });
    const ok = await answer(s3Cluster(), { repo1: { status: read([FULL]), pending: false } });
    expect(JSON.stringify(ok.status)).not.toContain(SECRET);
    expect(JSON.stringify(ok.status)).not.toContain("AKIAEXAMPLE");
  });

  it("a bucket without a stanza yet", async () => {
    const res = await answer(s3Cluster(), {
      repo1: { status: { reachable: true, stanzaExists: false, backups: [] }, pending: false },
    });
    expect(repoStatus(res)[0]).toMatchObject({ state: "NoStanza", backups: { count: 0 } });
    expect(readable(res)).toMatchObject({ status: "True", message: "repo1: no stanza yet" });
  });

  it("answers a cluster without S3 repositories, or with an invalid spec, unchanged", async () => {
    const plain = request(cluster());
    const res = await syncCluster(plain, seededDeps());
    expect(withRepoStatus(plain, res, {})).toBe(res);
    const invalid = request(s3Cluster({ postgresVersion: 3 }), {}, credentialsSecret());
    const bad = await syncCluster(invalid, seededDeps());
    expect(withRepoStatus(invalid, bad, { repo1: { status: read([FULL]), pending: false } })).toBe(bad);
  });

  it("is deterministic, and the answer fed back as the parent's status changes nothing", async () => {
    const reads: RepoReads = { repo1: { status: read([FULL, INCR]), pending: false } };
    const req = request(s3Cluster(), {}, credentialsSecret());
    const base = await syncCluster(req, seededDeps());
    const first = withRepoStatus(req, base, reads);
    expect(JSON.stringify(withRepoStatus(req, base, JSON.parse(JSON.stringify(reads))))).toBe(JSON.stringify(first));
    expect(first.children).toBe(base.children);
    // Metacontroller writes the status; the next request carries it (keys sorted by the API server)
    const fedBack = request(
      { ...s3Cluster(), status: JSON.parse(JSON.stringify(first.status)) },
      {},
      credentialsSecret(),
    );
    const again = withRepoStatus(fedBack, await syncCluster(fedBack, seededDeps()), reads);
    expect(again.status).toEqual(first.status);
    expect((again.status as Json).conditions.filter((c: Json) => c.type === REPO_READABLE_CONDITION)).toHaveLength(1);
  });
});

describe("the adapter (app.ts): it reads, the core reports", () => {
  async function post(app: ReturnType<typeof createClusterApp>, body: SyncRequest) {
    const res = await app.request("/sync", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { code: res.status, json: (await res.json()) as Json };
  }

  it("reads the bucket with the related Secret's key and publishes what it holds", async () => {
    const objects = Object.fromEntries(Object.entries(REPO).map(([k, v]) => [k, v]));
    const store = bucket(objects);
    const opened: { endpoint: string; ca?: string; accessKeyId: string }[] = [];
    const reader = createRepoReader({
      waitMs: 1000,
      open: (o) => {
        opened.push({ endpoint: o.endpoint, accessKeyId: o.credentials.accessKeyId, ...(o.ca ? { ca: o.ca } : {}) });
        return { ...store, close: () => {} };
      },
    });
    const app = createClusterApp(seededDeps(), {}, reader);
    const req = request(s3Cluster(), {}, credentialsSecret());
    const { code, json } = await post(app, req);
    expect(code).toBe(200);
    expect(opened).toEqual([{ endpoint: "minio.minio.svc:9000", accessKeyId: "AKIAEXAMPLE", ca: CA }]);
    expect(json.status.pgbackrest.repos[0]).toMatchObject({
      name: "repo1",
      state: "Read",
      backups: { count: 2, full: 2, latest: { label: "20261122-223357F" } },
    });
    // the next sync, with that status, is served from the cache
    const reads = store.reads.length;
    const again = await post(app, { ...req, parent: { ...req.parent, status: json.status } });
    expect(again.json.status).toEqual(json.status);
    expect(store.reads.length).toBe(reads);
  });

  it("a bucket that fails is a status message with HTTP 200", async () => {
    const reader = createRepoReader({
      waitMs: 1000,
      open: () => ({
        getText: async () => {
          throw Object.assign(new Error("connect ECONNREFUSED 10.0.0.9:9000"), { code: "ECONNREFUSED" });
        },
        list: async () => ({ objects: [], prefixes: [] }),
        close: () => {},
      }),
    });
    const { code, json } = await post(
      createClusterApp(seededDeps(), {}, reader),
      request(s3Cluster(), {}, credentialsSecret()),
    );
    expect(code).toBe(200);
    expect(json.status.pgbackrest.repos[0]).toEqual({
      name: "repo1",
      state: "ReadFailed",
      message: "Error: connect ECONNREFUSED 10.0.0.9:9000",
    });
  });
});
