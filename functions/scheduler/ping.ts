/**
 * @module
 * What one PingSource tick does: create the schedule's PostgresBackup, named after the
 * schedule and the event's minute (UTC), so a retried or duplicated delivery finds it already
 * there and creates nothing; then keep only the newest N scheduled PostgresBackups of that
 * cluster and repository. A backup still running is never pruned (deleting it would cancel
 * it). Pruning problems do not fail the tick: the backup was created and the next tick prunes.
 */
import { clusterLabels, LABEL, labelValue } from "../../shared/labels.ts";
import { names } from "../../shared/names.ts";
import type { PingEvent } from "./cloudevent.ts";
import type { BackupStore, PostgresBackupObject } from "./store.ts";

export const DEFAULT_KEEP = 10;
const EVENT_ID_ANNOTATION = "postgres.tusk.dev/cloudevent-id";
const EVENT_SOURCE_ANNOTATION = "postgres.tusk.dev/cloudevent-source";

/** `2026-09-06T01:00:00.412Z` => `202609060100` (UTC minute). */
export function minuteStamp(time: string): string {
  return new Date(time).toISOString().slice(0, 16).replace(/[-T:]/g, "");
}

export function scheduledBackupName(event: PingEvent): string {
  const { cluster, repoName, type } = event.data;
  return names.scheduledBackup(cluster, repoName, type, minuteStamp(event.time));
}

/** Selects the scheduled PostgresBackups of one cluster and repository. */
function scheduledSelector(cluster: string, repoName: string): string {
  return `${LABEL.cluster}=${labelValue(cluster)},${LABEL.pgbackrestRepo}=${repoName},${LABEL.scheduled}=true`;
}

export function scheduledBackup(event: PingEvent): PostgresBackupObject {
  const { cluster, namespace, repoName, type } = event.data;
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresBackup",
    metadata: {
      name: scheduledBackupName(event),
      namespace,
      labels: {
        ...clusterLabels(cluster, "backup"),
        [LABEL.pgbackrestRepo]: repoName,
        [LABEL.backupType]: type,
        [LABEL.scheduled]: "true",
      },
      annotations: { [EVENT_ID_ANNOTATION]: event.id, [EVENT_SOURCE_ANNOTATION]: event.source },
    },
    spec: { cluster, repoName, type },
  };
}

export interface PingResult {
  name: string;
  namespace: string;
  created: boolean;
  pruned: string[];
  pruneError?: string;
}

export async function handlePing(event: PingEvent, store: BackupStore, keep = DEFAULT_KEEP): Promise<PingResult> {
  const backup = scheduledBackup(event);
  const { namespace } = backup.metadata;
  const created = (await store.create(namespace, backup)) === "created";
  const result: PingResult = { name: backup.metadata.name, namespace, created, pruned: [] };
  try {
    const listed = await store.list(namespace, scheduledSelector(event.data.cluster, event.data.repoName));
    if (!listed.some((b) => b.name === backup.metadata.name)) listed.push({ name: backup.metadata.name });
    // Oldest first; objects without a creation time are the ones just created.
    const ordered = [...listed].sort((a, b) => {
      const ta = a.creationTimestamp ?? "\uffff";
      const tb = b.creationTimestamp ?? "\uffff";
      if (ta !== tb) return ta < tb ? -1 : 1;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    const excess = ordered.slice(0, Math.max(0, ordered.length - Math.max(1, keep)));
    for (const old of excess) {
      if (old.phase === "Running" || old.name === backup.metadata.name) continue;
      await store.delete(namespace, old.name);
      result.pruned.push(old.name);
    }
  } catch (err) {
    result.pruneError = err instanceof Error ? err.message : String(err);
  }
  return result;
}
