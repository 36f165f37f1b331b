import { describe, expect, it } from "vitest";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { serverDnsNames } from "../../../functions/cluster/tls/secrets.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { verifierMatches } from "../../../shared/crypto/scram.ts";
import { certificateInfo, type Pki, verifyCertificate } from "../../../shared/crypto/x509.ts";
import { LABEL } from "../../../shared/labels.ts";
import { Parent } from "../../../shared/metacontroller.ts";
import { byKind, child, cluster, decode, type Json, NOW, observe, request, seededDeps, sync } from "./fixtures.ts";

const secretsOf = (children: Json[]) => children.filter((c) => c.kind === "Secret");

describe("cluster Secrets", () => {
  it("gives each user a Secret with connection details and a SCRAM verifier of its password", async () => {
    const res = await sync(cluster({ users: [{ name: "app", databases: ["appdb", "other"] }] }));
    const s = child(res, "Secret", "hippo-pguser-app");
    expect(s.metadata.labels[LABEL.user]).toBe("app");
    const d = decode(s);
    expect(Object.keys(d).sort()).toEqual([
      "dbname",
      "host",
      "jdbc-uri",
      "password",
      "port",
      "uri",
      "user",
      "verifier",
    ]);
    expect(d.user).toBe("app");
    expect(d.dbname).toBe("appdb");
    expect(d.host).toBe("hippo-primary.db.svc");
    expect(d.port).toBe("5432");
    expect(d.password).toHaveLength(24);
    expect(d.uri).toBe(`postgresql://app:${encodeURIComponent(d.password!)}@hippo-primary.db.svc:5432/appdb`);
    expect(d["jdbc-uri"]).toBe(
      `jdbc:postgresql://hippo-primary.db.svc:5432/appdb?password=${encodeURIComponent(d.password!)}&user=app`,
    );
    expect(await verifierMatches(d.verifier!, d.password!)).toBe(true);
  });

  it("without users, creates a user and a database named after the cluster", async () => {
    const d = decode(child(await sync(cluster()), "Secret", "hippo-pguser-hippo"));
    expect(d.user).toBe("hippo");
    expect(d.dbname).toBe("hippo");
  });

  it("gives a user named postgres the superuser's password", async () => {
    const res = await sync(cluster({ users: [{ name: "postgres" }, { name: "app" }] }));
    const internal = decode(child(res, "Secret", "hippo-internal"));
    const pg = decode(child(res, "Secret", "hippo-pguser-postgres"));
    expect(pg.password).toBe(internal["superuser-password"]);
    expect(pg.dbname).toBeUndefined();
    expect(pg.uri).toMatch(/^postgresql:\/\/postgres:[^@]+@hippo-primary\.db\.svc:5432$/);
  });

  it("generates passwords only when absent and reads them back forever after", async () => {
    const first = await sync(cluster(), {}, {}, 1);
    const other = await sync(cluster(), {}, {}, 2);
    expect(decode(child(first, "Secret", "hippo-internal"))).not.toEqual(
      decode(child(other, "Secret", "hippo-internal")),
    );
    const again = await sync(cluster(), observe(first.children as Json[]), {}, 2);
    expect(secretsOf(again.children as Json[])).toEqual(secretsOf(first.children as Json[]));
  });

  it("keeps a user's verifier while it matches, and replaces it when the password was changed", async () => {
    const first = await sync(cluster({ users: [{ name: "app" }] }));
    const observed = observe(first.children as Json[]);
    const secret = observed["Secret.v1"]!["hippo-pguser-app"] as Json;
    const original = decode(secret);
    secret.data.password = Buffer.from("a-new-password-set-by-hand").toString("base64");
    const res = await sync(cluster({ users: [{ name: "app" }] }), observed, {}, 5);
    const d = decode(child(res, "Secret", "hippo-pguser-app"));
    expect(d.password).toBe("a-new-password-set-by-hand");
    expect(d.verifier).not.toBe(original.verifier);
    expect(await verifierMatches(d.verifier!, d.password!)).toBe(true);
    // The users Job SQL carries the new verifier, so the role's password follows the Secret.
    expect(decode(child(res, "Secret", "hippo-users-sql"))["users.sql"]).toContain(d.verifier);
  });

  it("honours the password type", async () => {
    const res = await sync(cluster({ users: [{ name: "app", password: { type: "AlphaNumeric" } }] }));
    expect(decode(child(res, "Secret", "hippo-pguser-app")).password).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  it("issues a CA, a server certificate naming every Service and pod, and a replication client certificate", async () => {
    const res = await sync(cluster());
    const ca = decode(child(res, "Secret", "hippo-ca"));
    const server = decode(child(res, "Secret", "hippo-cluster-cert"));
    const repl = decode(child(res, "Secret", "hippo-replication-cert"));
    expect(child(res, "Secret", "hippo-cluster-cert").type).toBe("kubernetes.io/tls");
    expect(server["ca.crt"]).toBe(ca["ca.crt"]);
    expect(await verifyCertificate(server["tls.crt"]!, ca["ca.crt"]!, NOW)).toBe(true);
    expect(await verifyCertificate(repl["tls.crt"]!, ca["ca.crt"]!, NOW)).toBe(true);
    const info = await certificateInfo(server["tls.crt"]!);
    for (const n of [
      "hippo-primary",
      "hippo-primary.db",
      "hippo-primary.db.svc",
      "hippo-primary.db.svc.cluster.local",
      "hippo-replicas.db.svc",
      "*.hippo-pods.db.svc",
      "*.hippo-pods.db.svc.cluster.local",
      "localhost",
    ])
      expect(info.dnsNames).toContain(n);
    expect((await certificateInfo(repl["tls.crt"]!)).subjectCommonName).toBe("_tusk_replication");
    expect((await certificateInfo(ca["ca.crt"]!)).isCA).toBe(true);
    expect(info.notBefore.getTime()).toBeLessThan(NOW.getTime());
  });

  it("keeps certificates across syncs and reissues one whose names no longer fit", async () => {
    const first = await sync(cluster());
    const observed = observe(first.children as Json[]);
    const kept = await sync(cluster(), observed, {}, 3);
    expect(secretsOf(kept.children as Json[])).toEqual(secretsOf(first.children as Json[]));
    // A server certificate issued for another namespace is replaced, still signed by the same CA.
    const foreign = await sync(cluster({}, "hippo", "elsewhere"));
    observed["Secret.v1"]!["hippo-cluster-cert"] = {
      ...(observed["Secret.v1"]!["hippo-cluster-cert"] as Json),
      data: {
        ...child(foreign, "Secret", "hippo-cluster-cert").data,
        "ca.crt": child(first, "Secret", "hippo-ca").data["ca.crt"],
      },
    };
    const reissued = await sync(cluster(), observed, {}, 3);
    const cert = decode(child(reissued, "Secret", "hippo-cluster-cert"));
    expect(cert["tls.crt"]).not.toBe(decode(child(first, "Secret", "hippo-cluster-cert"))["tls.crt"]);
    expect((await certificateInfo(cert["tls.crt"]!)).dnsNames).toContain("hippo-primary.db.svc");
    expect(child(reissued, "Secret", "hippo-ca")).toEqual(child(first, "Secret", "hippo-ca"));
  });

  it("reissues the leaf certificates when the CA was replaced", async () => {
    const first = await sync(cluster());
    const observed = observe(first.children as Json[]);
    delete observed["Secret.v1"]!["hippo-ca"];
    const res = await sync(cluster(), observed, {}, 3);
    const ca = decode(child(res, "Secret", "hippo-ca"))["ca.crt"]!;
    expect(ca).not.toBe(decode(child(first, "Secret", "hippo-ca"))["ca.crt"]);
    for (const name of ["hippo-cluster-cert", "hippo-replication-cert"]) {
      const d = decode(child(res, "Secret", name));
      expect(d["ca.crt"]).toBe(ca);
      expect(await verifyCertificate(d["tls.crt"]!, ca, NOW)).toBe(true);
    }
  });

  it("issues every certificate through deps.pki, so a seeded PKI makes them reproducible", async () => {
    const calls: string[] = [];
    const recording = (pki: Pki): Pki => ({
      createAuthority(o) {
        calls.push(`ca ${o.commonName}`);
        return pki.createAuthority(o);
      },
      renewAuthority(ca, v) {
        calls.push("renew");
        return pki.renewAuthority(ca, v);
      },
      issue(ca, r) {
        calls.push(`${r.usage} ${r.commonName}`);
        return pki.issue(ca, r);
      },
      inspect: (pem) => pki.inspect(pem),
    });
    const parent = cluster({ backups: undefined });
    const deps = seededDeps(5);
    const res = await syncCluster(request(parent), { ...deps, pki: recording(deps.pki!) });
    expect(calls).toEqual(["ca db-hippo-ca", "server hippo-primary", "client _tusk_replication"]);
    const again = await sync(parent, {}, {}, 5);
    expect(byKind(again, "Secret")).toEqual(byKind(res, "Secret"));
  });

  it("projects the user's customTLSSecret and customReplicationTLSSecret instead of generating them", async () => {
    const res = await sync(
      cluster({ customTLSSecret: { name: "my-tls" }, customReplicationTLSSecret: { name: "my-repl" } }),
    );
    const names = byKind(res, "Secret").map((s) => s.metadata.name);
    expect(names).not.toContain("hippo-cluster-cert");
    expect(names).not.toContain("hippo-replication-cert");
    const volume = child(res, "StatefulSet", "hippo-instance1-0").spec.template.spec.volumes.find(
      (v: Json) => v.name === "certificates",
    );
    expect(volume.projected.sources.map((s: Json) => s.secret.name)).toEqual(["my-tls", "my-repl"]);
    expect(volume.projected.sources[1].secret.items.map((i: Json) => i.path)).toEqual([
      "replication/tls.crt",
      "replication/tls.key",
    ]);
  });

  it("names certificates of long clusters within X.509 and DNS limits", () => {
    const long = "c".repeat(60);
    const m = clusterModel(Parent.parse(cluster({}, long, "n".repeat(63))));
    if (!m.ok) throw new Error("invalid");
    for (const n of serverDnsNames(m.model))
      for (const label of n.split(".")) expect(label.length).toBeLessThanOrEqual(63);
  });
});
