/**
 * @module
 * Processes of the kube suite: each daemon runs in its own session with its output in a log
 * file and its PID recorded under BASE, so a later run stops what an aborted one left behind
 * (found by PID file and an environment marker, never by process name).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive } from "../../e2e/lib/proc.ts";
import { waitFor } from "../../e2e/lib/wait.ts";

export { alive, freePort, run, tail } from "../../e2e/lib/proc.ts";

/**
 * Fixed, so leftovers of an aborted run can be found; apart from the e2e suite's base.
 * TUSK_KUBE_BASE gives a second run on the same machine a base of its own.
 */
export const BASE = process.env.TUSK_KUBE_BASE ?? "/var/tmp/tusk-kube";
const MARKER = `TUSK_KUBE_BASE=${BASE}`;
const PIDS = join(BASE, "pids");
export const LOGS = join(BASE, "logs");

export interface Daemon {
  name: string;
  pid: number;
  log: string;
}

export function startDaemon(
  name: string,
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
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
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...opts.env, TUSK_KUBE_BASE: BASE },
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${argv.join(" ")}`);
  child.unref();
  child.on("error", () => {});
  writeFileSync(join(PIDS, `${name}.pid`), `${child.pid}\n`);
  return { name, pid: child.pid, log };
}

function ours(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(MARKER);
  } catch {
    return false;
  }
}

async function stopPid(pid: number, timeoutMs = 20_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    // the whole session: tsx and kubectl start children of their own
    process.kill(-pid, "SIGTERM");
  } catch {
    process.kill(pid, "SIGTERM");
  }
  try {
    await waitFor(`pid ${pid} to exit`, () => !alive(pid), { timeoutMs, intervalMs: 100 });
  } catch {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
    await waitFor(`pid ${pid} to exit after SIGKILL`, () => !alive(pid), { timeoutMs: 10_000, intervalMs: 100 });
  }
}

/** Stops every recorded daemon, in the order given by `first` (lower first). */
export async function stopAll(first: (name: string) => number = () => 0): Promise<string[]> {
  if (!existsSync(PIDS)) return [];
  const stopped: string[] = [];
  const files = readdirSync(PIDS).sort((a, b) => first(a) - first(b));
  for (const f of files) {
    const pid = Number(readFileSync(join(PIDS, f), "utf8").trim());
    if (alive(pid) && ours(pid)) {
      await stopPid(pid);
      stopped.push(f.replace(/\.pid$/, ""));
    }
    rmSync(join(PIDS, f), { force: true });
  }
  return stopped;
}
