/**
 * Status conditions and observed-Job readers each have one implementation in shared/. Copies
 * drifted before (six condition builders with four argument orders, three readers of a Job's
 * state that disagreed on what counts as success), so a new copy under functions/ fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backupJobState } from "../../../functions/backup/status.ts";
import {
  asDesired as clusterAsDesired,
  jobState as clusterJobState,
} from "../../../functions/cluster/observe/observed.ts";
import { condition } from "../../../shared/conditions.ts";
import { asDesired } from "../../../shared/metacontroller.ts";
import { jobState, podsOfJob } from "../../../shared/observed-job.ts";
import { CONTAINER } from "../../../shared/pgbackrest/job-pod.ts";

type Json = Record<string, any>;

const root = join(import.meta.dirname, "..", "..", "..");

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** Files under functions/ defining a function with this name. */
const defining = (name: string) =>
  sources("functions").filter((p) => new RegExp(`function ${name}\\b`).test(readFileSync(join(root, p), "utf8")));

describe("single sources", () => {
  it("functions/ defines no condition builder of its own", () => {
    expect(defining("condition")).toEqual([]);
  });

  it("functions/ reads no Job's success or failure itself (shared/observed-job.ts does)", () => {
    const readers = sources("functions").filter((p) => /["']Complete["']/.test(readFileSync(join(root, p), "utf8")));
    expect(readers).toEqual([]);
  });

  it("a condition keeps its lastTransitionTime while its status stays, and takes the observed time on a change", () => {
    const before = [condition("Succeeded", "Unknown", "JobRunning", "running", { time: "t1" })];
    expect(condition("Succeeded", "Unknown", "Still", "running", { previous: before, time: "t2" })).toEqual({
      type: "Succeeded",
      status: "Unknown",
      reason: "Still",
      message: "running",
      lastTransitionTime: "t1",
    });
    expect(condition("Succeeded", "True", "Done", "done", { previous: before, time: "t3", generation: 4 })).toEqual({
      type: "Succeeded",
      status: "True",
      reason: "Done",
      message: "done",
      observedGeneration: 4,
      lastTransitionTime: "t3",
    });
    expect(condition("Ready", "True", "R", "m", { previous: before })).not.toHaveProperty("lastTransitionTime");
  });
});

describe("a Job's state, read once for every hook", () => {
  const job = (status: Json) => ({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, status });
  const pod = (name: string, containers: [string, number, string][]) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { "batch.kubernetes.io/job-name": "j" } },
    status: {
      containerStatuses: containers.map(([c, exitCode, message]) => ({
        name: c,
        state: { terminated: { exitCode, message, finishedAt: "2026-01-01T00:00:00Z" } },
      })),
    },
  });
  const related = (...pods: Json[]) => ({ "Pod.v1": Object.fromEntries(pods.map((p) => [p.metadata.name, p])) });
  const children = (raw: Json) => ({ "Job.batch/v1": { j: raw } });

  it.each([
    ["the Complete condition", { conditions: [{ type: "Complete", status: "True" }] }, "succeeded"],
    ["a succeeded count before the condition", { succeeded: 1 }, "succeeded"],
    ["a completionTime before the condition", { completionTime: "2026-01-01T00:00:00Z" }, "succeeded"],
    ["the Failed condition", { failed: 3, conditions: [{ type: "Failed", status: "True" }] }, "failed"],
    ["an active Pod", { active: 1, startTime: "2026-01-01T00:00:00Z" }, "running"],
  ])("%s: the backup, restore and cluster hooks agree", (_what, status, expected) => {
    const raw = job(status);
    expect(jobState(raw, []).state).toBe(expected);
    expect(backupJobState(raw, {}, "j").phase.toLowerCase()).toBe(expected);
    expect(clusterJobState(children(raw), "j")).toBe(expected);
  });

  it("takes the termination message of the named container when a sidecar comes first", () => {
    const raw = job({ succeeded: 1 });
    const p = pod("j-1", [
      ["istio-proxy", 0, "sidecar"],
      [CONTAINER, 0, "result"],
    ]);
    expect(backupJobState(raw, related(p), "j").message).toBe("result");
    expect(jobState(raw, podsOfJob(related(p), "j")).message).toBe("sidecar");
  });
});

describe("an observed child kept as desired", () => {
  it("loses status, server metadata, Metacontroller's annotations and label, and keeps the rest in order", () => {
    const observed = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "j",
        namespace: "db",
        uid: "u",
        resourceVersion: "7",
        creationTimestamp: "t",
        ownerReferences: [{ kind: "PostgresBackup", name: "b" }],
        labels: { "controller-uid": "u", app: "x" },
        annotations: { "metacontroller.k8s.io/last-applied-configuration": "{}", note: "n" },
      },
      spec: { template: {} },
      status: { succeeded: 1 },
    };
    const kept = asDesired(observed);
    expect(Object.keys(kept)).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(kept.metadata).toEqual({ name: "j", namespace: "db", labels: { app: "x" }, annotations: { note: "n" } });
    expect(clusterAsDesired).toBe(asDesired);
  });
});
