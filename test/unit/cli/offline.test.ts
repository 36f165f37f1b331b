import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { validateAdmission } from "../../../functions/admission/validate.ts";
import { clusterManifest } from "../../../functions/cli/create.ts";
import { createReview } from "../../../functions/cli/validate.ts";
import { crds } from "../../../shared/api/crds.ts";
import { PostgresClusterSpec } from "../../../shared/api/postgres-cluster.ts";
import { tusk } from "./harness.ts";

const ROOT = join(import.meta.dirname, "../../..");
const FIXTURES = join(import.meta.dirname, "fixtures");
/** A kubeconfig whose server refuses connections: "no cluster reachable". */
const NOWHERE = join(FIXTURES, "kubeconfig-unreachable.yaml");

describe("tusk create cluster", () => {
  it("--dry-run prints a manifest that passes the API schema and the admission rules", async () => {
    const r = await tusk(["create", "cluster", "hippo", "--dry-run"]);
    expect(r.code).toBe(0);
    const manifest = parse(r.out);
    expect(manifest).toMatchObject({
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster",
      metadata: { name: "hippo" },
    });
    expect(PostgresClusterSpec.safeParse(manifest.spec).success).toBe(true);
    expect(validateAdmission(createReview(manifest, "default", "u")).response.allowed).toBe(true);
    expect(manifest.spec.instances).toEqual([
      {
        name: "instance1",
        replicas: 1,
        dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ]);
    // A lone instance without backups is allowed, with the webhook's warning shown.
    expect(r.err).toContain("warning: spec: one instance and no backups");
  });

  it("maps every flag onto the PGO-shaped spec", async () => {
    const r = await tusk([
      "create",
      "cluster",
      "hacluster",
      "--replicas",
      "3",
      "--postgres-version",
      "17",
      "--storage",
      "20Gi",
      "--backup-repo",
      "volume:50Gi",
      "--backup-repo",
      "s3:bucket-a@minio.local:9000/us-east-1",
      "--schedule",
      "0 3 * * *",
      "--pgbouncer=2",
      "--metrics",
      "--tls-secret",
      "hacluster-tls",
      "-n",
      "prod",
      "--dry-run",
    ]);
    expect(r.code, r.err).toBe(0);
    const m = parse(r.out);
    expect(m.metadata).toEqual({ name: "hacluster", namespace: "prod" });
    expect(PostgresClusterSpec.parse(m.spec)).toMatchObject({
      postgresVersion: 17,
      instances: [
        { name: "instance1", replicas: 3, dataVolumeClaimSpec: { resources: { requests: { storage: "20Gi" } } } },
      ],
      backups: {
        pgbackrest: {
          configuration: [{ secret: { name: "hacluster-pgbackrest-s3" } }],
          global: {
            "repo1-retention-full": "2",
            "repo2-retention-full": "2",
            "repo2-path": "/pgbackrest/hacluster/repo2",
          },
          repos: [
            {
              name: "repo1",
              schedules: { full: "0 3 * * *" },
              volume: { volumeClaimSpec: { resources: { requests: { storage: "50Gi" } } } },
            },
            {
              name: "repo2",
              schedules: { full: "0 3 * * *" },
              s3: { bucket: "bucket-a", endpoint: "minio.local:9000", region: "us-east-1" },
            },
          ],
        },
      },
      proxy: { pgBouncer: { replicas: 2 } },
      monitoring: { pgmonitor: { exporter: {} } },
      customTLSSecret: { name: "hacluster-tls" },
    });
    expect(validateAdmission(createReview(m, "prod", "u")).response).toMatchObject({ allowed: true });
    expect(r.err).toContain("Secret hacluster-pgbackrest-s3");
  });

  it("a bare --pgbouncer means one replica", async () => {
    const r = await tusk(["create", "cluster", "a", "--pgbouncer", "--dry-run"]);
    expect(parse(r.out).spec.proxy).toEqual({ pgBouncer: { replicas: 1 } });
  });

  it("the committed fixtures are what the command generates today", async () => {
    const hippo = await tusk(["create", "cluster", "hippo", "--dry-run"]);
    expect(hippo.out).toBe(readFileSync(join(FIXTURES, "hippo.yaml"), "utf8"));
    const ha = await tusk([
      "create",
      "cluster",
      "hacluster",
      "--replicas",
      "2",
      "--metrics",
      "--pgbouncer",
      "--backup-repo",
      "volume:10Gi",
      "--backup-repo",
      "s3:hippo-backups@s3.eu-west-1.amazonaws.com/eu-west-1",
      "--schedule",
      "0 1 * * *",
      "--dry-run",
    ]);
    expect(ha.out).toBe(readFileSync(join(FIXTURES, "hacluster.yaml"), "utf8"));
  });

  it.each([
    [["--replicas", "0"], "--replicas must be 1..16 (got 0)"],
    [["--replicas", "two"], '--replicas must be a whole number (got "two")'],
    [["--postgres-version", "12"], "--postgres-version must be one of 13, 14, 15, 16, 17, 18"],
    [["--storage", "lots"], '--storage: "lots" is not a size such as 10Gi or 500Mi'],
    [
      ["--backup-repo", "nfs:/x"],
      "--backup-repo nfs:/x: use volume:SIZE (a PersistentVolumeClaim) or s3:BUCKET@ENDPOINT/REGION",
    ],
    [["--backup-repo", "s3:bucket"], "--backup-repo s3:bucket: an S3 repo is s3:BUCKET@ENDPOINT/REGION"],
    [["--schedule", "0 1 * * *"], "--schedule needs a --backup-repo to back up to"],
    [["--pgbouncer=many"], '--pgbouncer=N takes a number of replicas (got "many")'],
    [["--tls-secret", "Bad_Name"], '--tls-secret "Bad_Name" is not a valid Secret name'],
  ])("refuses %j with a message naming the flag (exit 2)", async (flags, message) => {
    const r = await tusk(["create", "cluster", "hippo", ...flags, "--dry-run"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain("usage: tusk create cluster NAME [flags]");
    expect(r.out).toBe("");
  });

  it("refuses a name that is not a DNS label", async () => {
    const r = await tusk(["create", "cluster", "Hippo_1", "--dry-run"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cluster name "Hippo_1" must be a lowercase DNS label');
  });

  it("a schedule the webhook refuses is reported before anything is sent (exit 1)", async () => {
    const r = await tusk([
      "create",
      "cluster",
      "hippo",
      "--backup-repo",
      "volume:1Gi",
      "--schedule",
      "61 * * * *",
      "--dry-run",
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("the admission rules refuse this PostgresCluster hippo:");
    expect(r.err).toContain("spec.backups.pgbackrest.repos[0].schedules.full:");
    expect(r.out).toBe("");
  });

  it("prints the manifest when no cluster is reachable", async () => {
    const r = await tusk(["create", "cluster", "hippo", "--kubeconfig", NOWHERE]);
    expect(r.code).toBe(0);
    expect(parse(r.out).metadata.name).toBe("hippo");
    expect(r.err).toMatch(/no cluster reachable \(cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:2\b/);
    expect(r.err).toContain("printing the manifest instead");
  });

  it("builds manifests with at most four repos", () => {
    expect(() => clusterManifest({ name: "a", backupRepos: Array(5).fill("volume:1Gi") })).toThrow("at most 4 repos");
  });
});

describe("tusk crd and tusk version", () => {
  it("crd prints the three CRDs exactly as crds() builds them", async () => {
    const r = await tusk(["crd"]);
    expect(r.code).toBe(0);
    const printed = parseAllDocuments(r.out).map((d) => d.toJS());
    expect(printed).toEqual(JSON.parse(JSON.stringify(crds())));
    expect(printed.map((c) => c.metadata.name)).toEqual([
      "postgresclusters.postgres.tusk.dev",
      "postgresbackups.postgres.tusk.dev",
      "postgresrestores.postgres.tusk.dev",
    ]);
    const json = await tusk(["crd", "-o", "json"]);
    expect(JSON.parse(json.out).items).toEqual(printed);
  });

  it("version prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect((await tusk(["version"])).out).toBe(`tusk ${version}\n`);
    expect(JSON.parse((await tusk(["version", "-o", "json"])).out)).toEqual({ version });
    expect((await tusk(["version", "-o", "yaml"])).out).toBe(`version: ${version}\n`);
  });
});
