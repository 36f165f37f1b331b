/**
 * Every YAML document a user applies parses, has a known apiVersion/kind and validates against
 * its schema: Kubernetes' own and the vendored CRD schemas (test/support/k8s-validate.ts) for
 * everything but Tusk's kinds, which validate against the generated CRDs in manifests/crds/.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { supportedKinds, validateObject } from "../../support/k8s-validate.ts";
import { BUILDS, type BuildName, built, ofKind } from "./builds.ts";
import { filesUnder, type KubeDoc, parseYamlDocs, REPO } from "./kustomize.ts";

const TUSK_GROUP = "postgres.tusk.dev";

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const tuskSchemas = new Map<string, ReturnType<typeof ajv.compile>>();
for (const crd of ofKind(built("manifests"), "CustomResourceDefinition")) {
  if (crd.spec.group !== TUSK_GROUP) continue;
  for (const version of crd.spec.versions) {
    tuskSchemas.set(
      `${crd.spec.group}/${version.name} ${crd.spec.names.kind}`,
      ajv.compile(version.schema.openAPIV3Schema),
    );
  }
}

const known = new Set([...supportedKinds(), ...tuskSchemas.keys()]);

function problems(doc: KubeDoc): string[] {
  const key = `${doc.apiVersion} ${doc.kind}`;
  const tusk = tuskSchemas.get(key);
  if (!tusk) return validateObject(doc);
  if (tusk(doc)) return [];
  return (tusk.errors ?? []).map((e) => `${doc.kind} ${doc.metadata?.name}: ${e.instancePath || "/"} ${e.message}`);
}

const yamlFiles = [...filesUnder("manifests", [".yaml", ".yml"]), ...filesUnder("knative", [".yaml", ".yml"])].filter(
  (f) => !/(^|\/)kustomization\.ya?ml$/.test(f),
);

describe("every YAML document under manifests/ and knative/", () => {
  it.each(yamlFiles.map((f) => [relative(REPO, f), f]))("%s: parses, known kind, valid", (_name, file) => {
    const docs = parseYamlDocs(readFileSync(file, "utf8"), file) as KubeDoc[];
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      expect(typeof doc.apiVersion, file).toBe("string");
      expect(typeof doc.kind, file).toBe("string");
      expect(known.has(`${doc.apiVersion} ${doc.kind}`), `${doc.apiVersion} ${doc.kind} has a schema`).toBe(true);
      expect(problems(doc)).toEqual([]);
    }
  });
});

describe("every object of every build (after patches)", () => {
  it.each(Object.keys(BUILDS) as BuildName[])("%s", (name) => {
    const all = built(name).flatMap((doc) => problems(doc));
    expect(all).toEqual([]);
  });
});

describe("the validation is not vacuous", () => {
  it("a Deployment with a misspelt field and a CompositeController without parentResource are refused", () => {
    const deployment = structuredClone(ofKind(built("manifests"), "Deployment")[0]!);
    deployment.spec.template.spec.containers[0].imagePullPolicy = "Sometimes";
    deployment.spec.replica = 2;
    expect(problems(deployment).length).toBeGreaterThanOrEqual(2);
    const cc = structuredClone(ofKind(built("manifests"), "CompositeController")[0]!);
    delete cc.spec.parentResource;
    expect(problems(cc).length).toBeGreaterThan(0);
  });

  it("a PostgresCluster without instances is refused by its CRD schema", () => {
    const cluster = {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster",
      metadata: { name: "x" },
      spec: { postgresVersion: 16 },
    } as KubeDoc;
    expect(problems(cluster).join("\n")).toMatch(/instances/);
  });
});
