/**
 * @module
 * Process management for the end-to-end suite: every daemon is started in its own session,
 * recorded by PID under a fixed base directory, stopped by PID, and leftovers of an aborted
 * earlier run are found through those PID files (never by process name).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { waitFor } from "./wait.ts";

/**
 * Fixed base so a later run can find and stop what an aborted run left behind. Not under /tmp:
 * pods mount their own /tmp, which would hide the volumes' sources inside their namespace.
 */
export const BASE = "/var/tmp/tusk-e2e";
/** Every process the suite starts carries this variable, so leftovers are recognised by it. */
const MARKER = `TUSK_E2E_BASE=${BASE}`;
const PIDS = join(BASE, "pids");
export const RUN = join(BASE, "run");
export const LOGS = join(BASE, "logs");

const PG_USER = "postgres";

export interface PostgresIds {
  uid: number;
  gid: number;
  home: string;
}

let ids: PostgresIds | undefined;
/** UID/GID of the Debian `postgres` account that stands in for the pod's non-root user. */
export function postgresIds(): PostgresIds {
  if (ids) return ids;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${PG_USER}:`));
  if (!line) throw new Error("no postgres OS user: run test/e2e/install.sh");
  const f = line.split(":");
  ids = { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? "/var/lib/postgresql" };
  return ids;
}

function chownPostgres(path: string): void {
  const { uid, gid } = postgresIds();
  chownSync(path, uid, gid);
}

/** mkdir -p, owned by postgres. */
export function mkdirPg(path: string, mode = 0o700): void {
  mkdirSync(path, { recursive: true, mode });
  chownPostgres(path);
}

/**
 * The command prefix that runs a program as the postgres OS user with a clean environment.
 * setpriv and env exec (no fork), so the PID we record is the program's own (docs/dataplane-notes.md P3).
 */
export function asPostgres(env: Record<string, string>, argv: string[]): string[] {
  const { home } = postgresIds();
  const base: Record<string, string> = {
    PATH: "/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    TUSK_E2E_BASE: BASE,
  };
  const merged = { ...base, ...env };
  return [
    "setpriv",
    `--reuid=${PG_USER}`,
    `--regid=${PG_USER}`,
    "--init-groups",
    "env",
    "-i",
    ...Object.entries(merged).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
}

export interface Daemon {
  name: string;
  pid: number;
  log: string;
  child: ChildProcess;
}

function pidFile(name: string): string {
  return join(PIDS, `${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.pid`);
}

/** Starts argv detached in a new session with output to a log file; records the PID. */
export function startDaemon(
  name: string,
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Daemon {
  mkdirSync(PIDS, { recursive: true });
  mkdirSync(LOGS, { recursive: true });
  const log = join(LOGS, `${name}.log`);
  const fd = openSync(log, "a");
  const [cmd, ...args] = argv;
  const child = spawn(cmd!, args, {
    detached: true,
    stdio: ["ignore", fd, fd],
    cwd: opts.cwd ?? BASE,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...opts.env, TUSK_E2E_BASE: BASE },
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${argv.join(" ")}`);
  child.unref();
  child.on("error", () => {});
  writeFileSync(pidFile(name), `${child.pid}\n`);
  return { name, pid: child.pid, log, child };
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); treat it as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** Started by this suite: the marker in its environment, or the base directory in its command line. */
function ours(pid: number): boolean {
  try {
    if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(MARKER)) return true;
  } catch {}
  return cmdline(pid).includes(BASE);
}

/** Signals pid, waits for it to exit, escalates to SIGKILL. */
export async function stopPid(pid: number | undefined, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 30_000) {
  if (!alive(pid)) return;
  try {
    process.kill(pid!, signal);
  } catch {
    return;
  }
  try {
    await waitFor(`pid ${pid} to exit`, () => !alive(pid), { timeoutMs, intervalMs: 100 });
  } catch {
    try {
      process.kill(pid!, "SIGKILL");
    } catch {}
    await waitFor(`pid ${pid} to exit after SIGKILL`, () => !alive(pid), { timeoutMs: 10_000, intervalMs: 100 });
  }
}

export function forgetDaemon(name: string): void {
  rmSync(pidFile(name), { force: true });
}

/** First line of postmaster.pid, when the postmaster named there still runs from that dir. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return pid > 0 && alive(pid) && ours(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function findPostmasterPidFiles(dir: string, depth = 0, out: string[] = []): string[] {
  if (depth > 6) return out;
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.isFile() && e.name === "postmaster.pid") out.push(dir);
    else if (e.isDirectory() && !e.isSymbolicLink() && e.name !== "base" && e.name !== "pg_wal")
      findPostmasterPidFiles(join(dir, e.name), depth + 1, out);
  }
  return out;
}

/**
 * Stops whatever an earlier (aborted) run left: every PID file whose process still runs
 * with the base directory in its command line, then any postmaster under the base directory
 * (Patroni's postgres is re-parented to init and survives a killed Patroni, docs/dataplane-notes.md P4).
 */
export async function killLeftovers(log: (m: string) => void = () => {}): Promise<void> {
  if (existsSync(PIDS)) {
    // dependants first: Jobs, writers and pods before the services they talk to
    const last = (f: string) => (/^(etcd|s3rver)/.test(f) ? 1 : 0);
    for (const f of readdirSync(PIDS).sort((a, b) => last(a) - last(b))) {
      const pid = Number(readFileSync(join(PIDS, f), "utf8").trim());
      if (alive(pid) && ours(pid)) {
        log(`stopping leftover ${f} (pid ${pid}) from an earlier run`);
        await stopPid(pid, "SIGTERM", 20_000);
      }
      rmSync(join(PIDS, f), { force: true });
    }
  }
  for (const dir of findPostmasterPidFiles(RUN)) {
    const pid = postmasterPid(dir);
    if (pid) {
      log(`stopping leftover postmaster ${pid} (${dir})`);
      await stopPid(pid, "SIGQUIT", 15_000);
    }
  }
}

/** Ports in LISTEN state on any address (from /proc/net/tcp{,6}). */
export function listeningPorts(): Set<number> {
  const ports = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A" && cols[1]) ports.add(Number.parseInt(cols[1].split(":")[1] ?? "0", 16));
    }
  }
  return ports;
}

const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * A port on 127.0.0.1 that nothing listens on and that this run has not handed out yet.
 * Taken from a range below the kernel's ephemeral range so outgoing connections cannot hold it.
 */
export async function freePort(): Promise<number> {
  const busy = listeningPorts();
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port) || busy.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port found on 127.0.0.1");
}

export function allocatedPorts(): number[] {
  return [...handedOut];
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never rejects on a non-zero exit. */
export function run(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = execFile(
      cmd!,
      args,
      {
        env: opts.env ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        cwd: opts.cwd ?? "/",
        killSignal: "SIGKILL",
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) + (err && code === 1 && !stderr ? String(err.message) : ""),
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return `(no ${file})`;
  }
}
