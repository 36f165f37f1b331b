import { describe, expect, it } from "vitest";
import { clone, compatClusters, validate } from "./fixtures.ts";

const docs = compatClusters();

describe("the PGO-compatibility fixtures (PGO v5 and Percona-style manifests)", () => {
  it("are all found", () => {
    expect(docs.length).toBeGreaterThanOrEqual(9);
  });

  it.each(docs.map((d) => [d.file, d.object] as const))("%s is allowed on CREATE", (_file, object) => {
    const response = validate({ object: clone(object) });
    expect(response.status?.message).toBeUndefined();
    expect(response.allowed).toBe(true);
  });

  it.each(docs.map((d) => [d.file, d.object] as const))(
    "%s is allowed on a dry-run CREATE and on UPDATE",
    (_file, object) => {
      expect(validate({ object: clone(object), dryRun: true }).allowed).toBe(true);
      const grown = clone(object);
      grown.metadata.labels = { env: "prod" };
      for (const set of grown.spec.instances) set.dataVolumeClaimSpec.resources.requests.storage = "2Gi";
      const response = validate({ operation: "UPDATE", object: grown, oldObject: clone(object) });
      expect(response.status?.message).toBeUndefined();
      expect(response.allowed).toBe(true);
    },
  );

  it("warns about the Percona-only fields instead of refusing them", () => {
    const percona = docs.find((d) => d.file === "percona-large.yaml")!;
    expect(validate({ object: clone(percona.object) }).warnings).toEqual([
      "spec.crVersion: unknown field, dropped by Kubernetes",
      "spec.autoCreateUserSchema: unknown field, dropped by Kubernetes",
      "spec.users[0].secretName: unknown field, dropped by Kubernetes",
      "spec.pmm: unknown field, dropped by Kubernetes",
      "spec.extensions: unknown field, dropped by Kubernetes",
    ]);
  });
});
