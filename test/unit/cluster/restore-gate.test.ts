/**
 * The cluster's restore gate, through the cluster hook: a running cluster meets a
 * PostgresRestore in each phase (as the restore hook publishes it) and the hook's StatefulSets,
 * Jobs, Patroni configuration and status must follow, from observed objects only.
 */

import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { clusterRestores } from "../../../functions/cluster/observe/restores.ts";
import { restoreGateState } from "../../../functions/cluster/restore/gate.ts";
import { LABEL } from "../../../shared/labels.ts";
import type { ObjectMap, SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { byKind, child, cluster, type Json, steadyState, sync, volume } from "./fixtures.ts";

const spec = {
  instances: [{ name: "a", replicas: 3, dataVolumeClaimSpec: volume }],
  backups: { pgbackrest: { repos: [{ name: "repo1", s3: { bucket: "b", endpoint: "s3.example.com", region: "x" } }] } },
};
const parent = cluster(spec);

function restore(
  name: string,
  status: Json | undefined,
  options: { cluster?: string; created?: string; deleting?: boolean } = {},
): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresRestore",
    metadata: {
      name,
      namespace: "db",
      creationTimestamp: options.created ?? "2026-03-01T10:00:00Z",
      ...(options.deleting ? { deletionTimestamp: "2026-03-01T11:00:00Z" } : {}),
    },
    spec: {
      cluster: options.cluster ?? "hippo",
      repoName: "repo1",
      target: { type: "time", value: "2026-02-01 00:00:00+00" },
    },
    ...(status ? { status } : {}),
  };
}

const withRestores = (related: ObjectMap, ...restores: Json[]): ObjectMap => ({
  ...related,
  "PostgresRestore.postgres.tusk.dev/v1": Object.fromEntries(restores.map((r) => [r.metadata.name, r])),
});

const replicas = (res: SyncResponse) =>
  Object.fromEntries(byKind(res, "StatefulSet").map((s) => [s.metadata.name, s.spec.replicas]));
const condition = (res: SyncResponse, type: string) =>
  ((res.status as Json).conditions as Json[]).find((c) => c.type === type);
const patroniYaml = (res: SyncResponse) => parse(child(res, "ConfigMap", "hippo-config").data["patroni.yaml"]);
const jobComponents = (res: SyncResponse) =>
  byKind(res, "Job")
    .map((j) => j.metadata.labels[LABEL.component])
    .sort();

/** The observed StatefulSets as the API server reports them after the hook scaled them to zero. */
function scaledToZero(children: ObjectMap): ObjectMap {
  const out = JSON.parse(JSON.stringify(children)) as ObjectMap;
  for (const sts of Object.values(out["StatefulSet.apps/v1"] ?? {}) as Json[]) {
    sts.spec.replicas = 0;
    sts.status = { replicas: 0 };
  }
  return out;
}

describe("a restore in progress stops the cluster", async () => {
  const steady = await steadyState(parent);
  const running = steady.related;

  it("steady state first: every instance at one, no Restoring condition, users and config Jobs present", () => {
    expect(Object.values(replicas(steady.res))).toEqual([1, 1, 1]);
    expect(condition(steady.res, "Restoring")).toBeUndefined();
    expect(jobComponents(steady.res)).toEqual(expect.arrayContaining(["patroni-config", "users"]));
  });

  it("ScalingDown: every instance to zero, Restoring=True naming the restore, the gate says Stopping", async () => {
    const res = await sync(parent, steady.children, withRestores(running, restore("r1", { phase: "ScalingDown" })));
    expect(replicas(res)).toEqual({ "hippo-a-0": 0, "hippo-a-1": 0, "hippo-a-2": 0 });
    const status = res.status as Json;
    expect(status.phase).toBe("Restoring");
    expect(status.restore).toEqual({ name: "r1", state: "Stopping" });
    expect(condition(res, "Restoring")).toMatchObject({ status: "True", reason: "RestoreInProgress" });
    expect(condition(res, "Restoring")!.message).toContain("r1");
    expect(condition(res, "Ready")).toMatchObject({ status: "False", reason: "Restoring" });
    // Held, so they run again on the restored database afterwards.
    expect(jobComponents(res)).not.toContain("users");
    expect(jobComponents(res)).not.toContain("patroni-config");
    // Patroni may only bootstrap from the restored data from now on.
    expect(patroniYaml(res).bootstrap.method).toBe("tusk_restored");
    expect(patroniYaml(res).bootstrap.tusk_restored.command).toContain("/pgdata/pg15_bootstrap /pgdata/pg15");
    for (const c of res.children) expect(validateObject(c), `${c.kind} ${(c as Json).metadata.name}`).toEqual([]);
  });

  it("says Stopped only once every StatefulSet reports zero and no instance Pod is left", async () => {
    const r = restore("r1", { phase: "ScalingDown" });
    const zero = scaledToZero(steady.children);
    const podsLeft = await sync(parent, zero, withRestores(running, r));
    expect((podsLeft.status as Json).restore.state).toBe("Stopping");
    const stopped = await sync(parent, zero, withRestores({}, r));
    expect((stopped.status as Json).restore).toEqual({ name: "r1", state: "Stopped" });
    const notYetZero = await sync(parent, steady.children, withRestores({}, r));
    expect((notYetZero.status as Json).restore.state).toBe("Stopping");
  });

  it("Starting with startInstance: that instance alone runs", async () => {
    const r = restore("r1", { phase: "Starting", startInstance: "hippo-a-1" });
    const res = await sync(parent, scaledToZero(steady.children), withRestores({}, r));
    expect(replicas(res)).toEqual({ "hippo-a-0": 0, "hippo-a-1": 1, "hippo-a-2": 0 });
    expect((res.status as Json).restore).toEqual({ name: "r1", state: "Starting" });
    expect(patroniYaml(res).bootstrap.method).toBe("tusk_restored");
  });

  it("Starting before the resets are done keeps everything at zero", async () => {
    const res = await sync(
      parent,
      scaledToZero(steady.children),
      withRestores({}, restore("r1", { phase: "Starting" })),
    );
    expect(Object.values(replicas(res))).toEqual([0, 0, 0]);
  });

  it("a restore not yet past Pending (or refused) does not touch the cluster", async () => {
    for (const r of [
      restore("r1", undefined),
      restore("r1", { phase: "Pending" }),
      restore("r1", { phase: "Failed", dataChanged: false }),
    ]) {
      const res = await sync(parent, steady.children, withRestores(running, r));
      expect(Object.values(replicas(res))).toEqual([1, 1, 1]);
      expect((res.status as Json).phase).toBe("Running");
      expect(patroniYaml(res).bootstrap.method).toBeUndefined();
    }
  });

  it("another cluster's restore is ignored", async () => {
    const res = await sync(
      parent,
      steady.children,
      withRestores(running, restore("x", { phase: "Restoring" }, { cluster: "other" })),
    );
    expect(Object.values(replicas(res))).toEqual([1, 1, 1]);
  });
});

describe("after a failed restore", async () => {
  const steady = await steadyState(parent);
  const zero = scaledToZero(steady.children);
  const failed = restore("r1", { phase: "Failed", error: "ERROR: [075]: no backup", dataChanged: true });

  it("the cluster stays at zero with a clear condition", async () => {
    const res = await sync(parent, zero, withRestores({}, failed));
    expect(Object.values(replicas(res))).toEqual([0, 0, 0]);
    const status = res.status as Json;
    expect(status.phase).toBe("RestoreFailed");
    expect(status.restore).toEqual({ name: "r1", state: "Failed" });
    expect(condition(res, "Restoring")).toMatchObject({ status: "False", reason: "RestoreFailed" });
    expect(condition(res, "Ready")!.message).toContain("ERROR: [075]: no backup");
    expect(condition(res, "Ready")!.message).toContain("until it is deleted or a newer PostgresRestore succeeds");
  });

  it("a newer restore in progress takes over; a newer one that succeeded releases the cluster", async () => {
    const newer = (status: Json) => restore("r2", status, { created: "2026-03-01T12:00:00Z" });
    const retry = await sync(parent, zero, withRestores({}, failed, newer({ phase: "Restoring" })));
    expect((retry.status as Json).restore.name).toBe("r2");
    const done = await sync(
      parent,
      zero,
      withRestores({}, failed, newer({ phase: "Succeeded", backupSet: "20260201-000000F" })),
    );
    expect(Object.values(replicas(done))).toEqual([1, 1, 1]);
    expect(condition(done, "Restoring")).toMatchObject({ status: "False", reason: "RestoreSucceeded" });
    expect(condition(done, "Restoring")!.message).toContain("20260201-000000F");
  });

  it("an older success does not release it; deleting the failed restore does", async () => {
    const older = restore("r0", { phase: "Succeeded" }, { created: "2026-02-01T00:00:00Z" });
    expect(Object.values(replicas(await sync(parent, zero, withRestores({}, older, failed))))).toEqual([0, 0, 0]);
    const released = await sync(parent, zero, withRestores({}, older));
    expect(Object.values(replicas(released))).toEqual([1, 1, 1]);
  });

  it("a restore being deleted while it restored holds the cluster until it is gone (its finalizer waits for its Pods)", async () => {
    const cancelling = restore("r1", { phase: "Failed", dataChanged: true }, { deleting: true });
    expect(Object.values(replicas(await sync(parent, zero, withRestores({}, cancelling))))).toEqual([0, 0, 0]);
  });
});

describe("which restore holds the cluster", () => {
  const r = (name: string, created: string, phase?: string, extra: Json = {}) =>
    restore(name, phase ? { phase, ...extra } : undefined, { created });
  const state = (...restores: Json[]) =>
    restoreGateState(
      clusterRestores(
        { "PostgresRestore.postgres.tusk.dev/v1": Object.fromEntries(restores.map((x) => [x.metadata.name, x])) },
        "hippo",
      ),
    );

  it("the active one, else the newest failed one that changed data and no newer success covers", () => {
    expect(state().kind).toBe("none");
    expect(state(r("a", "1", "Restoring"), r("b", "2", "Failed", { dataChanged: true }))).toMatchObject({
      kind: "active",
      restore: { name: "a" },
    });
    expect(
      state(r("a", "1", "Failed", { dataChanged: true }), r("b", "2", "Failed", { dataChanged: true })),
    ).toMatchObject({
      kind: "failed",
      restore: { name: "b" },
    });
    expect(state(r("a", "1", "Failed"), r("b", "2", "Succeeded"))).toMatchObject({
      kind: "none",
      succeeded: { name: "b" },
    });
    expect(state(r("a", "1", "Pending"))).toEqual({ kind: "none" });
  });
});

describe("determinism while gated", () => {
  it("the same request gives byte-identical output", async () => {
    const steady = await steadyState(parent);
    const related = withRestores({}, restore("r1", { phase: "Restoring" }));
    const zero = scaledToZero(steady.children);
    const a = await sync(parent, zero, related);
    const b = await sync(parent, zero, related);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});
