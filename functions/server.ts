/**
 * @module
 * One Hono app serving every function (or a chosen subset) with health, readiness and metrics.
 * Runtime-neutral: functions/node.ts and functions/deno.ts only hand it to a server.
 */
import type { Hono } from "hono";
import { createApp, createMetrics } from "../shared/http.ts";
import { app as admission } from "./admission/app.ts";
import { app as backup } from "./backup/app.ts";
import { app as cluster } from "./cluster/app.ts";
import { app as restore } from "./restore/app.ts";
import { app as scheduler } from "./scheduler/app.ts";

export const FUNCTIONS: Record<string, Hono> = { cluster, backup, restore, admission, scheduler };

export interface ServerOptions {
  /** Which functions to mount; all when empty. Lets one image deploy a single function. */
  functions?: string[];
  log?: (line: string) => void;
  /** Extra routes mounted for benchmarks and tests (never in production entries). */
  extra?: (app: Hono) => void;
}

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
    const fn = FUNCTIONS[name];
    if (fn) app.route(`/${name}`, fn);
  }
  return app;
}
