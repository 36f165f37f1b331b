/**
 * The CompositeControllers against the CRDs, the Services they call and the hooks themselves:
 * the child kinds each controller lists are derived from what the hooks actually return for the
 * examples in manifests/examples/, so a new child kind cannot be forgotten.
 */
import { describe, expect, it } from "vitest";
import { FUNCTIONS } from "../../../functions/server.ts";
import {
  BUILDS,
  type BuildName,
  built,
  containerEnv,
  findOne,
  ofKind,
  podTemplate,
  servedFunctions,
} from "./builds.ts";
import {
  type ChildRule,
  CONTROLLER_OF,
  type HookFunction,
  hookEnv,
  KIND_OF_RESOURCE,
  post,
  runHooks,
} from "./hooks.ts";
import type { KubeDoc } from "./kustomize.ts";

const FNS = Object.keys(CONTROLLER_OF) as HookFunction[];
const INSTALLS = Object.keys(BUILDS) as BuildName[];
/** Child kinds whose CRDs may be absent: Metacontroller refuses a controller listing an undiscoverable resource. */
const OPTIONAL_GROUPS = ["sources.knative.dev", "monitoring.coreos.com"];
const ALL_FUNCTIONS = Object.keys(FUNCTIONS);

/**
 * Child kinds a controller lists before its hook returns them, each with the work that will.
 * The test below fails both when one of these starts being returned (remove it here) and when
 * a listed kind is returned by nothing and is not here (remove it from the controller).
 */
const NOT_YET_RETURNED: Record<HookFunction, Record<string, string>> = {
  cluster: {},
  backup: {},
  restore: {},
};

/** Child kinds the first syncs of the examples never return, each with the day-two work that does (and its test). */
const RETURNED_ON_DAY_TWO: Record<HookFunction, Record<string, string>> = {
  cluster: {
    "Role rbac.authorization.k8s.io/v1":
      "the per-claim Role of volume expansion and PVC cleanup (volumes/claim-access.ts; volume-expansion.test.ts, pvc-cleanup.test.ts)",
  },
  backup: {},
  restore: {},
};

const controller = (build: BuildName, fn: HookFunction) =>
  findOne(built(build), "CompositeController", CONTROLLER_OF[fn].name);
const rules = (cc: KubeDoc) => cc.spec.childResources as ChildRule[];
const ruleKey = (r: { apiVersion: string; resource: string }) => `${r.resource}.${r.apiVersion}`;

/** Go's time.ParseDuration for the units a hook timeout uses. */
function seconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as "ms" | "s" | "m"];
}

/** The workload serving a hook URL, found the way cluster DNS and the Service would route it. */
function workloadFor(docs: KubeDoc[], url: string): { workload: KubeDoc; path: string } {
  const u = new URL(url);
  const [name, namespace] = u.hostname.split(".");
  const knative = docs.find(
    (d) => d.apiVersion === "serving.knative.dev/v1" && d.kind === "Service" && d.metadata.name === name,
  );
  if (knative) {
    expect(knative.metadata.namespace).toBe(namespace);
    expect(u.hostname, "Knative's cluster-local address").toBe(`${name}.${namespace}.svc.cluster.local`);
    expect(knative.metadata.labels?.["networking.knative.dev/visibility"]).toBe("cluster-local");
    return { workload: knative, path: u.pathname };
  }
  const service = findOne(docs, "Service", name!, "v1");
  expect(service.metadata.namespace).toBe(namespace);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  const servicePort = service.spec.ports.find((p: any) => p.port === port);
  expect(servicePort, `${url}: Service ${name} has port ${port}`).toBeDefined();
  const workloads = ofKind(docs, "Deployment").filter((d) =>
    Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels?.[k] === v),
  );
  expect(workloads.length, `${url}: one Deployment behind Service ${name}`).toBe(1);
  const workload = workloads[0]!;
  const container = podTemplate(workload)!.spec.containers[0];
  const containerPort = container.ports.find(
    (p: any) => p.name === servicePort.targetPort || p.containerPort === servicePort.targetPort,
  );
  expect(containerPort, `${url}: target port ${servicePort.targetPort} exists`).toBeDefined();
  // Plain HTTP is served on PORT; HTTPS (TLS_PORT) is for the admission webhook.
  expect(String(containerPort.containerPort)).toBe(containerEnv(workload).PORT ?? "8080");
  return { workload, path: u.pathname };
}

describe.each(INSTALLS)("CompositeControllers in %s", (build) => {
  const docs = built(build);

  it("one per parent kind, each on a Tusk CRD with the status subresource, generateSelector on", () => {
    const ccs = ofKind(docs, "CompositeController", "metacontroller.k8s.io/v1alpha1");
    expect(ccs.map((c) => c.metadata.name).sort()).toEqual(FNS.map((f) => CONTROLLER_OF[f].name).sort());
    for (const fn of FNS) {
      const cc = controller(build, fn);
      expect(cc.metadata.namespace, "cluster-scoped").toBeUndefined();
      expect(cc.spec.generateSelector).toBe(true);
      const { apiVersion, resource } = cc.spec.parentResource;
      const crd = findOne(docs, "CustomResourceDefinition", `${resource}.${apiVersion.split("/")[0]}`);
      expect(crd.spec.names.kind).toBe(CONTROLLER_OF[fn].parentKind);
      const version = crd.spec.versions.find((v: any) => `${crd.spec.group}/${v.name}` === apiVersion);
      expect(version?.served).toBe(true);
      expect(version?.subresources?.status, "Metacontroller ignores a parent without /status").toEqual({});
    }
  });

  it("update strategies: Jobs are never updated in place, everything else is", () => {
    for (const fn of FNS) {
      for (const rule of rules(controller(build, fn))) {
        expect(KIND_OF_RESOURCE[rule.resource], `${rule.resource} is a known kind`).toBeDefined();
        expect(rule.updateStrategy?.method, `${fn}: ${ruleKey(rule)}`).toBe(
          rule.resource === "jobs" ? "OnDelete" : "InPlace",
        );
      }
      const keys = rules(controller(build, fn)).map(ruleKey);
      expect(new Set(keys).size, `${fn}: no resource listed twice`).toBe(keys.length);
    }
  });

  it("optional CRDs are listed only where an overlay installs them", () => {
    const optional = rules(controller(build, "cluster")).filter((r) =>
      OPTIONAL_GROUPS.includes(r.apiVersion.split("/")[0]!),
    );
    const expected = [
      ...(build.startsWith("knative") ? ["pingsources.sources.knative.dev/v1"] : []),
      ...(build.includes("prometheus-operator") ? ["podmonitors.monitoring.coreos.com/v1"] : []),
    ];
    expect(optional.map(ruleKey)).toEqual(expected);
  });

  it("every hook URL reaches a workload serving that function, with a timeout shorter than the workload's", () => {
    for (const fn of FNS) {
      const hooks = controller(build, fn).spec.hooks;
      expect(Object.keys(hooks).sort(), fn).toEqual(["customize", "finalize", "sync"]);
      for (const [hookName, hook] of Object.entries<any>(hooks)) {
        const { workload, path } = workloadFor(docs, hook.webhook.url);
        expect(path, `${fn} ${hookName}`).toBe(`/${fn}/${hookName}`);
        expect(servedFunctions(workload, ALL_FUNCTIONS), `${workload.metadata.name} serves ${fn}`).toContain(fn);
        const timeout = seconds(hook.webhook.timeout);
        expect(timeout).toBeGreaterThan(0);
        // Knative cuts a request at the revision's timeoutSeconds; it must never cut a hook first.
        if (workload.apiVersion === "serving.knative.dev/v1")
          expect(timeout).toBeLessThanOrEqual(workload.spec.template.spec.timeoutSeconds);
      }
    }
  });

  it("resync keeps a 500-cluster fleet under 2 background syncs per second per controller", () => {
    for (const fn of FNS) {
      const period = controller(build, fn).spec.resyncPeriodSeconds;
      expect(Number.isInteger(period) && period > 0, fn).toBe(true);
      expect(500 / period, fn).toBeLessThanOrEqual(2);
    }
  });
});

describe.each(FNS)("child resources derived from the %s hook", (fn) => {
  it(`${fn} hook: every child it returns is listed at its apiVersion`, async () => {
    for (const build of INSTALLS) {
      const cc = controller(build, fn);
      const listed = new Set(rules(cc).map((r) => `${KIND_OF_RESOURCE[r.resource]} ${r.apiVersion}`));
      const run = await runHooks(cc, fn, hookEnv(built(build), cc));
      expect(run.errors, build).toEqual([]);
      expect(run.children.length, `${build}: the examples produce children`).toBeGreaterThan(0);
      const unlisted = run.children
        .filter(({ child }) => !listed.has(`${child.kind} ${child.apiVersion}`))
        .map(
          ({ example, child }) => `${build}: ${example} -> ${child.kind} ${child.apiVersion} ${child.metadata?.name}`,
        );
      expect(unlisted).toEqual([]);
    }
  });

  it(`${fn} hook: every listed child kind is returned for some example`, async () => {
    const returned = new Set<string>();
    const listed = new Set<string>();
    for (const build of INSTALLS) {
      const cc = controller(build, fn);
      const run = await runHooks(cc, fn, hookEnv(built(build), cc));
      expect(run.errors, build).toEqual([]);
      for (const { child } of run.children) returned.add(`${child.kind} ${child.apiVersion}`);
      for (const r of rules(cc)) listed.add(`${KIND_OF_RESOURCE[r.resource]} ${r.apiVersion}`);
    }
    const neverReturned = [...listed].filter((k) => !returned.has(k)).sort();
    // Listed ahead of the hook work that returns them; an entry must go as soon as it is returned.
    expect(neverReturned).toEqual(
      [...Object.keys(NOT_YET_RETURNED[fn]), ...Object.keys(RETURNED_ON_DAY_TWO[fn])].sort(),
    );
  });

  it(`${fn} hook: every hook a controller calls is a route`, async () => {
    for (const hook of Object.keys(controller("manifests", fn).spec.hooks)) {
      const res = await post(`/${fn}/${hook}`, {});
      expect(res.status, `/${fn}/${hook}`).not.toBe(404);
      expect(res.status, `/${fn}/${hook}`).not.toBe(501);
    }
  });
});

describe("scheduled backups with Knative", () => {
  const pingSourcesPending = "PingSource sources.knative.dev/v1" in NOT_YET_RETURNED.cluster;
  it.skipIf(pingSourcesPending)(
    "every PingSource the cluster hook returns delivers to the scheduler's Knative Service at /scheduler/ping (skipped until the hook returns PingSources)",
    async () => {
      const docs = built("knative");
      const cc = controller("knative", "cluster");
      const run = await runHooks(cc, "cluster", hookEnv(docs, cc));
      const pings = run.children.filter(({ child }) => child.kind === "PingSource");
      expect(pings.length).toBeGreaterThan(0);
      for (const { example, child } of pings) {
        const sink = child.spec.sink;
        let url: string;
        if (sink.ref) {
          expect(sink.ref.apiVersion, example).toBe("serving.knative.dev/v1");
          expect(sink.ref.kind, example).toBe("Service");
          const ns = sink.ref.namespace ?? child.metadata.namespace;
          url = new URL(sink.uri ?? "/", `http://${sink.ref.name}.${ns}.svc.cluster.local`).toString();
        } else url = sink.uri;
        const { workload, path } = workloadFor(docs, url);
        expect(path, example).toBe("/scheduler/ping");
        expect(servedFunctions(workload, ALL_FUNCTIONS), example).toContain("scheduler");
      }
    },
  );
});
