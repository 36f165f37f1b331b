/**
 * @module
 * Node entry: `npm start`. PORT defaults to 8080 (Knative's), not the adapter's 3000.
 * With TLS_CERT_FILE and TLS_KEY_FILE set, the same app is also served over HTTPS on TLS_PORT
 * (default 8443): the API server calls admission webhooks over HTTPS only.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { serve } from "@hono/node-server";
import { createServer, serverOptionsFromEnv } from "./server.ts";

// Read once, here: the functions are handed options and never read the environment themselves.
const env = { ...process.env };
const port = Number(env.PORT ?? 8080);
const hostname = env.HOST ?? "0.0.0.0";
const options = serverOptionsFromEnv(env);
const functions = options.functions ?? [];
const app = createServer(options);
const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
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
/**
 * A request's headers and body must arrive within these, not Node's default 300 s: a client
 * sending its body a byte at a time would otherwise hold a connection (and its memory) for five
 * minutes. Metacontroller and the API server send a whole request at once.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const httpServer = server as unknown as { headersTimeout: number; requestTimeout: number };
httpServer.headersTimeout = HEADERS_TIMEOUT_MS;
httpServer.requestTimeout = REQUEST_TIMEOUT_MS;
const certFile = env.TLS_CERT_FILE;
const keyFile = env.TLS_KEY_FILE;
let tlsServer: HttpsServer | undefined;
if (certFile && keyFile) {
  const tlsPort = Number(env.TLS_PORT ?? 8443);
  const readPair = () => ({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  let pair = readPair();
  tlsServer = serve(
    {
      fetch: app.fetch,
      port: tlsPort,
      hostname,
      createServer: createHttpsServer,
      serverOptions: pair,
    },
    (info) =>
      console.log(JSON.stringify({ level: "info", msg: "listening", runtime: "node", tls: true, port: info.port })),
  ) as HttpsServer;
  tlsServer.headersTimeout = HEADERS_TIMEOUT_MS;
  tlsServer.requestTimeout = REQUEST_TIMEOUT_MS;
  // cert-manager renews the Secret in place; the mounted files change, the process keeps running.
  setInterval(() => {
    try {
      const next = readPair();
      if (next.cert.equals(pair.cert) && next.key.equals(pair.key)) return;
      tlsServer?.setSecureContext(next);
      pair = next;
      console.log(JSON.stringify({ level: "info", msg: "reloaded TLS certificate", runtime: "node" }));
    } catch (error) {
      console.log(JSON.stringify({ level: "error", msg: "TLS certificate reload failed", error: String(error) }));
    }
  }, 60_000).unref();
}
const stop = () => {
  tlsServer?.close();
  server.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
