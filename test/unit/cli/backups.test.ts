/**
 * `tusk backups`: the cluster and the Secret its configuration names come from a local
 * Kubernetes API server through the real client and a kubeconfig; the bucket is in memory,
 * holding the info files pgBackRest 2.45 wrote.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { S3RepoOptions } from "../../../shared/io/s3-repository.ts";
import { bucket, REPO } from "../pgbackrest/repo-fixtures.ts";
import { FakeApiServer } from "./fake-apiserver.ts";
import { type RunOptions, tusk } from "./harness.ts";

const SECRET = "wJalrXUtnFEMI-very-secret";
const b64 = (s: string) => Buffer.from(s).toString("base64");

let api: FakeApiServer;
beforeEach(async () => {
  api = new FakeApiServer();
  await api.start();
});
afterEach(async () => {
  await api.stop();
});

function hippo() {
  api.put("postgresclusters", "db", {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresCluster",
    metadata: { name: "hippo" },
    spec: {
      postgresVersion: 15,
      instances: [{ name: "instance1", dataVolumeClaimSpec: { resources: { requests: { storage: "1Gi" } } } }],
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
            { name: "repo2", volume: { volumeClaimSpec: { resources: { requests: { storage: "1Gi" } } } } },
          ],
        },
      },
    },
  });
}

function credentials(conf = `[global]\nrepo1-s3-key=AKIAEXAMPLE\nrepo1-s3-key-secret=${SECRET}\n`) {
  api.put("secrets", "db", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "hippo-s3" },
    data: { "s3.conf": b64(conf), "ca.crt": b64("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n") },
  });
}

function memoryBucket(objects: Record<string, { text?: string; lastModified?: string }> = REPO) {
  const opened: S3RepoOptions[] = [];
  const store = bucket(objects);
  const openRepo = (options: S3RepoOptions) => {
    opened.push(options);
    return { ...store, close: () => {} };
  };
  return { opened, store, openRepo };
}

const k = (argv: string[], options: RunOptions = {}) => tusk([...argv, "--kubeconfig", api.kubeconfig], options);

describe("tusk backups", () => {
  it("lists each S3 repo's backup sets from the bucket, with the key and CA of the cluster's configuration", async () => {
    hippo();
    credentials();
    const { opened, openRepo, store } = memoryBucket();
    const r = await k(["backups", "hippo"], { openRepo });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(opened).toEqual([
      expect.objectContaining({
        bucket: "backups",
        endpoint: "minio.minio.svc:9000",
        credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: SECRET },
        ca: expect.stringContaining("BEGIN CERTIFICATE"),
        forcePathStyle: true,
      }),
    ]);
    // the CLI also lists the archive, to show how far the archived WAL reaches
    expect(store.reads.some((x) => x.startsWith("list"))).toBe(true);
    expect(r.out).toMatch(
      /^repo1 \(s3:\/\/backups\/pgbackrest\/repo1 at minio\.minio\.svc:9000\): 2 backups; restorable from \S+ to 2026-11-22T23:10:00Z \(the newest archived WAL\)\n/,
    );
    expect(r.out).toMatch(/LABEL +TYPE +STARTED +FINISHED +SIZE +STORED/);
    expect(r.out).toMatch(/\d{8}-\d{6}F +full +/);
    expect(r.out).toContain("repo2 (volume): a volume of the repository host: `kubectl exec -n db hippo-repo-host-0");
    expect(r.out).not.toContain(SECRET);
    // it read only what the pods project: the cluster and that Secret
    expect(api.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      "GET /apis/postgres.tusk.dev/v1/namespaces/db/postgresclusters/hippo",
      "GET /api/v1/namespaces/db/secrets/hippo-s3",
    ]);
  });

  it("-o json gives every backup set and the window; --repo picks one", async () => {
    hippo();
    credentials();
    const { openRepo } = memoryBucket();
    const r = await k(["backups", "hippo", "--repo", "repo1", "-o", "json"], { openRepo });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ cluster: "hippo", namespace: "db" });
    expect(report.repos).toHaveLength(1);
    expect(report.repos[0]).toMatchObject({ name: "repo1", type: "s3", state: "read" });
    expect(report.repos[0].backups.map((b: { type: string }) => b.type)).toEqual(["full", "full"]);
    expect(report.repos[0].recoverability.latestFrom).toBe("wal");
    expect((await k(["backups", "hippo", "--repo", "repo9"], { openRepo })).err).toContain(
      "its repos are repo1, repo2",
    );
  });

  it("says why a repo cannot be read, exits 1, and never prints the secret", async () => {
    hippo();
    credentials();
    const failing = (_: S3RepoOptions) => ({
      getText: async () => {
        throw Object.assign(new Error(`The request signature we calculated does not match (key ${SECRET})`), {
          name: "SignatureDoesNotMatch",
          $metadata: { httpStatusCode: 403 },
        });
      },
      list: async () => ({ objects: [], prefixes: [] }),
      close: () => {},
    });
    const r = await k(["backups", "hippo"], { openRepo: failing });
    expect(r.code).toBe(1);
    expect(r.out).toContain("repo1 (s3://backups/pgbackrest/repo1 at minio.minio.svc:9000): SignatureDoesNotMatch");
    expect(r.out).toContain("***");
    expect(r.out).not.toContain(SECRET);
  });

  it("a missing Secret: the repo is not readable, with the reason", async () => {
    hippo();
    const { openRepo, opened } = memoryBucket();
    const r = await k(["backups", "hippo"], { openRepo });
    expect(r.code).toBe(1);
    expect(opened).toEqual([]);
    expect(r.out).toContain("no repo1-s3-key and repo1-s3-key-secret");
    expect(r.out).toContain("not found: Secret hippo-s3");
  });

  it("an empty bucket has no stanza yet", async () => {
    hippo();
    credentials();
    const { openRepo } = memoryBucket({});
    const r = await k(["backups", "hippo", "--repo", "repo1"], { openRepo });
    expect(r.code).toBe(0);
    expect(r.out).toContain("no stanza in the bucket yet");
  });

  it("a user who may not read the Secret is told what the command needs", async () => {
    hippo();
    credentials();
    api.forbiddenPlurals.add("secrets");
    const r = await k(["backups", "hippo"], memoryBucket());
    expect(r.code).toBe(1);
    expect(r.err).toContain("your kubeconfig needs get on them");
  });

  it("a cluster that does not exist", async () => {
    const r = await k(["backups", "nope"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("PostgresCluster nope not found in namespace db");
  });
});
