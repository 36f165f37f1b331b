// Guards the hand transcription in test/k8s-schema/src against typos: every vendored built-in
// definition's property names are compared with the models @kubernetes/client-node generates from
// the official OpenAPI spec (a newer release). Differences must be explained version drift, listed below.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const defs: Record<string, { properties?: Record<string, Schema>; required?: string[] }> = JSON.parse(
  readFileSync(new URL("../../k8s-schema/kubernetes.json", import.meta.url), "utf8"),
).components.schemas;

// Fields in the vendored (older or development-branch) definitions that the client's release lacks,
// and fields the client's newer release added that the vendored commits predate.
// The apps/v1 document was read at a v1.35 development commit whose alpha fields were renamed before release.
const onlyVendored: Record<string, string[]> = {
  "io.k8s.api.core.v1.PodSpec": ["workloadRef"],
  "io.k8s.api.core.v1.SecurityContext": ["ulimits"],
};
// Status fields added after the core/v1 commit (v1.31+) that the vendored PodStatus closure was read at,
// and the released name of the alpha PodSpec field above. Objects Tusk emits carry none of these.
const CRD = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.";
const onlyClient: Record<string, string[]> = {
  "io.k8s.api.core.v1.PodSpec": ["schedulingGroup"],
  "io.k8s.api.core.v1.ContainerStatus": ["stopSignal"],
  "io.k8s.api.core.v1.PodCondition": ["observedGeneration"],
  "io.k8s.api.core.v1.PodStatus": [
    "allocatedResources",
    "extendedResourceClaimStatus",
    "nodeAllocatableResourceClaimStatuses",
    "observedGeneration",
    "resources",
  ],
  "io.k8s.api.core.v1.ResourceHealth": ["message"],
  "io.k8s.api.core.v1.VolumeMountStatus": ["volumeStatus"],
  [`${CRD}CustomResourceDefinitionCondition`]: ["observedGeneration"],
  [`${CRD}CustomResourceDefinitionStatus`]: ["observedGeneration"],
  "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": ["shardInfo"],
};

type Attribute = { baseName: string; type: string; format: string };
type Model = { name: string; getAttributeTypeMap?: () => Attribute[] };
type Schema = Record<string, any>;

// The package index pulls in undici, which does not load under vitest; the generated model files
// stand alone, so load those directly.
const modelsDir = join(
  dirname(createRequire(import.meta.url).resolve("@kubernetes/client-node/package.json")),
  "dist/gen/models",
);
const models: Record<string, Model> = {};
// Required properties, read from the generated declarations ('name': T, not 'name'?: T).
const clientRequired: Record<string, string[]> = {};
for (const name of Object.keys(defs)) {
  for (const cls of candidates(name)) {
    const file = join(modelsDir, `${cls}.js`);
    if (!existsSync(file)) continue;
    models[name] = (await import(pathToFileURL(file).href))[cls];
    const dts = readFileSync(join(modelsDir, `${cls}.d.ts`), "utf8");
    clientRequired[name] = [...dts.matchAll(/^ {4}'([^']+)': /gm)].map((m) => m[1] ?? "");
    break;
  }
}

function candidates(defName: string): string[] {
  const m =
    /^io\.k8s\.(?:api\.([a-z]+)|apimachinery\.pkg\.apis\.meta|apiextensions-apiserver\.pkg\.apis\.(apiextensions))\.v1\.(\w+)$/.exec(
      defName,
    );
  if (m === null) return [];
  const group = m[1] ?? m[2] ?? "";
  const cap = group.charAt(0).toUpperCase() + group.slice(1);
  return [`${cap}V1${m[3]}`, `V1${m[3]}`];
}

describe("vendored definitions vs @kubernetes/client-node models", () => {
  const compared: string[] = [];
  const diffs: Record<string, { onlyVendored: string[]; onlyClient: string[] }> = {};
  for (const [name, def] of Object.entries(defs)) {
    const model = models[name];
    if (model?.getAttributeTypeMap === undefined || def.properties === undefined) continue;
    compared.push(name);
    const ours = new Set(Object.keys(def.properties));
    const theirs = new Set(model.getAttributeTypeMap().map((a) => a.baseName));
    const a = [...ours].filter((p) => !theirs.has(p)).sort();
    const b = [...theirs].filter((p) => !ours.has(p)).sort();
    if (a.length > 0 || b.length > 0) diffs[name] = { onlyVendored: a, onlyClient: b };
  }

  it("compares most definitions", () => {
    expect(compared.length).toBeGreaterThan(150);
  });

  it("finds no property-name differences except known version drift", () => {
    const unexplained = Object.entries(diffs).flatMap(([name, d]) => [
      ...d.onlyVendored.filter((p) => !onlyVendored[name]?.includes(p)).map((p) => `${name}.${p}: only vendored`),
      ...d.onlyClient.filter((p) => !onlyClient[name]?.includes(p)).map((p) => `${name}.${p}: only in client`),
    ]);
    expect(unexplained).toEqual([]);
  });

  it("requires the same properties, except where later releases changed it", () => {
    // vendored commit's required list -> the client's (release-1.36) required list
    const requiredDrift: Record<string, string> = {
      "io.k8s.api.batch.v1.CronJob": " -> spec",
      "io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern": "status,type -> type",
      "io.k8s.api.policy.v1.PodDisruptionBudgetStatus":
        "currentHealthy,desiredHealthy,disruptionsAllowed,expectedPods -> ",
      "io.k8s.api.rbac.v1.RoleRef": "apiGroup,kind,name -> kind,name",
    };
    const mismatches = compared.flatMap((name) => {
      const ours = [...(defs[name]?.required ?? [])].sort();
      const theirs = [...(clientRequired[name] ?? [])].sort();
      const drift = `${ours} -> ${theirs}`;
      return drift === `${theirs} -> ${theirs}` || requiredDrift[name] === drift ? [] : [`${name}: ${drift}`];
    });
    expect(mismatches).toEqual([]);
  });

  it("gives every shared property the same type and integer format", () => {
    const mismatches: string[] = [];
    for (const name of compared) {
      const props = defs[name]?.properties ?? {};
      for (const attr of models[name]?.getAttributeTypeMap?.() ?? []) {
        const prop = props[attr.baseName];
        if (prop === undefined) continue;
        const ours = clientType(prop);
        const format = integerFormat(prop);
        if (ours !== attr.type) mismatches.push(`${name}.${attr.baseName}: vendored ${ours}, client ${attr.type}`);
        if (format !== undefined && attr.format !== format) {
          mismatches.push(`${name}.${attr.baseName}: vendored format ${format}, client ${attr.format}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});

const REF = "#/components/schemas/";

/** The TypeScript type the client generator would give a schema. */
function clientType(schema: Schema): string {
  if (typeof schema.$ref === "string") {
    const target = schema.$ref.slice(REF.length);
    if (target.endsWith(".Quantity")) return "string";
    if (target.endsWith(".IntOrString")) return "IntOrString";
    if (target.endsWith(".Time") || target.endsWith(".MicroTime")) return "Date";
    return models[target]?.name ?? "any";
  }
  switch (schema.type) {
    case "string":
      return schema.format === "date-time" ? "Date" : "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      return `Array<${clientType(schema.items ?? {})}>`;
    case "object":
      return schema.additionalProperties ? `{ [key: string]: ${clientType(schema.additionalProperties)}; }` : "object";
    default:
      return "any";
  }
}

function integerFormat(schema: Schema): string | undefined {
  return schema.type === "integer" || schema.type === "number" ? (schema.format ?? "") : undefined;
}
