/**
 * Scenarios 6 and 7 of the end-to-end issue, with the cluster hook's output for
 * `proxy.pgBouncer` and `monitoring.pgmonitor.exporter` run by the real programs:
 *
 * 6. The pgBouncer Deployment's pod runs Debian's pgBouncer with the generated pgbouncer.ini,
 *    auth_file and certificates (projected volume), in front of the cluster's primary Service;
 *    the auth_query function comes from the generated users SQL. A client connects the way the
 *    user Secret says (pgbouncer-host/port, TLS verified against the cluster CA, SCRAM).
 * 7. The exporter sidecar is not installed here; its queries (the generated ConfigMap, as the
 *    Kubelet stand-in wrote it into the sidecar's volume) run with psql as the sidecar would
 *    connect: its DATA_SOURCE_* environment resolved from the generated Secret, inside its mount
 *    namespace (so the CA path is the pod's), on the primary and on a replica.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { names } from "../../shared/names.ts";
import { decodeSecretData, resolveEnv } from "../pods/spec.ts";
import { E2ECluster, type PodRuntime } from "./lib/cluster.ts";
import { type Etcd, startEtcd } from "./lib/etcd.ts";
import { type Conn, conninfo, psqlEnv, query, sql } from "./lib/pg.ts";
import { mapListenAddress } from "./lib/podworld.ts";
import { run } from "./lib/proc.ts";
import { findings, outcome, record } from "./lib/results.ts";
import { appConn, bootstrap, healthy, INSTANCE_VOLUME, teardownCluster, userSecret } from "./lib/scenario.ts";
import { Fatal, seconds, waitFor } from "./lib/wait.ts";

function spec(instances: number) {
  return {
    postgresVersion: 15,
    instances: [{ name: "db", replicas: instances, dataVolumeClaimSpec: INSTANCE_VOLUME }],
    users: [{ name: "app", databases: ["appdb"] }],
    proxy: { pgBouncer: { replicas: 1 } },
    monitoring: { pgmonitor: { exporter: {} } },
  };
}

let etcd: Etcd | undefined;
const clusters: E2ECluster[] = [];
let failed = false;

function newCluster(name: string, instances: number): E2ECluster {
  const c = new E2ECluster({ name, spec: spec(instances), etcd: etcd! });
  clusters.push(c);
  return c;
}

async function done(c: E2ECluster): Promise<void> {
  findings(c.name, c.findings);
  clusters.splice(clusters.indexOf(c), 1);
  await teardownCluster(c, !failed);
}

/**
 * A client that stays connected between statements (an application's pooled connection): each
 * `ask` sends one statement and returns the one line it prints.
 */
class Session {
  private readonly proc: ChildProcessWithoutNullStreams;
  private out = "";
  private err = "";
  private lines = 0;

  constructor(
    readonly label: string,
    conn: Conn,
  ) {
    this.proc = spawn("psql", [conninfo(conn), "-XAtq"], { env: psqlEnv(conn) });
    this.proc.stdout.on("data", (d) => (this.out += d));
    this.proc.stderr.on("data", (d) => (this.err += d));
  }

  async ask(statement: string): Promise<string> {
    const want = this.lines + 1;
    const errBefore = this.err.length;
    this.proc.stdin.write(`${statement};\n`);
    const line = await waitFor(
      `${this.label}: ${statement}`,
      () => {
        if (this.err.length > errBefore) throw new Fatal(`${this.label}: ${this.err.slice(errBefore)}`);
        if (this.proc.exitCode !== null) throw new Fatal(`${this.label}: psql exited ${this.proc.exitCode}`);
        const lines = this.out.split("\n").filter(Boolean);
        return lines.length >= want ? lines[want - 1] : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    this.lines = want;
    return line;
  }

  close(): void {
    this.proc.stdin.end();
    if (this.proc.exitCode === null) this.proc.kill();
  }
}

/** SHOW POOLS of pgBouncer's admin console, one row per database/user pool, by column name. */
async function pools(admin: Conn): Promise<Record<string, string>[]> {
  const r = await run(["psql", conninfo(admin), "-XAq", "-F", "\t", "-c", "SHOW POOLS"], {
    env: psqlEnv(admin),
    timeoutMs: 15_000,
  });
  if (r.code !== 0) throw new Error(`SHOW POOLS: ${r.stderr}`);
  const [head, ...rows] = r.stdout.trim().split("\n");
  const cols = head!.split("\t");
  return rows
    .filter((l) => !/^\(\d+ rows?\)$/.test(l))
    .map((l) => Object.fromEntries(l.split("\t").map((v, i) => [cols[i]!, v])));
}

describe.sequential("pgBouncer and monitoring", () => {
  beforeAll(async () => {
    etcd = await startEtcd();
  });

  afterAll(async () => {
    for (const c of [...clusters]) await done(c);
    await etcd?.stop();
  });

  it("6: pgBouncer with the generated configuration and auth_query: TLS, SCRAM, transaction pooling", async () => {
    const t0 = Date.now();
    const sessions: Session[] = [];
    let c: E2ECluster | undefined;
    try {
      c = newCluster("bouncer", 1);
      const cl = c;
      const boot = await bootstrap(cl, 1);
      record("6 pgBouncer", "1 instance Ready + users Job done", boot.readySeconds, "s");

      // the Deployment's pod Ready by its own probe, and its status as the hook observes it
      const deployment = names.pgbouncer(cl.name);
      const status = await cl.converge("the pgBouncer Deployment to report a ready replica", () => {
        const st = cl.mc.child("Deployment", deployment)?.status;
        return st?.readyReplicas === 1 ? st : undefined;
      });
      expect(status.updatedReplicas).toBe(1);
      const podName = cl.deploymentPods.get(deployment)!;
      const pod = cl.pod(podName);
      expect(pod.daemons.has("pgbouncer"), "the pgbouncer container runs").toBe(true);
      record("6 pgBouncer", "pgBouncer pod Ready (hook call -> Ready)", seconds(t0), "s");

      // as an application connects with its Secret: pgbouncer-host/-port, TLS verified by name
      const s = userSecret(cl, "app");
      expect(s["pgbouncer-host"]).toBe(`${deployment}.${cl.namespace}.svc`);
      const target = cl.resolve(s["pgbouncer-host"]!, Number(s["pgbouncer-port"]));
      expect(target?.pod, "the pgBouncer Service selects the Deployment's pod").toBe(podName);
      const client = (overrides: Partial<Conn> = {}): Conn => ({
        ...appConn(cl, "app", "appdb"),
        host: s["pgbouncer-host"]!,
        port: target!.port,
        ...overrides,
      });
      const tFirst = Date.now();
      const first = await waitFor("a query through pgBouncer", async () => {
        const r = await query(
          client(),
          "select current_user || '|' || current_database() || '|' || ssl from pg_stat_ssl where pid = pg_backend_pid()",
        );
        if (!r.ok) throw new Error(r.err);
        return r.out;
      });
      record("6 pgBouncer", "first query through pgBouncer after its pod was Ready", seconds(tFirst), "s");
      // SCRAM with the Secret's password; pgBouncer's own server connection uses TLS too
      expect(first).toBe("app|appdb|true");

      // pgBouncer's admin console, as the pgBouncer exporter logs in (stats_users)
      const bouncerSecret = decodeSecretData(cl.secret(names.pgbouncer(cl.name)));
      const admin = client({ user: bouncerSecret.username!, password: bouncerSecret.password!, dbname: "pgbouncer" });

      // transaction pooling: a server connection belongs to a client for one transaction only
      // (first, while the pool's one server connection is young: server_lifetime would replace it)
      const a = new Session("client A", client());
      const b = new Session("client B", client());
      sessions.push(a, b);
      const pidA = await a.ask("select pg_backend_pid()");
      // A stays connected but idle: B gets the very server connection A used
      const pidB = await b.ask("select pg_backend_pid()");
      expect(pidB, "B shares A's server connection while A idles").toBe(pidA);
      // B inside a transaction keeps it; A's next statement needs another one
      expect(await b.ask("begin; select pg_backend_pid()")).toBe(pidA);
      const pidA2 = await a.ask("select pg_backend_pid()");
      expect(pidA2, "A gets another server connection while B's transaction holds the first").not.toBe(pidA);
      await b.ask("commit; select 1");
      const pool = (await pools(admin)).find((p) => p.database === "appdb" && p.user === "app");
      expect(pool?.pool_mode).toBe("transaction");
      expect(Number(pool?.cl_active) + Number(pool?.cl_waiting), "clients connected to the pool").toBe(2);
      const servers = ["sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"].reduce(
        (n, k) => n + Number(pool?.[k] ?? 0),
        0,
      );
      expect(servers, "server connections for two clients").toBeLessThanOrEqual(2);

      // the client side is TLS: pgBouncer says so, and a client without TLS is refused
      const tls = await sql(admin, "SHOW CLIENTS");
      expect(tls).toMatch(/TLSv1\.[23]/);
      const plain = await query(client({ sslmode: "disable" }), "select 1");
      expect(plain.ok, "a client without TLS").toBe(false);
      // a wrong password is refused; operator roles never log in through the auth_query
      const wrong = await query(client({ password: `${s.password}x` }), "select 1");
      expect(wrong.ok).toBe(false);
      expect(wrong.err).toMatch(/SASL authentication failed|password authentication failed/);
      const monitoring = decodeSecretData(cl.secret(names.monitoringSecret(cl.name)));
      const asMonitoring = await query(
        client({ user: monitoring.username!, password: monitoring.password!, dbname: "postgres" }),
        "select 1",
      );
      expect(asMonitoring.ok, "the monitoring role through pgBouncer").toBe(false);
      const su = cl.superuser();
      const asSuperuser = await query(client({ user: su.user, password: su.password, dbname: "postgres" }), "select 1");
      expect(asSuperuser.ok, "the superuser through pgBouncer").toBe(false);
      // the right password still works (server_login_retry did not lock the pool out)
      expect((await query(client(), "select 1")).out).toBe("1");

      // writes go through to the primary
      await sql(client(), "create table pooled(x int); begin; insert into pooled values (1), (2); commit");
      expect(await sql(appConn(cl, "app", "appdb"), "select sum(x) from pooled")).toBe("3");

      record("6 pgBouncer", "scenario wall time", seconds(t0), "s");
      outcome(
        "6 pgBouncer",
        "passed",
        `TLS + SCRAM through the generated pgbouncer.ini/auth_query, wrong password and operator roles refused, transaction pooling (2 clients, ${servers} server connections)`,
      );
    } catch (e) {
      failed = true;
      outcome("6 pgBouncer", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    } finally {
      for (const x of sessions) x.close();
      if (c) await done(c);
    }
  });

  it("7: the monitoring role reads what the exporter queries need, and nothing else", async () => {
    const t0 = Date.now();
    let c: E2ECluster | undefined;
    try {
      c = newCluster("watch", 2);
      const cl = c;
      const boot = await bootstrap(cl, 2);
      record("7 monitoring", "2 instances Ready + users Job done", boot.readySeconds, "s");
      // the leader the replica streams from now (bootstrap's first leader may have moved since)
      const leader = await cl.converge("a replica streaming from the leader", () => healthy(cl, 1), 60_000);
      const replica = [...cl.pods.values()].find((p) => p.started && p.patroni && p.name !== leader)!;

      // user tables the monitoring role must not read, in postgres and in an application database
      await sql(cl.superConn(cl.pgPort(leader)), "create table secrets(v text); insert into secrets values ('s3cr3t')");
      await sql(appConn(cl, "app", "appdb"), "create table private(v text); insert into private values ('p')");

      const exporter = (pod: PodRuntime) => {
        const spec = pod.template.spec as V1PodSpec;
        const container = spec.containers.find((x) => x.name === "exporter") as V1Container | undefined;
        if (!container) throw new Error(`pod ${pod.name} has no exporter container`);
        const env = resolveEnv(container, cl.facts(pod, spec.serviceAccountName), cl.source);
        for (const k of ["DATA_SOURCE_URI", "DATA_SOURCE_USER", "DATA_SOURCE_PASS", "PG_EXPORTER_EXTEND_QUERY_PATH"])
          if (!env[k]) throw new Error(`exporter of ${pod.name}: no ${k}`);
        return { container, env };
      };
      /** psql as the sidecar connects (postgres_exporter: postgresql://user:pass@DATA_SOURCE_URI). */
      const asExporter = async (pod: PodRuntime, text: string, dbname?: string) => {
        const { container, env } = exporter(pod);
        const slash = env.DATA_SOURCE_URI!.indexOf("/");
        const hostport = env.DATA_SOURCE_URI!.slice(0, slash);
        let rest = env.DATA_SOURCE_URI!.slice(slash);
        if (dbname) rest = rest.replace(/^\/[^?]*/, `/${dbname}`);
        const enc = encodeURIComponent;
        // the sidecar's localhost:5432 is its own pod's Postgres: that pod's host port
        const dsn = `postgresql://${enc(env.DATA_SOURCE_USER!)}:${enc(env.DATA_SOURCE_PASS!)}@${mapListenAddress(hostport, pod.place)}${rest}`;
        const r = await cl.exec(
          pod.name,
          container.name!,
          ["psql", dsn, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", text],
          {
            timeoutMs: 30_000,
          },
        );
        return { ok: r.code === 0, out: r.stdout.trim(), err: r.stderr.trim() };
      };
      const rows = async (pod: PodRuntime, text: string) => {
        const r = await asExporter(pod, `select coalesce(json_agg(x), '[]') from (${text}) x`);
        if (!r.ok) throw new Error(`on ${pod.name}: ${r.err}\n  sql: ${text}`);
        return JSON.parse(r.out) as Record<string, unknown>[];
      };

      // the queries as the Kubelet stand-in wrote them into the sidecar's volume
      const primary = cl.pod(leader);
      const queriesFile = cl.hostPath(primary, exporter(primary).env.PG_EXPORTER_EXTEND_QUERY_PATH!);
      const queries = YAML.parse(readFileSync(queriesFile, "utf8")) as Record<
        string,
        { query: string; metrics: Record<string, { usage: string }>[] }
      >;
      expect(Object.keys(queries).length).toBeGreaterThan(0);

      // the role: TLS only, pg_monitor and nothing more
      const who = await asExporter(
        primary,
        "select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls from pg_roles where rolname = current_user",
      );
      expect(who.err).toBe("");
      expect(who.out).toBe("f|f|f|f|f");
      expect(
        await asExporter(
          primary,
          "select string_agg(r.rolname, ',' order by r.rolname) from pg_auth_members m join pg_roles r on r.oid = m.roleid where m.member = (select oid from pg_roles where rolname = current_user)",
        ),
      ).toMatchObject({ ok: true, out: "pg_monitor" });
      const { env } = exporter(primary);
      const plain = await query(
        {
          port: cl.pgPort(leader),
          user: env.DATA_SOURCE_USER!,
          password: env.DATA_SOURCE_PASS!,
          sslmode: "disable",
        },
        "select 1",
      );
      expect(plain.ok, "the monitoring role without TLS").toBe(false);

      // every query runs on the primary and on the replica, with the columns its metrics name
      let ran = 0;
      for (const pod of [primary, replica]) {
        for (const [name, q] of Object.entries(queries)) {
          const result = await rows(pod, q.query);
          const columns = q.metrics.map((m) => Object.keys(m)[0]!).sort();
          for (const row of result) expect(Object.keys(row).sort(), `${name} on ${pod.name}`).toEqual(columns);
          ran++;
        }
      }
      // and reports what it should
      if (queries.ccp_is_in_recovery) {
        expect(await rows(primary, queries.ccp_is_in_recovery.query)).toEqual([{ status: 2 }]);
        expect(await rows(replica, queries.ccp_is_in_recovery.query)).toEqual([{ status: 1 }]);
      }
      if (queries.ccp_replication_lag_size) {
        const lag = await rows(primary, queries.ccp_replication_lag_size.query);
        expect(lag.map((r) => r.replica)).toEqual([replica.name]);
      }
      if (queries.ccp_database_size) {
        const sizes = await rows(primary, queries.ccp_database_size.query);
        expect(sizes.map((r) => r.dbname)).toEqual(expect.arrayContaining(["appdb", "postgres"]));
      }

      // and nothing else: user tables, password hashes, files, writes
      const denied: [string, string, string | undefined][] = [
        ["a superuser's table in postgres", "select * from secrets", undefined],
        ["the application's table", "select * from private", "appdb"],
        ["password hashes", "select rolpassword from pg_authid", undefined],
        ["server files", "select pg_read_file('postgresql.conf')", undefined],
        ["creating a table", "create table mine(x int)", undefined],
        ["writing a user table", "insert into private values ('x')", "appdb"],
      ];
      for (const [what, text, db] of denied) {
        const r = await asExporter(primary, text, db);
        expect(r.ok, what).toBe(false);
        expect(r.err, what).toMatch(/permission denied/);
      }

      record("7 monitoring", "exporter queries run as the monitoring role", ran, "", "primary and replica");
      record("7 monitoring", "scenario wall time", seconds(t0), "s");
      outcome(
        "7 monitoring",
        "passed",
        `${Object.keys(queries).length} exporter queries on primary and replica as ${env.DATA_SOURCE_USER} (TLS, verify-ca from the sidecar's mount); ${denied.length} reads/writes outside pg_monitor refused`,
      );
    } catch (e) {
      failed = true;
      outcome("7 monitoring", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    } finally {
      if (c) await done(c);
    }
  });
});
