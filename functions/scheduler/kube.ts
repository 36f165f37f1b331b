/**
 * @module
 * The scheduler's BackupStore on the Kubernetes API through @kubernetes/client-node, loaded
 * only when the first event arrives: the server starts (and answers everything else) without
 * a cluster. In a pod the in-cluster service account is used; elsewhere `KUBECONFIG` names a
 * kubeconfig file. Without either there is no store and the route answers 503.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { type BackupStore, KubeApiError, type ListedBackup, type PostgresBackupObject } from "./store.ts";

const GROUP = "postgres.tusk.dev";
const VERSION = "v1";
const PLURAL = "postgresbackups";

interface ApiErrorLike {
  code?: number;
  body?: unknown;
  message?: string;
}

function apiError(err: unknown, what: string): KubeApiError {
  const e = err as ApiErrorLike;
  const status = typeof e.code === "number" ? e.code : 0;
  let detail = e.message ?? String(err);
  try {
    const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
    if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string")
      detail = (body as { message: string }).message;
  } catch {}
  return new KubeApiError(status, `${what}: ${status ? `HTTP ${status}: ` : ""}${detail}`);
}

/** A BackupStore over an already loaded KubeConfig. */
async function kubeBackupStore(kc: KubeConfig): Promise<BackupStore> {
  const k8s = await import("@kubernetes/client-node");
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  return {
    async create(namespace, backup: PostgresBackupObject) {
      try {
        await api.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          body: backup,
        });
        return "created";
      } catch (err) {
        if ((err as ApiErrorLike).code === 409) return "exists";
        throw apiError(err, `create PostgresBackup ${namespace}/${backup.metadata.name}`);
      }
    },
    async list(namespace, labelSelector) {
      try {
        const out = (await api.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          labelSelector,
        })) as {
          items?: { metadata?: { name?: string; creationTimestamp?: unknown }; status?: { phase?: unknown } }[];
        };
        return (out.items ?? []).flatMap((item): ListedBackup[] => {
          const name = item.metadata?.name;
          if (!name) return [];
          const created = item.metadata?.creationTimestamp;
          const phase = item.status?.phase;
          return [
            {
              name,
              ...(created !== undefined
                ? { creationTimestamp: created instanceof Date ? created.toISOString() : String(created) }
                : {}),
              ...(typeof phase === "string" ? { phase } : {}),
            },
          ];
        });
      } catch (err) {
        throw apiError(err, `list PostgresBackups in ${namespace}`);
      }
    },
    async delete(namespace, name) {
      try {
        await api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
      } catch (err) {
        if ((err as ApiErrorLike).code === 404) return;
        throw apiError(err, `delete PostgresBackup ${namespace}/${name}`);
      }
    },
  };
}

export type StoreLoad = { ok: true; store: BackupStore } | { ok: false; reason: string };

/** The in-cluster (or KUBECONFIG) store, or why there is none. */
export async function loadKubeBackupStore(env: Record<string, string | undefined>): Promise<StoreLoad> {
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_PORT !== undefined;
  if (!inCluster && !env.KUBECONFIG)
    return {
      ok: false,
      reason: "no Kubernetes API configured: not running in a pod (KUBERNETES_SERVICE_HOST unset) and KUBECONFIG unset",
    };
  try {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    if (inCluster) kc.loadFromCluster();
    else kc.loadFromFile(env.KUBECONFIG!);
    if (!kc.getCurrentCluster()) return { ok: false, reason: "the Kubernetes configuration names no cluster" };
    return { ok: true, store: await kubeBackupStore(kc) };
  } catch (err) {
    return { ok: false, reason: `cannot load the Kubernetes configuration: ${(err as Error).message}` };
  }
}
