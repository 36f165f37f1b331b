/**
 * Every pod Tusk's install runs (the functions Deployment, the Knative Services' templates)
 * meets the "restricted" Pod Security Standard, which tusk-system enforces; and each workload
 * has what an operator's always-on component needs: requests and limits, probes, a read-only
 * root filesystem.
 */
import { describe, expect, it } from "vitest";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { BUILDS, type BuildName, built, findOne, ofKind, podTemplate } from "./builds.ts";

const workloads = (build: BuildName) => built(build).filter((d) => podTemplate(d));

describe.each(Object.keys(BUILDS) as BuildName[])("pods in %s", (build) => {
  it("pass the restricted Pod Security Standard", () => {
    const all = workloads(build);
    expect(all.length).toBeGreaterThan(0);
    for (const w of all) {
      // The check reads a PodTemplateSpec; Knative's template is one too.
      expect(podSecurityRestrictedViolations(podTemplate(w)), `${w.kind} ${w.metadata.name}`).toEqual([]);
    }
  });

  it("have requests, limits, probes and a read-only root filesystem", () => {
    for (const w of workloads(build)) {
      for (const c of podTemplate(w)!.spec.containers) {
        const where = `${w.kind} ${w.metadata.name} ${c.name}`;
        expect(c.resources?.requests?.cpu && c.resources?.requests?.memory, where).toBeTruthy();
        expect(c.resources?.limits?.memory, where).toBeTruthy();
        expect(c.readinessProbe?.httpGet?.path, where).toBe("/readyz");
        expect(c.livenessProbe?.httpGet?.path, where).toBe("/healthz");
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
      }
    }
  });

  it("the namespace enforces the Pod Security Standard the pods are written for", () => {
    const labels = findOne(built(build), "Namespace", "tusk-system").metadata.labels ?? {};
    // Knative's queue-proxy sidecar only meets "restricted" from Knative 1.12 with
    // secure-pod-defaults, so the knative overlay enforces baseline and warns on restricted.
    expect(labels["pod-security.kubernetes.io/enforce"]).toBe(build.startsWith("knative") ? "baseline" : "restricted");
    expect(labels["pod-security.kubernetes.io/warn"]).toBe("restricted");
  });
});

describe("the functions Deployment", () => {
  it("keeps the fail-closed webhook available: 2 replicas spread over nodes, a PDB, no unavailable pod in a rollout", () => {
    const docs = built("manifests");
    const d = findOne(docs, "Deployment", "tusk-functions");
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const spread = d.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey);
    expect(spread).toContain("kubernetes.io/hostname");
    const pdb = ofKind(docs, "PodDisruptionBudget").find((p) =>
      Object.entries(p.spec.selector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
    );
    expect(pdb?.spec.minAvailable).toBe(1);
    expect(pdb!.spec.minAvailable).toBeLessThan(d.spec.replicas);
  });
});
