/**
 * @module
 * Benchmark-only Node entry: functions/node.ts plus the echo baseline route.
 */
import { serve } from "@hono/node-server";
import { createServer, serverOptionsFromEnv } from "../../functions/server.ts";
import { mountEcho } from "./echo.ts";

const port = Number(process.env.PORT ?? 8080);
const app = createServer({ ...serverOptionsFromEnv(process.env), extra: mountEcho });
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? "127.0.0.1" }, (info) =>
  console.log(JSON.stringify({ level: "info", msg: "listening", runtime: "node", port: info.port, bench: true })),
);
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
