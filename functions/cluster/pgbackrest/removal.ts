/**
 * @module
 * Removing a backup repository needs a confirmation, as PGO's `authorizeBackupRemoval` does:
 * dropping `spec.backups` or one of its repos turns WAL archiving to it off and drops its
 * schedules and repository host at once, so a careless edit would silently end point-in-time
 * recovery. Which repos the cluster has now is read from the observed pgBackRest configuration
 * (the file every instance reads), never remembered elsewhere.
 */
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { ANNOTATION, backupRemovalAuthorized, PGO_AUTHORIZE_BACKUP_REMOVAL } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import type { ObservedCluster } from "../observe/cluster.ts";

/** The instance's file lists every repo the cluster archives to (repoN-* options in [global]). */
const INSTANCE_CONFIG_KEY = "pgbackrest-instance.conf";

/** Repos configured now that the spec drops without the confirmation; empty when none. */
export function unauthorizedRepoRemoval(model: ClusterModel, observed: ObservedCluster): string[] {
  const configMap = observed.child("ConfigMap", names.pgbackrestConfig(model.name));
  const text = (configMap?.data as Record<string, unknown> | undefined)?.[INSTANCE_CONFIG_KEY];
  if (typeof text !== "string") return [];
  const configured = new Set([...text.matchAll(/^(repo\d+)-/gm)].map((m) => m[1]!));
  const wanted = new Set((model.spec.backups?.pgbackrest?.repos ?? []).map((r) => r.name));
  const removed = [...configured].filter((r) => !wanted.has(r)).sort();
  return removed.length && !backupRemovalAuthorized(observed.annotations) ? removed : [];
}

export function repoRemovalMessage(model: ClusterModel, removed: string[]): string {
  const what = model.spec.backups?.pgbackrest ? `repository ${removed.join(", ")}` : "spec.backups";
  return `the spec removes ${what} (${removed.join(", ")}): WAL archiving to it would stop and its schedules and repository host would be removed, so nothing was changed. Put it back, or confirm with the annotation ${ANNOTATION.authorizeBackupRemoval}: "true" (or PGO's ${PGO_AUTHORIZE_BACKUP_REMOVAL}: "true")`;
}
