import { describe, expect, it } from "vitest";
import { authDatabases } from "../../../functions/cluster/pgbouncer/sql.ts";
import { psqlConnect } from "../../../functions/cluster/users/sql.ts";
import { certificateInfo } from "../../../shared/crypto/x509.ts";
import { ANNOTATION, LABEL } from "../../../shared/labels.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { byKind, child, cluster, decode, type Json, observe, steadyState, sync } from "./fixtures.ts";

const proxied = (pgBouncer: Json = {}, spec: Json = {}) =>
  cluster({ users: [{ name: "app", databases: ["app", "reports"] }], proxy: { pgBouncer }, ...spec });

const ini = (res: { children: unknown[] }) =>
  child(res as never, "ConfigMap", "hippo-pgbouncer").data["pgbouncer.ini"] as string;

/**
 * `[section]` -> key -> value, failing on a repeated section (pgBouncer 1.18 would reset it,
 * docs/dataplane-notes.md G7).
 */
function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const line of text.split("\n")) {
    if (/^\s*([;#]|$)/.test(line)) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      if (out[section]) throw new Error(`section [${section}] appears twice`);
      out[section] = {};
      continue;
    }
    const eq = line.indexOf("=");
    out[section]![line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

const PGBOUNCER_CHILDREN = [
  "ConfigMap/hippo-pgbouncer",
  "Deployment/hippo-pgbouncer",
  "Secret/hippo-pgbouncer",
  "Secret/hippo-pgbouncer-cert",
  "Service/hippo-pgbouncer",
];
const pgbouncerChildren = (res: { children: unknown[] }) =>
  (res.children as Json[])
    .map((c) => `${c.kind}/${c.metadata.name}`)
    .filter((n) => n.includes("pgbouncer"))
    .sort();

describe("pgBouncer: children", () => {
  it("adds a Deployment, Service, ConfigMap, Secret and certificate, all valid; a PDB only for more than one pod", async () => {
    const one = await sync(proxied());
    expect(pgbouncerChildren(one)).toEqual(PGBOUNCER_CHILDREN);
    const two = await sync(proxied({ replicas: 2 }));
    expect(pgbouncerChildren(two)).toEqual([...PGBOUNCER_CHILDREN, "PodDisruptionBudget/hippo-pgbouncer"].sort());
    expect(child(two, "PodDisruptionBudget", "hippo-pgbouncer").spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: { [LABEL.cluster]: "hippo", [LABEL.role]: "pgbouncer" } },
    });
    const pinned = await sync(proxied({ replicas: 1, minAvailable: 1 }));
    expect(pgbouncerChildren(pinned)).toContain("PodDisruptionBudget/hippo-pgbouncer");
    for (const c of two.children as Json[]) {
      expect(validateObject(c), `${c.kind} ${c.metadata.name}`).toEqual([]);
      if (c.kind === "Deployment") expect(podSecurityRestrictedViolations(c)).toEqual([]);
    }
  });

  it("removing spec.proxy removes every pgBouncer child and the user Secrets' pgbouncer keys", async () => {
    const { children, related } = await steadyState(proxied());
    const without = cluster({ users: [{ name: "app", databases: ["app", "reports"] }] });
    const res = await sync(without, children, related);
    expect(pgbouncerChildren(res)).toEqual([]);
    expect(
      Object.keys(decode(child(res, "Secret", "hippo-pguser-app"))).filter((k) => k.startsWith("pgbouncer")),
    ).toEqual([]);
    expect(decode(child(res, "Secret", "hippo-users-sql"))["users.sql"]).not.toContain("_tusk_pgbouncer");
  });

  it("is stable: feeding its answer back as observed changes nothing, the auth_user's password included", async () => {
    const { res, children, related } = await steadyState(proxied({ replicas: 2 }));
    const again = await sync(proxied({ replicas: 2 }), observe(res.children as Json[], children), related, 99);
    expect(again).toEqual(res);
  });
});

describe("pgBouncer: pgbouncer.ini", () => {
  it("has one [pgbouncer] section, transaction pooling, auth_query through the lookup and TLS on both sides", async () => {
    const parsed = parseIni(ini(await sync(proxied())));
    expect(Object.keys(parsed)).toEqual(["databases", "pgbouncer"]);
    expect(parsed.pgbouncer).toMatchObject({
      pool_mode: "transaction",
      auth_type: "scram-sha-256",
      auth_user: "_tusk_pgbouncer",
      auth_query: "SELECT username, password FROM _tusk_pgbouncer.get_auth($1)",
      auth_file: "/etc/pgbouncer/users.txt",
      client_tls_sslmode: "require",
      client_tls_cert_file: "/etc/pgbouncer/client-tls/tls.crt",
      server_tls_sslmode: "verify-ca",
      server_tls_ca_file: "/etc/pgbouncer/server-ca/ca.crt",
      listen_port: "5432",
      unix_socket_dir: "",
      server_login_retry: "1",
      server_lifetime: "60",
    });
    expect(parsed.pgbouncer!.server_check_query).toMatch(/pg_is_in_recovery\(\).*pg_terminate_backend/);
    expect(Number(parsed.pgbouncer!.max_client_conn)).toBeGreaterThan(Number(parsed.pgbouncer!.default_pool_size));
  });

  it("sends every database to the primary Service as the client's own user (no user=, for SCRAM pass-through)", async () => {
    const parsed = parseIni(ini(await sync(proxied({}, { port: 5433 }))));
    expect(parsed.databases).toEqual({ "*": "host=hippo-primary.db.svc port=5433" });
    for (const value of Object.values(parsed.databases!)) expect(value).not.toMatch(/\buser=/);
  });

  it("merges config.global/databases/users in, but not over what the operator owns, and reports what it ignored", async () => {
    const res = await sync(
      proxied({
        port: 6432,
        config: {
          global: {
            pool_mode: "session",
            default_pool_size: "50",
            auth_type: "trust",
            listen_port: "1",
            "bad key": "x",
          },
          databases: {
            reports: "host=hippo-replicas.db.svc port=5432 dbname=reports",
            evil: "x\n[pgbouncer]\nauth_type=any",
          },
          users: { app: "pool_mode=statement" },
        },
      }),
    );
    const parsed = parseIni(ini(res));
    expect(parsed.pgbouncer).toMatchObject({
      pool_mode: "session",
      default_pool_size: "50",
      auth_type: "scram-sha-256",
      listen_port: "6432",
    });
    expect(parsed.databases!.reports).toBe("host=hippo-replicas.db.svc port=5432 dbname=reports");
    expect(parsed.databases!.evil).toBeUndefined();
    expect(parsed.users).toEqual({ app: "pool_mode=statement" });
    const valid = (res.status.conditions as Json[]).find((c) => c.type === "Valid")!;
    expect(valid.reason).toBe("SettingsIgnored");
    for (const key of ["auth_type", "listen_port", "bad key", "evil"]) expect(valid.message).toContain(`"${key}"`);
  });

  it("a configuration change rolls the pods (new hash on the template) and leaves the Service alone", async () => {
    const a = await sync(proxied({ config: { global: { default_pool_size: "10" } } }));
    const b = await sync(proxied({ config: { global: { default_pool_size: "11" } } }));
    const hash = (res: Json) =>
      child(res as never, "Deployment", "hippo-pgbouncer").spec.template.metadata.annotations[ANNOTATION.configHash];
    expect(hash(a)).not.toBe(hash(b));
    expect(child(a, "Service", "hippo-pgbouncer")).toEqual(child(b, "Service", "hippo-pgbouncer"));
    expect(child(a, "Deployment", "hippo-pgbouncer").spec.strategy.rollingUpdate).toEqual({
      maxSurge: 1,
      maxUnavailable: 0,
    });
  });
});

describe("pgBouncer: pods and Service", () => {
  it("defaults: image, one replica, preferred anti-affinity across nodes; shutdown scales it to zero", async () => {
    const deployment = child(await sync(proxied()), "Deployment", "hippo-pgbouncer");
    expect(deployment.spec.replicas).toBe(1);
    const pod = deployment.spec.template.spec;
    expect(pod.containers.map((c: Json) => c.name)).toEqual(["pgbouncer"]);
    expect(pod.containers[0].image).toBe("ghcr.io/tusk-dev/pgbouncer:1");
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm).toEqual({
      topologyKey: "kubernetes.io/hostname",
      labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
    });
    const down = await sync(proxied({ replicas: 3 }, { shutdown: true }));
    expect(child(down, "Deployment", "hippo-pgbouncer").spec.replicas).toBe(0);
  });

  it("takes replicas, image, resources, scheduling and metadata from the spec", async () => {
    const spec = {
      replicas: 3,
      image: "example.com/pgbouncer:1.18",
      resources: { requests: { cpu: "100m" } },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      tolerations: [{ key: "pool", operator: "Exists" }],
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" }],
      priorityClassName: "high",
      metadata: { labels: { team: "a", [LABEL.role]: "not-this" }, annotations: { note: "x" } },
    };
    const deployment = child(await sync(proxied(spec)), "Deployment", "hippo-pgbouncer");
    const pod = deployment.spec.template;
    expect(deployment.spec.replicas).toBe(3);
    expect(pod.spec.containers[0]).toMatchObject({ image: spec.image, resources: spec.resources });
    expect(pod.spec.affinity).toEqual(spec.affinity);
    expect(pod.spec.tolerations).toEqual(spec.tolerations);
    expect(pod.spec.topologySpreadConstraints).toEqual(spec.topologySpreadConstraints);
    expect(pod.spec.priorityClassName).toBe("high");
    // A user label never replaces one the Service selects on.
    expect(pod.metadata.labels).toMatchObject({ team: "a", [LABEL.role]: "pgbouncer" });
    expect(pod.metadata.annotations.note).toBe("x");
  });

  it("exposes the Service as proxy.pgBouncer.service says, on proxy.pgBouncer.port, selecting exactly its pods", async () => {
    const res = await sync(
      proxied({ port: 6432, service: { type: "NodePort", nodePort: 30543, metadata: { annotations: { a: "b" } } } }),
    );
    const service = child(res, "Service", "hippo-pgbouncer");
    expect(service.spec).toMatchObject({
      type: "NodePort",
      ports: [{ name: "pgbouncer", port: 6432, targetPort: "pgbouncer", nodePort: 30543, protocol: "TCP" }],
    });
    expect(service.metadata.annotations).toEqual({ a: "b" });
    const deployment = child(res, "Deployment", "hippo-pgbouncer");
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(deployment.spec.template.spec.containers[0].ports).toEqual([
      { name: "pgbouncer", containerPort: 6432, protocol: "TCP" },
    ]);
  });

  it("mounts pgbouncer.ini, the auth_file, its certificate and the server CA; customTLSSecret replaces the certificate", async () => {
    const sources = (res: Json) =>
      child(res as never, "Deployment", "hippo-pgbouncer").spec.template.spec.volumes[0].projected.sources as Json[];
    const ours = sources(await sync(proxied()));
    expect(ours.map((s) => (s.secret ?? s.configMap).name)).toEqual([
      "hippo-pgbouncer",
      "hippo-pgbouncer",
      "hippo-pgbouncer-cert",
      "hippo-cluster-cert",
    ]);
    const custom = await sync(
      proxied(
        {
          customTLSSecret: {
            name: "bouncer-tls",
            items: [
              { key: "cert", path: "tls.crt" },
              { key: "key", path: "tls.key" },
            ],
          },
          config: { files: [{ secret: { name: "extra" } }] },
        },
        { customTLSSecret: { name: "hippo-tls" } },
      ),
    );
    expect(byKind(custom, "Secret").map((s) => s.metadata.name)).not.toContain("hippo-pgbouncer-cert");
    expect(sources(custom)).toEqual([
      { configMap: { name: "hippo-pgbouncer", items: [{ key: "pgbouncer.ini", path: "pgbouncer.ini" }] } },
      { secret: { name: "hippo-pgbouncer", items: [{ key: "users.txt", path: "users.txt" }] } },
      {
        secret: {
          name: "bouncer-tls",
          items: [
            { key: "cert", path: "client-tls/tls.crt" },
            { key: "key", path: "client-tls/tls.key" },
          ],
        },
      },
      { secret: { name: "hippo-tls", items: [{ key: "ca.crt", path: "server-ca/ca.crt" }] } },
      { secret: { name: "extra" } },
    ]);
  });

  it("issues its client certificate from the cluster CA for the pgBouncer Service's names", async () => {
    const res = await sync(proxied());
    const cert = decode(child(res, "Secret", "hippo-pgbouncer-cert"));
    const info = await certificateInfo(cert["tls.crt"]!);
    expect(info.dnsNames.sort()).toEqual(
      [
        "hippo-pgbouncer",
        "hippo-pgbouncer.db",
        "hippo-pgbouncer.db.svc",
        "hippo-pgbouncer.db.svc.cluster.local",
      ].sort(),
    );
    expect(cert["ca.crt"]).toBe(decode(child(res, "Secret", "hippo-ca"))["ca.crt"]);
  });
});

describe("pgBouncer: credentials and SQL", () => {
  // pgBouncer cannot run auth_query as an auth_user whose auth_file entry is a verifier (docs/dataplane-notes.md G1).
  it("keeps the auth_user's password in plain text in auth_file and sets only its verifier on the role", async () => {
    const res = await sync(proxied());
    const secret = decode(child(res, "Secret", "hippo-pgbouncer"));
    expect(secret["users.txt"]).toBe(`"_tusk_pgbouncer" "${secret.password}"\n`);
    expect(secret.password).toMatch(/^[A-Za-z0-9]{32}$/);
    const sql = decode(child(res, "Secret", "hippo-users-sql"))["users.sql"]!;
    expect(sql).toContain(`ALTER ROLE "_tusk_pgbouncer" WITH LOGIN NOSUPERUSER`);
    expect(sql).toContain(`PASSWORD '${secret.verifier}'`);
    expect(sql).not.toContain(secret.password);
  });

  it("creates the SECURITY DEFINER lookup in template1, postgres and every user database, ending in postgres", async () => {
    const sql = decode(child(await sync(proxied()), "Secret", "hippo-users-sql"))["users.sql"]!;
    const connects = [...sql.matchAll(/^\\connect .*$/gm)].map((m) => m[0]);
    expect(connects).toEqual(["template1", "postgres", "app", "reports", "postgres"].map(psqlConnect));
    expect(sql.match(/CREATE OR REPLACE FUNCTION _tusk_pgbouncer\.get_auth/g)).toHaveLength(4);
    expect(sql.match(/SECURITY DEFINER/g)).toHaveLength(4);
    expect(sql).toContain("NOT a.rolsuper AND NOT a.rolreplication");
  });

  it("lists each database once and connects to odd names literally", () => {
    expect(
      authDatabases({
        users: [{ databases: ["b", "postgres", "a"] }, { databases: ["a", "template1"] }],
      } as never),
    ).toEqual(["template1", "postgres", "a", "b"]);
    expect(psqlConnect("app")).toBe("\\connect -reuse-previous=on 'dbname=''app'''");
    // Backquotes, variables and `=` stay data; quotes are doubled at both levels.
    expect(psqlConnect("a'b `x` :v host=evil")).toBe(
      "\\connect -reuse-previous=on 'dbname=''a\\\\''b `x` :v host=evil'''",
    );
    expect(psqlConnect("two\nlines")).toBe("\\connect -reuse-previous=on 'dbname=''two\\nlines'''");
  });

  it("gives user Secrets pgbouncer-host/-port/-uri/-jdbc-uri, except the superuser's", async () => {
    const res = await sync(
      cluster({
        users: [{ name: "postgres" }, { name: "app", databases: ["app"] }],
        proxy: { pgBouncer: { port: 6432 } },
      }),
    );
    const app = decode(child(res, "Secret", "hippo-pguser-app"));
    const enc = encodeURIComponent(app.password!);
    expect(app).toMatchObject({
      "pgbouncer-host": "hippo-pgbouncer.db.svc",
      "pgbouncer-port": "6432",
      "pgbouncer-uri": `postgresql://app:${enc}@hippo-pgbouncer.db.svc:6432/app`,
      "pgbouncer-jdbc-uri": `jdbc:postgresql://hippo-pgbouncer.db.svc:6432/app?password=${enc}&prepareThreshold=0&user=app`,
    });
    const superuser = decode(child(res, "Secret", "hippo-pguser-postgres"));
    expect(Object.keys(superuser).filter((k) => k.startsWith("pgbouncer"))).toEqual([]);
  });
});
