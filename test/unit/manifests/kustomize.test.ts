import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILDS, type BuildName, built } from "./builds.ts";
import {
  applyJsonPatch,
  build,
  filesUnder,
  type KubeDoc,
  kustomizationDirs,
  objectId,
  parseYamlDocs,
  REPO,
  readKustomization,
} from "./kustomize.ts";

const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
const hasKubectl = kubectl.status === 0 && /Kustomize Version/.test(kubectl.stdout);

const byId = (docs: KubeDoc[]) => new Map(docs.map((d) => [objectId(d), d]));

describe("kustomizations", () => {
  it.each(kustomizationDirs().map((d) => [relative(REPO, d)]))(
    "%s uses only simple features, on existing paths",
    (dir) => {
      const k = readKustomization(resolve(REPO, dir));
      for (const entry of [...(k.resources ?? []), ...(k.components ?? [])]) {
        expect(() => readFileSync(resolve(REPO, dir, entry)), `${dir}: ${entry}`).not.toThrow(/ENOENT/);
      }
    },
  );

  it.each(Object.keys(BUILDS) as BuildName[])("%s builds, every object once", (name) => {
    const docs = built(name);
    expect(docs.length).toBeGreaterThan(10);
    expect(new Set(docs.map(objectId)).size).toBe(docs.length);
  });

  it("every manifest file under manifests/ is part of the install", () => {
    const installed = new Set<string>();
    for (const name of Object.keys(BUILDS) as BuildName[]) for (const d of built(name)) installed.add(objectId(d));
    const files = filesUnder("manifests", [".yaml", ".yml"]).filter(
      (f) => !/\/examples\//.test(f) && !/kustomization\.ya?ml$/.test(f),
    );
    const orphans: string[] = [];
    for (const file of files) {
      for (const doc of parseYamlDocs(readFileSync(file, "utf8"), file) as KubeDoc[]) {
        if (!installed.has(objectId(doc))) orphans.push(`${relative(REPO, file)}: ${objectId(doc)}`);
      }
    }
    expect(orphans).toEqual([]);
  });

  it("the manual TLS install is the cert-manager one without cert-manager", () => {
    const full = byId(built("manifests"));
    const manual = byId(built("manifests/manual-tls"));
    const onlyInFull = [...full.keys()].filter((id) => !manual.has(id));
    expect(onlyInFull.sort()).toEqual([
      "cert-manager.io/v1 Certificate tusk-system/tusk-webhook",
      "cert-manager.io/v1 Issuer tusk-system/tusk-selfsigned",
    ]);
    expect([...manual.keys()].filter((id) => !full.has(id))).toEqual([]);
    const vwc = "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration /tusk-validation";
    expect(manual.get(vwc)?.metadata.annotations).toBeUndefined();
    expect(full.get(vwc)?.metadata.annotations).toEqual({
      "cert-manager.io/inject-ca-from": "tusk-system/tusk-webhook",
    });
  });

  it("the knative overlay keeps everything from manifests/ and adds the Knative Services", () => {
    const base = byId(built("manifests"));
    const kn = byId(built("knative"));
    expect([...base.keys()].filter((id) => !kn.has(id))).toEqual([]);
    expect(
      [...kn.keys()]
        .filter((id) => !base.has(id))
        .map((id) => id.split(" ").slice(1).join(" "))
        .sort(),
    ).toEqual([
      "Service tusk-system/tusk-backup",
      "Service tusk-system/tusk-cluster",
      "Service tusk-system/tusk-restore",
      "Service tusk-system/tusk-scheduler",
    ]);
  });

  it.skipIf(!hasKubectl)(
    "each build equals `kubectl kustomize` (runs where kubectl with kustomize is installed)",
    () => {
      for (const name of Object.keys(BUILDS) as BuildName[]) {
        const run = spawnSync("kubectl", ["kustomize", resolve(REPO, BUILDS[name])], {
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
        });
        expect(run.stderr, name).toBe("");
        expect(run.status, name).toBe(0);
        const real = byId(parseYamlDocs(run.stdout, `kubectl kustomize ${name}`) as KubeDoc[]);
        const ours = byId(built(name));
        expect([...ours.keys()].sort(), name).toEqual([...real.keys()].sort());
        for (const [id, doc] of ours) expect(doc, `${name}: ${id}`).toEqual(real.get(id));
      }
    },
  );
});

describe("the test build itself", () => {
  it("applies JSON patches like RFC 6902 (add to a list end, replace, escaped keys, remove)", () => {
    const doc = { a: { "x/y": 1, list: [1, 2] }, b: 2 };
    const out = applyJsonPatch(doc, [
      { op: "add", path: "/a/list/-", value: 3 },
      { op: "add", path: "/a/list/0", value: 0 },
      { op: "replace", path: "/a/x~1y", value: 5 },
      { op: "remove", path: "/b" },
    ]);
    expect(out).toEqual({ a: { "x/y": 5, list: [0, 1, 2, 3] } });
    expect(doc.b).toBe(2);
    expect(() => applyJsonPatch(doc, [{ op: "replace", path: "/missing", value: 1 }])).toThrow(/existing value/);
  });

  it("refuses kustomize features it does not implement instead of ignoring them", () => {
    const dir = resolve(REPO, "test/unit/manifests/overlays/unsupported");
    expect(() => build(dir)).toThrow(/namePrefix/);
  });
});
