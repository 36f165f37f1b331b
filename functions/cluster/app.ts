/**
 * @module
 * The cluster function as a Hono app (routes relative to /cluster): a thin adapter around the
 * pure hooks, with the CSPRNG, the clock and the PKI as their only outside inputs.
 */
import { Hono } from "hono";
import { webCryptoPki } from "../../shared/crypto/x509.ts";
import { installErrorHandling, readJson } from "../../shared/http.ts";
import { CustomizeRequest, SyncRequest } from "../../shared/metacontroller.ts";
import { customizeCluster } from "./customize.ts";
import { finalizeCluster } from "./finalize.ts";
import { type ClusterDeps, type ClusterOptions, syncCluster } from "./sync.ts";

export const runtimeDeps: ClusterDeps = {
  randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  now: () => new Date(),
  pki: webCryptoPki,
};

/** TUSK_BACKUP_SCHEDULER=knative makes backup schedules PingSources (default: CronJobs). */
export function optionsFromEnv(env: Record<string, string | undefined> | undefined): ClusterOptions {
  const scheduler = env?.TUSK_BACKUP_SCHEDULER;
  return scheduler === "knative" || scheduler === "cronjob" ? { backupScheduler: scheduler } : {};
}

// Both Node and Deno 2 expose `process.env`; nothing else here knows the runtime.
const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;

export function createClusterApp(deps: ClusterDeps = runtimeDeps, options: ClusterOptions = optionsFromEnv(env)): Hono {
  const app = new Hono();
  installErrorHandling(app);
  app.post("/sync", async (c) => c.json(await syncCluster(await readJson(c, SyncRequest), deps, options)));
  app.post("/customize", async (c) => c.json(customizeCluster(await readJson(c, CustomizeRequest))));
  app.post("/finalize", async (c) => c.json(finalizeCluster(await readJson(c, SyncRequest))));
  return app;
}

export const app = createClusterApp();
