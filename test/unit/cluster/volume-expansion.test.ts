import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customizeCluster } from "../../../functions/cluster/customize.ts";
import { observedClaims } from "../../../functions/cluster/observe/claims.ts";
import { VOLUMES_RESIZING } from "../../../functions/cluster/volumes/expansion.ts";
import { CustomizeRequest, type ObjectMap, type SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { byKind, cluster, finishJobs, type Json, observe, steadyState, sync } from "./fixtures.ts";
import {
  type ClaimState,
  claimsOf,
  type FakeClaimApi,
  failedJobPod,
  PVC_KEY,
  runClaimJob,
  startFakeClaimApi,
  withClaims,
} from "./volume-fixtures.ts";

const sized = (storage: string, wal?: string, replicas = 2) =>
  cluster({
    instances: [
      {
        name: "instance1",
        replicas,
        dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
        ...(wal
          ? { walVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: wal } } } }
          : {}),
      },
    ],
  });

const DATA = ["pgdata-hippo-instance1-0-0", "pgdata-hippo-instance1-1-0"];

const condition = (res: SyncResponse, type: string) =>
  ((res.status.conditions ?? []) as Json[]).find((c) => c.type === type);
const resizeJobs = (res: SyncResponse) => byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-resize-"));
const claimObjects = (res: SyncResponse) =>
  (res.children as Json[]).filter(
    (c) => c.metadata.name === "hippo-pvc" && ["ServiceAccount", "Role", "RoleBinding"].includes(c.kind),
  );

function expectValid(children: Json[]) {
  for (const c of children) {
    expect(validateObject(c), `${c.kind} ${c.metadata.name}`).toEqual([]);
    if (c.kind === "Job") expect(podSecurityRestrictedViolations(c), c.metadata.name).toEqual([]);
  }
}

/**
 * The sync after `res` once its ServiceAccount and Role are observed: it adds the claim
 * RoleBinding, which the API server refuses in the same sync as the Role it names, and starts
 * no Job yet. Returns the children observed after it, the claim RBAC complete.
 */
async function bindingObserved(parent: Json, res: SyncResponse, children: ObjectMap, related: ObjectMap) {
  const roleObserved = observe(res.children as Json[], children);
  const bound = await sync(parent, roleObserved, related);
  expect(claimObjects(bound).map((c) => c.kind)).toContain("RoleBinding");
  expect(resizeJobs(bound)).toEqual([]);
  return observe(bound.children as Json[], roleObserved);
}

/** A steady cluster created at `initial`, then asked for `next`, with its claims observed. */
async function grownCluster(initial: Json, next: Json, states: Record<string, ClaimState> = {}) {
  const steady = await steadyState(initial);
  const claims = claimsOf(steady.children, states);
  const related = withClaims(steady.related, claims);
  const res = await sync(next, steady.children, related);
  return { ...steady, claims, related, res };
}

describe("claims and the customize hook", { timeout: 60_000 }, () => {
  it("the claim templates carry the cluster and instance labels, so the customize rule finds their PVCs", async () => {
    const { children } = await steadyState(sized("1Gi", "1Gi"));
    const rule = customizeCluster(CustomizeRequest.parse({ parent: sized("1Gi") })).relatedResources.find(
      (r) => r.resource === "persistentvolumeclaims",
    )!;
    const claims = Object.values(claimsOf(children)) as Json[];
    expect(claims.map((c) => c.metadata.name).sort()).toEqual([
      ...DATA,
      "pgwal-hippo-instance1-0-0",
      "pgwal-hippo-instance1-1-0",
    ]);
    for (const claim of claims) {
      for (const [k, v] of Object.entries(rule.labelSelector!.matchLabels!)) expect(claim.metadata.labels[k]).toBe(v);
      expect(claim.metadata.labels["postgres.tusk.dev/instance"]).toMatch(/^hippo-instance1-[01]$/);
      expect(claim.metadata.labels["postgres.tusk.dev/instance-set"]).toBe("instance1");
    }
    expect([
      ...observedClaims({ [PVC_KEY]: Object.fromEntries(claims.map((c) => [c.metadata.name, c])) }).keys(),
    ]).toHaveLength(4);
  });

  it("nothing is emitted for claims that are the size the spec asks for (exact quantities: 1Gi is 1024Mi)", async () => {
    const base = await steadyState(sized("1Gi"));
    const related = withClaims(
      base.related,
      claimsOf(
        base.children,
        Object.fromEntries(DATA.map((n) => [n, { requested: "1024Mi", capacity: "1073741824" }])),
      ),
    );
    const res = await sync(sized("1Gi"), base.children, related);
    expect(JSON.stringify(res)).toBe(JSON.stringify(base.res));
  });
});

describe("volume expansion", { timeout: 60_000 }, () => {
  it("grants get/patch on exactly the smaller claims first, binds the Role once it is observed, then starts the resize Jobs", async () => {
    const { res, children, related } = await grownCluster(sized("1Gi"), sized("2Gi"));
    expect(resizeJobs(res)).toEqual([]);
    // First the ServiceAccount and the Role, no RoleBinding: the API server refuses a binding
    // created in the same sync as the Role it names.
    expect(
      claimObjects(res)
        .map((c) => c.kind)
        .sort(),
    ).toEqual(["Role", "ServiceAccount"]);
    const [sa, role] = ["ServiceAccount", "Role"].map((k) => claimObjects(res).find((c) => c.kind === k)!);
    expect(role!.rules).toEqual([
      { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["get", "patch"], resourceNames: DATA },
    ]);
    expect(sa!.metadata.labels["postgres.tusk.dev/cluster"]).toBe("hippo");
    expect(condition(res, VOLUMES_RESIZING)).toMatchObject({ status: "True", reason: "ResizeRequested" });

    // The Role observed: the RoleBinding, still no Job.
    const roleObserved = observe(res.children as Json[], children);
    const bound = await sync(sized("2Gi"), roleObserved, related);
    expect(resizeJobs(bound)).toEqual([]);
    const binding = claimObjects(bound).find((c) => c.kind === "RoleBinding")!;
    expect(binding).toBeDefined();
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "hippo-pvc" });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "hippo-pvc", namespace: "db" }]);
    expect(claimObjects(bound).find((c) => c.kind === "Role")).toEqual(role);
    expect(condition(bound, VOLUMES_RESIZING)).toMatchObject({ status: "True", reason: "ResizeRequested" });

    // The RoleBinding observed too: the Jobs.
    const observed = observe(bound.children as Json[], roleObserved);
    const next = await sync(sized("2Gi"), observed, related);
    const jobs = resizeJobs(next);
    expect(jobs).toHaveLength(2);
    expectValid(next.children as Json[]);
    for (const job of jobs) {
      const pod = job.spec.template.spec;
      expect(pod.serviceAccountName).toBe("hippo-pvc");
      expect(pod.automountServiceAccountToken).toBe(true);
      const env = Object.fromEntries(pod.containers[0].env.map((e: Json) => [e.name, e.value]));
      expect(env.METHOD).toBe("PATCH");
      expect(env.CONTENT_TYPE).toBe("application/merge-patch+json");
      expect(JSON.parse(env.BODY)).toEqual({ spec: { resources: { requests: { storage: "2Gi" } } } });
      expect(
        DATA.map((n) => `https://kubernetes.default.svc/api/v1/namespaces/db/persistentvolumeclaims/${n}`),
      ).toContain(env.URL);
    }
    expect(new Set(jobs.map((j) => j.metadata.name)).size).toBe(2);
    // The same request gives the same answer, and the output fed back changes no child.
    expect(JSON.stringify(await sync(sized("2Gi"), observed, related))).toBe(JSON.stringify(next));
    const again = observe(next.children as Json[], observed);
    const running = await sync(sized("2Gi"), again, related);
    expect(JSON.stringify(running.children)).toBe(JSON.stringify(next.children));
    // Running Jobs keep the cluster progressing and re-synced.
    expect(condition(running, "Progressing")).toMatchObject({ status: "True", reason: "JobRunning" });
    expect(condition(running, "Progressing")!.message).toContain("expanding pgdata-hippo-instance1-0-0 to 2Gi");
    expect(running.resyncAfterSeconds).toBeGreaterThan(0);
  });

  it("names each Job by claim and size: another size is another Job", async () => {
    const two = await grownCluster(sized("1Gi"), sized("2Gi"));
    const observed = await bindingObserved(sized("2Gi"), two.res, two.children, two.related);
    const names2 = resizeJobs(await sync(sized("2Gi"), observed, two.related)).map((j) => j.metadata.name);
    expect(names2).toHaveLength(2);
    const three = await sync(
      sized("3Gi"),
      observe((await sync(sized("3Gi"), observed, two.related)).children as Json[], observed),
      two.related,
    );
    const names3 = resizeJobs(three).map((j) => j.metadata.name);
    expect(names3).toHaveLength(2);
    expect(names3.filter((n) => names2.includes(n))).toEqual([]);
  });

  it("expands WAL claims too, and only the claims that are smaller", async () => {
    const { res, children, related } = await grownCluster(sized("1Gi", "1Gi"), sized("1Gi", "1536Mi"), {
      "pgwal-hippo-instance1-1-0": { requested: "1.5Gi" },
    });
    const role = claimObjects(res).find((c) => c.kind === "Role")!;
    expect(role.rules[0].resourceNames).toEqual(["pgwal-hippo-instance1-0-0"]);
    const observed = await bindingObserved(sized("1Gi", "1536Mi"), res, children, related);
    const next = await sync(sized("1Gi", "1536Mi"), observed, related);
    expect(resizeJobs(next)).toHaveLength(1);
    expect(resizeJobs(next)[0]!.spec.template.spec.containers[0].env.find((e: Json) => e.name === "URL").value).toMatch(
      /pgwal-hippo-instance1-0-0$/,
    );
  });

  it("one byte more is an expansion: quantities compare exactly", async () => {
    const { res } = await grownCluster(sized("1Gi"), sized("1073741825"));
    expect(claimObjects(res).find((c) => c.kind === "Role")!.rules[0].resourceNames).toEqual(DATA);
  });

  it("never shrinks: a smaller spec is ignored with a condition, and nothing is emitted for it", async () => {
    const base = await steadyState(sized("1Gi"));
    const related = withClaims(base.related, claimsOf(base.children, { [DATA[0]!]: { requested: "5Gi" } }));
    const res = await sync(sized("1Gi"), base.children, related);
    expect(claimObjects(res)).toEqual([]);
    expect(resizeJobs(res)).toEqual([]);
    const c = condition(res, VOLUMES_RESIZING)!;
    expect(c).toMatchObject({ status: "False", reason: "ShrinkIgnored" });
    expect(c.message).toContain(`${DATA[0]}: the spec asks for 1Gi, less than its 5Gi`);
  });

  it("waits for an unbound claim instead of patching it", async () => {
    const { res } = await grownCluster(sized("1Gi"), sized("2Gi"), {
      [DATA[0]!]: { phase: "Pending" },
      [DATA[1]!]: { phase: "Pending" },
    });
    expect(claimObjects(res)).toEqual([]);
    expect(condition(res, VOLUMES_RESIZING)).toMatchObject({ status: "True", reason: "WaitingForBinding" });
  });

  it("follows the claim after the patch: Resizing, FileSystemResizePending, then nothing", async () => {
    const steps: [ClaimState, string | undefined][] = [
      [{ requested: "2Gi", capacity: "1Gi", conditions: [{ type: "Resizing", status: "True" }] }, "Resizing"],
      [{ requested: "2Gi", capacity: "1Gi" }, "Resizing"],
      [
        { requested: "2Gi", capacity: "1Gi", conditions: [{ type: "FileSystemResizePending", status: "True" }] },
        "FileSystemResizePending",
      ],
      [
        {
          requested: "2Gi",
          conditions: [{ type: "ControllerResizeError", status: "True", message: "quota exceeded" }],
        },
        "ResizeFailed",
      ],
      [{ requested: "2Gi", capacity: "2Gi" }, undefined],
    ];
    const base = await steadyState(sized("1Gi"));
    for (const [state, reason] of steps) {
      const related = withClaims(
        base.related,
        claimsOf(base.children, Object.fromEntries(DATA.map((n) => [n, state]))),
      );
      const res = await sync(sized("2Gi"), base.children, related);
      expect(claimObjects(res), reason).toEqual([]);
      expect(resizeJobs(res)).toEqual([]);
      if (reason) expect(condition(res, VOLUMES_RESIZING), reason).toMatchObject({ status: "True", reason });
      else expect(condition(res, VOLUMES_RESIZING)).toBeUndefined();
    }
    const related = withClaims(
      base.related,
      claimsOf(base.children, Object.fromEntries(DATA.map((n) => [n, steps[3]![0]]))),
    );
    expect(condition(await sync(sized("2Gi"), base.children, related), VOLUMES_RESIZING)!.message).toContain(
      "quota exceeded",
    );
  });

  it("ignores claims of other clusters, other templates and other names", async () => {
    const base = await steadyState(sized("1Gi"));
    const claims = claimsOf(base.children);
    const mine = claims[DATA[0]!] as Json;
    const foreign = (name: string, labels: Record<string, string>) => ({
      ...mine,
      metadata: { ...mine.metadata, name, labels: { ...mine.metadata.labels, ...labels } },
    });
    const related = withClaims(base.related, {
      a: foreign("pgdata-hippo-instance1-0-0", { "postgres.tusk.dev/cluster": "other" }),
      b: foreign("repo1-hippo-repo-host-0", { "postgres.tusk.dev/data": "pgbackrest" }),
      c: foreign("pgdata-hippo-instance1-9-0", {}),
    });
    const res = await sync(sized("2Gi"), base.children, related);
    expect(claimObjects(res)).toEqual([]);
    expect(condition(res, VOLUMES_RESIZING)).toBeUndefined();
  });
});

describe("the resize Job against an API server (real sh and curl)", { timeout: 60_000 }, () => {
  let api: FakeClaimApi;
  beforeAll(async () => {
    api = await startFakeClaimApi();
  });
  afterAll(async () => api.stop());

  async function jobsFor(next: Json) {
    const grown = await grownCluster(sized("1Gi"), next);
    const observed = await bindingObserved(next, grown.res, grown.children, grown.related);
    const res = await sync(next, observed, grown.related);
    return { ...grown, observed, res };
  }

  it("patches the claim with the ServiceAccount token as a merge patch, and the next syncs settle", async () => {
    const { res, observed, claims, related } = await jobsFor(sized("2Gi"));
    for (const [name, claim] of Object.entries(claims)) api.claims.set(name, claim);
    api.requests.length = 0;
    for (const job of resizeJobs(res)) {
      const run = await runClaimJob(job, api);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    }
    expect(api.requests.map((r) => [r.method, r.path]).sort()).toEqual(
      DATA.map((n) => ["PATCH", `/api/v1/namespaces/db/persistentvolumeclaims/${n}`]),
    );
    for (const r of api.requests) {
      expect(r.authorization).toBe(`Bearer ${api.token}`);
      expect(r.contentType).toBe("application/merge-patch+json");
    }
    for (const n of DATA) expect(api.claims.get(n)!.spec.resources.requests.storage).toBe("2Gi");

    // The Jobs finished; the claims ask for 2Gi and the provider is growing them.
    const done = finishJobs(observe(res.children as Json[], observed));
    const patched = withClaims(
      related,
      Object.fromEntries(
        [...api.claims].map(([n, c]) => [n, { ...c, status: { ...c.status, capacity: { storage: "1Gi" } } }]),
      ),
    );
    const after = await sync(sized("2Gi"), done, patched);
    expect(resizeJobs(after)).toEqual([]);
    expect(claimObjects(after)).toEqual([]);
    expect(condition(after, VOLUMES_RESIZING)).toMatchObject({ reason: "Resizing" });
    const grown = withClaims(
      related,
      Object.fromEntries(
        [...api.claims].map(([n, c]) => [n, { ...c, status: { ...c.status, capacity: { storage: "2Gi" } } }]),
      ),
    );
    const settled = await sync(sized("2Gi"), observe(after.children as Json[], done), grown);
    expect(condition(settled, VOLUMES_RESIZING)).toBeUndefined();
    expect(byKind(settled, "Job").some((j) => j.metadata.name.startsWith("hippo-resize-"))).toBe(false);
  });

  it("a StorageClass without allowVolumeExpansion: the Job fails and the status carries the API's answer", async () => {
    const { res, observed, claims, related } = await jobsFor(sized("3Gi"));
    for (const [name, claim] of Object.entries(claims)) api.claims.set(name, claim);
    api.refuseExpansion = true;
    const job = resizeJobs(res)[0]!;
    const run = await runClaimJob(job, api);
    api.refuseExpansion = false;
    expect(run.code).toBe(1);
    const failed = finishJobs(observe(res.children as Json[], observed), "Failed");
    const withPod: ObjectMap = { ...related, "Pod.v1": { ...related["Pod.v1"], x: failedJobPod(job, run) } };
    const out = await sync(sized("3Gi"), failed, withPod);
    // The failed Jobs stay as they are (never re-run on their own) while the claims are smaller.
    expect(
      resizeJobs(out)
        .map((j) => j.metadata.name)
        .sort(),
    ).toEqual(
      resizeJobs(res)
        .map((j) => j.metadata.name)
        .sort(),
    );
    expect(resizeJobs(out).every((j) => j.status === undefined)).toBe(true);
    const c = condition(out, VOLUMES_RESIZING)!;
    expect(c).toMatchObject({ status: "True", reason: "ResizeFailed" });
    expect(c.message).toContain(
      "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
    );
    expect(c.message).toContain("allowVolumeExpansion");
    expect(condition(out, "Degraded")).toMatchObject({ status: "True", reason: "JobFailed" });
  });
});
