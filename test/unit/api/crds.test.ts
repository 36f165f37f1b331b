import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crdFiles } from "../../../shared/api/crd-files.ts";
import { crds } from "../../../shared/api/crds.ts";

const root = join(import.meta.dirname, "..", "..", "..");

describe("generated CRDs", () => {
  it("match what `npm run gen` writes", () => {
    for (const [name, text] of Object.entries(crdFiles())) {
      const committed = readFileSync(join(root, "manifests", "crds", name), "utf8");
      expect(committed, `manifests/crds/${name} is stale: run npm run gen`).toBe(text);
    }
  });

  it("are structural: no $ref, definitions, null types, uniqueItems, or additionalProperties beside properties", () => {
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
      if (node === null || typeof node !== "object") return;
      const o = node as Record<string, unknown>;
      expect(o, path).not.toHaveProperty("$ref");
      expect(o, path).not.toHaveProperty("definitions");
      expect(o, path).not.toHaveProperty("$defs");
      expect(o, path).not.toHaveProperty("uniqueItems");
      expect(o.type, path).not.toBe("null");
      if (o.properties) expect(o, path).not.toHaveProperty("additionalProperties");
      for (const key of ["anyOf", "oneOf", "allOf"]) {
        for (const branch of (o[key] as Record<string, unknown>[] | undefined) ?? []) {
          expect(branch, `${path}.${key}: types inside ${key} are not structural`).not.toHaveProperty("type");
        }
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${path}.${k}`);
    };
    for (const crd of crds()) walk(crd, (crd.metadata as { name: string }).name);
  });

  it("declare the group, kinds, short names and the status subresource", () => {
    const byKind = Object.fromEntries(
      crds().map((c) => [(c.spec as { names: { kind: string } }).names.kind, c.spec as Record<string, any>]),
    );
    expect(Object.keys(byKind).sort()).toEqual(["PostgresBackup", "PostgresCluster", "PostgresRestore"]);
    expect(byKind.PostgresCluster!.names.shortNames).toEqual(["pgc", "pgcluster"]);
    expect(byKind.PostgresBackup!.names.shortNames).toEqual(["pgbackup"]);
    expect(byKind.PostgresRestore!.names.shortNames).toEqual(["pgrestore"]);
    for (const spec of Object.values(byKind)) {
      expect(spec.group).toBe("postgres.tusk.dev");
      expect(spec.scope).toBe("Namespaced");
      expect(spec.versions[0].name).toBe("v1");
      expect(spec.versions[0].subresources).toEqual({ status: {} });
      expect(spec.versions[0].additionalPrinterColumns.length).toBeGreaterThan(2);
    }
  });
});
