/**
 * @module
 * The scheduler function as a Hono app (routes relative to /scheduler): `POST /ping` is the
 * sink of the clusters' backup PingSources. 200 with what was done (a duplicate event is a
 * success that created nothing); 400 naming each bad header or field; 503 without a
 * Kubernetes API; 502 when the API refuses. Never 500 for a bad event.
 */
import { Hono } from "hono";
import { BadRequest, installErrorHandling } from "../../shared/http.ts";
import { parsePingEvent } from "./cloudevent.ts";
import { loadKubeBackupStore, type StoreLoad } from "./kube.ts";
import { DEFAULT_KEEP, handlePing } from "./ping.ts";
import { KubeApiError } from "./store.ts";

export interface SchedulerOptions {
  /** Where the Kubernetes calls go; loaded on the first event. Without it there is no API: 503. */
  store?: () => Promise<StoreLoad>;
  /** Scheduled PostgresBackups kept per cluster and repository (default 10). */
  keep?: number;
}

/** `SCHEDULED_BACKUPS_KEEP` (default 10); a value that is not a positive integer is ignored. */
export function keepFromEnv(env: Record<string, string | undefined>): number {
  const n = Number(env.SCHEDULED_BACKUPS_KEEP);
  return Number.isInteger(n) && n >= 1 ? n : DEFAULT_KEEP;
}

/** The in-cluster service account or `KUBECONFIG`, and `SCHEDULED_BACKUPS_KEEP`, from `env`. */
export function schedulerOptionsFromEnv(env: Record<string, string | undefined>): SchedulerOptions {
  return { store: () => loadKubeBackupStore(env), keep: keepFromEnv(env) };
}

export function createSchedulerApp(options: SchedulerOptions = {}): Hono {
  const load = options.store ?? (() => loadKubeBackupStore({}));
  let loaded: Promise<StoreLoad> | undefined;
  const app = new Hono();
  installErrorHandling(app);
  app.post("/ping", async (c) => {
    const parsed = parsePingEvent(c.req.raw.headers, await c.req.text());
    if (!parsed.ok) {
      const text = parsed.problems.map((p) => `${p.field}: ${p.message}`).join("; ");
      throw new BadRequest(`not a valid backup schedule event: ${text}`, parsed.problems);
    }
    loaded ??= load();
    const store = await loaded;
    if (!store.ok) {
      loaded = undefined;
      return c.json({ error: `cannot create a PostgresBackup: ${store.reason}` }, 503);
    }
    try {
      return c.json(await handlePing(parsed.event, store.store, options.keep ?? DEFAULT_KEEP), 200);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const status = err instanceof KubeApiError && err.status === 0 ? 503 : 502;
      return c.json({ error: message }, status);
    }
  });
  return app;
}
