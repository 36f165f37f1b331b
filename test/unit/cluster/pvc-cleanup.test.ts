import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { customizeCluster } from "../../../functions/cluster/customize.ts";
import { buildClaimRbac } from "../../../functions/cluster/volumes/claim-access.ts";
import { deletesClaimsOnScaleDown, VOLUME_CLAIMS_RETAINED } from "../../../functions/cluster/volumes/claim-cleanup.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { CustomizeRequest, type ObjectMap, type SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { byKind, cluster, finishJobs, type Json, observe, podsOf, request, steadyState, sync } from "./fixtures.ts";
import {
  type ClaimState,
  claimsOf,
  type FakeClaimApi,
  runClaimJob,
  startFakeClaimApi,
  withClaims,
} from "./volume-fixtures.ts";

const OPT_IN = "postgres.tusk.dev/delete-pvcs-on-scale-down";

const withReplicas = (replicas: number, annotations?: Record<string, string>, spec: Json = {}) => {
  const parent = cluster({
    instances: [
      {
        name: "instance1",
        replicas,
        dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        walVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
    ...spec,
  });
  return annotations ? { ...parent, metadata: { ...parent.metadata, annotations } } : parent;
};

const REMOVED = ["pgdata-hippo-instance1-2-0", "pgwal-hippo-instance1-2-0"];

const condition = (res: SyncResponse, type: string) =>
  ((res.status.conditions ?? []) as Json[]).find((c) => c.type === type);
const deleteJobs = (res: SyncResponse) =>
  byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-pvc-delete-"));
const role = (res: SyncResponse) => byKind(res, "Role").find((r) => r.metadata.name === "hippo-pvc");
const binding = (res: SyncResponse) => byKind(res, "RoleBinding").find((r) => r.metadata.name === "hippo-pvc");

/**
 * The sync after `res` once its ServiceAccount and Role are observed: it adds the claim
 * RoleBinding, which the API server refuses in the same sync as the Role it names, and starts
 * no Job yet. Returns the children observed after it, the claim RBAC complete.
 */
async function bindingObserved(parent: Json, res: SyncResponse, children: ObjectMap, related: ObjectMap) {
  const roleObserved = observe(res.children as Json[], children);
  const bound = await sync(parent, roleObserved, related);
  expect(binding(bound)).toBeDefined();
  expect(deleteJobs(bound)).toEqual([]);
  return observe(bound.children as Json[], roleObserved);
}

/**
 * A cluster scaled from 3 to 2 instances after the third StatefulSet and its pod are gone:
 * the children and pods of the 2-instance cluster, the claims of the 3-instance one.
 */
async function scaledDown(states: Record<string, ClaimState> = {}) {
  const three = await steadyState(withReplicas(3));
  const two = await steadyState(withReplicas(2));
  const claims = claimsOf(three.children, states);
  return { children: two.children, related: withClaims(two.related, claims), claims, three };
}

describe("the PVCs of removed instances", { timeout: 60_000 }, () => {
  it("are kept by default and listed in the VolumeClaimsRetained condition", async () => {
    const { children, related } = await scaledDown();
    const res = await sync(withReplicas(2), children, related);
    expect(role(res)).toBeUndefined();
    expect(deleteJobs(res)).toEqual([]);
    const c = condition(res, VOLUME_CLAIMS_RETAINED)!;
    expect(c).toMatchObject({ status: "True", reason: "ScaledDown" });
    for (const claim of REMOVED) expect(c.message).toContain(claim);
    expect(c.message).toContain(OPT_IN);
    expect(c.message).not.toContain("instance1-1-0");
  });

  it("only the exact annotation value true opts in", () => {
    expect(deletesClaimsOnScaleDown({ [OPT_IN]: "true" })).toBe(true);
    for (const v of ["True", "yes", "1", ""]) expect(deletesClaimsOnScaleDown({ [OPT_IN]: v })).toBe(false);
    expect(deletesClaimsOnScaleDown(undefined)).toBe(false);
  });

  it("opted in: delete on exactly those claims, the RoleBinding once the Role is observed, then one Job per claim", async () => {
    const { children, related } = await scaledDown();
    const parent = withReplicas(2, { [OPT_IN]: "true" });
    const first = await sync(parent, children, related);
    expect(deleteJobs(first)).toEqual([]);
    expect(role(first)!.rules).toEqual([
      { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["delete"], resourceNames: REMOVED },
    ]);
    // The Role and its ServiceAccount, no RoleBinding: the API server refuses a binding created
    // in the same sync as the Role it names.
    expect(byKind(first, "ServiceAccount").some((s) => s.metadata.name === "hippo-pvc")).toBe(true);
    expect(binding(first)).toBeUndefined();
    expect(condition(first, VOLUME_CLAIMS_RETAINED)).toMatchObject({ status: "False", reason: "Deleting" });

    // The Role observed: the RoleBinding, still no Job.
    const roleObserved = observe(first.children as Json[], children);
    const bound = await sync(parent, roleObserved, related);
    expect(deleteJobs(bound)).toEqual([]);
    expect(binding(bound)!.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "hippo-pvc" });
    expect(binding(bound)!.subjects).toEqual([{ kind: "ServiceAccount", name: "hippo-pvc", namespace: "db" }]);
    expect(role(bound)).toEqual(role(first));
    expect(condition(bound, VOLUME_CLAIMS_RETAINED)).toMatchObject({ status: "False", reason: "Deleting" });

    // The RoleBinding observed too: the Jobs.
    const observed = observe(bound.children as Json[], roleObserved);
    const next = await sync(parent, observed, related);
    const jobs = deleteJobs(next);
    expect(jobs).toHaveLength(2);
    for (const job of jobs) {
      expect(validateObject(job)).toEqual([]);
      expect(podSecurityRestrictedViolations(job)).toEqual([]);
      expect(job.spec.template.spec.serviceAccountName).toBe("hippo-pvc");
      const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: Json) => [e.name, e.value]));
      expect(env.METHOD).toBe("DELETE");
      const claim = REMOVED.find((c) => env.URL.endsWith(`/persistentvolumeclaims/${c}`))!;
      expect(claim).toBeDefined();
      expect(JSON.parse(env.BODY).preconditions).toEqual({ uid: `uid-${claim}` });
    }
    expect(JSON.stringify(await sync(parent, observed, related))).toBe(JSON.stringify(next));
  });

  it("never while the instance's StatefulSet or pod is still observed, in the spec, or shut down", async () => {
    const opted = { [OPT_IN]: "true" };
    const three = await steadyState(withReplicas(3));
    const claims = claimsOf(three.children);
    // Scale-down just asked for: the third StatefulSet and pod are still there.
    const during = await sync(withReplicas(2, opted), three.children, withClaims(three.related, claims));
    expect(role(during)).toBeUndefined();
    expect(condition(during, VOLUME_CLAIMS_RETAINED)).toBeUndefined();
    // StatefulSet still there, its pod gone (evicted, or not yet recreated).
    const podless: ObjectMap = {
      ...three.related,
      "Pod.v1": Object.fromEntries(
        Object.entries(three.related["Pod.v1"]!).filter(([name]) => name !== "hippo-instance1-2-0"),
      ),
    };
    expect(role(await sync(withReplicas(2, opted), three.children, withClaims(podless, claims)))).toBeUndefined();
    // StatefulSet gone, pod still terminating.
    const two = await steadyState(withReplicas(2));
    const terminating: ObjectMap = {
      ...two.related,
      "Pod.v1": {
        ...two.related["Pod.v1"],
        ...podsOf(three.children, { "hippo-instance1-2-0": { deleting: true } })["Pod.v1"],
      },
    };
    const res = await sync(withReplicas(2, opted), two.children, withClaims(terminating, claims));
    expect(role(res)).toBeUndefined();
    // Every instance still in the spec, or shut down (StatefulSets kept at zero).
    expect(role(await sync(withReplicas(3, opted), three.children, withClaims(three.related, claims)))).toBeUndefined();
    const shutdown = await sync(
      withReplicas(3, opted, { shutdown: true }),
      three.children,
      withClaims(three.related, claims),
    );
    expect(role(shutdown)).toBeUndefined();
    expect(condition(shutdown, VOLUME_CLAIMS_RETAINED)).toBeUndefined();
  });

  it("claims already being deleted need no Job and are not reported as kept", async () => {
    const { children, related } = await scaledDown(Object.fromEntries(REMOVED.map((c) => [c, { deleting: true }])));
    for (const parent of [withReplicas(2), withReplicas(2, { [OPT_IN]: "true" })]) {
      const res = await sync(parent, children, related);
      expect(role(res)).toBeUndefined();
      expect(condition(res, VOLUME_CLAIMS_RETAINED)).toBeUndefined();
    }
  });
});

describe("the delete Job against an API server (real sh and curl)", { timeout: 60_000 }, () => {
  let api: FakeClaimApi;
  beforeAll(async () => {
    api = await startFakeClaimApi();
  });
  afterAll(async () => api.stop());

  it("deletes exactly the observed claim, succeeds when it is gone already, and the syncs settle", async () => {
    const { children, related, claims } = await scaledDown();
    const parent = withReplicas(2, { [OPT_IN]: "true" });
    const observed = await bindingObserved(parent, await sync(parent, children, related), children, related);
    const res = await sync(parent, observed, related);
    for (const [name, claim] of Object.entries(claims)) api.claims.set(name, claim);
    api.requests.length = 0;
    for (const job of deleteJobs(res)) expect((await runClaimJob(job, api)).code).toBe(0);
    expect(REMOVED.filter((c) => api.claims.has(c))).toEqual([]);
    expect(api.claims.has("pgdata-hippo-instance1-1-0")).toBe(true);
    expect(api.requests.every((r) => r.method === "DELETE" && r.authorization === `Bearer ${api.token}`)).toBe(true);
    // Run again: 404, still done.
    for (const job of deleteJobs(res)) expect((await runClaimJob(job, api)).code).toBe(0);

    const gone = withClaims(related, Object.fromEntries(Object.entries(claims).filter(([n]) => !REMOVED.includes(n))));
    const settled = await sync(parent, finishJobs(observe(res.children as Json[], observed)), gone);
    expect(deleteJobs(settled)).toEqual([]);
    expect(role(settled)).toBeUndefined();
    expect(condition(settled, VOLUME_CLAIMS_RETAINED)).toBeUndefined();
  });

  it("leaves a claim made again under the same name alone (uid precondition)", async () => {
    const { children, related, claims } = await scaledDown();
    const parent = withReplicas(2, { [OPT_IN]: "true" });
    const observed = await bindingObserved(parent, await sync(parent, children, related), children, related);
    const job = deleteJobs(await sync(parent, observed, related))[0]!;
    const target = REMOVED.find((c) =>
      job.spec.template.spec.containers[0].env.some((e: Json) => e.value.endsWith(c)),
    )!;
    const original = claims[target] as Json;
    api.claims.set(target, { ...original, metadata: { ...original.metadata, uid: "a-new-claim" } });
    const run = await runClaimJob(job, api);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("HTTP 409");
    expect(api.claims.get(target)!.metadata.uid).toBe("a-new-claim");
  });
});

describe("Metacontroller's permissions (manifests/rbac/metacontroller.yaml)", () => {
  it("cover reading the related PVCs and every verb the claim Role grants, which Kubernetes requires to create it", () => {
    const file = join(import.meta.dirname, "..", "..", "..", "manifests", "rbac", "metacontroller.yaml");
    const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS() as Json);
    const rules = docs.find((d) => d.kind === "ClusterRole")!.rules as Json[];
    const allows = (resource: string, verb: string) =>
      rules.some(
        (r) => !r.resourceNames && r.apiGroups.includes("") && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    const parent = withReplicas(2);
    const rule = customizeCluster(CustomizeRequest.parse({ parent })).relatedResources.find(
      (r) => r.resource === "persistentvolumeclaims",
    )!;
    for (const verb of ["get", "list", "watch"]) expect(allows(rule.resource, verb), verb).toBe(true);
    const parsed = clusterModel(request(parent).parent);
    if (!parsed.ok) throw new Error("the test cluster is invalid");
    const model = parsed.model;
    const [, role] = buildClaimRbac(model, { patch: ["a"], delete: ["b"] });
    const granted = (role.rules ?? []).flatMap((r) =>
      r.resources!.flatMap((res) => r.verbs.map((v) => [res, v] as const)),
    );
    expect(granted.length).toBe(3);
    for (const [res, verb] of granted) expect(allows(res, verb), `${verb} ${res}`).toBe(true);
  });
});
