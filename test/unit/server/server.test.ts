import { describe, expect, it } from "vitest";
import { createServer, FUNCTIONS, parseFunctionList, serverOptionsFromEnv } from "../../../functions/server.ts";
import { POST_ROUTES } from "../../contract/lib/fixtures.ts";
import { samples } from "../../contract/lib/http.ts";

const quiet = { log: () => {} };
const NAMES = ["cluster", "backup", "restore", "admission", "scheduler"];

describe("parseFunctionList", () => {
  it("means every function when unset or empty", () => {
    expect(parseFunctionList(undefined)).toEqual([]);
    expect(parseFunctionList("")).toEqual([]);
    expect(parseFunctionList(" , ,")).toEqual([]);
  });

  it("reads a comma-separated list, ignoring spaces and empty items", () => {
    expect(parseFunctionList("cluster")).toEqual(["cluster"]);
    expect(parseFunctionList(" cluster , admission ")).toEqual(["cluster", "admission"]);
    expect(parseFunctionList(",backup,,restore,")).toEqual(["backup", "restore"]);
  });

  it("refuses unknown names, naming them and the known ones", () => {
    expect(() => parseFunctionList("cluster,clutser")).toThrow(
      "FUNCTIONS names unknown function(s): clutser; known: cluster, backup, restore, admission, scheduler",
    );
    expect(() => parseFunctionList("Cluster")).toThrow(/unknown function\(s\): Cluster;/);
    expect(() => parseFunctionList("a,b")).toThrow(/unknown function\(s\): a, b;/);
    // Inherited object keys are not functions.
    expect(() => parseFunctionList("toString")).toThrow(/unknown/);
    expect(() => parseFunctionList("__proto__")).toThrow(/unknown/);
  });

  it("knows exactly the five functions", () => {
    expect(Object.keys(FUNCTIONS).sort()).toEqual([...NAMES].sort());
  });
});

describe("createServer", () => {
  it("answers health and readiness, naming the functions it serves", async () => {
    const app = createServer(quiet);
    const health = await app.request("/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", functions: NAMES });
  });

  it("mounts every function's routes", async () => {
    const app = createServer(quiet);
    for (const route of POST_ROUTES) {
      const { body, headers } = route.request("x");
      const res = await app.request(route.path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", ...headers },
      });
      expect(res.status, route.path).not.toBe(404);
    }
  });

  it("mounts only the chosen functions", async () => {
    const app = createServer({ ...quiet, functions: ["cluster"] });
    expect(await (await app.request("/readyz")).json()).toEqual({ status: "ready", functions: ["cluster"] });
    for (const route of POST_ROUTES) {
      const res = await app.request(route.path, { method: "POST", body: "{}" });
      if (route.path.startsWith("/cluster/")) expect(res.status, route.path).not.toBe(404);
      else expect(res.status, route.path).toBe(404);
    }
  });

  it("mounts extra routes (benchmarks, tests) with the shared middleware", async () => {
    const lines: string[] = [];
    const app = createServer({
      log: (l) => lines.push(l),
      extra: (a) => a.post("/bench/echo", async (c) => c.json(await c.req.json())),
    });
    const res = await app.request("/bench/echo", { method: "POST", body: '{"a":1}' });
    expect(await res.json()).toEqual({ a: 1 });
    expect(lines.map((l) => JSON.parse(l))).toContainEqual(
      expect.objectContaining({ msg: "request", method: "POST", path: "/bench/echo", status: 200 }),
    );
    const metrics = samples(await (await app.request("/metrics")).text());
    expect(metrics.get('tusk_http_requests_total{route="/bench/echo",method="POST",status="200"}')).toBe(1);
  });

  it("serves Prometheus text on /metrics, counting earlier requests", async () => {
    const app = createServer(quiet);
    await app.request("/healthz");
    await app.request("/healthz");
    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = samples(await res.text());
    expect(metrics.get('tusk_http_requests_total{route="/healthz",method="GET",status="200"}')).toBe(2);
  });

  it("keeps separate metrics per server", async () => {
    const one = createServer(quiet);
    const two = createServer(quiet);
    await one.request("/healthz");
    const metrics = samples(await (await two.request("/metrics")).text());
    expect(metrics.has('tusk_http_requests_total{route="/healthz",method="GET",status="200"}')).toBe(false);
  });
});

describe("serverOptionsFromEnv", () => {
  it("takes each function's settings from the environment the entry read", async () => {
    const options = serverOptionsFromEnv({
      FUNCTIONS: "cluster,scheduler",
      TUSK_BACKUP_SCHEDULER: "knative",
      SCHEDULED_BACKUPS_KEEP: "3",
    });
    expect(options.functions).toEqual(["cluster", "scheduler"]);
    expect(options.cluster).toEqual({ backupScheduler: "knative" });
    expect(options.scheduler?.keep).toBe(3);
    // Neither KUBECONFIG nor a service account: the scheduler says so instead of guessing.
    expect(await options.scheduler?.store?.()).toMatchObject({ ok: false, reason: /no Kubernetes API configured/ });
  });

  it("defaults everything when the environment sets nothing", () => {
    const options = serverOptionsFromEnv({});
    expect(options.functions).toEqual([]);
    expect(options.cluster).toEqual({});
    expect(options.scheduler?.keep).toBe(10);
  });

  it("refuses an unknown function name, as the entries do at start", () => {
    expect(() => serverOptionsFromEnv({ FUNCTIONS: "clutser" })).toThrow(/unknown function\(s\): clutser;/);
  });
});
