/**
 * Tusk's pgBackRest configuration and commands with the real programs: PostgreSQL 15,
 * pgBackRest 2.45 (two TLS servers: an instance's and the repository host's) and s3rver over
 * HTTPS, all on 127.0.0.1. Each process is configured only by what Tusk renders
 * (`renderPgBackRestConfig` per role, the command builders), with pod paths mapped to a temp
 * dir through the layout overrides the end-to-end suite uses. Then the repository reader reads
 * the real `backup.info`/`archive.info` from the bucket and must agree with `pgbackrest info`.
 *
 * Needs root (processes run as the `postgres` user through setpriv), Debian's postgresql-15 and
 * pgbackrest, and openssl; skipped with the reason otherwise.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresClusterSpec } from "../../shared/api/postgres-cluster.ts";
import { createRepoStatusCache } from "../../shared/io/repo-status-cache.ts";
import { s3ObjectReader } from "../../shared/io/s3-repository.ts";
import {
  archivePushCommand,
  backupCommand,
  checkArgs,
  expireCommand,
  infoArgs,
  serverArgs,
  serverPingArgs,
  stanzaCreateCommand,
} from "../../shared/pgbackrest/commands.ts";
import { renderPgBackRestConfig, repoPath } from "../../shared/pgbackrest/config.ts";
import { type BackupSet, parsePgBackRestInfo, type StanzaInfo } from "../../shared/pgbackrest/info.ts";
import {
  CLIENT_TLS_KEYS,
  CLIENT_TLS_SUBDIR,
  clientCommonName,
  OPERATOR_CONFIG_FILE,
  type PgBackRestLayout,
  type PgBackRestRole,
} from "../../shared/pgbackrest/layout.ts";
import { s3RepoTargets } from "../../shared/pgbackrest/repo-access.ts";
import { readRepoStatus } from "../../shared/pgbackrest/repo-read.ts";
import { s3CredentialsFromConfFiles } from "../../shared/pgbackrest/repos.ts";
import { DENO_START_PERMISSIONS, ROOT } from "./lib/server.ts";

const run = promisify(execFile);

/** s3rver ships no types; the few members used here. */
interface S3rverServer {
  run(): Promise<unknown>;
  close(): Promise<unknown>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverServer;
const PG_BIN = "/usr/lib/postgresql/15/bin";
const BUCKET = "tusk-backups";
const CLUSTER = "hippo";
const S3_CONF = "[global]\nrepo2-s3-key=S3RVER\nrepo2-s3-key-secret=S3RVER\n";

function postgresIds(): { uid: number; gid: number } | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
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
  for (const cmd of ["pgbackrest", "openssl", "setpriv"]) if (!which(cmd)) return `${cmd} is not installed`;
  if (!postgresIds()) return "no postgres OS user";
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

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PG")) env[k] = v;
  return { ...env, LC_ALL: "C.UTF-8", HOME: "/tmp" };
}

const asPostgres = (argv: string[]): [string, string[]] => [
  "setpriv",
  ["--reuid=postgres", "--regid=postgres", "--init-groups", ...argv],
];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function pg(argv: string[], timeout = 120_000): Promise<Result> {
  try {
    const { stdout, stderr } = await run(...asPostgres(argv), { env: cleanEnv(), timeout, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const expectOk = (r: Result, what: string) =>
  expect(r.code, `${what} failed (${r.code}):\n${r.stderr}\n${r.stdout}`.slice(0, 4000)).toBe(0);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(reason !== undefined)(
  `pgBackRest with Tusk's configuration${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    const ids = postgresIds()!;
    let dir = "";
    let s3: S3rverServer | undefined;
    const servers: ChildProcess[] = [];
    let pgData = "";
    let pgStarted = false;
    let createdLockDir = false;
    const ports = { pg: 0, instanceTls: 0, repoHostTls: 0, s3: 0 };
    const configPath = (role: PgBackRestRole) => join(dir, role);
    let spec: PostgresClusterSpec;
    let s3Ca = "";

    const own = (path: string) => chownSync(path, ids.uid, ids.gid);
    const write = (path: string, content: string, mode = 0o600) => {
      writeFileSync(path, content, { mode });
      own(path);
    };
    const mkdir = (path: string) => {
      mkdirSync(path, { recursive: true, mode: 0o700 });
      own(path);
    };

    function openssl(args: string[]) {
      execFileSync("openssl", args, { stdio: "ignore", cwd: join(dir, "pki") });
    }

    function layoutFor(role: PgBackRestRole): Partial<PgBackRestLayout> {
      const pki = join(dir, "pki");
      const confD = join(configPath(role), "conf.d");
      return {
        configPath: configPath(role),
        confD,
        pgPath: pgData,
        pgPort: ports.pg,
        socketPath: join(dir, "run"),
        lockPath: join(dir, "lock", role),
        logPath: join(dir, "log"),
        spoolPath: join(dir, "spool", role),
        serverCertFile: join(pki, "server.crt"),
        serverKeyFile: join(pki, "server.key"),
        serverCaFile: join(pki, "ca.crt"),
        clientCertFile: join(confD, CLIENT_TLS_SUBDIR, CLIENT_TLS_KEYS.certificate),
        clientKeyFile: join(confD, CLIENT_TLS_SUBDIR, CLIENT_TLS_KEYS.privateKey),
        clientCaFile: join(confD, CLIENT_TLS_SUBDIR, CLIENT_TLS_KEYS.ca),
        tlsServerAddress: "127.0.0.1",
        tlsServerPort: role === "repo-host" ? ports.repoHostTls : ports.instanceTls,
        repoVolumePath: (repo) => join(dir, "volumes", repo),
        instance: () => ({
          host: "localhost",
          port: ports.instanceTls,
          pgPath: pgData,
          pgPort: ports.pg,
          socketPath: join(dir, "run"),
        }),
        repoHost: { host: "localhost", port: ports.repoHostTls },
      };
    }

    /** What a pod's projected conf.d holds: the rendered file, the client cert and the user's files. */
    function writeConfD(role: PgBackRestRole) {
      const pki = join(dir, "pki");
      const confD = join(configPath(role), "conf.d");
      mkdir(configPath(role));
      mkdir(confD);
      mkdir(join(confD, CLIENT_TLS_SUBDIR));
      const cluster = { name: CLUSTER, namespace: "db", spec };
      write(join(confD, OPERATOR_CONFIG_FILE), renderPgBackRestConfig({ cluster, role, layout: layoutFor(role) }));
      write(join(confD, "s3.conf"), S3_CONF);
      write(join(confD, "repo2-ca.crt"), s3Ca);
      write(join(confD, CLIENT_TLS_SUBDIR, "tls.crt"), readFileSync(join(pki, "client.crt"), "utf8"));
      write(join(confD, CLIENT_TLS_SUBDIR, "tls.key"), readFileSync(join(pki, "client.key"), "utf8"));
      write(join(confD, CLIENT_TLS_SUBDIR, "ca.crt"), readFileSync(join(pki, "ca.crt"), "utf8"));
    }

    async function info(repoName: string): Promise<StanzaInfo[]> {
      const r = await pg(infoArgs({ repoName }, { configPath: configPath("job") }));
      expectOk(r, "pgbackrest info");
      return parsePgBackRestInfo(r.stdout);
    }

    beforeAll(async () => {
      createdLockDir = !existsSync("/tmp/pgbackrest");
      dir = mkdtempSync(join(tmpdir(), "tusk-pgbackrest-"));
      own(dir);
      for (const sub of ["pki", "run", "log", "lock", "spool", "volumes", "volumes/repo1", "s3"]) mkdir(join(dir, sub));
      for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
      pgData = join(dir, "pgdata");

      // Cluster CA, one server certificate for both TLS servers, the client certificate with the
      // CN the servers authorise, and the S3 endpoint's self-signed certificate (a DNS SAN:
      // docs/dataplane-notes.md B1).
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
      openssl([
        "req",
        "-x509",
        ...ec,
        "-days",
        "2",
        "-subj",
        "/CN=tusk test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
      ]);
      for (const [name, cn, ext] of [
        ["server", "localhost", "subjectAltName=DNS:localhost"],
        ["client", clientCommonName(CLUSTER), "extendedKeyUsage=clientAuth"],
      ] as const) {
        openssl(["req", ...ec, "-subj", `/CN=${cn}`, "-keyout", `${name}.key`, "-out", `${name}.csr`]);
        write(join(dir, "pki", `${name}.ext`), `${ext}\n`, 0o644);
        openssl(
          ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
            "-days",
            "2",
            "-extfile",
            `${name}.ext`,
            "-out",
            `${name}.crt`,
          ]),
        );
      }
      openssl(
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"].concat([
          "-addext",
          "subjectAltName=DNS:localhost",
          "-keyout",
          "s3.key",
          "-out",
          "s3.crt",
        ]),
      );
      for (const f of ["ca.crt", "server.crt", "server.key", "client.crt", "client.key"]) {
        own(join(dir, "pki", f));
      }
      execFileSync("chmod", ["600", join(dir, "pki", "server.key")]);
      s3Ca = readFileSync(join(dir, "pki", "s3.crt"), "utf8");

      const s3rverModule = "s3rver";
      const S3rver = ((await import(s3rverModule)) as { default: S3rverClass }).default;
      s3 = new S3rver({
        address: "127.0.0.1",
        port: ports.s3,
        key: readFileSync(join(dir, "pki", "s3.key")),
        cert: readFileSync(join(dir, "pki", "s3.crt")),
        directory: join(dir, "s3"),
        silent: true,
        vhostBuckets: false,
        configureBuckets: [{ name: BUCKET, configs: [] }],
      });
      await s3.run();

      spec = PostgresClusterSpec.parse({
        postgresVersion: 15,
        instances: [{ name: "instance1", replicas: 1, dataVolumeClaimSpec: {} }],
        backups: {
          pgbackrest: {
            global: { "repo2-path": "/pgbackrest/db/hippo/repo2" },
            configuration: [
              {
                secret: {
                  name: "hippo-s3",
                  items: [
                    { key: "s3.conf", path: "s3.conf" },
                    { key: "ca.crt", path: "repo2-ca.crt" },
                  ],
                },
              },
            ],
            repos: [
              { name: "repo1", volume: { volumeClaimSpec: {} } },
              { name: "repo2", s3: { bucket: BUCKET, endpoint: `localhost:${ports.s3}`, region: "us-east-1" } },
            ],
          },
        },
      });
      for (const role of ["instance", "repo-host", "job"] as const) writeConfD(role);

      const init = await pg([
        join(PG_BIN, "initdb"),
        "-D",
        pgData,
        "-U",
        "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
      ]);
      expectOk(init, "initdb");
      write(
        join(pgData, "postgresql.auto.conf"),
        [
          "listen_addresses = '127.0.0.1'",
          `port = ${ports.pg}`,
          `unix_socket_directories = '${join(dir, "run")}'`,
          "fsync = off",
          "shared_buffers = 16MB",
          "max_connections = 20",
          "wal_level = replica",
          "archive_mode = on",
          `archive_command = '${archivePushCommand({ configPath: configPath("instance") }).replace(/'/g, "''")}'`,
          "",
        ].join("\n"),
      );
      expectOk(
        await pg([join(PG_BIN, "pg_ctl"), "-D", pgData, "-l", join(dir, "log", "postgres.log"), "-w", "start"]),
        "pg_ctl start",
      );
      pgStarted = true;

      for (const role of ["instance", "repo-host"] as const) {
        const [cmd, args] = asPostgres(serverArgs({ configPath: configPath(role) }));
        const child = spawn(cmd, args, { env: cleanEnv(), stdio: ["ignore", "ignore", "pipe"] });
        servers.push(child);
        let stderr = "";
        child.stderr?.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        await until(`the ${role} TLS server`, async () => {
          if (child.exitCode !== null) throw new Error(`${role} TLS server exited with ${child.exitCode}: ${stderr}`);
          return (await pg(serverPingArgs({ configPath: configPath(role) }))).code === 0;
        });
      }
    }, 120_000);

    afterAll(async () => {
      if (pgStarted) await pg([join(PG_BIN, "pg_ctl"), "-D", pgData, "-m", "immediate", "-w", "stop"]);
      for (const child of servers) {
        if (child.exitCode === null && child.pid) {
          const gone = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
          if (child.exitCode === null) child.kill("SIGKILL");
        }
      }
      await s3?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      // Remote pgBackRest processes lock under /tmp/pgbackrest; remove it only if this test made it.
      if (createdLockDir) rmSync("/tmp/pgbackrest", { recursive: true, force: true });
    }, 60_000);

    it("creates the stanza in both repositories with the stanza Job's command, over TLS to the instance", async () => {
      expectOk(await pg(stanzaCreateCommand({ configPath: configPath("job") })), "stanza-create");
      // Idempotent: the Job may run again (a new repo, a retried Pod).
      expectOk(await pg(stanzaCreateCommand({ configPath: configPath("job") })), "second stanza-create");
    });

    it("archives WAL from the instance configuration: to the repo host over TLS and straight to S3", async () => {
      const r = await pg(checkArgs({ configPath: configPath("instance") }));
      expectOk(r, "pgbackrest check");
    });

    let firstLabel = "";

    it("backs up to the S3 repo with the backup Job's command and leaves a parseable termination message", async () => {
      const term = join(dir, "termination-repo2");
      write(term, "");
      const r = await pg(
        backupCommand({ repoName: "repo2", type: "full" }, { configPath: configPath("job"), terminationLog: term }),
      );
      expectOk(r, "backup to repo2");
      const message = readFileSync(term, "utf8");
      expect(message.length).toBeGreaterThan(0);
      expect(message.length).toBeLessThan(4096);
      const parsed = parsePgBackRestInfo(message);
      const repo = parsed[0]?.repos.find((x) => x.repoName === "repo2");
      expect(repo?.backups).toHaveLength(1);
      const set = repo!.backups[0]!;
      expect(set.type).toBe("full");
      expect(set.label).toMatch(/^\d{8}-\d{6}F$/);
      expect(set.size).toBeGreaterThan(0);
      expect(set.repoSize).toBeGreaterThan(0);
      expect(set.walStart).toMatch(/^[0-9A-F]{24}$/);
      expect(set.lsnStop).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(message).not.toContain("database-ref");
      firstLabel = set.label;
      // The label in the message is the one pgbackrest info lists last for the repo.
      const all = await info("repo2");
      const listed = all[0]!.repos.find((x) => x.repoName === "repo2")!.backups;
      expect(listed[listed.length - 1]?.label).toBe(set.label);
    });

    it("backs up to the volume repo from a Job configuration that uses the volume locally", async () => {
      const term = join(dir, "termination-repo1");
      write(term, "");
      expectOk(
        await pg(
          backupCommand({ repoName: "repo1", type: "full" }, { configPath: configPath("job"), terminationLog: term }),
        ),
        "backup to repo1",
      );
      const parsed = parsePgBackRestInfo(readFileSync(term, "utf8"));
      expect(parsed[0]?.repos.find((x) => x.repoName === "repo1")?.backups[0]?.type).toBe("full");
      expect(existsSync(join(dir, "volumes", "repo1", "backup", "db", "backup.info"))).toBe(true);
    });

    it("takes an incremental backup after the full one", async () => {
      const term = join(dir, "termination-incr");
      write(term, "");
      expectOk(
        await pg(
          backupCommand({ repoName: "repo2", type: "incr" }, { configPath: configPath("job"), terminationLog: term }),
        ),
        "incremental backup",
      );
      const set = parsePgBackRestInfo(readFileSync(term, "utf8"))[0]?.repos[0]?.backups[0];
      expect(set?.type).toBe("incr");
      expect(set?.prior).toBe(firstLabel);
    });

    it("reads the bucket's backup.info and archive.info in agreement with pgbackrest info", async () => {
      const credentials = s3CredentialsFromConfFiles({ "s3.conf": S3_CONF }, "repo2");
      expect(credentials).toBeDefined();
      const repo2 = spec.backups!.pgbackrest!.repos[1]!;
      const reader = s3ObjectReader({
        bucket: BUCKET,
        endpoint: repo2.s3!.endpoint,
        region: "us-east-1",
        credentials: credentials!,
        ca: s3Ca,
      });
      const status = await readRepoStatus(reader, { repoPath: repoPath(spec, repo2) });
      if (!status.reachable) throw new Error(`bucket not readable: ${status.error}`);
      expect(status.stanzaExists).toBe(true);

      const fromInfo = (await info("repo2"))[0]!;
      const infoRepo = fromInfo.repos.find((r) => r.repoName === "repo2")!;
      const strip = ({ repoKey: _k, ...rest }: BackupSet) => rest;
      expect(status.backups.map(strip)).toEqual(infoRepo.backups.map(strip));
      expect(status.backups.map((b) => b.type)).toEqual(["full", "incr"]);
      expect(status.lastBackup?.label).toBe(infoRepo.backups[1]?.label);
      expect(status.systemId).toBe(fromInfo.systemId);
      expect(status.systemId).toMatch(/^\d{16,}$/);
      expect(status.pgVersion).toBe("15");
      expect(status.archive?.id).toBe(infoRepo.archive?.id);
      expect(status.archive?.newestSegment).toBe(infoRepo.archive?.max);
      expect(status.recoverability?.earliest).toBe(infoRepo.backups[0]?.stopTime);
      expect(status.recoverability!.latest >= infoRepo.backups[1]!.stopTime).toBe(true);
    });

    it("reads the same on Deno, with the permissions deno task start grants (the S3 SDK under Deno)", async () => {
      const repo2 = spec.backups!.pgbackrest!.repos[1]!;
      const target = s3RepoTargets(spec).find((t) => t.repoName === "repo2")!;
      const plan = {
        repoName: "repo2",
        target,
        access: {
          credentials: s3CredentialsFromConfFiles({ "s3.conf": S3_CONF }, "repo2")!,
          ca: s3Ca,
          verifyTls: true,
        },
      };
      const script = join(dir, "deno-read.ts");
      writeFileSync(
        script,
        `import { readS3Repo } from ${JSON.stringify(pathToFileURL(join(ROOT, "shared/io/repo-reads.ts")).href)};\n` +
          "console.log(JSON.stringify(await readS3Repo(JSON.parse(Deno.args[0]))));\n",
      );
      const { stdout } = await promisify(execFile)(
        join(ROOT, "node_modules/deno/deno"),
        ["run", "--config", join(ROOT, "deno.json"), ...DENO_START_PERMISSIONS, script, JSON.stringify(plan)],
        { cwd: ROOT, timeout: 60_000 },
      );
      const onDeno = JSON.parse(stdout.trim().split("\n").at(-1)!);
      const onNode = await readRepoStatus(
        s3ObjectReader({
          bucket: BUCKET,
          endpoint: repo2.s3!.endpoint,
          region: "us-east-1",
          credentials: plan.access.credentials,
          ca: s3Ca,
        }),
        { repoPath: repoPath(spec, repo2), wal: false },
      );
      expect(onDeno).toMatchObject({ reachable: true, stanzaExists: true });
      expect(onDeno).toEqual(JSON.parse(JSON.stringify(onNode)));
    });

    it("reports bad credentials and an unreachable endpoint as reachable: false with the S3 error", async () => {
      const repo2 = spec.backups!.pgbackrest!.repos[1]!;
      const wrong = await readRepoStatus(
        s3ObjectReader({
          bucket: BUCKET,
          endpoint: repo2.s3!.endpoint,
          region: "us-east-1",
          credentials: { accessKeyId: "NOPE", secretAccessKey: "NOPE" },
          ca: s3Ca,
        }),
        { repoPath: repoPath(spec, repo2) },
      );
      expect(wrong).toMatchObject({ reachable: false });
      expect(!wrong.reachable && wrong.error).toMatch(/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|403/);

      const closed = await freePort();
      const down = await readRepoStatus(
        s3ObjectReader({
          bucket: BUCKET,
          endpoint: `localhost:${closed}`,
          region: "us-east-1",
          credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
          ca: s3Ca,
        }),
        { repoPath: "/x" },
      );
      expect(down).toMatchObject({ reachable: false });
      expect(!down.reachable && down.error).toMatch(/ECONNREFUSED|connect/i);

      // Without the CA the self-signed endpoint is refused, as pgBackRest would refuse it.
      const untrusted = await readRepoStatus(
        s3ObjectReader({
          bucket: BUCKET,
          endpoint: repo2.s3!.endpoint,
          region: "us-east-1",
          credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
        }),
        { repoPath: repoPath(spec, repo2) },
      );
      expect(untrusted).toMatchObject({ reachable: false });
    });

    it("serves the repository status from the cache without waiting, then the refreshed result", async () => {
      let clock = 1_000_000;
      const cache = createRepoStatusCache({ now: () => clock, refreshAfterMs: 60_000, budgetMs: 10_000 });
      const repo2 = spec.backups!.pgbackrest!.repos[1]!;
      const reader = s3ObjectReader({
        bucket: BUCKET,
        endpoint: repo2.s3!.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
        ca: s3Ca,
      });
      const load = (signal: AbortSignal) => readRepoStatus(reader, { repoPath: repoPath(spec, repo2), signal });
      expect(await cache.get("repo2", load)).toBeUndefined();
      await cache.settled();
      const first = await cache.get("repo2", load);
      expect(first?.status).toMatchObject({ reachable: true, stanzaExists: true });
      expect(first?.checkedAt).toBe(clock);
      clock += 1000;
      expect((await cache.get("repo2", load))?.refreshing).toBe(false);
    });

    it("expires one backup set with the expire Job's command", async () => {
      const before = (await info("repo2"))[0]!.repos.find((r) => r.repoName === "repo2")!.backups;
      const incr = before.find((b) => b.type === "incr")!;
      expectOk(
        await pg(expireCommand({ repoName: "repo2", set: incr.label }, { configPath: configPath("job") })),
        "expire",
      );
      const after = (await info("repo2"))[0]!.repos.find((r) => r.repoName === "repo2")!.backups;
      expect(after.map((b) => b.label)).toEqual(before.filter((b) => b.label !== incr.label).map((b) => b.label));
      // Expiring a set that is gone already succeeds (a retried finalizer).
      expectOk(
        await pg(expireCommand({ repoName: "repo2", set: incr.label }, { configPath: configPath("job") })),
        "expire again",
      );
    });
  },
);
