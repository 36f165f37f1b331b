/**
 * @module
 * The Hono app factory every function uses: JSON bodies parsed with a zod schema (400 naming
 * the field on bad input, 413 over the size limit), one structured JSON log line per request
 * (never a body, so never Secret data), and request counts and latency per route for
 * `/metrics`. Web standards only: this runs unchanged on Node and Deno.
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type * as z from "zod";
import { zodProblems } from "./field-path.ts";

/** Metacontroller sends the parent and every observed child; 8 MiB leaves room for large fleets. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly problems: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** Reads and validates a JSON body; throws BadRequest (answered as 400) when it does not fit. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new BadRequest("request body is not valid JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error);
    throw new BadRequest(
      `request body does not match: ${problems.map((p) => `${p.field || "(root)"}: ${p.message}`).join("; ")}`,
      problems,
    );
  }
  return parsed.data;
}

export interface Metrics {
  observe(route: string, method: string, status: number, seconds: number): void;
  render(): string;
}

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(): Metrics {
  const counts = new Map<string, number>();
  const hist = new Map<string, { buckets: number[]; sum: number; count: number }>();
  return {
    observe(route, method, status, seconds) {
      const key = `route="${route}",method="${method}",status="${status}"`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const hkey = `route="${route}",method="${method}"`;
      const h = hist.get(hkey) ?? { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      BUCKETS.forEach((b, i) => {
        if (seconds <= b) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
      });
      h.sum += seconds;
      h.count += 1;
      hist.set(hkey, h);
    },
    render() {
      const lines = [
        "# HELP tusk_http_requests_total HTTP requests by route, method and status.",
        "# TYPE tusk_http_requests_total counter",
      ];
      for (const [k, v] of [...counts].sort()) lines.push(`tusk_http_requests_total{${k}} ${v}`);
      lines.push(
        "# HELP tusk_http_request_duration_seconds HTTP request latency by route.",
        "# TYPE tusk_http_request_duration_seconds histogram",
      );
      for (const [k, h] of [...hist].sort()) {
        BUCKETS.forEach((b, i) =>
          lines.push(`tusk_http_request_duration_seconds_bucket{${k},le="${b}"} ${h.buckets[i]}`),
        );
        lines.push(`tusk_http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
        lines.push(`tusk_http_request_duration_seconds_sum{${k}} ${h.sum}`);
        lines.push(`tusk_http_request_duration_seconds_count{${k}} ${h.count}`);
      }
      return `${lines.join("\n")}\n`;
    },
  };
}

export interface AppOptions {
  metrics?: Metrics;
  /** Where log lines go; defaults to console.log. Tests pass a collector. */
  log?: (line: string) => void;
}

/**
 * A Hono app with the shared behaviour. Function apps are built with it and the combined
 * server mounts them; the middleware then runs once, in the outer app.
 */
export function createApp(options: AppOptions = {}): Hono {
  const app = new Hono();
  const log = options.log ?? ((line: string) => console.log(line));
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = c.req.routePath && c.req.routePath !== "/*" ? c.req.routePath : "unmatched";
    options.metrics?.observe(route, c.req.method, c.res.status, seconds);
    log(
      JSON.stringify({
        level: c.res.status >= 500 ? "error" : "info",
        msg: "request",
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 100000) / 100,
      }),
    );
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      // A streamed (chunked) body is cut off, which leaves the connection unusable: say so, or
      // clients reuse it and fail. With a Content-Length the server drains it and keeps it alive.
      onError: (c) =>
        c.json(
          { error: `request body is larger than ${MAX_BODY_BYTES} bytes` },
          413,
          c.req.header("content-length") === undefined ? { connection: "close" } : {},
        ),
    }),
  );
  installErrorHandling(app, log);
  return app;
}

/** 400 for BadRequest, 500 (with a log line, without the body) for anything else. */
export function installErrorHandling(app: Hono, log: (line: string) => void = console.log): void {
  app.onError((err, c) => {
    if (err instanceof BadRequest) return c.json({ error: err.message, problems: err.problems }, 400);
    // JSON.parse's messages quote the input, which can be Secret data from the request body.
    const error = err instanceof SyntaxError ? "SyntaxError (message withheld: it may quote the body)" : String(err);
    log(JSON.stringify({ level: "error", msg: "unhandled error", path: c.req.path, error }));
    return c.json({ error: "internal error" }, 500);
  });
  app.notFound((c) => {
    // A route that exists with another method is 405 with Allow, so a client sees its mistake.
    const allowed = [
      ...new Set(app.routes.filter((r) => r.method !== "ALL" && r.path === c.req.path).map((r) => r.method)),
    ];
    if (allowed.length)
      return c.json({ error: `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(", ")}` }, 405, {
        allow: allowed.join(", "),
      });
    return c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404);
  });
}
