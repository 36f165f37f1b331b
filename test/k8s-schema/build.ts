/**
 * @module Expands the transcribed Kubernetes OpenAPI definitions in `src/*.json` into
 * `kubernetes.json`, an OpenAPI v3 `components.schemas` document the validator loads.
 *
 * The transcriptions are the official definitions (kubernetes/kubernetes api/openapi-spec/v3,
 * see README.md) with `description`, `default` and the merge/list-type extensions dropped and a
 * short notation so that every field could be copied by hand from the pages read:
 * `s` string, `b` boolean, `i32`/`i64` integer with that format, `f64` double, `@group.Name` a
 * `$ref`, `[T]` an array of T, `{T}` a map of T; `r` lists required fields, `gvk` the
 * x-kubernetes-group-version-kind, `raw` a schema copied as is.
 *
 * It also converts each pruned official CRD in `crds-src/*.yaml` to `crds/*.json`, dropping any
 * `description` left in a schema.
 *
 * Run: `npx tsx test/k8s-schema/build.ts` (writes kubernetes.json and crds/; commit them).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";

const dir = new URL("./", import.meta.url);

const prefixes: Record<string, string> = {
  core: "io.k8s.api.core.v1.",
  apps: "io.k8s.api.apps.v1.",
  batch: "io.k8s.api.batch.v1.",
  policy: "io.k8s.api.policy.v1.",
  rbac: "io.k8s.api.rbac.v1.",
  admreg: "io.k8s.api.admissionregistration.v1.",
  apiext: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.",
  meta: "io.k8s.apimachinery.pkg.apis.meta.v1.",
  resource: "io.k8s.apimachinery.pkg.api.resource.",
  intstr: "io.k8s.apimachinery.pkg.util.intstr.",
  runtime: "io.k8s.apimachinery.pkg.runtime.",
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function fullName(short: string): string {
  const dot = short.indexOf(".");
  const prefix = prefixes[short.slice(0, dot)];
  if (prefix === undefined) throw new Error(`unknown prefix in ${short}`);
  return prefix + short.slice(dot + 1);
}

export function expandType(t: Json): Json {
  if (typeof t !== "string") return t;
  if (t === "s") return { type: "string" };
  if (t === "b") return { type: "boolean" };
  if (t === "i32") return { type: "integer", format: "int32" };
  if (t === "i64") return { type: "integer", format: "int64" };
  if (t === "f64") return { type: "number", format: "double" };
  if (t.startsWith("@")) return { $ref: `#/components/schemas/${fullName(t.slice(1))}` };
  if (t.startsWith("[") && t.endsWith("]")) return { type: "array", items: expandType(t.slice(1, -1)) };
  if (t.startsWith("{") && t.endsWith("}")) return { type: "object", additionalProperties: expandType(t.slice(1, -1)) };
  throw new Error(`unknown shorthand ${t}`);
}

interface Def {
  p?: Record<string, Json>;
  r?: string[];
  gvk?: [string, string, string];
  raw?: Json;
}

export function expandDef(def: Def): Json {
  if (def.raw !== undefined) return def.raw;
  const out: Record<string, Json> = {};
  out.properties = Object.fromEntries(Object.entries(def.p ?? {}).map(([k, v]) => [k, expandType(v)]));
  if (def.r) out.required = def.r;
  out.type = "object";
  if (def.gvk) out["x-kubernetes-group-version-kind"] = [{ group: def.gvk[0], kind: def.gvk[2], version: def.gvk[1] }];
  return out;
}

function build(): void {
  const schemas: Record<string, Json> = {};
  const files = readdirSync(new URL("src/", dir))
    .filter((f) => f.endsWith(".json"))
    .sort();
  for (const file of files) {
    const defs = JSON.parse(readFileSync(new URL(`src/${file}`, dir), "utf8")) as Record<string, Def>;
    for (const [short, def] of Object.entries(defs)) {
      const name = fullName(short);
      const expanded = expandDef(def);
      const prev = schemas[name];
      if (prev !== undefined && JSON.stringify(prev) !== JSON.stringify(expanded)) {
        throw new Error(`${name} transcribed twice with different content (${file})`);
      }
      schemas[name] = expanded;
    }
  }
  const missing = new Set<string>();
  const visit = (node: Json): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if (k === "$ref" && typeof v === "string") {
          const target = v.replace("#/components/schemas/", "");
          if (!(target in schemas)) missing.add(target);
        } else visit(v);
      }
    }
  };
  visit(schemas);
  if (missing.size > 0) console.warn(`unresolved $refs: ${[...missing].sort().join(", ")}`);
  const sorted = Object.fromEntries(Object.keys(schemas).sort().map((k) => [k, schemas[k] as Json]));
  const doc = {
    components: { schemas: sorted },
    info: {
      title: "Kubernetes (pruned to the kinds Tusk emits)",
      version: "kubernetes/kubernetes api/openapi-spec/v3, see test/k8s-schema/README.md",
    },
    openapi: "3.0.0",
  };
  writeFileSync(new URL("kubernetes.json", dir), `${JSON.stringify(doc, null, 1)}\n`);
  console.log(`kubernetes.json: ${Object.keys(sorted).length} definitions`);
}

function stripDescriptions(node: Json): Json {
  if (Array.isArray(node)) return node.map(stripDescriptions);
  if (node && typeof node === "object") {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(node)) {
      // Inside `properties` a key named "description" is a field, not documentation.
      if (k === "description" && typeof v === "string") continue;
      out[k] = k === "properties" && v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, stripDescriptions(pv)]))
        : stripDescriptions(v);
    }
    return out;
  }
  return node;
}

function buildCrds(): void {
  const src = new URL("crds-src/", dir);
  const out = new URL("crds/", dir);
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(src).filter((f) => f.endsWith(".yaml")).sort()) {
    const crd = parse(readFileSync(new URL(file, src), "utf8")) as Json;
    const json = stripDescriptions(crd);
    writeFileSync(new URL(file.replace(/\.yaml$/, ".json"), out), `${JSON.stringify(json, null, 1)}\n`);
    console.log(`crds/${file.replace(/\.yaml$/, ".json")}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  build();
  buildCrds();
}
