/**
 * @module
 * A throwaway PostgreSQL 15 for the crypto tests: initdb into a temp dir as the `postgres` OS
 * user, listen on 127.0.0.1 at a free port, and tear everything down afterwards. Needs root
 * (to become `postgres` with setpriv) and the Debian postgresql-15 binaries; `skipReason()`
 * says why a test cannot run otherwise.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const PG_BIN = "/usr/lib/postgresql/15/bin";

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith("postgres:"));
    if (!line) return undefined;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/** Why the real-Postgres tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: cannot run initdb/postgres as the postgres user";
  if (!existsSync(join(PG_BIN, "initdb")) || !existsSync(join(PG_BIN, "pg_ctl")))
    return `no PostgreSQL 15 in ${PG_BIN}`;
  if (!existsSync(join(PG_BIN, "psql"))) return `no psql in ${PG_BIN}`;
  if (!postgresIds()) return "no postgres OS user";
  return undefined;
}

/** Environment for child processes without the caller's PG* variables. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PG")) env[k] = v;
  return { ...env, LC_ALL: "C.UTF-8", PGCONNECT_TIMEOUT: "5", ...extra };
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", cmd, ...args]];
}

export interface TempPostgres {
  port: number;
  dir: string;
  /** Runs SQL as the superuser over the Unix socket; returns trimmed stdout (tuples only). */
  sql(query: string): Promise<string>;
  /** Writes a file owned by postgres with the given mode, inside the temp dir. */
  writeFile(name: string, content: string, mode?: number): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra postgresql.conf lines. */
  conf?: string[];
  /** pg_hba.conf lines for TCP clients; the superuser always gets `local all postgres trust`. */
  hba: string[];
  /** Files written (owned by postgres) before start, e.g. certificates: name -> [content, mode]. */
  files?: Record<string, [string, number]>;
}

export async function startPostgres(opts: StartOptions): Promise<TempPostgres> {
  const ids = postgresIds()!;
  const dir = mkdtempSync(join(tmpdir(), "tusk-crypto-pg-"));
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, "data");
  const port = await freePort();
  let started = false;

  const writeFile = (name: string, content: string, mode = 0o644): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode });
    chownSync(path, ids.uid, ids.gid);
    return path;
  };

  const stop = async (): Promise<void> => {
    if (started) {
      await run(...asPostgres(join(PG_BIN, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]), {
        env: cleanEnv(),
      }).catch(() => undefined);
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await run(
      ...asPostgres(join(PG_BIN, "initdb"), [
        "-D",
        data,
        "-U",
        "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
      ]),
      { env: cleanEnv(), cwd: dir },
    );
    for (const [name, [content, mode]] of Object.entries(opts.files ?? {})) writeFile(name, content, mode);
    writeFile(
      "data/postgresql.auto.conf",
      `${[
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        "fsync = off",
        "shared_buffers = 16MB",
        "max_connections = 20",
        "password_encryption = 'scram-sha-256'",
        ...(opts.conf ?? []),
      ].join("\n")}\n`,
      0o600,
    );
    writeFile("data/pg_hba.conf", `${["local all postgres trust", ...opts.hba].join("\n")}\n`, 0o600);
    await run(...asPostgres(join(PG_BIN, "pg_ctl"), ["-D", data, "-l", join(dir, "log"), "-w", "-t", "30", "start"]), {
      env: cleanEnv(),
      cwd: dir,
    });
    started = true;
  } catch (err) {
    let log = "";
    try {
      log = readFileSync(join(dir, "log"), "utf8");
    } catch {}
    await stop();
    throw new Error(`could not start PostgreSQL: ${(err as Error).message}\n${log}`);
  }

  const sql = async (query: string): Promise<string> => {
    const { stdout } = await run(
      join(PG_BIN, "psql"),
      [
        "-X",
        "-h",
        dir,
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-At",
        "-c",
        query,
      ],
      { env: cleanEnv() },
    );
    return stdout.trim();
  };

  return { port, dir, sql, writeFile, stop };
}

/** Runs psql with a conninfo string; resolves with exit status and output instead of throwing. */
export async function psql(
  conninfo: string,
  query: string,
  env: Record<string, string> = {},
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(PG_BIN, "psql"), ["-X", "-At", "-d", conninfo, "-c", query], {
      env: cleanEnv(env),
    });
    return { ok: true, stdout: stdout.trim(), stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout?.trim() ?? "", stderr: e.stderr ?? "" };
  }
}
