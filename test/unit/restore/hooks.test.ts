/**
 * The customize and finalize hooks, and the Hono adapter serving all three on /restore.
 */
import { describe, expect, it } from "vitest";
import { app } from "../../../functions/restore/app.ts";
import { customizeRestore } from "../../../functions/restore/customize.ts";
import { finalizeRestore } from "../../../functions/restore/finalize.ts";
import { syncRestore } from "../../../functions/restore/sync.ts";
import { LABEL } from "../../../shared/labels.ts";
import { CustomizeRequest } from "../../../shared/metacontroller.ts";
import {
  clusterObject,
  instancePod,
  JOB,
  jobPod,
  observedJob,
  restoreParent,
  stoppedFor,
  syncRequest,
  TIME_SPEC,
} from "./fixtures.ts";

describe("customize", () => {
  it("asks for the cluster by name, its Pods and PVCs, the namespace's restores and this restore's Pods", () => {
    const res = customizeRestore(CustomizeRequest.parse({ parent: restoreParent(TIME_SPEC) }));
    expect(res.relatedResources).toEqual([
      { apiVersion: "postgres.tusk.dev/v1", resource: "postgresclusters", names: ["hippo"] },
      { apiVersion: "v1", resource: "pods", labelSelector: { matchLabels: { [LABEL.cluster]: "hippo" } } },
      {
        apiVersion: "v1",
        resource: "persistentvolumeclaims",
        labelSelector: { matchLabels: { [LABEL.cluster]: "hippo" } },
      },
      { apiVersion: "postgres.tusk.dev/v1", resource: "postgresrestores", labelSelector: {} },
      { apiVersion: "v1", resource: "pods", labelSelector: { matchLabels: { [LABEL.restore]: "hippo-pitr" } } },
    ]);
  });

  it("an unparsable spec still gets its own Pods (to finalize)", () => {
    const res = customizeRestore(CustomizeRequest.parse({ parent: restoreParent({ repoName: "nope" }) }));
    expect(res.relatedResources.map((r) => r.resource)).toEqual(["pods"]);
  });
});

describe("finalize", () => {
  it("before the restore Job existed: cancelled, nothing changed, finalized at once", () => {
    const res = finalizeRestore(
      syncRequest({ deleting: true, status: { phase: "ScalingDown", instance: "hippo-a-1" } }),
    );
    expect(res.finalized).toBe(true);
    expect(res.children).toEqual([]);
    expect(res.status).toMatchObject({ phase: "Failed", dataChanged: false });
    expect((res.status as any).conditions[0].reason).toBe("Cancelled");
  });

  it("while restoring: the Job goes, and the restore stays until its Pods are gone too", () => {
    const status = { phase: "Restoring", instance: "hippo-a-1", jobName: JOB.restore };
    const withJob = finalizeRestore(
      syncRequest({
        deleting: true,
        status,
        jobs: [observedJob(JOB.restore, "running")],
        pods: [jobPod(JOB.restore, 0, "")],
      }),
    );
    expect(withJob.children).toEqual([]);
    expect(withJob.finalized).toBe(false);
    expect(withJob.status).toMatchObject({ phase: "Failed", dataChanged: true });
    const podLeft = finalizeRestore(syncRequest({ deleting: true, status, pods: [jobPod(JOB.restore, 0, "")] }));
    expect(podLeft.finalized).toBe(false);
    expect(finalizeRestore(syncRequest({ deleting: true, status })).finalized).toBe(true);
  });

  it("while starting: carries on until the restored instance leads, then lets go", () => {
    const status = { phase: "Starting", instance: "hippo-a-1", startInstance: "hippo-a-1", resetInstances: [] };
    const jobs = [observedJob(JOB.restore, "succeeded"), observedJob(JOB.dcs, "succeeded")];
    const waiting = finalizeRestore(
      syncRequest({
        deleting: true,
        status,
        jobs,
        cluster: clusterObject({ status: stoppedFor("hippo-pitr", "Starting") }),
      }),
    );
    expect(waiting.finalized).toBe(false);
    expect((waiting.status as any).phase).toBe("Starting");
    expect(waiting.children.length).toBe(2);
    const led = finalizeRestore(
      syncRequest({ deleting: true, status, jobs, pods: [instancePod("hippo-a-1", { leader: true })] }),
    );
    expect((led.status as any).phase).toBe("Succeeded");
    expect(led.children).toEqual([]);
    expect(led.finalized).toBe(false);
    const gone = finalizeRestore(
      syncRequest({ deleting: true, status: led.status as any, pods: [instancePod("hippo-a-1", { leader: true })] }),
    );
    expect(gone.finalized).toBe(true);
  });

  it("a finished restore keeps its status and goes once its Jobs are gone", () => {
    const status = { phase: "Failed", error: "x", dataChanged: true };
    const res = finalizeRestore(syncRequest({ deleting: true, status, jobs: [observedJob(JOB.restore, "failed")] }));
    expect(res.status).toEqual(status);
    expect(res.finalized).toBe(false);
    expect(finalizeRestore(syncRequest({ deleting: true, status })).finalized).toBe(true);
  });
});

describe("HTTP adapter", () => {
  const post = (path: string, body: unknown) =>
    app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  it("serves sync, customize and finalize with the cores' answers", async () => {
    const req = syncRequest({
      status: { phase: "ScalingDown", instance: "hippo-a-1" },
      cluster: clusterObject({ status: stoppedFor("hippo-pitr") }),
    });
    const sync = await post("/sync", req);
    expect(sync.status).toBe(200);
    expect(await sync.json()).toEqual(JSON.parse(JSON.stringify(syncRestore(req))));
    expect((await post("/customize", { parent: restoreParent(TIME_SPEC) })).status).toBe(200);
    expect((await post("/finalize", { ...req, finalizing: true })).status).toBe(200);
  });

  it("answers 400 naming the field for a body that is not a hook request", async () => {
    const res = await post("/sync", { parent: { metadata: {} } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain("parent");
  });
});
