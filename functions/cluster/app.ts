/**
 * @module
 * The cluster function as a Hono app (routes relative to /cluster): a thin adapter around the
 * pure hooks, with the CSPRNG, the clock, the PKI and the S3 repositories' info files (read
 * here, through a cache, and handed to the core: pgbackrest/repo-status.ts) as their only
 * outside inputs.
 */
import { Hono } from "hono";
import { webCryptoPki } from "../../shared/crypto/x509.ts";
import { installErrorHandling, readJson } from "../../shared/http.ts";
import { createRepoReader, type RepoReader } from "../../shared/io/repo-reads.ts";
import { CustomizeRequest, SyncRequest } from "../../shared/metacontroller.ts";
import { customizeCluster } from "./customize.ts";
import { finalizeCluster } from "./finalize.ts";
import { currentlyPublished, repoReadPlan, reposAwaitedByRestores, withRepoStatus } from "./pgbackrest/repo-status.ts";
import { type ClusterDeps, type ClusterOptions, syncCluster } from "./sync.ts";

export const runtimeDeps: ClusterDeps = {
  randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  now: () => new Date(),
  pki: webCryptoPki,
};

/** TUSK_BACKUP_SCHEDULER=knative makes backup schedules PingSources (default: CronJobs). */
export function clusterOptionsFromEnv(env: Record<string, string | undefined>): ClusterOptions {
  const scheduler = env.TUSK_BACKUP_SCHEDULER;
  return scheduler === "knative" || scheduler === "cronjob" ? { backupScheduler: scheduler } : {};
}

/** One cache of repository reads per process, shared by every app built here. */
export const repoReader: RepoReader = createRepoReader();

export function createClusterApp(
  deps: ClusterDeps = runtimeDeps,
  options: ClusterOptions = {},
  repos: RepoReader = repoReader,
): Hono {
  const app = new Hono();
  installErrorHandling(app);
  app.post("/sync", async (c) => {
    const request = await readJson(c, SyncRequest);
    const reads = await repos.read(
      { namespace: request.parent.metadata.namespace ?? "default", name: request.parent.metadata.name },
      repoReadPlan(request),
      (repoName) => currentlyPublished(request, repoName),
      reposAwaitedByRestores(request),
    );
    return c.json(withRepoStatus(request, await syncCluster(request, deps, options), reads));
  });
  app.post("/customize", async (c) => c.json(customizeCluster(await readJson(c, CustomizeRequest))));
  app.post("/finalize", async (c) => c.json(finalizeCluster(await readJson(c, SyncRequest))));
  return app;
}
