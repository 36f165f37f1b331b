import { describe, expect, it } from "vitest";
import type { SyncResponse } from "../../../shared/metacontroller.ts";
import { cluster, finishJobs, type Json, observe, podsOf, steadyState, sync } from "./fixtures.ts";

const cond = (res: SyncResponse, type: string) => (res.status.conditions as Json[]).find((c) => c.type === type)!;

describe("cluster status", () => {
  it("is Pending before anything exists, then Creating while Patroni bootstraps", async () => {
    const first = await sync(cluster());
    expect(first.status.phase).toBe("Pending");
    expect(first.status.readyInstances).toBe("0/2");
    expect(cond(first, "Ready")).toMatchObject({ status: "False", reason: "NoPrimary" });
    expect(cond(first, "Progressing")).toMatchObject({ status: "True", reason: "Creating" });
    const children = observe(first.children as Json[]);
    const booting = await sync(
      cluster(),
      children,
      podsOf(children, { "hippo-instance1-0-0": { ready: false }, "hippo-instance1-1-0": { ready: false } }),
    );
    expect(booting.status.phase).toBe("Creating");
    expect(booting.resyncAfterSeconds).toBe(30);
  });

  it("is Running with the primary, ready instances per set and every condition settled", async () => {
    const { res } = await steadyState(cluster());
    expect(res.status).toMatchObject({
      phase: "Running",
      primary: "hippo-instance1-0-0",
      readyInstances: "2/2",
      instances: [{ name: "instance1", replicas: 2, readyReplicas: 2, updatedReplicas: 2 }],
    });
    expect(cond(res, "Ready")).toMatchObject({ status: "True", reason: "AllInstancesReady", observedGeneration: 1 });
    expect(cond(res, "Progressing")).toMatchObject({ status: "False", reason: "UpToDate" });
    expect(cond(res, "Degraded")).toMatchObject({ status: "False" });
    expect(cond(res, "Valid")).toMatchObject({ status: "True", reason: "SpecAccepted" });
    expect(res.resyncAfterSeconds).toBeUndefined();
  });

  it("is Degraded, not Creating, when every pod of a cluster that ran is gone, and remembers it across syncs", async () => {
    const { res, children } = await steadyState(cluster());
    expect(res.status.initialized).toBe(true);
    const withStatus = (status: unknown) => ({ ...cluster(), status });
    const down = await sync(withStatus(res.status), children, { "Pod.v1": {} });
    expect(down.status.phase).toBe("Degraded");
    expect(down.status.initialized).toBe(true);
    expect(cond(down, "Degraded")).toMatchObject({ status: "True", reason: "NoPrimary" });
    expect(cond(down, "Degraded").message).toContain("no instance is the Patroni leader");
    // The next sync sees only the status it published: still down, not new.
    const again = await sync(withStatus(down.status), children, { "Pod.v1": {} });
    expect(again.status.phase).toBe("Degraded");
    // A cluster that never ran stays Creating.
    const fresh = await sync(cluster(), children, { "Pod.v1": {} });
    expect(fresh.status.phase).not.toBe("Degraded");
    expect(fresh.status.initialized).toBeUndefined();
  });

  it("is Degraded, naming the instance, when a replica is not ready", async () => {
    const { children } = await steadyState(cluster());
    const related = podsOf(children, {
      "hippo-instance1-0-0": { role: "master" },
      "hippo-instance1-1-0": { role: "replica", ready: false },
    });
    const res = await sync(cluster(), children, related);
    expect(res.status.phase).toBe("Degraded");
    expect(res.status.readyInstances).toBe("1/2");
    expect(cond(res, "Ready")).toMatchObject({ status: "False", reason: "InstancesNotReady" });
    expect(cond(res, "Ready").message).toContain("hippo-instance1-1");
    expect(cond(res, "Degraded")).toMatchObject({ status: "True", reason: "InstancesNotReady" });
  });

  it("says how to retry a failed Job", async () => {
    const { res, related } = await steadyState(cluster({ users: [{ name: "app" }] }));
    const failedChildren = finishJobs(observe(res.children as Json[]), "Failed");
    const failed = await sync(cluster({ users: [{ name: "app" }] }), failedChildren, related);
    expect(failed.status.phase).toBe("Degraded");
    expect(cond(failed, "Degraded")).toMatchObject({ status: "True", reason: "JobFailed" });
    expect(cond(failed, "Degraded").message).toMatch(/delete the Job to run it again/);
  });

  it("reports a running Job as progress and asks for a resync", async () => {
    const { res, related } = await steadyState(cluster());
    const running = observe(res.children as Json[]);
    const out = await sync(cluster(), running, related);
    expect(cond(out, "Progressing")).toMatchObject({ status: "True", reason: "JobRunning" });
    expect(out.resyncAfterSeconds).toBe(10);
  });

  it("reports no primary when the leader's pod is not ready", async () => {
    const { children } = await steadyState(cluster());
    const related = podsOf(children, {
      "hippo-instance1-0-0": { role: "master", ready: false },
      "hippo-instance1-1-0": { role: "replica" },
    });
    const res = await sync(cluster(), children, related);
    expect(res.status.phase).toBe("Degraded");
    expect(res.status.primary).toBe("hippo-instance1-0-0");
    expect(cond(res, "Ready")).toMatchObject({ status: "False", reason: "NoPrimary" });
    expect(cond(res, "Ready").message).toContain("kubectl logs hippo-instance1-0-0");
  });
});
