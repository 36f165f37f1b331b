/**
 * @module
 * The finalize hook. Children are owned by the cluster and garbage-collected with it, so
 * nothing has to be kept: the answer is no desired children, and `finalized` once none are
 * observed any more. PVCs come from the StatefulSets' volumeClaimTemplates with a Retain
 * policy and are not children, so the data outlives the cluster.
 */
import type { SyncRequest, SyncResponse } from "../../shared/metacontroller.ts";

const RESYNC_SECONDS = 5;

export function finalizeCluster(request: SyncRequest): SyncResponse {
  const remaining = Object.entries(request.children)
    .flatMap(([group, objects]) => Object.keys(objects).map((name) => `${group.split(".")[0]} ${name}`))
    .sort();
  if (remaining.length === 0) {
    return { status: { phase: "Deleting", conditions: [] }, children: [], finalized: true };
  }
  return {
    status: {
      phase: "Deleting",
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "Deleting",
          message: `waiting for ${remaining.length} child object(s) to be deleted: ${remaining.slice(0, 10).join(", ")}${remaining.length > 10 ? ", ..." : ""}`,
        },
      ],
    },
    children: [],
    finalized: false,
    resyncAfterSeconds: RESYNC_SECONDS,
  };
}
