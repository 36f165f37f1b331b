/**
 * Observe once (functions/cluster/observe/cluster.ts): the request parsed into the one structure
 * every part of the sync hook reads.
 */
import { describe, expect, it } from "vitest";
import { observeCluster } from "../../../functions/cluster/observe/cluster.ts";
import { LABEL } from "../../../shared/labels.ts";
import { cluster, finishJobs, type Json, observe, podsOf, request, steadyState, volume } from "./fixtures.ts";

const spec = { postgresVersion: 17, instances: [{ name: "main", replicas: 2, dataVolumeClaimSpec: volume }] };

describe("observeCluster", () => {
  it("reads the instance StatefulSets, the Secrets decoded, the Jobs with their state and only the instances' Pods", async () => {
    const { children, related } = await steadyState(cluster(spec));
    const jobPod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hippo-users-x", labels: { [LABEL.cluster]: "hippo", "batch.kubernetes.io/job-name": "j" } },
    };
    const failed = finishJobs(children, "Failed");
    const seen = observeCluster(
      request(cluster(spec), failed, {
        ...related,
        "Pod.v1": { ...related["Pod.v1"], [jobPod.metadata.name]: jobPod },
      }),
    );
    expect([...seen.instanceStatefulSets.keys()].sort()).toEqual(
      Object.keys(children["StatefulSet.apps/v1"] ?? {}).sort(),
    );
    expect([...seen.pods.keys()].sort()).toEqual(Object.keys(related["Pod.v1"] ?? {}).sort());
    expect(seen.jobPods("j").map((p) => p.metadata.name)).toEqual(["hippo-users-x"]);
    const jobs = Object.keys(children["Job.batch/v1"] ?? {});
    expect(jobs.length).toBeGreaterThan(0);
    for (const name of jobs) expect(seen.jobs.get(name)?.state).toBe("failed");
    const internal = seen.secrets.get("hippo-internal");
    expect(internal?.data).toBeDefined();
    expect(Object.values(internal?.data ?? {}).every((v) => typeof v === "string" && !v.includes("\u0000"))).toBe(true);
  });

  it("keeps only this cluster's PostgresRestores, oldest first", () => {
    const restore = (name: string, clusterName: string, createdAt: string): Json => ({
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresRestore",
      metadata: { name, creationTimestamp: createdAt },
      spec: { cluster: clusterName, repoName: "repo1" },
    });
    const seen = observeCluster(
      request(
        cluster(spec),
        {},
        {
          "PostgresRestore.postgres.tusk.dev/v1": {
            b: restore("b", "hippo", "2026-03-01T10:00:00Z"),
            a: restore("a", "hippo", "2026-03-01T11:00:00Z"),
            other: restore("other", "rhino", "2026-03-01T09:00:00Z"),
          },
        },
      ),
    );
    expect(seen.restores.map((r) => r.name)).toEqual(["b", "a"]);
  });

  it("gives every observed child back as a desired one, without server-written fields", async () => {
    const { res } = await steadyState(cluster(spec));
    const observedChildren = observe(res.children as Json[]);
    for (const group of Object.values(observedChildren))
      for (const c of Object.values(group) as Json[]) c.metadata.resourceVersion = "7";
    const back = observeCluster(request(cluster(spec), observedChildren, podsOf(observedChildren))).asDesired();
    expect(back).toHaveLength(res.children.length);
    expect(back.every((c) => (c.metadata as Json).resourceVersion === undefined)).toBe(true);
  });
});
