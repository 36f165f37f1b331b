/**
 * @module
 * The cluster function as a Hono app (routes relative to /cluster): a thin adapter around the
 * pure hooks, with the CSPRNG and the clock as their only outside inputs.
 */
import { Hono } from "hono";
import { installErrorHandling, readJson } from "../../shared/http.ts";
import { CustomizeRequest, SyncRequest } from "../../shared/metacontroller.ts";
import { customizeCluster } from "./customize.ts";
import { finalizeCluster } from "./finalize.ts";
import { type ClusterDeps, type ClusterOptions, syncCluster } from "./sync.ts";

export const runtimeDeps: ClusterDeps = {
  randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  now: () => new Date(),
};

/** TUSK_BACKUP_SCHEDULER=knative makes backup schedules PingSources (default: CronJobs). */
export function clusterOptionsFromEnv(env: Record<string, string | undefined>): ClusterOptions {
  const scheduler = env.TUSK_BACKUP_SCHEDULER;
  return scheduler === "knative" || scheduler === "cronjob" ? { backupScheduler: scheduler } : {};
}

export function createClusterApp(deps: ClusterDeps = runtimeDeps, options: ClusterOptions = {}): Hono {
  const app = new Hono();
  installErrorHandling(app);
  app.post("/sync", async (c) => c.json(await syncCluster(await readJson(c, SyncRequest), deps, options)));
  app.post("/customize", async (c) => c.json(customizeCluster(await readJson(c, CustomizeRequest))));
  app.post("/finalize", async (c) => c.json(finalizeCluster(await readJson(c, SyncRequest))));
  return app;
}
