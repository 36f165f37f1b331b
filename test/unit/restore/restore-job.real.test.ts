/**
 * The restore Job's container, run for real: PostgreSQL 15 and pgBackRest 2.45 on this
 * machine, a posix repository holding a full backup and the WAL archived after it. For every
 * restore shape the test builds the Job with buildRestoreJob, takes its container's command and
 * environment unchanged apart from the pod paths (mapped to a temp dir, as the end-to-end suite
 * does), runs it as the postgres user, starts the directory it leaves for Patroni and checks the
 * rows: what was committed before the target is there, what came after is not. The pgBackRest
 * configuration is a minimal hand-written one (the rendered one needs the TLS repository host;
 * the backup work's contract test covers it).
 *
 * Needs root (processes run as `postgres` through setpriv) and Debian's postgresql-15 and
 * pgbackrest; skipped with the reason otherwise.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRestoreJob } from "../../../functions/restore/job.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { bootstrapMethod, parseRestoreFailure, parseRestoreResult } from "../../../shared/restore/pod.ts";
import { planFromRestore } from "../../../shared/restore/target.ts";
import { clusterObject, clusterSpec } from "./fixtures.ts";

const run = promisify(execFile);
const PG_BIN = "/usr/lib/postgresql/15/bin";

function postgresUser(): boolean {
  return readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .some((l) => l.startsWith("postgres:"));
}

function which(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to run PostgreSQL and pgBackRest as the postgres user";
  if (!existsSync(join(PG_BIN, "initdb"))) return `no PostgreSQL 15 in ${PG_BIN}`;
  for (const cmd of ["pgbackrest", "setpriv"]) if (!which(cmd)) return `${cmd} is not installed`;
  if (!postgresUser()) return "no postgres OS user";
  return undefined;
}
const reason = skipReason();

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PG") && !k.startsWith("TUSK")) env[k] = v;
  return { ...env, LC_ALL: "C.UTF-8", HOME: "/tmp", ...extra };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function asPostgres(argv: string[], env: Record<string, string> = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(
      "setpriv",
      ["--reuid=postgres", "--regid=postgres", "--init-groups", ...argv],
      {
        env: cleanEnv(env),
        timeout: 180_000,
        maxBuffer: 16 << 20,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function must(argv: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await asPostgres(argv, env);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

describe.skipIf(reason !== undefined)(
  `restore Job container with real PostgreSQL and pgBackRest${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    let base = "";
    let port = 0;
    const conf = () => join(base, "conf");
    const source = () => join(base, "source");
    const socket = () => join(base, "run");
    const marks: Record<string, string> = {};
    let label = "";

    const pgbr = (...args: string[]) => must(["pgbackrest", `--config-path=${conf()}`, "--stanza=db", ...args]);
    const sql = (query: string, host = socket(), p = port) =>
      must(["psql", "-X", "-h", host, "-p", String(p), "-U", "postgres", "-d", "postgres", "-Atc", query]).then((s) =>
        s.trim(),
      );

    beforeAll(async () => {
      base = mkdtempSync(join(tmpdir(), "tusk-restore-"));
      port = await freePort();
      for (const d of ["conf/conf.d", "repo", "run", "lock", "spool", "log"])
        mkdirSync(join(base, d), { recursive: true });
      writeFileSync(
        join(base, "conf/conf.d/test.conf"),
        [
          "[global]",
          `repo1-path=${join(base, "repo")}`,
          "repo1-retention-full=2",
          `lock-path=${join(base, "lock")}`,
          `log-path=${join(base, "log")}`,
          `spool-path=${join(base, "spool")}`,
          "log-level-file=off",
          "[db]",
          `pg1-path=${source()}`,
          `pg1-port=${port}`,
          `pg1-socket-path=${socket()}`,
          "",
        ].join("\n"),
      );
      execFileSync("chown", ["-R", "postgres:postgres", base]);
      chownSync(
        base,
        Number(execFileSync("id", ["-u", "postgres"]).toString()),
        Number(execFileSync("id", ["-g", "postgres"]).toString()),
      );
      await must([join(PG_BIN, "initdb"), "-D", source(), "-U", "postgres", "--auth=trust", "--no-sync"]);
      writeFileSync(
        join(source(), "postgresql.auto.conf"),
        [
          `port = ${port}`,
          `unix_socket_directories = '${socket()}'`,
          "listen_addresses = ''",
          "archive_mode = on",
          `archive_command = 'pgbackrest --config-path=${conf()} --stanza=db archive-push %p'`,
          "",
        ].join("\n"),
      );
      await must([join(PG_BIN, "pg_ctl"), "-D", source(), "-l", join(base, "source.log"), "-w", "start"]);
      await pgbr("stanza-create");
      await pgbr("--repo=1", "--type=full", "backup");
      const info = JSON.parse(await pgbr("--output=json", "info"));
      label = info[0].backup.at(-1).label;

      await sql("CREATE TABLE t (id int, phase text)");
      marks.xid = (
        await must([
          "psql",
          "-X",
          "-h",
          socket(),
          "-p",
          String(port),
          "-U",
          "postgres",
          "-d",
          "postgres",
          "-At",
          "-c",
          "BEGIN",
          "-c",
          "INSERT INTO t SELECT g, 'early' FROM generate_series(1, 50) g",
          "-c",
          "SELECT txid_current()",
          "-c",
          "COMMIT",
        ])
      )
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /^\d+$/.test(l))[0]!;
      await sql("SELECT pg_create_restore_point('tusk-before-late')");
      marks.lsn = await sql("SELECT pg_current_wal_lsn()");
      await new Promise((r) => setTimeout(r, 1100));
      marks.time = await sql("SELECT clock_timestamp()::text");
      await new Promise((r) => setTimeout(r, 1100));
      await sql("INSERT INTO t SELECT g, 'late' FROM generate_series(51, 100) g");
      await sql("SELECT pg_switch_wal()");
      await pgbr("check");
    }, 180_000);

    // Removing the clusters and the repository takes several seconds on a slow disk, more than
    // the unit project's 10 s hook timeout when the whole suite runs alongside.
    afterAll(async () => {
      if (!base) return;
      await asPostgres([join(PG_BIN, "pg_ctl"), "-D", source(), "-m", "immediate", "-w", "stop"]);
      rmSync(base, { recursive: true, force: true });
    }, 120_000);

    const model = (() => {
      const r = clusterModel(clusterObject({ spec: clusterSpec({ postgresVersion: 15 }) }) as never);
      if (!r.ok) throw new Error("fixture");
      return r.model;
    })();

    /** Runs the Job's container with the pod paths mapped under `dir`; returns its exit code and message. */
    async function runJob(spec: Record<string, unknown>, dir: string) {
      const plan = planFromRestore({ cluster: "hippo", repoName: "repo1", ...spec } as never);
      if (!plan.ok) throw new Error(plan.message);
      const job = buildRestoreJob(
        { name: "r", namespace: "db", repoName: "repo1" },
        model,
        model.instances[0]!,
        plan.plan,
      );
      const container = job.spec!.template.spec!.containers[0]!;
      // One rule per value: pod paths become paths under `dir`, the configuration path the test's.
      const map = (value: string) => {
        if (value === "--config-path=/etc/pgbackrest") return `--config-path=${conf()}`;
        if (value.includes("/pgdata/")) return value.replace("/pgdata/", `${dir}/pgdata/`);
        if (value.startsWith("/tmp")) return `${dir}${value}`;
        return value;
      };
      const env: Record<string, string> = {};
      for (const e of container.env ?? []) env[e.name] = e.name === "PG_BIN" ? e.value! : map(e.value!);
      env.TUSK_TERMINATION_LOG = join(dir, "termination-log");
      const [sh, c, script, name, ...argv] = container.command!;
      const result = await asPostgres([sh!, c!, script!, name!, ...argv.map(map)], env);
      const message = existsSync(env.TUSK_TERMINATION_LOG) ? readFileSync(env.TUSK_TERMINATION_LOG, "utf8") : "";
      return { result, message, pgdata: env.PGDATA! };
    }

    /** Starts the directory left for Patroni on its own and reads the rows by phase. */
    async function rowsIn(dataDirectory: string, dir: string): Promise<string> {
      const sock = join(dir, "check");
      mkdirSync(sock, { recursive: true });
      execFileSync("chown", ["postgres:postgres", sock]);
      const p = await freePort();
      await must([
        join(PG_BIN, "pg_ctl"),
        "-D",
        dataDirectory,
        "-l",
        join(dir, "check.log"),
        "-w",
        "-o",
        `-p ${p} -c listen_addresses='' -c unix_socket_directories=${sock} -c archive_mode=off -c hba_file=${join(dir, "tmp/tusk-restore/pg_hba.conf")} -c ident_file=${join(dir, "tmp/tusk-restore/pg_ident.conf")}`,
        "start",
      ]);
      try {
        const exists = await sql("SELECT to_regclass('public.t') IS NOT NULL", sock, p);
        if (exists !== "t") return "no table";
        return await sql(
          "SELECT coalesce(string_agg(phase || ':' || n, ',' ORDER BY phase), 'empty') FROM (SELECT phase, count(*) n FROM t GROUP BY 1) s",
          sock,
          p,
        );
      } finally {
        await asPostgres([join(PG_BIN, "pg_ctl"), "-D", dataDirectory, "-m", "fast", "-w", "stop"]);
      }
    }

    function newDir(name: string): string {
      const dir = join(base, name);
      mkdirSync(join(dir, "pgdata"), { recursive: true });
      mkdirSync(join(dir, "tmp"), { recursive: true });
      execFileSync("chown", ["-R", "postgres:postgres", dir]);
      return dir;
    }

    it.each([
      ["time", () => ({ target: { type: "time", value: marks.time } }), "early:50"],
      ["lsn", () => ({ target: { type: "lsn", value: marks.lsn } }), "early:50"],
      ["name", () => ({ target: { type: "name", value: "tusk-before-late" } }), "early:50"],
      ["xid", () => ({ target: { type: "xid", value: marks.xid } }), "early:50"],
      ["immediate", () => ({ target: { type: "immediate" } }), "no table"],
      ["backupSet", () => ({ backupSet: label }), "no table"],
      ["latest", () => ({}), "early:50,late:50"],
    ])(
      "%s: rows before the target are there, rows after it are not",
      async (shape, spec, expected) => {
        const dir = newDir(shape);
        const { result, message, pgdata } = await runJob(spec(), dir);
        expect(result.code, `${result.stderr}\n${message}`).toBe(0);
        const parsed = parseRestoreResult(message);
        expect(parsed?.backupSet).toBe(label);
        expect(parsed?.timeline).toBeGreaterThan(1);
        // Left where Patroni's bootstrap method picks it up, and nowhere else.
        expect(existsSync(`${pgdata}_bootstrap/PG_VERSION`)).toBe(true);
        expect(existsSync(pgdata)).toBe(false);
        expect(existsSync(`${pgdata}_restore`)).toBe(false);
        // Nothing was archived anywhere: the new timeline waits for the cluster's own archiver.
        const ready = readdirSync(`${pgdata}_bootstrap/pg_wal/archive_status`);
        expect(ready.some((f) => /^[0-9A-F]{8}\.history\.ready$/.test(f))).toBe(true);
        expect(existsSync(`${pgdata}_bootstrap/patroni.dynamic.json`)).toBe(false);
        expect(await rowsIn(`${pgdata}_bootstrap`, dir)).toBe(expected);
      },
      180_000,
    );

    it("in place: the instance's current directory is restored with --delta and moved aside first", async () => {
      const dir = newDir("in-place");
      const first = await runJob({ target: { type: "time", value: marks.time } }, dir);
      expect(first.result.code).toBe(0);
      // As if Patroni had bootstrapped it and the cluster ran on: then a second restore, to latest.
      execFileSync("mv", [`${first.pgdata}_bootstrap`, first.pgdata]);
      const second = await runJob({}, dir);
      expect(second.result.code, second.message).toBe(0);
      expect(second.result.stdout).toContain("restore backup set");
      expect(existsSync(second.pgdata)).toBe(false);
      expect(await rowsIn(`${second.pgdata}_bootstrap`, dir)).toBe("early:50,late:50");
    }, 180_000);

    it.skipIf(!which("patroni") || !which("etcd"))(
      "Patroni bootstraps the directory the Job left with the custom method, creates its roles and leads; with none it exits and never runs initdb",
      async () => {
        const dir = newDir("patroni");
        const { result, pgdata } = await runJob({ target: { type: "time", value: marks.time } }, dir);
        expect(result.code).toBe(0);
        const [etcdClient, etcdPeer, api, pgPort] = [
          await freePort(),
          await freePort(),
          await freePort(),
          await freePort(),
        ];
        const sock = join(dir, "patroni-run");
        mkdirSync(sock);
        execFileSync("chown", ["postgres:postgres", sock]);
        const config = {
          scope: "restored",
          name: "hippo-a-0-0",
          restapi: { listen: `127.0.0.1:${api}`, connect_address: `127.0.0.1:${api}` },
          etcd3: { hosts: `127.0.0.1:${etcdClient}` },
          bootstrap: { dcs: { ttl: 10, loop_wait: 1, retry_timeout: 4 }, ...bootstrapMethod(pgdata) },
          postgresql: {
            listen: `127.0.0.1:${pgPort}`,
            connect_address: `127.0.0.1:${pgPort}`,
            data_dir: pgdata,
            bin_dir: PG_BIN,
            pgpass: join(dir, "pgpass"),
            authentication: {
              superuser: { username: "postgres", password: "pw" },
              replication: { username: "_tusk_replication", password: "rp" },
              rewind: { username: "_tusk_rewind", password: "wp" },
            },
            parameters: { unix_socket_directories: sock },
            pg_hba: ["local all all trust", "host all all 127.0.0.1/32 trust"],
          },
          watchdog: { mode: "off" },
        };
        const configFile = join(dir, "patroni.json");
        writeFileSync(configFile, JSON.stringify(config));
        execFileSync("chown", ["postgres:postgres", configFile]);
        const etcd = spawn(
          "etcd",
          [
            `--data-dir=${join(dir, "etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
            `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
          ],
          { stdio: "ignore" },
        );
        try {
          await bootstrapsThenRefuses();
        } finally {
          etcd.kill("SIGTERM");
        }
        async function bootstrapsThenRefuses() {
          const patroni = spawn(
            "setpriv",
            [
              "--reuid=postgres",
              "--regid=postgres",
              "--init-groups",
              "/usr/bin/python3",
              "/usr/bin/patroni",
              configFile,
            ],
            { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
          );
          let log = "";
          patroni.stdout.on("data", (d) => (log += d));
          patroni.stderr.on("data", (d) => (log += d));
          try {
            let rows = "";
            for (let i = 0; i < 120 && !log.includes("initialized a new cluster"); i++)
              await new Promise((r) => setTimeout(r, 500));
            expect(log).toContain("Running custom bootstrap script");
            expect(log).toContain("initialized a new cluster");
            // Over TCP: the restored postgresql.auto.conf (this test's source) names another socket directory.
            for (let i = 0; i < 20; i++) {
              const r = await asPostgres([
                "psql",
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                String(pgPort),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                "SELECT (SELECT string_agg(phase || ':' || n, ',') FROM (SELECT phase, count(*) n FROM t GROUP BY 1) s) || ' ' || (SELECT count(*) FROM pg_roles WHERE rolname IN ('_tusk_replication', '_tusk_rewind')) || ' ' || pg_is_in_recovery()",
              ]);
              rows = r.stdout.trim();
              if (r.code === 0) break;
              await new Promise((res) => setTimeout(res, 500));
            }
            expect(rows).toBe("early:50 2 false");
            expect(existsSync(`${pgdata}_bootstrap`)).toBe(false);
          } finally {
            patroni.kill("SIGTERM");
            await new Promise((r) => patroni.once("exit", r));
          }
          // Nothing restored on this volume and an empty DCS (a new scope): Patroni gives up, and its
          // initialize key, instead of running initdb.
          rmSync(pgdata, { recursive: true, force: true });
          const fresh = join(dir, "patroni-fresh.json");
          writeFileSync(fresh, JSON.stringify({ ...config, scope: "nothing-restored" }));
          execFileSync("chown", ["postgres:postgres", fresh]);
          const again = await asPostgres(["timeout", "60", "/usr/bin/python3", "/usr/bin/patroni", fresh]);
          expect(again.code).not.toBe(0);
          expect(`${again.stdout}${again.stderr}`).toContain("no restored data directory");
          expect(`${again.stdout}${again.stderr}`).toContain("removing initialize key");
          expect(existsSync(join(pgdata, "PG_VERSION"))).toBe(false);
        }
      },
      180_000,
    );

    it("a failure names its stage and pgBackRest's error; the data directory is never left where Patroni looks", async () => {
      const dir = newDir("failure");
      const { result, message, pgdata } = await runJob({ backupSet: "20200101-000000F" }, dir);
      expect(result.code).not.toBe(0);
      const failure = parseRestoreFailure(message, "failed");
      expect(failure.stage).toBe("restore");
      expect(failure.dataChanged).toBe(true);
      expect(failure.message).toMatch(/ERROR: \[\d+\]: .*20200101-000000F/);
      expect(existsSync(pgdata)).toBe(false);
      expect(existsSync(`${pgdata}_bootstrap`)).toBe(false);
    }, 180_000);
  },
);
