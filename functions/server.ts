/**
 * @module
 * One Hono app serving every function (or a chosen subset) with health, readiness and metrics.
 * Runtime-neutral: functions/node.ts and functions/deno.ts read the environment, once, into
 * options (serverOptionsFromEnv) and hand the app to a server; nothing below reads it.
 */
import type { Hono } from "hono";
import { createApp, createMetrics } from "../shared/http.ts";
import { app as admission } from "./admission/app.ts";
import { app as backup } from "./backup/app.ts";
import { clusterOptionsFromEnv, createClusterApp, runtimeDeps } from "./cluster/app.ts";
import type { ClusterOptions } from "./cluster/sync.ts";
import { app as restore } from "./restore/app.ts";
import { createSchedulerApp, type SchedulerOptions, schedulerOptionsFromEnv } from "./scheduler/app.ts";

export interface ServerOptions {
  /** Which functions to mount; all when empty. Lets one image deploy a single function. */
  functions?: string[];
  cluster?: ClusterOptions;
  scheduler?: SchedulerOptions;
  log?: (line: string) => void;
  /** Extra routes mounted for benchmarks and tests (never in production entries). */
  extra?: (app: Hono) => void;
}

/** Each function's app, built from the options that concern it. */
export const FUNCTIONS: Record<string, (options: ServerOptions) => Hono> = {
  cluster: (options) => createClusterApp(runtimeDeps, options.cluster),
  backup: () => backup,
  restore: () => restore,
  admission: () => admission,
  scheduler: (options) => createSchedulerApp(options.scheduler),
};

export function parseFunctionList(value: string | undefined): string[] {
  const list = (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = list.filter((name) => !Object.hasOwn(FUNCTIONS, name));
  if (unknown.length)
    throw new Error(
      `FUNCTIONS names unknown function(s): ${unknown.join(", ")}; known: ${Object.keys(FUNCTIONS).join(", ")}`,
    );
  return list;
}

export function createServer(options: ServerOptions = {}): Hono {
  const metrics = createMetrics();
  const app = createApp({ metrics, log: options.log });
  const selected = options.functions?.length ? options.functions : Object.keys(FUNCTIONS);
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => c.json({ status: "ready", functions: selected }));
  app.get("/metrics", (c) => c.text(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }));
  options.extra?.(app);
  for (const name of selected) {
    const build = FUNCTIONS[name];
    if (build) app.route(`/${name}`, build(options));
  }
  return app;
}

/**
 * The settings the functions take from the environment: FUNCTIONS, TUSK_BACKUP_SCHEDULER,
 * SCHEDULED_BACKUPS_KEEP and the scheduler's Kubernetes API (the in-cluster service account
 * or KUBECONFIG). The entries call this once; PORT, HOST and TLS_* concern only them.
 */
export function serverOptionsFromEnv(env: Record<string, string | undefined>): ServerOptions {
  return {
    functions: parseFunctionList(env.FUNCTIONS),
    cluster: clusterOptionsFromEnv(env),
    scheduler: schedulerOptionsFromEnv(env),
  };
}
