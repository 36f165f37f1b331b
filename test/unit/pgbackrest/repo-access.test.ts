/**
 * How the operator reaches a cluster's S3 repositories (shared/pgbackrest/repo-access.ts): the
 * targets pgBackRest is configured with, the conf.d files the user's projections make, and the
 * key and CA found in them.
 */
import { describe, expect, it } from "vitest";
import { PostgresClusterSpec } from "../../../shared/api/postgres-cluster.ts";
import {
  configurationSources,
  planS3Reads,
  projectedFiles,
  type ReadablePlan,
  readKey,
  type SourceLookup,
  type StoredSource,
  s3RepoTargets,
} from "../../../shared/pgbackrest/repo-access.ts";
import { SCENARIOS } from "./scenarios.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const S3_CONF = "[global]\nrepo2-s3-key=AKIAEXAMPLE\nrepo2-s3-key-secret=very-secret-value\n";

function objects(map: Record<string, StoredSource>): SourceLookup {
  return (kind, name) => map[`${kind}/${name}`];
}

const minio = SCENARIOS.minio!.spec;

describe("S3 repository targets", () => {
  it("targets each S3 repo where pgBackRest writes it, path-style unless AWS or told otherwise", () => {
    expect(s3RepoTargets(minio)).toEqual([
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
    expect(s3RepoTargets(SCENARIOS["multi-repo"]!.spec).map((t) => [t.repoName, t.repoPath])).toEqual([
      ["repo2", "/pgbackrest/postgres-operator/hippo-multi-repo/repo2"],
    ]);
    expect(s3RepoTargets(SCENARIOS["volume-only"]!.spec)).toEqual([]);
  });
});

describe("the user's configuration projections", () => {
  it("names the Secrets and ConfigMaps, with their items, and skips other projection kinds", () => {
    expect(
      configurationSources([
        { secret: { name: "creds", items: [{ key: "s3.conf", path: "s3.conf" }] } },
        { configMap: { name: "opts", optional: true } },
        { downwardAPI: { items: [] } },
        { secret: { name: "" } },
        null,
      ]),
    ).toEqual([
      { kind: "Secret", name: "creds", optional: false, items: [{ key: "s3.conf", path: "s3.conf" }] },
      { kind: "ConfigMap", name: "opts", optional: true },
    ]);
  });

  it("builds conf.d as the projected volume would: items at their paths, else every key", () => {
    const sources = configurationSources([
      {
        secret: {
          name: "creds",
          items: [
            { key: "s3.conf", path: "s3.conf" },
            { key: "ca.crt", path: "repo2-ca.crt" },
          ],
        },
      },
      { configMap: { name: "opts" } },
      { secret: { name: "gone" } },
      { secret: { name: "maybe", optional: true } },
    ]);
    const out = projectedFiles(
      sources,
      objects({
        "Secret/creds": { data: { "s3.conf": b64(S3_CONF), "ca.crt": b64(CA), unused: b64("x") } },
        "ConfigMap/opts": {
          data: { "tuning.conf": "[global]\nprocess-max=2\n" },
          binaryData: { "bin.conf": b64("b") },
        },
      }),
    );
    expect(out.files).toEqual({
      "s3.conf": S3_CONF,
      "repo2-ca.crt": CA,
      "tuning.conf": "[global]\nprocess-max=2\n",
      "bin.conf": "b",
    });
    expect(out.missing.map((s) => s.name)).toEqual(["gone"]);
  });
});

describe("planS3Reads", () => {
  const creds = {
    "Secret/minio-creds": { data: { "s3.conf": b64(S3_CONF), "ca.crt": b64(CA) } },
  };

  it("finds the key, the secret and the CA of each S3 repo in the projected files", () => {
    const [plan] = planS3Reads(minio, objects(creds));
    expect(plan).toEqual({
      repoName: "repo2",
      target: s3RepoTargets(minio)[0],
      access: {
        credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "very-secret-value" },
        ca: CA,
        verifyTls: true,
      },
    });
  });

  it("ignores credentials written into spec.global (pgBackRest never gets them either)", () => {
    // the minio scenario has repo2-s3-key in global: the renderer drops it, so does the plan
    const [plan] = planS3Reads(minio, objects({}));
    expect(plan).toMatchObject({ repoName: "repo2" });
    expect("problem" in plan! && plan.problem).toBe(
      "no repo2-s3-key and repo2-s3-key-secret in the files of spec.backups.pgbackrest.configuration (not found: Secret minio-creds)",
    );
  });

  it("says why it cannot read: no key in the files, a missing CA, a cloud identity", () => {
    const noKey = planS3Reads(minio, objects({ "Secret/minio-creds": { data: { "ca.crt": b64(CA) } } }))[0]!;
    expect("problem" in noKey && noKey.problem).toBe(
      "no repo2-s3-key and repo2-s3-key-secret in the files of spec.backups.pgbackrest.configuration",
    );
    const noCa = planS3Reads(minio, objects({ "Secret/minio-creds": { data: { "s3.conf": b64(S3_CONF) } } }))[0]!;
    expect("problem" in noCa && noCa.problem).toMatch(/CA file repo2-ca.crt .* is not in its Secret or ConfigMap/);
    const irsa = PostgresClusterSpec.parse({
      ...minio,
      backups: {
        pgbackrest: { ...minio.backups!.pgbackrest!, global: { "repo2-s3-key-type": "web-id" } },
      },
    });
    const identity = planS3Reads(irsa, objects(creds))[0]!;
    expect("problem" in identity && identity.problem).toMatch(/repo2-s3-key-type=web-id/);
  });

  it("honours repoN-storage-verify-tls=n from global or a conf.d file", () => {
    const conf = `${S3_CONF}repo2-storage-verify-tls=n\n`;
    const [plan] = planS3Reads(
      minio,
      objects({ "Secret/minio-creds": { data: { "s3.conf": b64(conf), "ca.crt": b64(CA) } } }),
    );
    expect("access" in plan! && plan.access.verifyTls).toBe(false);
  });

  it("plans nothing for a cluster without S3 repos", () => {
    expect(planS3Reads(SCENARIOS["volume-only"]!.spec, objects({}))).toEqual([]);
  });
});

describe("readKey", () => {
  const plan = planS3Reads(
    minio,
    objects({
      "Secret/minio-creds": { data: { "s3.conf": b64(S3_CONF), "ca.crt": b64(CA) } },
    }),
  )[0] as ReadablePlan;

  it("changes with the credentials and the CA, and never contains the secret", () => {
    const a = readKey("db", "hippo", plan);
    const rotated = readKey("db", "hippo", {
      ...plan,
      access: { ...plan.access, credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "rotated" } },
    });
    const otherCa = readKey("db", "hippo", { ...plan, access: { ...plan.access, ca: "other" } });
    expect(new Set([a, rotated, otherCa]).size).toBe(3);
    expect(a).not.toContain("very-secret-value");
    expect(a).toMatch(
      /^db\/hippo\/repo2@https:\/\/minio\.minio\.svc:9000\/backups\/\/pgbackrest\/repo2@minio\/path#[0-9a-f]{16}$/,
    );
    expect(readKey("db", "other", plan)).not.toBe(a);
  });
});
