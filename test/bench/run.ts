/**
 * @module
 * `npm run bench`: start-up time, throughput, p50/p99 latency and resident memory of the Tusk
 * server on Node and on Deno, each hook route next to an echo baseline on the same Hono app.
 * Load comes from this process over 127.0.0.1 with a bounded number of requests. Prints a
 * table and writes test/bench/results/latest.json. It measures; it asserts nothing.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import {
  admissionReview,
  backupSyncRequest,
  clusterSyncRequest,
  pingEvent,
  restoreSyncRequest,
} from "../contract/lib/fixtures.ts";
import { ENTRY, ROOT, RUNTIMES, type Runtime, startServer } from "../contract/lib/server.ts";
import { ECHO_PATH } from "./echo.ts";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);
/** Caps per route, so the whole run stays under two minutes even when every hook is slow. */
const ROUTE_BUDGET_MS = 6_000;
const WARMUP_BUDGET_MS = 1_500;
const SECRET = "bench-not-a-secret";

const BENCH_ENTRY: Record<Runtime, string> = { node: "test/bench/server-node.ts", deno: "test/bench/server-deno.ts" };

interface Target {
  route: string;
  body: string;
  headers?: Record<string, string>;
}

const ping = pingEvent();
const TARGETS: Target[] = [
  { route: ECHO_PATH, body: JSON.stringify(clusterSyncRequest(SECRET)) },
  { route: "/cluster/sync", body: JSON.stringify(clusterSyncRequest(SECRET)) },
  { route: "/admission/validate", body: JSON.stringify(admissionReview(SECRET)) },
  { route: "/backup/sync", body: JSON.stringify(backupSyncRequest(SECRET)) },
  { route: "/restore/sync", body: JSON.stringify(restoreSyncRequest(SECRET)) },
  { route: "/scheduler/ping", body: JSON.stringify(ping.body), headers: ping.headers },
];

interface RouteResult {
  route: string;
  bodyBytes: number;
  requests?: number;
  statuses?: Record<string, number>;
  errors?: number;
  seconds?: number;
  rps?: number;
  p50ms?: number;
  p99ms?: number;
  maxms?: number;
}

interface RuntimeResult {
  runtime: Runtime;
  version: string;
  startupMs: { runs: number[]; median: number };
  rssKiB: { idle: number; afterWarmup: number; afterLoad: number; groupAfterLoad: number };
  routes: RouteResult[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function load(url: string, target: Target, total: number, budgetMs: number) {
  const init = {
    method: "POST",
    body: target.body,
    headers: { "content-type": "application/json", ...target.headers },
  };
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const deadline = started + budgetMs;
  const worker = async () => {
    while (issued < total && performance.now() < deadline) {
      issued++;
      const t = performance.now();
      try {
        const res = await fetch(url + target.route, init);
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, statuses, errors, seconds };
}

function vmRssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** PIDs in the process group `pgid` (the server and, on Node, tsx's wrapper and esbuild). */
function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

/** The process that serves HTTP: tsx's node child on Node, the deno process itself. */
function servingPid(pid: number): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return pid;
  }
  const node = children.find((c) => {
    try {
      const cmd = readFileSync(`/proc/${c}/cmdline`, "utf8");
      return !cmd.includes("esbuild");
    } catch {
      return false;
    }
  });
  return node ?? pid;
}

function version(runtime: Runtime): string {
  if (runtime === "node") return process.version;
  const out = execFileSync(join(ROOT, "node_modules/deno/deno"), ["--version"], { encoding: "utf8" });
  return out.split("\n")[0]?.split(" ").slice(0, 2).join(" ") ?? "deno";
}

async function benchRuntime(runtime: Runtime): Promise<RuntimeResult> {
  const startups: number[] = [];
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const server = await startServer(runtime, { entry: ENTRY[runtime] });
    startups.push(round(server.startupMs, 1));
    await server.stop();
  }

  const server = await startServer(runtime, { entry: BENCH_ENTRY[runtime] });
  const routes: RouteResult[] = [];
  let idle = 0;
  let afterWarmup = 0;
  try {
    const serving = servingPid(server.pid);
    idle = vmRssKiB(serving);
    for (const target of TARGETS) await load(server.url, target, WARMUP, WARMUP_BUDGET_MS);
    afterWarmup = vmRssKiB(serving);
    for (const target of TARGETS) {
      const r = await load(server.url, target, REQUESTS, ROUTE_BUDGET_MS);
      routes.push({
        route: target.route,
        bodyBytes: Buffer.byteLength(target.body),
        requests: r.latencies.length,
        statuses: r.statuses,
        errors: r.errors,
        seconds: round(r.seconds, 3),
        rps: Math.round(r.latencies.length / r.seconds),
        p50ms: round(percentile(r.latencies, 50), 3),
        p99ms: round(percentile(r.latencies, 99), 3),
        maxms: round(r.latencies.at(-1) ?? Number.NaN, 3),
      });
    }
    const afterLoad = vmRssKiB(serving);
    const groupAfterLoad = groupPids(server.pid).reduce((sum, pid) => sum + vmRssKiB(pid), 0);
    return {
      runtime,
      version: version(runtime),
      startupMs: { runs: startups, median: median(startups) },
      rssKiB: { idle, afterWarmup, afterLoad, groupAfterLoad },
      routes,
    };
  } finally {
    await server.stop();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r, n) => {
      const line = r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
      return n === 0 ? `${line}\n${widths.map((w) => "-".repeat(w)).join("  ")}` : line;
    })
    .join("\n");
}

function report(results: RuntimeResult[]): string {
  const routeRows = [["runtime", "route", "bytes", "requests", "status", "req/s", "p50 ms", "p99 ms", "max ms"]];
  for (const r of results) {
    for (const route of r.routes) {
      const statuses = Object.entries(route.statuses ?? {})
        .map(([s, n]) => `${s}x${n}`)
        .join(",");
      routeRows.push([
        r.runtime,
        route.route,
        String(route.bodyBytes),
        String(route.requests),
        statuses + (route.errors ? `,err x${route.errors}` : ""),
        String(route.rps),
        route.p50ms!.toFixed(2),
        route.p99ms!.toFixed(2),
        route.maxms!.toFixed(2),
      ]);
    }
  }
  const procRows = [
    ["runtime", "version", "startup ms (median)", "startup runs", "RSS idle MiB", "RSS warm MiB", "RSS after MiB"],
  ];
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  for (const r of results) {
    procRows.push([
      r.runtime,
      r.version,
      r.startupMs.median.toFixed(0),
      r.startupMs.runs.map((n) => n.toFixed(0)).join("/"),
      mib(r.rssKiB.idle),
      mib(r.rssKiB.afterWarmup),
      mib(r.rssKiB.afterLoad),
    ]);
  }
  return `${table(routeRows)}\n\n${table(procRows)}`;
}

process.once("SIGINT", () => process.exit(130));

const began = performance.now();
const results: RuntimeResult[] = [];
for (const runtime of RUNTIMES) {
  console.error(`bench: ${runtime} ...`);
  results.push(await benchRuntime(runtime));
}
const out = {
  generatedAt: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "", memoryMiB: Math.round(totalmem() / 2 ** 20) },
  config: {
    requestsPerRoute: REQUESTS,
    routeBudgetMs: ROUTE_BUDGET_MS,
    warmupBudgetMs: WARMUP_BUDGET_MS,
    warmupPerRoute: WARMUP,
    concurrency: CONCURRENCY,
    startupRuns: STARTUP_RUNS,
    client: `fetch from one Node ${process.version} process over 127.0.0.1`,
    startupEntries: ENTRY,
    loadEntries: BENCH_ENTRY,
    echo: `${ECHO_PATH} parses and answers the /cluster/sync request body`,
  },
  results,
  seconds: round((performance.now() - began) / 1000, 1),
};
const dir = join(ROOT, "test/bench/results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "latest.json"), `${JSON.stringify(out, null, 2)}\n`);
console.log(report(results));
console.log(
  `\nstartup: spawn to first 200 from /healthz with the production entries (npm start / deno task start);`,
  `\nRSS: the serving process (tsx's node child on Node), idle / after ${WARMUP} warm-up requests per route / after the run;`,
  `\nload: ${REQUESTS} requests per route (fewer when a route hits its ${ROUTE_BUDGET_MS / 1000}s cap), concurrency ${CONCURRENCY};`,
  "server logging on, as in production; client and server share this machine's CPUs.",
  `\nwrote test/bench/results/latest.json in ${out.seconds}s`,
);
