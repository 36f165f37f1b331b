/**
 * Install, for real: what `kubectl apply -k manifests/manual-tls/` (through the suite's overlay,
 * global-setup.ts) leaves in a real API server.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { REPO } from "./lib/control-plane.ts";
import { type Kube, kube, type Obj } from "./lib/env.ts";

let k: Kube;
beforeAll(() => {
  k = kube();
});

function crdFiles(): Obj[] {
  const dir = join(REPO, "manifests", "crds");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".tusk.dev.yaml"))
    .map((f) => parseAllDocuments(readFileSync(join(dir, f), "utf8"))[0]!.toJSON() as Obj);
}

describe("install", () => {
  it("every Tusk CRD is Established with its names accepted and a structural schema", async () => {
    const crds = crdFiles();
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      "postgresbackups.postgres.tusk.dev",
      "postgresclusters.postgres.tusk.dev",
      "postgresrestores.postgres.tusk.dev",
    ]);
    for (const file of crds) {
      const crd = await k.get("crd", file.metadata.name);
      expect(crd, file.metadata.name).toBeDefined();
      const conditions = Object.fromEntries(
        (crd!.status.conditions as Obj[]).map((c) => [c.type, `${c.status}${c.message ? `: ${c.message}` : ""}`]),
      );
      expect(conditions.Established, file.metadata.name).toMatch(/^True/);
      expect(conditions.NamesAccepted, file.metadata.name).toMatch(/^True/);
      // the API server reports a non-structural schema (or a rejected CEL rule) as a condition
      expect(conditions.NonStructuralSchema, file.metadata.name).toBeUndefined();
      // what the server stores is what we generated: no field pruned from the schema itself
      const served = crd!.spec.versions.map((v: Obj) => v.name);
      expect(served).toEqual(file.spec.versions.map((v: Obj) => v.name));
    }
  });

  it("every object the overlay renders exists in the API server", async () => {
    const rendered = await k.must(["kustomize", k.env.overlay]);
    const objects = parseAllDocuments(rendered)
      .map((d) => d.toJSON() as Obj)
      .filter(Boolean);
    expect(objects.length).toBeGreaterThan(15);
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of [
      "CustomResourceDefinition",
      "CompositeController",
      "ValidatingWebhookConfiguration",
      "Deployment",
    ])
      expect(kinds, kind).toContain(kind);
    for (const o of objects) {
      const kind = o.apiVersion.includes("/") ? `${o.kind}.${o.apiVersion.split("/")[0]}` : o.kind;
      const live = await k.get(kind, o.metadata.name, o.metadata.namespace);
      expect(live, `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`).toBeDefined();
      expect(live!.metadata.uid).toBeTruthy();
    }
    // kubectl said created for each (nothing refused, nothing left as a warning)
    expect(k.env.applied.length).toBe(objects.length);
    for (const line of k.env.applied) expect(line).toMatch(/ (created|configured|unchanged)$/);
  });

  it("the CompositeControllers reach the functions on this machine and keep their child kinds", async () => {
    for (const name of ["tusk-postgrescluster", "tusk-postgresbackup", "tusk-postgresrestore"]) {
      const cc = await k.get("compositecontroller", name);
      expect(cc, name).toBeDefined();
      expect(cc!.spec.hooks.sync.webhook.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      // Metacontroller's CRD keeps (does not prune) every field Tusk sets
      expect(cc!.spec.childResources.length).toBeGreaterThan(0);
      for (const child of cc!.spec.childResources) expect(child.updateStrategy.method).toMatch(/^(InPlace|OnDelete)$/);
      expect(cc!.spec.hooks.finalize.webhook.url).toContain("/finalize");
    }
  });

  it("with the CRDs of cert-manager, Knative Serving and the Prometheus Operator, every other kustomization is accepted too", async () => {
    const crds = join(REPO, ".kube", "crds");
    const files = readdirSync(crds).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBe(5);
    await k.must(["apply", "--server-side", "-f", crds]);
    await k.must([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      ...files.map((f) => `crd/${crdName(join(crds, f))}`),
    ]);
    // manifests/ as a user with cert-manager applies it; knative/ for Knative; the monitoring
    // rules and the PodMonitor child through the prometheus-operator component
    const overlay = join(k.env.overlay, "..", "with-monitoring");
    mkdirSync(overlay, { recursive: true });
    writeFileSync(
      join(overlay, "kustomization.yaml"),
      stringify({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [relative(overlay, join(REPO, "manifests"))],
        components: [relative(overlay, join(REPO, "manifests", "components", "prometheus-operator"))],
      }),
    );
    for (const dir of [join(REPO, "manifests"), join(REPO, "knative"), overlay]) {
      const r = await k.kubectl(["apply", "-k", dir, "--dry-run=server"], { timeoutMs: 120_000 });
      expect(r.stderr, dir).toBe("");
      expect(r.code, dir).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines.length, dir).toBeGreaterThan(15);
      for (const line of lines) expect(line, dir).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
    }
  });
});

function crdName(file: string): string {
  return (parseAllDocuments(readFileSync(file, "utf8"))[0]!.toJSON() as Obj).metadata.name;
}
