import { describe, expect, it } from "vitest";
import { ANNOTATION } from "../../../shared/labels.ts";
import type { ObjectMap, SyncResponse } from "../../../shared/metacontroller.ts";
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

const three = (spec: Json = {}) =>
  cluster({ instances: [{ name: "instance1", replicas: 3, dataVolumeClaimSpec: volume }], ...spec });
const STS = ["hippo-instance1-0", "hippo-instance1-1", "hippo-instance1-2"];

const hashOf = (sts: Json) => sts.spec.template.metadata.annotations[ANNOTATION.configHash] as string;
const templateOf = (res: SyncResponse, name: string) => child(res, "StatefulSet", name).spec.template;
const observedSts = (children: ObjectMap, name: string) => children["StatefulSet.apps/v1"]![name] as Json;
const switchovers = (res: SyncResponse) =>
  byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-switchover-"));
const progressing = (res: SyncResponse) => (res.status.conditions as Json[]).find((c) => c.type === "Progressing")!;

/** One round trip: what the hook returned becomes observed; pods run what their StatefulSets say. */
function advance(
  res: SyncResponse,
  previous: ObjectMap,
  roles: Record<string, "master" | "replica">,
  extra: Record<string, PodState> = {},
): { children: ObjectMap; related: ObjectMap } {
  const children = finishJobs(observe(res.children as Json[], previous));
  const states: Record<string, PodState> = {};
  for (const [pod, role] of Object.entries(roles)) states[pod] = { role, ...extra[pod] };
  return { children, related: podsOf(children, states) };
}

describe("rolling update gate", () => {
  it("updates replicas one at a time, then switches over and updates the old leader last", async () => {
    const start = await steadyState(three());
    const before = Object.fromEntries(STS.map((s) => [s, hashOf(observedSts(start.children, s))]));
    const parent = three({ image: "example.com/postgres:15.9" });
    const roles = {
      "hippo-instance1-0-0": "master",
      "hippo-instance1-1-0": "replica",
      "hippo-instance1-2-0": "replica",
    } as const;

    // 1. Exactly one replica gets the new template; the others keep their observed template.
    let res = await sync(parent, start.children, start.related);
    expect(hashOf(child(res, "StatefulSet", "hippo-instance1-1"))).not.toBe(before["hippo-instance1-1"]);
    for (const s of ["hippo-instance1-0", "hippo-instance1-2"])
      expect(templateOf(res, s)).toEqual(observedSts(start.children, s).spec.template);
    expect(progressing(res)).toMatchObject({ status: "True", reason: "RollingUpdate" });
    expect(res.resyncAfterSeconds).toBe(10);

    // 2. While that pod has not been replaced yet, nothing else moves.
    const stale = advance(res, start.children, roles, {
      "hippo-instance1-1-0": { configHash: before["hippo-instance1-1"]! },
    });
    const waiting = await sync(parent, stale.children, stale.related);
    expect(templateOf(waiting, "hippo-instance1-2")).toEqual(
      observedSts(start.children, "hippo-instance1-2").spec.template,
    );
    // ... nor while it is replaced but not ready.
    const unready = advance(res, start.children, roles, { "hippo-instance1-1-0": { ready: false } });
    expect(templateOf(await sync(parent, unready.children, unready.related), "hippo-instance1-2")).toEqual(
      observedSts(start.children, "hippo-instance1-2").spec.template,
    );

    // 3. Ready with the new template: the next replica.
    let state = advance(res, start.children, roles);
    res = await sync(parent, state.children, state.related);
    expect(hashOf(child(res, "StatefulSet", "hippo-instance1-2"))).not.toBe(before["hippo-instance1-2"]);
    expect(templateOf(res, "hippo-instance1-0")).toEqual(
      observedSts(start.children, "hippo-instance1-0").spec.template,
    );
    expect(switchovers(res)).toEqual([]);

    // 4. Only the leader is left: switch over to an updated replica first, leader untouched.
    state = advance(res, state.children, roles);
    res = await sync(parent, state.children, state.related);
    expect(templateOf(res, "hippo-instance1-0")).toEqual(
      observedSts(start.children, "hippo-instance1-0").spec.template,
    );
    const [job] = switchovers(res);
    expect(job).toBeDefined();
    const command = job!.spec.template.spec.containers[0].command as string[];
    expect(command).toContain('{"leader":"hippo-instance1-0-0","candidate":"hippo-instance1-1-0"}');
    expect(command.at(-1)).toBe("http://hippo-instance1-0-0.hippo-pods.db.svc:8008/switchover");
    expect(progressing(res).reason).toBe("Switchover");

    // 5. Once it is a replica, the old leader is updated and the switchover Job goes away.
    const swapped = { ...roles, "hippo-instance1-0-0": "replica", "hippo-instance1-1-0": "master" } as const;
    state = advance(res, state.children, swapped);
    res = await sync(parent, state.children, state.related);
    expect(hashOf(child(res, "StatefulSet", "hippo-instance1-0"))).not.toBe(before["hippo-instance1-0"]);
    expect(switchovers(res)).toEqual([]);

    // 6. Done.
    state = advance(res, state.children, swapped);
    res = await sync(parent, state.children, state.related);
    expect(progressing(res)).toMatchObject({ status: "False", reason: "UpToDate" });
    expect(res.status.phase).toBe("Running");
    expect(res.status.primary).toBe("hippo-instance1-1-0");
    expect(res.resyncAfterSeconds).toBeUndefined();
    expect((res.status.instances as Json[])[0]).toEqual({
      name: "instance1",
      replicas: 3,
      readyReplicas: 3,
      updatedReplicas: 3,
    });
  });

  it("updates an instance that is not ready at once (a fixed image must repair a crash loop)", async () => {
    const start = await steadyState(three());
    const roles = {
      "hippo-instance1-0-0": "master",
      "hippo-instance1-1-0": "replica",
      "hippo-instance1-2-0": "replica",
    } as const;
    const broken = advance({ ...(await sync(three(), start.children, start.related)) }, start.children, roles, {
      "hippo-instance1-2-0": { ready: false },
      "hippo-instance1-1-0": { ready: false },
    });
    const res = await sync(three({ image: "fixed:1" }), broken.children, broken.related);
    for (const s of ["hippo-instance1-1", "hippo-instance1-2"])
      expect(child(res, "StatefulSet", s).spec.template.spec.containers[0].image).toBe("fixed:1");
    expect(child(res, "StatefulSet", "hippo-instance1-0").spec.template.spec.containers[0].image).not.toBe("fixed:1");
  });

  it("waits for the Patroni configuration Job before restarting pods for a restart-only parameter", async () => {
    const start = await steadyState(three());
    const parent = three({ config: { parameters: { shared_buffers: "1GB" } } });
    const res = await sync(parent, start.children, start.related);
    const config = byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-patroni-"));
    expect(config).toHaveLength(1);
    expect(config[0]!.metadata.name).not.toBe(
      Object.keys(start.children["Job.batch/v1"]!).find((n) => n.startsWith("hippo-patroni-")),
    );
    for (const s of STS) expect(templateOf(res, s)).toEqual(observedSts(start.children, s).spec.template);
    expect(progressing(res).message).toContain("Patroni configuration Job");
    // Once the Job has succeeded, the roll starts.
    const children = finishJobs(observe(res.children as Json[], start.children));
    const next = await sync(parent, children, start.related);
    expect(hashOf(child(next, "StatefulSet", "hippo-instance1-1"))).not.toBe(
      hashOf(observedSts(start.children, "hippo-instance1-1")),
    );
  });

  it("updates a single instance in place (there is nobody to switch over to)", async () => {
    const one = (spec: Json = {}) => cluster({ instances: [{ name: "solo", dataVolumeClaimSpec: volume }], ...spec });
    const start = await steadyState(one());
    const res = await sync(one({ image: "new:1" }), start.children, start.related);
    expect(child(res, "StatefulSet", "hippo-solo-0").spec.template.spec.containers[0].image).toBe("new:1");
    expect(switchovers(res)).toEqual([]);
  });

  it("scales down by removing the highest ordinals, and moves the leader away before removing it", async () => {
    const start = await steadyState(three(), { leader: "hippo-instance1-2-0" });
    const two = cluster({ instances: [{ name: "instance1", replicas: 2, dataVolumeClaimSpec: volume }] });
    const res = await sync(two, start.children, start.related);
    // The leader's StatefulSet stays, exactly as observed, while a switchover moves leadership.
    expect(byKind(res, "StatefulSet").map((s) => s.metadata.name)).toEqual(STS);
    expect(child(res, "StatefulSet", "hippo-instance1-2").spec).toEqual(
      observedSts(start.children, "hippo-instance1-2").spec,
    );
    expect(switchovers(res)[0]!.spec.template.spec.containers[0].command).toContain(
      '{"leader":"hippo-instance1-2-0","candidate":"hippo-instance1-0-0"}',
    );
    expect(progressing(res).reason).toBe("ScalingDown");
    // After the switchover, it goes.
    const state = advance(res, start.children, {
      "hippo-instance1-0-0": "master",
      "hippo-instance1-1-0": "replica",
      "hippo-instance1-2-0": "replica",
    });
    const after = await sync(two, state.children, state.related);
    expect(byKind(after, "StatefulSet").map((s) => s.metadata.name)).toEqual(STS.slice(0, 2));
    expect(switchovers(after)).toEqual([]);
  });

  it("removes a replica at once when scaling down", async () => {
    const start = await steadyState(three());
    const res = await sync(
      cluster({ instances: [{ name: "instance1", replicas: 1, dataVolumeClaimSpec: volume }] }),
      start.children,
      start.related,
    );
    expect(byKind(res, "StatefulSet").map((s) => s.metadata.name)).toEqual(["hippo-instance1-0"]);
  });

  it("keeps every instance while no pod carries the leader label, whatever the spec drops", async () => {
    const start = await steadyState(three());
    // A failover window: Patroni has taken the label off the old leader and set it nowhere yet.
    const related = podsOf(start.children, {
      "hippo-instance1-0-0": { role: "replica" },
      "hippo-instance1-1-0": { role: "replica" },
      "hippo-instance1-2-0": { role: "replica" },
    });
    const one = cluster({ instances: [{ name: "instance1", replicas: 1, dataVolumeClaimSpec: volume }] });
    const res = await sync(one, start.children, related);
    expect(byKind(res, "StatefulSet").map((s) => s.metadata.name)).toEqual(STS);
    for (const name of STS.slice(1))
      expect(child(res, "StatefulSet", name).spec).toEqual(observedSts(start.children, name).spec);
    expect(progressing(res)).toMatchObject({ reason: "ScalingDown" });
    expect(progressing(res).message).toContain("once the leader is known");
    // With delete-pvcs-on-scale-down, no claim of a kept instance is an orphan: no delete Job.
    const annotated = {
      ...one,
      metadata: { ...one.metadata, annotations: { [ANNOTATION.deletePvcsOnScaleDown]: "true" } },
    };
    const claims = await sync(annotated, start.children, related);
    expect(byKind(claims, "Job").filter((j) => j.metadata.name.includes("pvc"))).toEqual([]);
  });

  it("retires a renamed set's instances only once every new instance is ready", async () => {
    const start = await steadyState(three(), { leader: "hippo-instance1-0-0" });
    const renamed = cluster({ instances: [{ name: "renamed", replicas: 3, dataVolumeClaimSpec: volume }] });
    const res = await sync(renamed, start.children, start.related);
    const names = byKind(res, "StatefulSet").map((s) => s.metadata.name);
    // The new instances are created, and every old one stays while they clone.
    for (const old of STS) expect(names).toContain(old);
    expect(names.filter((n) => n.startsWith("hippo-renamed-"))).toHaveLength(3);
    expect(progressing(res).message).toContain("once every instance that stays is ready");
    // Once the new ones are ready, the old replicas go and the old leader hands over first.
    const state = advance(res, start.children, {
      "hippo-instance1-0-0": "master",
      "hippo-instance1-1-0": "replica",
      "hippo-instance1-2-0": "replica",
      "hippo-renamed-0-0": "replica",
      "hippo-renamed-1-0": "replica",
      "hippo-renamed-2-0": "replica",
    });
    const after = await sync(renamed, state.children, state.related);
    expect(byKind(after, "StatefulSet").map((s) => s.metadata.name)).toEqual([
      "hippo-instance1-0",
      "hippo-renamed-0",
      "hippo-renamed-1",
      "hippo-renamed-2",
    ]);
    expect(JSON.stringify(switchovers(after)[0]!.spec.template.spec.containers[0].command)).toContain(
      '\\"leader\\":\\"hippo-instance1-0-0\\"',
    );
  });

  it("keeps immutable StatefulSet fields as observed when the spec changes them", async () => {
    const start = await steadyState(three());
    const bigger = three({
      instances: [
        {
          name: "instance1",
          replicas: 3,
          dataVolumeClaimSpec: { ...volume, resources: { requests: { storage: "5Gi" } } },
        },
      ],
    });
    const res = await sync(bigger, start.children, start.related);
    for (const s of STS)
      expect(child(res, "StatefulSet", s).spec.volumeClaimTemplates).toEqual(
        observedSts(start.children, s).spec.volumeClaimTemplates,
      );
    // A new instance gets the new size.
    const four = three({
      instances: [
        {
          name: "instance1",
          replicas: 4,
          dataVolumeClaimSpec: { ...volume, resources: { requests: { storage: "5Gi" } } },
        },
      ],
    });
    const grown = await sync(four, start.children, start.related);
    expect(
      child(grown, "StatefulSet", "hippo-instance1-3").spec.volumeClaimTemplates[0].spec.resources.requests.storage,
    ).toBe("5Gi");
  });
});
