/**
 * @module
 * Starts a real Tusk server as a child process (Node through tsx, or Deno) on a free
 * 127.0.0.1 port, waits for `/healthz`, captures its output and stops it by process group.
 * Shared by the contract suite and the benchmark.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, createServer as createNetServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export type Runtime = "node" | "deno";
export const RUNTIMES: Runtime[] = ["node", "deno"];

/** The permissions `deno task start` grants (deno.json), so the suites run what users run. */
export const DENO_START_PERMISSIONS: string[] = (
  JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { tasks: { start: string } }
).tasks.start
  .split(/\s+/)
  .filter((word) => word.startsWith("--allow-"));

/** The commands `npm start` and `deno task start` run, with the entry file replaceable. */
function command(runtime: Runtime, entry: string): [string, string[]] {
  return runtime === "node"
    ? [join(ROOT, "node_modules/.bin/tsx"), [entry]]
    : [join(ROOT, "node_modules/deno/deno"), ["run", ...DENO_START_PERMISSIONS, entry]];
}

export const ENTRY: Record<Runtime, string> = { node: "functions/node.ts", deno: "functions/deno.ts" };

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningServer {
  runtime: Runtime;
  port: number;
  url: string;
  pid: number;
  /** Milliseconds from spawn to the first 200 from /healthz. */
  startupMs: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (at once when it already has). */
  exited(): Promise<Exit>;
  /** SIGTERM to the server process, then SIGKILL to its whole group after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
}

export interface StartOptions {
  entry?: string;
  env?: Record<string, string>;
  port?: number;
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort when a test run is torn down before afterAll: no server outlives this process. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) killGroup(child, "SIGKILL");
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** True while any process of the group led by `pid` is alive (zombies excluded by the kernel's reaping). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Spawns without waiting for readiness; for servers expected to fail at start-up. */
export function spawnServer(runtime: Runtime, options: StartOptions & { port: number }) {
  const [cmd, args] = command(runtime, options.entry ?? ENTRY[runtime]);
  const child = spawn(cmd, args, {
    cwd: ROOT,
    // Its own process group, so stopping it also stops tsx's node child and esbuild service.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", HOST: "127.0.0.1", PORT: String(options.port), ...options.env },
  });
  live.add(child);
  installExitHook();
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exit = new Promise<Exit>((resolve) =>
    // "close" waits for stdio to drain, so the output is complete when this resolves.
    child.once("close", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  let done: Exit | undefined;
  void exit.then((e) => {
    done = e;
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    hasExited: () => done !== undefined,
  };
}

export async function startServer(runtime: Runtime, options: StartOptions = {}): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const proc = spawnServer(runtime, { ...options, port });
  const deadline = started + (options.timeoutMs ?? 45_000);
  let startupMs = -1;
  while (performance.now() < deadline && !proc.hasExited()) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) {
        startupMs = performance.now() - started;
        break;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const stop = async (graceMs = 10_000): Promise<Exit> => {
    if (!proc.hasExited()) {
      if (proc.child.pid !== undefined) {
        try {
          process.kill(proc.child.pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
      const timer = setTimeout(() => killGroup(proc.child, "SIGKILL"), graceMs);
      const e = await proc.exited();
      clearTimeout(timer);
      // tsx's helpers (esbuild) die with their parent; anything left in the group is a leftover.
      killGroup(proc.child, "SIGKILL");
      return e;
    }
    killGroup(proc.child, "SIGKILL");
    return await proc.exited();
  };
  if (startupMs < 0) {
    await stop(1000);
    throw new Error(
      `${runtime} server did not answer /healthz on ${url}\nstdout:\n${proc.stdout()}\nstderr:\n${proc.stderr()}`,
    );
  }
  return {
    runtime,
    port,
    url,
    pid: proc.child.pid as number,
    startupMs,
    stdout: proc.stdout,
    stderr: proc.stderr,
    exited: proc.exited,
    stop,
  };
}

/** Resolves when `predicate` holds, polling; rejects with `what` after `timeoutMs`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether a TCP connection to the port is refused (nothing listens any more). */
export async function portClosed(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}
