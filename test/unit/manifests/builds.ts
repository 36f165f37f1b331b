/**
 * @module
 * The installable builds (what `kubectl apply -k` would send) and lookups into them, shared by
 * the manifest tests.
 */
import { build, type KubeDoc } from "./kustomize.ts";

/** Every kustomization a user applies, plus each optional component as a user overlay would use it. */
export const BUILDS = {
  manifests: "manifests",
  "manifests/manual-tls": "manifests/manual-tls",
  knative: "knative",
  "knative + scale-to-zero-hooks": "test/unit/manifests/overlays/knative-scale-to-zero",
  "manifests + prometheus-operator": "test/unit/manifests/overlays/prometheus-operator",
} as const;

export type BuildName = keyof typeof BUILDS;

const cache = new Map<string, KubeDoc[]>();

export function built(name: BuildName): KubeDoc[] {
  const dir = BUILDS[name];
  let docs = cache.get(dir);
  if (!docs) {
    docs = build(dir);
    cache.set(dir, docs);
  }
  return docs;
}

export function findOne(docs: KubeDoc[], kind: string, name: string, apiVersion?: string): KubeDoc {
  const found = docs.filter(
    (d) => d.kind === kind && d.metadata.name === name && (apiVersion === undefined || d.apiVersion === apiVersion),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}

export function ofKind(docs: KubeDoc[], kind: string, apiVersion?: string): KubeDoc[] {
  return docs.filter((d) => d.kind === kind && (apiVersion === undefined || d.apiVersion === apiVersion));
}

/** The pod template of a workload (Deployment, StatefulSet, Job, Knative Service, ...). */
export function podTemplate(doc: KubeDoc): { metadata?: any; spec: any } | undefined {
  if (doc.kind === "CronJob") return doc.spec?.jobTemplate?.spec?.template;
  if (doc.kind === "Pod") return { metadata: doc.metadata, spec: doc.spec };
  return doc.spec?.template?.spec ? doc.spec.template : undefined;
}

/** Env of a pod template's first container as a map. */
export function containerEnv(doc: KubeDoc): Record<string, string> {
  const container = podTemplate(doc)?.spec?.containers?.[0];
  return Object.fromEntries(
    ((container?.env ?? []) as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? ""]),
  );
}

/** The functions a workload serves (FUNCTIONS env; all when unset, as functions/server.ts does). */
export function servedFunctions(doc: KubeDoc, all: string[]): string[] {
  const value = containerEnv(doc).FUNCTIONS;
  if (!value) return all;
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
