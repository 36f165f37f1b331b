/**
 * @module
 * The PostgresBackup finalize hook. Deleting a PostgresBackup leaves its backup in the
 * repository, unless `spec.deleteFromRepository` is true: then an expire Job removes the set
 * (`pgbackrest expire --set`) and the object goes once that Job succeeded. A failed expire
 * keeps the object with an `Expired=False` condition carrying pgBackRest's error (for example:
 * the only full backup of a repo cannot be expired until another exists); the annotation
 * `postgres.tusk.dev/skip-expire: "true"` lets it go anyway. Nothing to expire (no backup was
 * made, the cluster or repo is gone) finalizes at once.
 */

import type { Condition } from "../../shared/api/kube.ts";
import type { PostgresBackupStatus } from "../../shared/api/postgres-backup.ts";
import { condition } from "../../shared/conditions.ts";
import { ANNOTATION } from "../../shared/labels.ts";
import { asDesired, observedOf, type SyncRequest, type SyncResponse } from "../../shared/metacontroller.ts";
import { names } from "../../shared/names.ts";
import { relatedCluster } from "./cluster.ts";
import { buildExpireJob } from "./expire-job.ts";
import { KINDS } from "./kinds.ts";
import { backupJobState, errorText } from "./status.ts";
import { parseBackup, previousStatus } from "./sync.ts";

const EXPIRED = "Expired";

function withExpired(prev: PostgresBackupStatus, c: Omit<Condition, "type">): PostgresBackupStatus {
  const others = (prev.conditions ?? []).filter((x) => x.type !== EXPIRED);
  const expired = condition(EXPIRED, c.status, c.reason, c.message, {
    previous: prev.conditions,
    time: c.lastTransitionTime,
  });
  return { ...prev, conditions: [...others, expired] };
}

export function finalizeBackup(req: SyncRequest): SyncResponse {
  const prev = previousStatus(req.parent);
  const done: SyncResponse = { status: prev, children: [], finalized: true };
  const parsed = parseBackup(req.parent);
  if (!parsed.ok || parsed.backup.spec.deleteFromRepository !== true) return done;
  const { backup } = parsed;
  const label = prev.backupLabel;
  if (!label) return done;
  if (req.parent.metadata.annotations?.[ANNOTATION.skipExpire] === "true") return done;

  const jobName = names.expireJob(backup.name);
  const observedRaw = observedOf(req.children, KINDS.Job.kind, KINDS.Job.apiVersion)[jobName];
  if (observedRaw) {
    const state = backupJobState(observedRaw, req.related, jobName);
    if (state.phase === "Succeeded") return done;
    const children = [asDesired(observedRaw)];
    if (state.phase === "Failed") {
      const error = errorText(state.message, state.reason);
      const status = withExpired(prev, {
        status: "False",
        reason: "ExpireFailed",
        message: `pgbackrest expire --set=${label} failed: ${error}. Annotate ${ANNOTATION.skipExpire}="true" to delete this PostgresBackup and keep the backup.`,
        ...(state.completionTime ? { lastTransitionTime: state.completionTime } : {}),
      });
      return { status, children, finalized: false };
    }
    return {
      status: withExpired(prev, { status: "Unknown", reason: "Expiring", message: `expiring backup ${label}` }),
      children,
      finalized: false,
    };
  }

  const lookup = relatedCluster(req.related, backup.spec.cluster, backup.namespace);
  if (!lookup.ok) return done;
  const repo = lookup.cluster.spec.backups?.pgbackrest?.repos.find((r) => r.name === backup.spec.repoName);
  if (!repo) return done;
  return {
    status: withExpired(prev, { status: "Unknown", reason: "Expiring", message: `expiring backup ${label}` }),
    children: [buildExpireJob(backup, lookup.cluster, repo, label) as unknown as Record<string, unknown>],
    finalized: false,
  };
}
