import { describe, expect, it } from "vitest";
import { ANNOTATION } from "../../../shared/labels.ts";
import type { ObjectMap, SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import {
  byKind,
  child,
  cluster,
  finishJobs,
  type Json,
  observe,
  type PodState,
  podsOf,
  steadyState,
  sync,
  volume,
} from "./fixtures.ts";

const three = (switchover: Json | undefined, annotations: Record<string, string> = {}) => {
  const parent = cluster({
    instances: [{ name: "instance1", replicas: 3, dataVolumeClaimSpec: volume }],
    ...(switchover ? { patroni: { switchover } } : {}),
  });
  parent.metadata.annotations = annotations;
  return parent;
};
const trigger = (id: string) => ({ [ANNOTATION.switchoverTrigger]: id });

const triggerJobs = (res: SyncResponse) =>
  byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-switchover-"));
const condition = (res: SyncResponse) =>
  (res.status.conditions as Json[]).find((c) => c.type === "Switchover") as Json | undefined;
const commandOf = (job: Json) => job.spec.template.spec.containers[0].command as string[];

const LEADER = "hippo-instance1-0-0";
const roles = (leader = LEADER): Record<string, PodState> =>
  Object.fromEntries(
    ["hippo-instance1-0-0", "hippo-instance1-1-0", "hippo-instance1-2-0"].map((p) => [
      p,
      { role: p === leader ? "master" : "replica" },
    ]),
  );

async function running(switchover: Json | undefined) {
  return steadyState(three(switchover));
}

describe("switchover on request (postgres.tusk.dev/trigger-switchover)", () => {
  it("does nothing, and says so, while spec.patroni.switchover.enabled is not true", async () => {
    const { children, related } = await running(undefined);
    const res = await sync(three(undefined, trigger("1")), children, related);
    expect(triggerJobs(res)).toEqual([]);
    expect(condition(res)).toMatchObject({ status: "False", reason: "Disabled" });
    expect(condition(await sync(three({ enabled: true }), children, related))).toBeUndefined();
  });

  it("asks the leader's Patroni to hand over to targetInstance, with one Job named by the value", async () => {
    const spec = { enabled: true, targetInstance: "hippo-instance1-2" };
    const { children, related } = await running(spec);
    const res = await sync(three(spec, trigger("2026-03-01")), children, related);
    const [job] = triggerJobs(res);
    expect(triggerJobs(res)).toHaveLength(1);
    expect(validateObject(job)).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
    const command = commandOf(job!);
    expect(command.at(-1)).toBe(`http://${LEADER}.hippo-pods.db.svc:8008/switchover`);
    expect(JSON.parse(command.at(-2)!)).toEqual({ leader: LEADER, candidate: "hippo-instance1-2-0" });
    expect(command).toContain("--fail");
    expect(job!.spec.backoffLimit).toBe(2);
    expect(condition(res)).toMatchObject({ status: "Unknown", reason: "Pending" });
    // The same value with a different target or leader is still the same Job name.
    const elsewhere = await sync(
      three({ enabled: true, targetInstance: "hippo-instance1-1" }, trigger("2026-03-01")),
      children,
      podsOf(children, roles("hippo-instance1-1-0")),
    );
    expect(triggerJobs(elsewhere)[0]!.metadata.name).toBe(job!.metadata.name);
  });

  it("fires a value once: the observed Job comes back unchanged, reports the outcome, and never runs again", async () => {
    const spec = { enabled: true, targetInstance: "hippo-instance1-1" };
    const { children, related } = await running(spec);
    const parent = three(spec, trigger("once"));
    const first = await sync(parent, children, related);
    const [job] = triggerJobs(first);
    let observed = observe(first.children as Json[], children);
    const whileRunning = await sync(parent, observed, related);
    expect(triggerJobs(whileRunning)).toEqual([job]);
    expect(condition(whileRunning)).toMatchObject({ status: "Unknown", reason: "Running" });
    expect((whileRunning.status.conditions as Json[]).find((c) => c.type === "Progressing")?.message).toContain(
      job!.metadata.name,
    );

    observed = finishJobs(observed, "Complete", [job!.metadata.name]);
    // The leader moved as asked; later syncs see the new leader and the finished Job.
    const moved = podsOf(observed, roles("hippo-instance1-1-0"));
    const done = await sync(parent, observed, moved);
    expect(condition(done)).toMatchObject({ status: "True", reason: "Succeeded" });
    expect(triggerJobs(done)).toHaveLength(1);
    expect(triggerJobs(done)[0]!.metadata.name).toBe(job!.metadata.name);
    expect(triggerJobs(done)[0]!.spec).toEqual(job!.spec);

    // Even after another failover elsewhere, the value does not fire again.
    const later = await sync(parent, observed, podsOf(observed, roles("hippo-instance1-2-0")));
    expect(triggerJobs(later).map((j) => j.metadata.name)).toEqual([job!.metadata.name]);

    const failed = await sync(parent, finishJobs(observe(first.children as Json[], children), "Failed"), related);
    expect(condition(failed)).toMatchObject({ status: "False", reason: "Failed" });
    expect(condition(failed)!.message).toContain("set a new value to try again");
  });

  it("a new value runs a new Job; the old one is no longer returned", async () => {
    const spec = { enabled: true };
    const { children, related } = await running(spec);
    const a = await sync(three(spec, trigger("a")), children, related);
    const observed = finishJobs(observe(a.children as Json[], children));
    const b = await sync(three(spec, trigger("b")), observed, related);
    expect(triggerJobs(b)).toHaveLength(1);
    expect(triggerJobs(b)[0]!.metadata.name).not.toBe(triggerJobs(a)[0]!.metadata.name);
    // No target: Patroni picks a healthy replica.
    expect(JSON.parse(commandOf(triggerJobs(b)[0]!).at(-2)!)).toEqual({ leader: LEADER });
  });

  it("type Failover posts /failover to the target's own Patroni, without the leader", async () => {
    const spec = { enabled: true, type: "Failover", targetInstance: "hippo-instance1-2-0" };
    const { children, related } = await running(spec);
    const res = await sync(three(spec, trigger("f")), children, related);
    const command = commandOf(triggerJobs(res)[0]!);
    expect(command.at(-1)).toBe("http://hippo-instance1-2-0.hippo-pods.db.svc:8008/failover");
    expect(JSON.parse(command.at(-2)!)).toEqual({ candidate: "hippo-instance1-2-0" });
  });

  it("records a request for the instance that already leads with a suspended Job, which runs nothing", async () => {
    const spec = { enabled: true, targetInstance: "hippo-instance1-0" };
    const { children, related } = await running(spec);
    const res = await sync(three(spec, trigger("noop")), children, related);
    expect(triggerJobs(res)[0]!.spec.suspend).toBe(true);
    expect(condition(res)).toMatchObject({ status: "True", reason: "AlreadyLeader" });
    const again = await sync(three(spec, trigger("noop")), observe(res.children as Json[], children), related);
    expect(condition(again)).toMatchObject({ status: "True", reason: "AlreadyLeader" });
    expect(triggerJobs(again)[0]!.spec.suspend).toBe(true);
  });

  it("waits, without a Job, for a ready target or leader; refuses an unknown target", async () => {
    const spec = { enabled: true, targetInstance: "hippo-instance1-2" };
    const { children } = await running(spec);
    const notReady = podsOf(children, { ...roles(), "hippo-instance1-2-0": { role: "replica", ready: false } });
    const waiting = await sync(three(spec, trigger("w")), children, notReady);
    expect(triggerJobs(waiting)).toEqual([]);
    expect(condition(waiting)).toMatchObject({ status: "False", reason: "Waiting" });
    const noLeader = podsOf(children, {});
    expect(triggerJobs(await sync(three(spec, trigger("w")), children, noLeader))).toEqual([]);

    const unknown = { enabled: true, targetInstance: "hippo-nope-0" };
    const res = await sync(three(unknown, trigger("w")), children, podsOf(children, roles()));
    expect(triggerJobs(res)).toEqual([]);
    expect(condition(res)).toMatchObject({ status: "False", reason: "InvalidTarget" });
  });
});

describe("restart on request (postgres.tusk.dev/restart)", () => {
  const hashOf = (sts: Json) => sts.spec.template.metadata.annotations[ANNOTATION.configHash] as string;
  const observedHash = (children: ObjectMap, name: string) => hashOf(children["StatefulSet.apps/v1"]![name] as Json);

  it("restarts every instance through the rolling update: replicas one at a time, then a switchover, the leader last", async () => {
    const start = await steadyState(three(undefined));
    const parent = three(undefined, { [ANNOTATION.restart]: "r1" });
    const names = ["hippo-instance1-0", "hippo-instance1-1", "hippo-instance1-2"];
    const before = Object.fromEntries(names.map((n) => [n, observedHash(start.children, n)]));
    let children = start.children;
    let related = start.related;
    const order: string[] = [];
    for (let round = 0; round < 10 && order.length < 3; round++) {
      const res = await sync(parent, children, related);
      const changed = names.filter((n) => hashOf(child(res, "StatefulSet", n)) !== before[n] && !order.includes(n));
      expect(changed.length, `round ${round}`).toBeLessThanOrEqual(1);
      order.push(...changed);
      for (const n of changed)
        expect(child(res, "StatefulSet", n).spec.template.metadata.annotations[ANNOTATION.restart]).toBe("r1");
      // Kubernetes replaces the pod; a switchover Job moves the leader to hippo-instance1-1-0.
      const switched = byKind(res, "Job").some((j) => j.metadata.name.startsWith("hippo-switchover-"));
      children = finishJobs(observe(res.children as Json[], children));
      related = podsOf(
        children,
        roles(switched || order.includes("hippo-instance1-0") ? "hippo-instance1-1-0" : LEADER),
      );
    }
    expect(order).toEqual(["hippo-instance1-1", "hippo-instance1-2", "hippo-instance1-0"]);
  });

  it("the same value restarts nothing again", async () => {
    const start = await steadyState(three(undefined, { [ANNOTATION.restart]: "r1" }));
    const res = await sync(three(undefined, { [ANNOTATION.restart]: "r1" }), start.children, start.related);
    expect(res).toEqual(start.res);
  });
});
