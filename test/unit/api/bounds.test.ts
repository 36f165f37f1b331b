/**
 * Bounds on what one manifest can make the operator do: counts have a maximum, and a value
 * passed through untouched cannot nest without end. Admission refuses both naming the field,
 * and the sync hook, which parses with the same schema, reports them instead of crashing.
 */
import { describe, expect, it } from "vitest";
import { jsonDepth, MAX_OPAQUE_DEPTH } from "../../../shared/api/kube.ts";
import { MAX_SET_REPLICAS } from "../../../shared/api/postgres-cluster.ts";
import { cluster, fields, validate, volume } from "../admission/fixtures.ts";
import { cluster as parent, sync } from "../cluster/fixtures.ts";

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe("bounds of the PostgresCluster API", () => {
  it("measures depth without recursion, even far past the limit", () => {
    expect(jsonDepth({ a: { b: [1, { c: 2 }] } })).toBe(4);
    expect(jsonDepth("text")).toBe(0);
    expect(jsonDepth(nested(100_000))).toBe(MAX_OPAQUE_DEPTH + 1);
  });

  it("admission refuses more replicas than the bound, naming the field", () => {
    const spec = { instances: [{ name: "a", replicas: MAX_SET_REPLICAS + 1, dataVolumeClaimSpec: volume("1Gi") }] };
    const response = validate({ object: cluster(spec) });
    expect(response.allowed).toBe(false);
    expect(fields(response)).toContain("spec.instances[0].replicas");
    const ok = { instances: [{ name: "a", replicas: MAX_SET_REPLICAS, dataVolumeClaimSpec: volume("1Gi") }] };
    expect(validate({ object: cluster(ok) }).allowed).toBe(true);
  });

  it("admission refuses a dynamicConfiguration nested a thousand levels deep", () => {
    const response = validate({ object: cluster({ patroni: { dynamicConfiguration: nested(1000) } }) });
    expect(response.allowed).toBe(false);
    expect(fields(response)).toContain("spec.patroni.dynamicConfiguration");
  });

  it("the sync hook answers such a spec as invalid, naming the field, instead of throwing", async () => {
    const res = await sync(parent({ patroni: { dynamicConfiguration: nested(1000) } }));
    expect(res.status.phase).toBe("Invalid");
    const valid = (res.status.conditions as { type: string; message: string }[]).find((c) => c.type === "Valid")!;
    expect(valid.message).toContain("spec.patroni.dynamicConfiguration");
  });
});
