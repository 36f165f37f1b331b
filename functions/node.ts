/**
 * @module
 * Node entry: `npm start`. PORT defaults to 8080 (Knative's), not the adapter's 3000.
 */
import { serve } from "@hono/node-server";
import { createServer, parseFunctionList } from "./server.ts";

const port = Number(process.env.PORT ?? 8080);
const functions = parseFunctionList(process.env.FUNCTIONS);
const app = createServer({ functions });
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? "0.0.0.0" }, (info) => {
  console.log(
    JSON.stringify({
      level: "info",
      msg: "listening",
      runtime: "node",
      port: info.port,
      functions: functions.length ? functions : "all",
    }),
  );
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
