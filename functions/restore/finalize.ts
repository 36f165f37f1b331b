/**
 * @module
 * Deleting a PostgresRestore. Its Jobs go with it (they are not returned, so Metacontroller
 * deletes them), and the PostgresRestore stays until neither a Job nor one of its Pods is left,
 * so the cluster never starts while a restore Pod still holds an instance's volume.
 *
 * - Deleted while restoring: cancelled. The status says Failed (`Cancelled`), and the data of
 *   the restored instance may be partly restored (`dataChanged`): the cluster stays stopped until
 *   the PostgresRestore is gone, then Patroni starts what is on the volumes (the restored instance
 *   no longer has a data directory; see README.md).
 * - Deleted before the restore Job existed: nothing changed; the cluster starts again at once.
 * - Deleted while Starting: Patroni's DCS is already reset and only the restored data may start
 *   the cluster, so the restore carries on and the PostgresRestore goes once it has Succeeded.
 */

import { condition } from "../../shared/conditions.ts";
import type { SyncRequest, SyncResponse } from "../../shared/metacontroller.ts";
import { observedOf } from "../../shared/metacontroller.ts";
import { KINDS } from "./kinds.ts";
import { restorePods } from "./observed.ts";
import { CONDITION, previousStatus } from "./status.ts";
import { restoreLabelOf, syncRestore } from "./sync.ts";

export function finalizeRestore(req: SyncRequest): SyncResponse {
  const prev = previousStatus(req.parent.status);
  if (prev.phase === "Starting") {
    const next = syncRestore(req);
    if ((next.status as { phase?: string }).phase !== "Succeeded") return { ...next, finalized: false };
    return { status: next.status, children: [], finalized: gone(req) };
  }
  const jobs = Object.keys(observedOf(req.children, KINDS.Job.kind, KINDS.Job.apiVersion));
  let status = prev;
  if (prev.phase !== "Succeeded" && prev.phase !== "Failed") {
    const restoring = prev.phase === "Restoring" || jobs.length > 0;
    const message = restoring
      ? "cancelled while restoring: the restore Job is stopped; the restored instance's data may be partly restored"
      : "cancelled before anything was changed";
    status = {
      ...prev,
      phase: "Failed",
      error: message,
      dataChanged: restoring,
      conditions: [condition(CONDITION, "False", "Cancelled", message, { previous: prev.conditions })],
    };
  }
  return { status, children: [], finalized: gone(req) };
}

/** No Job and no Pod of this restore is left. */
function gone(req: SyncRequest): boolean {
  const jobs = Object.keys(observedOf(req.children, KINDS.Job.kind, KINDS.Job.apiVersion));
  return jobs.length === 0 && restorePods(req.related, restoreLabelOf(req.parent.metadata.name)).length === 0;
}
