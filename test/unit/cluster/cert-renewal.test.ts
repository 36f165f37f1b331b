import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { RELOAD_SCRIPT } from "../../../functions/cluster/tls/reload-job.ts";
import { renewalDue } from "../../../functions/cluster/tls/renewal.ts";
import { certificateInfo, verifyCertificate, webCryptoPki } from "../../../shared/crypto/x509.ts";
import type { ObjectMap, SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { cleanEnv, PG_BIN, psql, skipReason, startPostgres, type TempPostgres } from "../crypto/postgres-harness.ts";
import { seededRandomBytes } from "../crypto/seeded.ts";
import {
  byKind,
  child,
  cluster,
  decode,
  finishJobs,
  type Json,
  NOW,
  observe,
  podsOf,
  request,
  steadyState,
} from "./fixtures.ts";

const run = promisify(execFile);
const DAY = 24 * 60 * 60 * 1000;
const REPLACED = "postgres.tusk.dev/replaced-certificate";
const SERVER = "hippo-cluster-cert";
const REPLICATION = "hippo-replication-cert";
const CA = "hippo-ca";

const at = (ms: number) => new Date(NOW.getTime() + ms);
const syncAt = (when: Date, parent: Json, children: ObjectMap, related: ObjectMap) =>
  syncCluster(request(parent, children, related), {
    randomBytes: seededRandomBytes(1),
    now: () => when,
    // The production PKI: renewal is judged on certificates Web Crypto made.
    pki: webCryptoPki,
  });
const secret = (res: SyncResponse, name: string) => decode(child(res, "Secret", name));
const reloadJobs = (res: SyncResponse) =>
  byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-tls-reload-"));

describe("when a certificate is due", () => {
  it("a leaf within 30 days of its end, a CA within a year", () => {
    const end = new Date("2036-03-01T00:00:00Z");
    const ahead = (ms: number) => new Date(end.getTime() - ms);
    expect(renewalDue(end, ahead(30 * DAY), "leaf")).toBe(false);
    expect(renewalDue(end, ahead(30 * DAY - 1), "leaf")).toBe(true);
    expect(renewalDue(end, ahead(365 * DAY), "ca")).toBe(false);
    expect(renewalDue(end, ahead(365 * DAY - 1), "ca")).toBe(true);
    expect(renewalDue(end, new Date(end.getTime() + 1), "leaf")).toBe(true);
  });
});

describe("renewing the CA keeps its key, so old and new certificates trust each other", () => {
  it("same subject, key and identifiers; leaves verify under both CA certificates (ours and OpenSSL's check)", async () => {
    const from = new Date("2026-01-01T00:00:00Z");
    const old = await webCryptoPki.createAuthority({
      commonName: "db-hippo-ca",
      notBefore: from,
      notAfter: at(300 * DAY),
    });
    const renewed = await webCryptoPki.renewAuthority(old, {
      notBefore: from,
      notAfter: new Date("2046-01-01T00:00:00Z"),
    });
    expect(renewed.privateKey).toBe(old.privateKey);
    expect(renewed.certificate).not.toBe(old.certificate);
    const [a, b] = await Promise.all([certificateInfo(old.certificate), certificateInfo(renewed.certificate)]);
    expect(b).toMatchObject({
      subjectCommonName: a.subjectCommonName,
      issuerCommonName: a.issuerCommonName,
      isCA: true,
    });
    expect(b.notAfter.toISOString()).toBe("2046-01-01T00:00:00.000Z");
    const leaf = (ca: typeof old) =>
      webCryptoPki.issue(ca, {
        commonName: "x",
        dnsNames: ["x"],
        usage: "server",
        notBefore: from,
        notAfter: at(200 * DAY),
      });
    const [underOld, underNew] = await Promise.all([leaf(old), leaf(renewed)]);
    const when = at(DAY);
    for (const cert of [underOld, underNew])
      for (const ca of [old, renewed])
        expect(await verifyCertificate(cert.certificate, ca.certificate, when)).toBe(true);
    // OpenSSL builds the chain through the key identifiers as a TLS peer would.
    const dir = mkdtempSync(join(tmpdir(), "tusk-ca-"));
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    try {
      for (const [cert, ca] of [
        [underOld, renewed],
        [underNew, old],
      ] as const) {
        const { stdout } = await run("openssl", [
          "verify",
          "-x509_strict",
          "-attime",
          String(Math.floor(when.getTime() / 1000)),
          "-CAfile",
          write("ca.pem", ca.certificate),
          write("leaf.pem", cert.certificate),
        ]);
        expect(stdout).toContain(": OK");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a certificate that is not a CA", async () => {
    const from = new Date("2026-01-01T00:00:00Z");
    const ca = await webCryptoPki.createAuthority({ commonName: "ca", notBefore: from, notAfter: at(900 * DAY) });
    const leaf = await webCryptoPki.issue(ca, {
      commonName: "x",
      dnsNames: [],
      usage: "client",
      notBefore: from,
      notAfter: at(90 * DAY),
    });
    await expect(webCryptoPki.renewAuthority(leaf, { notBefore: from, notAfter: at(900 * DAY) })).rejects.toThrow(
      /not a CA/,
    );
  });
});

describe("the cluster hook renews its certificates", { timeout: 60_000 }, () => {
  let LEAF_DUE: Date;
  let LEAF_NOT_YET: Date;
  let CA_DUE: Date;
  beforeAll(async () => {
    // Thresholds from the certificates a new cluster gets (leaves 10 years, the CA 20).
    const { res } = await steadyState(cluster());
    const leafEnd = (await certificateInfo(secret(res, SERVER)["tls.crt"]!)).notAfter.getTime();
    const caEnd = (await certificateInfo(secret(res, CA)["ca.crt"]!)).notAfter.getTime();
    LEAF_DUE = new Date(leafEnd - 29 * DAY);
    LEAF_NOT_YET = new Date(leafEnd - 31 * DAY);
    CA_DUE = new Date(caEnd - 300 * DAY);
    expect(caEnd - leafEnd).toBeGreaterThan(365 * DAY);
  });

  it("keeps every certificate until the threshold: the same request gives the same output", async () => {
    const { res, children, related } = await steadyState(cluster());
    const later = await syncAt(LEAF_NOT_YET, cluster(), children, related);
    expect(JSON.stringify(later)).toBe(JSON.stringify(res));
  });

  it("renews leaves within 30 days of their end, marks the replaced server certificate, and is idempotent", async () => {
    const { res, children, related } = await steadyState(cluster());
    const renewed = await syncAt(LEAF_DUE, cluster(), children, related);
    const [before, after] = [secret(res, SERVER), secret(renewed, SERVER)];
    expect(after["tls.crt"]).not.toBe(before["tls.crt"]);
    expect(after["tls.key"]).not.toBe(before["tls.key"]);
    expect(after["ca.crt"]).toBe(before["ca.crt"]);
    expect(secret(renewed, REPLICATION)["tls.crt"]).not.toBe(secret(res, REPLICATION)["tls.crt"]);
    expect(secret(renewed, CA)).toEqual(secret(res, CA));
    const info = await certificateInfo(after["tls.crt"]!);
    expect(info.notBefore.getTime()).toBeLessThan(LEAF_DUE.getTime());
    expect(info.notAfter.getTime() - LEAF_DUE.getTime()).toBeGreaterThan(9 * 365 * DAY);
    expect(await verifyCertificate(after["tls.crt"]!, before["ca.crt"]!, LEAF_DUE)).toBe(true);
    const mark = child(renewed, "Secret", SERVER).metadata.annotations?.[REPLACED];
    expect(mark).toMatch(/^[0-9a-f]{16}$/);
    expect(child(renewed, "Secret", REPLICATION).metadata.annotations?.[REPLACED]).toBeUndefined();

    // Read back: nothing changes any more, the mark stays while the certificate does.
    const observed = observe(renewed.children as Json[], children);
    const again = await syncAt(LEAF_DUE, cluster(), observed, related);
    const keptSecrets = (r: SyncResponse) => byKind(r, "Secret").map((s) => JSON.stringify(s));
    expect(keptSecrets(again)).toEqual(keptSecrets(renewed));
    const much = await syncAt(at(11 * 365 * DAY), cluster(), observed, related);
    expect(keptSecrets(much)).toEqual(keptSecrets(renewed));
  });

  it("renews the CA within a year of its end with the same key, and every leaf with it", async () => {
    const { res, children, related } = await steadyState(cluster());
    const renewed = await syncAt(CA_DUE, cluster(), children, related);
    const [oldCa, newCa] = [secret(res, CA), secret(renewed, CA)];
    expect(newCa["ca.key"]).toBe(oldCa["ca.key"]);
    expect(newCa["ca.crt"]).not.toBe(oldCa["ca.crt"]);
    expect((await certificateInfo(newCa["ca.crt"]!)).notAfter.getTime() - CA_DUE.getTime()).toBeGreaterThan(
      19 * 365 * DAY,
    );
    for (const name of [SERVER, REPLICATION]) {
      const s = secret(renewed, name);
      expect(s["ca.crt"]).toBe(newCa["ca.crt"]);
      expect(s["tls.crt"]).not.toBe(secret(res, name)["tls.crt"]);
      // Pods and clients still holding the old CA certificate trust the new leaves.
      expect(await verifyCertificate(s["tls.crt"]!, oldCa["ca.crt"]!, CA_DUE)).toBe(true);
    }
    const observed = observe(renewed.children as Json[], children);
    const again = await syncAt(CA_DUE, cluster(), observed, related);
    expect(byKind(again, "Secret").map((s) => JSON.stringify(s))).toEqual(
      byKind(renewed, "Secret").map((s) => JSON.stringify(s)),
    );
  });
});

describe("the reload Job for a replaced server certificate", { timeout: 60_000 }, () => {
  let LEAF_DUE: Date;
  beforeAll(async () => {
    const { res } = await steadyState(cluster());
    LEAF_DUE = new Date((await certificateInfo(secret(res, SERVER)["tls.crt"]!)).notAfter.getTime() - 29 * DAY);
  });

  it("a new cluster gets none; a replaced certificate gets one once every instance is ready, kept until it changes", async () => {
    const { res, children, related } = await steadyState(cluster());
    expect(reloadJobs(res)).toEqual([]);
    const renewed = await syncAt(LEAF_DUE, cluster(), children, related);
    const [job] = reloadJobs(renewed);
    expect(job).toBeDefined();
    expect(validateObject(job)).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
    const env = Object.fromEntries((job!.spec.template.spec.containers[0].env as Json[]).map((e) => [e.name, e]));
    expect(env.MEMBERS.value.split(" ")).toEqual([
      "hippo-instance1-0-0.hippo-pods.db.svc",
      "hippo-instance1-1-0.hippo-pods.db.svc",
    ]);
    expect(env.EXPECTED_CERT.valueFrom).toEqual({ secretKeyRef: { name: SERVER, key: "tls.crt" } });
    expect(env.PGSSLMODE.value).toBe("verify-full");
    expect(job!.spec.template.spec.containers[0].command).toEqual(["sh", "-c", RELOAD_SCRIPT]);

    const observed = observe(renewed.children as Json[], children);
    // An instance that is not ready holds the Job back (it restarts with the new files anyway).
    const notReady = podsOf(observed, {
      "hippo-instance1-0-0": { role: "master" },
      "hippo-instance1-1-0": { ready: false, role: "replica" },
    });
    const held = await syncAt(
      LEAF_DUE,
      cluster(),
      observe(renewed.children.filter((c) => c !== job) as Json[], children),
      notReady,
    );
    expect(reloadJobs(held)).toEqual([]);

    // Once it ran it stays as observed, never runs again, and a repeat call is identical.
    const done = finishJobs(observed);
    const after = await syncAt(LEAF_DUE, cluster(), done, related);
    expect(reloadJobs(after).map((j) => j.metadata.name)).toEqual([job!.metadata.name]);
    expect(JSON.stringify(await syncAt(LEAF_DUE, cluster(), done, related))).toBe(JSON.stringify(after));
  });

  it("a customTLSSecret is the user's: no mark, no Job", async () => {
    const parent = cluster({ customTLSSecret: { name: "mine" } });
    const { children, related } = await steadyState(parent);
    const renewed = await syncAt(LEAF_DUE, parent, children, related);
    expect(reloadJobs(renewed)).toEqual([]);
  });
});

const skip = skipReason();
if (skip) console.warn(`skipping the reload script against PostgreSQL: ${skip}`);

describe.skipIf(skip !== undefined)("the reload script against a real PostgreSQL 15", () => {
  let pg: TempPostgres;
  let bundle: string;
  let newCaFile: string;
  let next: { certificate: string; privateKey: string };
  const password = "reload-test-password";

  beforeAll(async () => {
    const from = new Date(Date.now() - 3600_000);
    const until = new Date(Date.now() + 30 * DAY);
    const oldCa = await webCryptoPki.createAuthority({ commonName: "old-ca", notBefore: from, notAfter: until });
    const newCa = await webCryptoPki.createAuthority({ commonName: "new-ca", notBefore: from, notAfter: until });
    const issue = (ca: typeof oldCa) =>
      webCryptoPki.issue(ca, {
        commonName: "hippo-primary",
        dnsNames: ["localhost"],
        usage: "server",
        notBefore: from,
        notAfter: until,
      });
    const current = await issue(oldCa);
    next = await issue(newCa);
    pg = await startPostgres({
      conf: ["ssl = on", "ssl_cert_file = '../server.crt'", "ssl_key_file = '../server.key'"],
      hba: ["hostssl all postgres 127.0.0.1/32 scram-sha-256"],
      files: { "server.crt": [current.certificate, 0o644], "server.key": [current.privateKey, 0o600] },
    });
    await pg.sql(`ALTER ROLE postgres PASSWORD '${password}'`);
    const mine = (name: string, content: string) => {
      const path = pg.writeFile(name, content, 0o600);
      chownSync(path, 0, 0);
      return path;
    };
    bundle = mine("bundle.pem", `${oldCa.certificate}${newCa.certificate}`);
    newCaFile = mine("new-ca.pem", newCa.certificate);
  }, 60_000);
  afterAll(async () => pg?.stop());

  const script = (env: Record<string, string>) =>
    run("sh", ["-c", RELOAD_SCRIPT], {
      env: cleanEnv({
        PATH: `${PG_BIN}:${process.env.PATH}`,
        MEMBERS: "localhost",
        PGPORT: String(pg.port),
        PGDATABASE: "postgres",
        PGUSER: "postgres",
        PGPASSWORD: password,
        PGSSLMODE: "verify-full",
        PGSSLROOTCERT: bundle,
        ...env,
      }),
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const servesNew = async () =>
    (
      await psql(
        `host=localhost port=${pg.port} dbname=postgres user=postgres sslmode=verify-full sslrootcert=${newCaFile}`,
        "SELECT 1",
        { PGPASSWORD: password },
      )
    ).ok;

  it("gives up with a message while the new certificate is not on disk", async () => {
    const r = await script({ EXPECTED_CERT: next.certificate, TRIES: "2", RETRY_SECONDS: "0.2" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("localhost: the new server certificate is not on its disk after 2 checks");
    expect(await servesNew()).toBe(false);
  });

  it("waits for the new certificate on disk, then reloads: Postgres serves it without a restart", async () => {
    const pid = await pg.sql("SELECT pg_postmaster_start_time()");
    const running = script({ EXPECTED_CERT: next.certificate, TRIES: "50", RETRY_SECONDS: "0.2" });
    await new Promise((r) => setTimeout(r, 500));
    pg.writeFile("server.key", next.privateKey, 0o600);
    pg.writeFile("server.crt", next.certificate, 0o644);
    const r = await running;
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("localhost: reloaded");
    expect(await servesNew()).toBe(true);
    expect(await pg.sql("SELECT pg_postmaster_start_time()")).toBe(pid);
  });
});
