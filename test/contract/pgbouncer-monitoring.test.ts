/**
 * What the cluster hook renders for `proxy.pgBouncer` and `monitoring.pgmonitor.exporter`, run
 * for real: PostgreSQL 15 with the hook's certificates and pg_hba, the hook's users SQL (roles,
 * the auth_query lookup in every database, the monitoring role and its pgBackRest lookup),
 * pgBouncer 1.18 with the hook's pgbouncer.ini, auth_file and certificates, a hot standby
 * standing in for a demoted leader, and pgBackRest 2.45 with a local repository. Only pod
 * paths, ports and host names are mapped to a temp dir and 127.0.0.1.
 *
 * Needs root (processes run as the `postgres` user), Debian's postgresql-15, pgbouncer and
 * pgbackrest; skipped with the reason otherwise.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { syncCluster } from "../../functions/cluster/sync.ts";
import { LABEL, PATRONI_LEADER_VALUE } from "../../shared/labels.ts";
import { PATHS } from "../../shared/pod-layout.ts";
import {
  cluster,
  decode,
  finishJobs,
  type Json,
  observe,
  podsOf,
  request,
  seededDeps,
  volume,
} from "../unit/cluster/fixtures.ts";
import {
  cleanEnv,
  freePort,
  PG_BIN,
  psql,
  skipReason,
  startPostgres,
  type TempPostgres,
} from "../unit/crypto/postgres-harness.ts";

const run = promisify(execFile);

const ODD_DB = "odd'db `x` :v a=b";
/** A libpq conninfo value, quoted. */
const conninfoValue = (v: string) => `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

function whyNot(): string | undefined {
  const base = skipReason();
  if (base) return base;
  if (!existsSync("/usr/sbin/pgbouncer")) return "no /usr/sbin/pgbouncer (apt-get install pgbouncer)";
  if (!existsSync("/usr/bin/pgbackrest")) return "no /usr/bin/pgbackrest (apt-get install pgbackrest)";
  return undefined;
}
const skip = whyNot();
if (skip) console.warn(`skipping pgBouncer/monitoring contract tests: ${skip}`);

const asPostgres = (cmd: string, args: string[]): [string, string[]] => [
  "setpriv",
  ["--reuid=postgres", "--regid=postgres", "--init-groups", cmd, ...args],
];

function ids(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"))!;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** The hook's children once the cluster runs: a steady sync with a ready leader and finished Jobs. */
async function renderCluster(spec: Json): Promise<Json[]> {
  const parent = cluster(spec);
  let res = await syncCluster(request(parent), seededDeps());
  let children = {};
  for (let i = 0; i < 4; i++) {
    children = finishJobs(observe(res.children as Json[], children));
    const related = podsOf(children, { "hippo-instance1-0-0": { role: PATRONI_LEADER_VALUE } });
    res = await syncCluster(request(parent, children, related), seededDeps());
  }
  return res.children as Json[];
}

const find = (children: Json[], kind: string, name: string): Json => {
  const c = children.find((x) => x.kind === kind && x.metadata.name === name);
  if (!c) throw new Error(`no ${kind} ${name}`);
  return c;
};

describe.skipIf(skip !== undefined)(
  "pgBouncer and monitoring against PostgreSQL 15, pgBouncer 1.18, pgBackRest 2.45",
  () => {
    let pg: TempPostgres;
    let dir: string;
    let children: Json[];
    let bouncerPort: number;
    let standbyPort: number;
    let standbyData: string;
    let bouncer: ChildProcess | undefined;
    let bouncerLog = "";
    let caFile: string;
    let appPassword: string;
    let monitoringPassword: string;
    let bouncerPassword: string;
    let standbyStarted = false;

    /** psql through pgBouncer, verifying its certificate for the Service's name while connecting to 127.0.0.1. */
    const viaBouncer = (
      query: string,
      opts: { user?: string; password?: string; db?: string; sslmode?: string } = {},
    ) =>
      psql(
        [
          "host=hippo-pgbouncer.db.svc",
          "hostaddr=127.0.0.1",
          `port=${bouncerPort}`,
          `dbname=${opts.db ?? "appdb"}`,
          `user=${opts.user ?? "app"}`,
          `sslmode=${opts.sslmode ?? "verify-full"}`,
          `sslrootcert=${caFile}`,
          "connect_timeout=5",
        ].join(" "),
        query,
        { PGPASSWORD: opts.password ?? appPassword },
      );

    beforeAll(async () => {
      bouncerPort = await freePort();
      standbyPort = await freePort();
      children = await renderCluster({
        // An odd database name: the users Job must \\connect to it literally.
        users: [{ name: "app", databases: ["appdb", ODD_DB] }],
        proxy: {
          pgBouncer: {
            replicas: 1,
            config: {
              // One server connection per pool: two clients sharing it proves transaction pooling;
              // a check before every reuse makes the demoted-leader test immediate.
              global: { default_pool_size: "1", server_check_delay: "0" },
              databases: { standbydb: `host=127.0.0.1 port=${standbyPort} dbname=appdb` },
            },
          },
        },
        monitoring: { pgmonitor: { exporter: {} } },
        backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: volume } }] } },
      });
      const serverCert = decode(find(children, "Secret", "hippo-cluster-cert"));
      const bouncerCert = decode(find(children, "Secret", "hippo-pgbouncer-cert"));
      const dynamic = JSON.parse(find(children, "ConfigMap", "hippo-config").data["patroni-dynamic.json"]);
      appPassword = decode(find(children, "Secret", "hippo-pguser-app")).password!;
      monitoringPassword = decode(find(children, "Secret", "hippo-monitoring")).password!;
      bouncerPassword = decode(find(children, "Secret", "hippo-pgbouncer")).password!;

      // The same pg_hba Patroni writes (TLS + SCRAM over TCP), plus replication for pg_basebackup.
      const hba = (dynamic.postgresql.pg_hba as string[]).filter((l) => !l.startsWith("local all postgres"));
      pg = await startPostgres({
        conf: [
          "ssl = on",
          "ssl_cert_file = '../server.crt'",
          "ssl_key_file = '../server.key'",
          "ssl_ca_file = '../ca.crt'",
          "wal_level = replica",
          "max_wal_senders = 4",
        ],
        hba: ["local replication postgres trust", ...hba],
        files: {
          "server.crt": [serverCert["tls.crt"]!, 0o644],
          "server.key": [serverCert["tls.key"]!, 0o600],
          "ca.crt": [serverCert["ca.crt"]!, 0o644],
        },
      });
      dir = pg.dir;
      caFile = join(dir, "ca.crt");

      // pgBackRest: a local repository in conf.d (the lookup runs with --no-config, as in the pods); its --config-path is mapped here.
      const conf = join(dir, "pgbackrest");
      mkdirSync(join(conf, "conf.d"), { recursive: true });
      for (const d of ["repo", "log", "lock"]) mkdirSync(join(dir, `pgbr-${d}`), { recursive: true });
      pg.writeFile(
        "pgbackrest/conf.d/local.conf",
        [
          "[global]",
          `repo1-path=${dir}/pgbr-repo`,
          `log-path=${dir}/pgbr-log`,
          `lock-path=${dir}/pgbr-lock`,
          "log-level-file=off",
          "start-fast=y",
          "archive-check=n",
          "",
          "[db]",
          `pg1-path=${dir}/data`,
          `pg1-port=${pg.port}`,
          `pg1-socket-path=${dir}`,
          "",
        ].join("\n"),
      );
      for (const p of [conf, join(conf, "conf.d"), ...["repo", "log", "lock"].map((d) => join(dir, `pgbr-${d}`))])
        chownSync(p, ids().uid, ids().gid);

      // The users SQL exactly as the users Job applies it, with pgBackRest's config path mapped.
      const usersSql = decode(find(children, "Secret", "hippo-users-sql"))["users.sql"]!.replaceAll(
        `--config-path=${PATHS.pgbackrestConfigDir}`,
        `--config-path=${conf}`,
      );
      const sqlFile = pg.writeFile("users.sql", usersSql);
      await run(
        join(PG_BIN, "psql"),
        ["-X", "-q", "-h", dir, "-p", String(pg.port), "-U", "postgres", "-d", "postgres", "-f", sqlFile],
        { env: cleanEnv() },
      );
      await pg.sql("CREATE TABLE IF NOT EXISTS secrets (v text); INSERT INTO secrets VALUES ('s3cr3t')");
      await run(
        join(PG_BIN, "psql"),
        [
          "-X",
          "-q",
          "-h",
          dir,
          "-p",
          String(pg.port),
          "-U",
          "postgres",
          "-d",
          "appdb",
          "-v",
          "ON_ERROR_STOP=1",
          "-c",
          "CREATE TABLE t (x int); ALTER TABLE t OWNER TO app; CREATE TABLE private (v text)",
        ],
        { env: cleanEnv() },
      );

      // A hot standby: what the primary Service may still point at right after a switchover.
      standbyData = join(dir, "standby");
      await run(
        ...asPostgres(join(PG_BIN, "pg_basebackup"), [
          "-h",
          dir,
          "-p",
          String(pg.port),
          "-U",
          "postgres",
          "-D",
          standbyData,
          "-R",
          "-X",
          "stream",
          "-c",
          "fast",
        ]),
        { env: cleanEnv() },
      );
      writeFileSync(
        join(standbyData, "postgresql.auto.conf"),
        `${readFileSync(join(standbyData, "postgresql.auto.conf"), "utf8")}port = ${standbyPort}\nunix_socket_directories = '${standbyData}'\n`,
      );
      await run(
        ...asPostgres(join(PG_BIN, "pg_ctl"), [
          "-D",
          standbyData,
          "-l",
          join(dir, "standby.log"),
          "-w",
          "-t",
          "30",
          "start",
        ]),
        {
          env: cleanEnv(),
        },
      );
      standbyStarted = true;

      // pgBouncer with the rendered files; only paths, the listen port and the primary's address change.
      const bouncerDir = join(dir, "pgbouncer");
      mkdirSync(join(bouncerDir, "client-tls"), { recursive: true });
      mkdirSync(join(bouncerDir, "server-ca"), { recursive: true });
      const ini = find(children, "ConfigMap", "hippo-pgbouncer")
        .data["pgbouncer.ini"].replaceAll(`${PATHS.pgbouncerConfigDir}/`, `${bouncerDir}/`)
        .replace(/^listen_port = \d+$/m, `listen_port = ${bouncerPort}`)
        .replace(/^listen_addr = .*$/m, "listen_addr = 127.0.0.1")
        .replace("host=hippo-primary.db.svc port=5432", `host=127.0.0.1 port=${pg.port}`);
      const files: Record<string, string> = {
        "pgbouncer.ini": ini,
        "users.txt": decode(find(children, "Secret", "hippo-pgbouncer"))["users.txt"]!,
        "client-tls/tls.crt": bouncerCert["tls.crt"]!,
        "client-tls/tls.key": bouncerCert["tls.key"]!,
        "server-ca/ca.crt": serverCert["ca.crt"]!,
      };
      for (const [name, content] of Object.entries(files)) {
        writeFileSync(join(bouncerDir, name), content, { mode: 0o600 });
        chownSync(join(bouncerDir, name), ids().uid, ids().gid);
      }
      for (const d of [bouncerDir, join(bouncerDir, "client-tls"), join(bouncerDir, "server-ca")])
        chownSync(d, ids().uid, ids().gid);
      bouncer = spawn(...asPostgres("/usr/sbin/pgbouncer", [join(bouncerDir, "pgbouncer.ini")]), {
        env: cleanEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      bouncer.stdout!.on("data", (d) => (bouncerLog += d));
      bouncer.stderr!.on("data", (d) => (bouncerLog += d));
      for (let i = 0; i < 50; i++) {
        if ((await viaBouncer("select 1")).ok) break;
        if (bouncer.exitCode !== null) throw new Error(`pgbouncer exited: ${bouncerLog}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }, 120_000);

    afterAll(async () => {
      if (bouncer && bouncer.exitCode === null) {
        bouncer.kill("SIGTERM");
        await new Promise((r) => setTimeout(r, 300));
        if (bouncer.exitCode === null) bouncer.kill("SIGKILL");
      }
      if (standbyStarted)
        await run(...asPostgres(join(PG_BIN, "pg_ctl"), ["-D", standbyData, "-m", "immediate", "-w", "stop"]), {
          env: cleanEnv(),
        }).catch(() => undefined);
      await pg?.stop();
    });

    it("a client logs in over TLS (certificate for the pgBouncer Service) with SCRAM pass-through to Postgres over TLS", async () => {
      const r = await viaBouncer(
        "select current_user || ' ' || current_database() || ' ' || ssl from pg_stat_ssl where pid = pg_backend_pid()",
      );
      expect(r.stderr + bouncerLog).not.toMatch(/FATAL/);
      expect(r).toMatchObject({ ok: true, stdout: "app appdb true" });
    });

    it("refuses a wrong password, the superuser, the operator's roles and a client without TLS", async () => {
      const wrong = await viaBouncer("select 1", { password: "wrong" });
      expect(wrong.ok).toBe(false);
      expect(wrong.stderr).toMatch(/SASL authentication failed|password authentication failed/);
      const superuser = await viaBouncer("select 1", { user: "postgres", password: "anything" });
      expect(superuser.ok).toBe(false);
      const monitoring = await viaBouncer("select 1", { user: "_tusk_monitoring", password: monitoringPassword });
      expect(monitoring.ok).toBe(false);
      const plain = await viaBouncer("select 1", { sslmode: "disable" });
      expect(plain.ok).toBe(false);
      // pgBouncer still serves the right password afterwards (server_login_retry is short,
      // docs/dataplane-notes.md G5).
      expect((await viaBouncer("select 1")).ok).toBe(true);
    });

    it("pools by transaction: a second client shares the one server connection an idle session does not hold", async () => {
      const holder = spawn(
        join(PG_BIN, "psql"),
        [
          "-X",
          "-At",
          "-d",
          `host=hippo-pgbouncer.db.svc hostaddr=127.0.0.1 port=${bouncerPort} dbname=appdb user=app sslmode=verify-full sslrootcert=${caFile}`,
        ],
        { env: cleanEnv({ PGPASSWORD: appPassword }), stdio: ["pipe", "pipe", "pipe"] },
      );
      try {
        let out = "";
        holder.stdout.on("data", (d) => (out += d));
        holder.stdin.write("select pg_backend_pid();\n");
        for (let i = 0; i < 50 && !/\d+\n/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
        const first = out.trim();
        expect(first).toMatch(/^\d+$/);
        // The first session stays connected; with session pooling this would wait for it.
        const second = await viaBouncer("insert into t values (1); select pg_backend_pid()");
        expect(second.ok).toBe(true);
        expect(second.stdout.split("\n").pop()).toBe(first);
      } finally {
        holder.stdin.end();
        holder.kill();
      }
    });

    it("drops a pooled server connection that lands on a server in recovery (server_check_query)", async () => {
      // standbydb goes to the hot standby: reads work, but each reuse fails the check, so the
      // connection is replaced instead of serving read-only errors for its whole life.
      const a = await viaBouncer("select pg_backend_pid()", { db: "standbydb" });
      const b = await viaBouncer("select pg_backend_pid()", { db: "standbydb" });
      expect(a.ok && b.ok, a.stderr + b.stderr).toBe(true);
      expect(b.stdout).not.toBe(a.stdout);
      // On the primary the same check passes and the connection is reused.
      const c = await viaBouncer("select pg_backend_pid()");
      const d = await viaBouncer("select pg_backend_pid()");
      expect(d.stdout).toBe(c.stdout);
    });

    it("the auth_user reads pgBouncer's statistics (the pgBouncer exporter's login) and nothing in the databases", async () => {
      const stats = await viaBouncer("SHOW POOLS", {
        user: "_tusk_pgbouncer",
        password: bouncerPassword,
        db: "pgbouncer",
        sslmode: "require",
      });
      expect(stats.ok, stats.stderr).toBe(true);
      expect(stats.stdout).toMatch(/appdb\|app\|/);
      const direct = await psql(
        `host=127.0.0.1 port=${pg.port} dbname=appdb user=_tusk_pgbouncer sslmode=verify-ca sslrootcert=${caFile}`,
        "select count(*) from private",
        { PGPASSWORD: bouncerPassword },
      );
      expect(direct.ok).toBe(false);
      expect(direct.stderr).toMatch(/permission denied/);
    });

    it("the lookup function exists in template1, postgres and every user database (an odd name too), callable by the auth_user only", async () => {
      for (const db of ["template1", "postgres", "appdb", ODD_DB]) {
        const owner = await psql(
          `host=${dir} port=${pg.port} dbname=${conninfoValue(db)} user=postgres`,
          "select p.prosecdef, pg_get_userbyid(p.proowner), has_function_privilege('app', p.oid, 'execute') from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = '_tusk_pgbouncer' and p.proname = 'get_auth'",
        );
        expect(owner.stdout, db).toBe("t|postgres|f");
      }
    });

    describe("the exporter's queries as the monitoring role, connected as the sidecar connects", () => {
      let conninfo: string;
      let queries: Record<string, { query: string; metrics: Record<string, { usage: string }>[] }>;

      beforeAll(async () => {
        const sts = find(children, "StatefulSet", "hippo-instance1-0");
        const exporter = sts.spec.template.spec.containers.find((c: Json) => c.name === "exporter");
        const env = Object.fromEntries(exporter.env.map((e: Json) => [e.name, e.value]));
        // DATA_SOURCE_URI as the exporter builds its DSN, with the pod paths and port mapped.
        const uri = (env.DATA_SOURCE_URI as string)
          .replace(`localhost:5432`, `localhost:${pg.port}`)
          .replace(`${PATHS.exporterConfigDir}/ca.crt`, caFile);
        conninfo = `postgresql://${env.DATA_SOURCE_USER}:${monitoringPassword}@${uri}`;
        queries = parse(find(children, "ConfigMap", "hippo-exporter").data["queries.yaml"]);
        // A backup, so the pgBackRest lookup has something to report.
        const conf = join(dir, "pgbackrest");
        for (const cmd of ["stanza-create", "backup"])
          await run(...asPostgres("/usr/bin/pgbackrest", [`--config-path=${conf}`, "--stanza=db", cmd]), {
            env: cleanEnv(),
          });
      }, 120_000);

      it("logs in with verify-ca, holds pg_monitor and is not a superuser", async () => {
        const r = await psql(
          conninfo,
          "select rolsuper, pg_has_role('pg_monitor', 'member') from pg_roles where rolname = current_user",
        );
        expect(r).toMatchObject({ ok: true, stdout: "f|t" });
      });

      it("every query runs and returns the columns its metrics name", async () => {
        expect(Object.keys(queries).sort()).toEqual([
          "ccp_archive_command_status",
          "ccp_backrest_last_backup",
          "ccp_connection_stats",
          "ccp_database_size",
          "ccp_is_in_recovery",
          "ccp_replication_lag",
          "ccp_replication_lag_size",
          "ccp_wal_activity",
        ]);
        for (const [name, q] of Object.entries(queries)) {
          const r = await psql(conninfo, `select json_agg(x) from (${q.query}) x`);
          expect(r.ok, `${name}: ${r.stderr}`).toBe(true);
          const rows = JSON.parse(r.stdout || "null") as Json[] | null;
          const columns = q.metrics.map((m) => Object.keys(m)[0]!);
          for (const row of rows ?? []) expect(Object.keys(row).sort(), name).toEqual([...columns].sort());
        }
      });

      it("reports what it should: primary, a replica's lag, database sizes, the backup just taken", async () => {
        const value = async (q: string) =>
          JSON.parse((await psql(conninfo, `select json_agg(x) from (${q}) x`)).stdout);
        expect(await value(queries.ccp_is_in_recovery!.query)).toEqual([{ status: 2 }]);
        // The standby may still be connecting on a loaded machine: wait for it to stream.
        let lag: Json[] = [];
        for (let i = 0; i < 120 && lag?.length !== 1; i++) {
          lag = await value(queries.ccp_replication_lag_size!.query);
          if (lag?.length !== 1) await new Promise((r) => setTimeout(r, 250));
        }
        expect(lag.length).toBe(1);
        expect(lag[0]!.bytes).toBeGreaterThanOrEqual(0);
        const sizes = await value(queries.ccp_database_size!.query);
        expect(sizes.map((s: Json) => s.dbname).sort()).toEqual(["appdb", ODD_DB, "postgres"].sort());
        const backups = await value(queries.ccp_backrest_last_backup!.query);
        expect(backups).toHaveLength(1);
        expect(backups[0]).toMatchObject({ repo: "1", type: "full" });
        expect(backups[0].time_since_completion_seconds).toBeGreaterThanOrEqual(0);
        expect(backups[0].time_since_completion_seconds).toBeLessThan(600);
      });

      it("cannot read a user table, in postgres or in an application database", async () => {
        const own = await psql(conninfo, "select * from secrets");
        expect(own.ok).toBe(false);
        expect(own.stderr).toMatch(/permission denied/);
        const app = await psql(conninfo.replace("/postgres?", "/appdb?"), "select * from private");
        expect(app.ok).toBe(false);
        expect(app.stderr).toMatch(/permission denied/);
        const cache = await psql(conninfo, "select * from _tusk_monitoring.pgbackrest_info");
        expect(cache.ok).toBe(false);
      });

      it("on the standby the recovery and lag queries answer too (the backup list arrives by replication)", async () => {
        const standby = conninfo.replace(`localhost:${pg.port}`, `localhost:${standbyPort}`);
        for (const [name, q] of Object.entries(queries)) {
          const r = await psql(standby, `select json_agg(x) from (${q.query}) x`);
          expect(r.ok, `${name}: ${r.stderr}`).toBe(true);
        }
        expect(
          JSON.parse((await psql(standby, `select json_agg(x) from (${queries.ccp_is_in_recovery!.query}) x`)).stdout),
        ).toEqual([{ status: 1 }]);
      });
    });

    it("the pod template, the Secrets and the Service agree with what ran", () => {
      const deployment = find(children, "Deployment", "hippo-pgbouncer");
      const exporter = deployment.spec.template.spec.containers.find((c: Json) => c.name === "pgbouncer-exporter");
      expect(exporter.args[0]).toBe(
        "--pgBouncer.connectionString=postgres://_tusk_pgbouncer@localhost:5432/pgbouncer?sslmode=require",
      );
      const user = decode(find(children, "Secret", "hippo-pguser-app"));
      expect(user["pgbouncer-host"]).toBe("hippo-pgbouncer.db.svc");
      expect(find(children, "Service", "hippo-pgbouncer").spec.selector).toEqual(deployment.spec.selector.matchLabels);
      expect(deployment.spec.template.metadata.labels[LABEL.cluster]).toBe("hippo");
    });
  },
);
