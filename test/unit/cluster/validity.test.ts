import { describe, expect, it } from "vitest";
import { CHILD_KINDS, KINDS } from "../../../functions/cluster/objects/kinds.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import {
  byKind,
  cluster,
  compatClusters,
  finishJobs,
  type Json,
  observe,
  podsOf,
  steadyState,
  sync,
} from "./fixtures.ts";
import { SCENARIOS } from "./scenarios.ts";

const POD_KINDS = new Set(["StatefulSet", "Job", "Deployment", "CronJob"]);

function expectValid(children: Json[]) {
  expect(children.length).toBeGreaterThan(0);
  for (const c of children) {
    expect(validateObject(c), `${c.kind} ${c.metadata.name}`).toEqual([]);
    if (POD_KINDS.has(c.kind)) expect(podSecurityRestrictedViolations(c), `${c.kind} ${c.metadata.name}`).toEqual([]);
    const k = KINDS[c.kind as keyof typeof KINDS];
    expect(k?.apiVersion, `${c.kind} must be a declared child kind`).toBe(c.apiVersion);
  }
}

describe("every child is a valid Kubernetes object and every pod passes Pod Security restricted", {
  timeout: 60_000,
}, () => {
  for (const [name, parent] of Object.entries(SCENARIOS)) {
    it(`${name}: first sync and steady state (with Jobs)`, async () => {
      expectValid((await sync(parent)).children as Json[]);
      const { res } = await steadyState(parent);
      expect(byKind(res, "Job").length).toBeGreaterThanOrEqual(2);
      expectValid(res.children as Json[]);
    });
  }

  it("during a rolling update with a switchover Job", async () => {
    const { children, related } = await steadyState(cluster());
    const changed = cluster({ image: "example.com/postgres:15.1" });
    let res = await sync(changed, children, related);
    let observed = finishJobs(observe(res.children as Json[], children));
    // Replica updated and ready again with the new template; the leader is next.
    const pods = podsOf(observed, {
      "hippo-instance1-0-0": { role: "master" },
      "hippo-instance1-1-0": { role: "replica" },
    });
    const leaderSts = observed["StatefulSet.apps/v1"]!["hippo-instance1-0"] as Json;
    const oldHash = (children["StatefulSet.apps/v1"]!["hippo-instance1-0"] as Json).spec.template.metadata.annotations;
    expect(leaderSts.spec.template.metadata.annotations).toEqual(oldHash);
    res = await sync(changed, observed, pods);
    const switchover = byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-switchover-"));
    expect(switchover).toHaveLength(1);
    expectValid(res.children as Json[]);
    observed = observe(res.children as Json[], observed);
    expect(Object.keys(observed)).toEqual(expect.arrayContaining(["Job.batch/v1"]));
  });

  it("every PGO-compatibility fixture renders into valid children", async () => {
    const compat = compatClusters();
    expect(compat.length).toBeGreaterThanOrEqual(9);
    for (const { file, object } of compat) {
      const parent = { ...object, metadata: { ...object.metadata, namespace: "db", uid: "u", generation: 1 } };
      const res = await sync(parent);
      expect(res.status.phase, file).not.toBe("Invalid");
      expectValid(res.children as Json[]);
      const { res: steady } = await steadyState(parent);
      expectValid(steady.children as Json[]);
    }
  });

  it("declares exactly the kinds it emits", () => {
    expect(CHILD_KINDS).toEqual([
      "StatefulSet",
      "Deployment",
      "Service",
      "ConfigMap",
      "Secret",
      "Job",
      "CronJob",
      "PodDisruptionBudget",
      "ServiceAccount",
      "Role",
      "RoleBinding",
    ]);
  });
});
