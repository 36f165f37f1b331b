/**
 * One test per Metacontroller pitfall in docs/metacontroller-contract.md §2 that concerns the
 * cluster hook, plus the contract's shape rules (§1.2, §1.3).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createClusterApp } from "../../../functions/cluster/app.ts";
import { KINDS } from "../../../functions/cluster/objects/kinds.ts";
import { cluster, decode, type Json, observe, steadyState, sync } from "./fixtures.ts";
import { SCENARIOS } from "./scenarios.ts";

const app = createClusterApp();

const controller = parse(
  readFileSync(join(import.meta.dirname, "..", "..", "..", "manifests", "controllers", "postgrescluster.yaml"), "utf8"),
);

describe("Metacontroller pitfalls (docs/metacontroller-contract.md §2)", { timeout: 60_000 }, () => {
  it("§2.6: Secret payloads are in data (base64), never stringData", async () => {
    for (const parent of Object.values(SCENARIOS)) {
      const { res } = await steadyState(parent);
      const secrets = (res.children as Json[]).filter((c) => c.kind === "Secret");
      expect(secrets.length).toBeGreaterThan(0);
      for (const s of secrets) {
        expect(s.stringData, s.metadata.name).toBeUndefined();
        for (const v of Object.values(s.data)) expect(v).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
      }
    }
  });

  it("§2.1: never emits a controller-uid label, not even one the user put in spec.metadata", async () => {
    const parent = cluster({ metadata: { labels: { "controller-uid": "spoofed", team: "a" } } });
    const { res } = await steadyState(parent);
    for (const c of res.children as Json[]) {
      expect(c.metadata.labels["controller-uid"], `${c.kind} ${c.metadata.name}`).toBeUndefined();
      expect(c.metadata.labels.team).toBe("a");
      const template = c.spec?.template?.metadata?.labels ?? {};
      expect(template["controller-uid"]).toBeUndefined();
    }
  });

  it("§2.2: returns only kinds the CompositeController declares, at the declared apiVersion", async () => {
    const declared = new Set(
      (controller.spec.childResources as { apiVersion: string; resource: string }[]).map(
        (r) => `${r.apiVersion} ${r.resource}`,
      ),
    );
    const resources = new Map(Object.values(KINDS).map((k) => [k.kind, `${k.apiVersion} ${k.resource}`]));
    for (const k of Object.values(KINDS)) expect(declared, `${k.kind}`).toContain(`${k.apiVersion} ${k.resource}`);
    for (const parent of Object.values(SCENARIOS)) {
      const { res } = await steadyState(parent);
      for (const c of res.children as Json[]) expect(declared).toContain(resources.get(c.kind));
    }
  });

  it("§2.4: status comes from observed objects only (no clock, no counter): same input, same status", async () => {
    const { res, children, related } = await steadyState(cluster());
    const again = await sync(cluster(), children, related, 99);
    expect(again.status).toEqual(res.status);
    expect(JSON.stringify(res.status)).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
    expect(res.status.observedGeneration).toBeUndefined();
    expect(res.status.phase).toBe("Running");
  });

  it("§2.5: an invalid parent gets HTTP 200, a condition naming the fields, and its children back unchanged", async () => {
    const { children, related } = await steadyState(cluster());
    const broken = cluster({ instances: [{ name: "Bad_Name", replicas: 0, dataVolumeClaimSpec: {} }], port: 80 });
    const response = await app.request("/sync", {
      method: "POST",
      body: JSON.stringify({ parent: broken, children, related }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: Json; children: Json[] };
    expect(body.status.phase).toBe("Invalid");
    const valid = body.status.conditions.find((c: Json) => c.type === "Valid");
    expect(valid.status).toBe("False");
    expect(valid.message).toContain("spec.instances[0].name");
    expect(valid.message).toContain("spec.instances[0].replicas");
    expect(valid.message).toContain("spec.port");
    // Every observed child is still desired, with the same content.
    const observedNames = Object.values(children)
      .flatMap((g) => Object.keys(g))
      .sort();
    expect(body.children.map((c) => c.metadata.name).sort()).toEqual(observedNames);
    for (const c of body.children) {
      const original = children[`${c.kind}.${c.apiVersion}`]![c.metadata.name] as Json;
      expect(c.spec ?? c.data ?? c.rules).toEqual(original.spec ?? original.data ?? original.rules);
    }
  });

  it("§2.5: an invalid parent never makes the hook answer 500, even without children", async () => {
    const conflicting = { ...cluster().spec, port: 8008, patroni: { port: 8008 } };
    for (const spec of [undefined, null, 42, "x", {}, { postgresVersion: 99, instances: [] }, conflicting]) {
      const response = await app.request("/sync", {
        method: "POST",
        body: JSON.stringify({ parent: { ...cluster(), spec } }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { status: Json; children: Json[] };
      expect(body.status.phase).toBe("Invalid");
      expect(body.children).toEqual([]);
    }
  });

  it("§2.5: an invalid parent's returned children drop Metacontroller's bookkeeping", async () => {
    const observed = observe([
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "hippo-config",
          namespace: "db",
          uid: "abc",
          resourceVersion: "12",
          labels: { "controller-uid": "0f5e", a: "b" },
          annotations: { "metacontroller.k8s.io/last-applied-configuration": "{}", keep: "me" },
          ownerReferences: [{ apiVersion: "postgres.tusk.dev/v1", kind: "PostgresCluster", name: "hippo", uid: "u" }],
        },
        data: { x: "y" },
      },
    ]);
    const res = await sync(cluster({ port: 1 }), observed);
    expect(res.children).toEqual([
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "hippo-config", namespace: "db", labels: { a: "b" }, annotations: { keep: "me" } },
        data: { x: "y" },
      },
    ]);
  });

  it("§1.2/§1.3: reads children keyed Kind.apiVersion with bare names, answers a flat list", async () => {
    const first = await sync(cluster());
    const internal = (first.children as Json[]).find((c) => c.metadata.name === "hippo-internal")!;
    const password = decode(internal)["superuser-password"];
    // Keyed the v1 way: "Secret.v1" and the bare name. The password is read back, not regenerated.
    const res = await sync(cluster(), { "Secret.v1": { "hippo-internal": internal } }, {}, 7);
    const again = (res.children as Json[]).find((c) => c.metadata.name === "hippo-internal")!;
    expect(decode(again)["superuser-password"]).toBe(password);
    // A namespace-qualified key (hook version v2) is not what Tusk is configured for: not found.
    const v2 = await sync(cluster(), { "Secret.v1": { "db/hippo-internal": internal } }, {}, 7);
    const regenerated = (v2.children as Json[]).find((c) => c.metadata.name === "hippo-internal")!;
    expect(decode(regenerated)["superuser-password"]).not.toBe(password);
    expect(Array.isArray(res.children)).toBe(true);
    for (const c of res.children as Json[]) {
      expect(typeof c.apiVersion).toBe("string");
      expect(typeof c.kind).toBe("string");
      expect(typeof c.metadata.name).toBe("string");
    }
  });

  it("§2.3: deterministic: a repeat call and a call with its own children fed back are byte-identical", async () => {
    for (const parent of Object.values(SCENARIOS)) {
      const first = await sync(parent);
      const fedBack = observe(first.children as Json[]);
      const second = await sync(parent, fedBack, {}, 2);
      const third = await sync(parent, fedBack, {}, 3);
      expect(JSON.stringify(second)).toBe(JSON.stringify(third));
      expect(JSON.stringify(second.children)).toBe(JSON.stringify(first.children));
      const { res, children, related } = await steadyState(parent);
      const again = await sync(parent, children, related, 4);
      expect(JSON.stringify(again)).toBe(JSON.stringify(res));
    }
  });
});
