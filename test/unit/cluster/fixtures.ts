/**
 * @module
 * Builders for cluster hook tests: parents, seeded dependencies, and a small simulation of
 * what Metacontroller and Kubernetes would send back (emitted children as observed children,
 * the pods their StatefulSets would run, Jobs that finished).
 */
import type { ClusterDeps } from "../../../functions/cluster/sync.ts";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { ANNOTATION, LABEL } from "../../../shared/labels.ts";
import { type ObjectMap, SyncRequest, type SyncResponse } from "../../../shared/metacontroller.ts";
import { deterministicPki } from "../../support/deterministic-pki.ts";
import { seededRandomBytes } from "../crypto/seeded.ts";

export type Json = Record<string, any>;

export const NOW = new Date("2026-03-01T12:00:00Z");

export function seededDeps(seed = 1): ClusterDeps {
  return { randomBytes: seededRandomBytes(seed), now: () => NOW, pki: deterministicPki(seed) };
}

export const volume = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } };

export function cluster(spec: Json = {}, name = "hippo", namespace = "db"): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresCluster",
    metadata: { name, namespace, uid: "0f5e9f2a-0000-4000-8000-000000000001", generation: 1 },
    spec: {
      postgresVersion: 15,
      instances: [{ name: "instance1", replicas: 2, dataVolumeClaimSpec: volume }],
      ...spec,
    },
  };
}

export function request(parent: Json, children: ObjectMap = {}, related: ObjectMap = {}): SyncRequest {
  return SyncRequest.parse(JSON.parse(JSON.stringify({ controller: {}, parent, children, related })));
}

/** Emitted children as Metacontroller would send them back: `{"Kind.apiVersion": {name: obj}}`. */
export function observe(children: Json[], previous: ObjectMap = {}): ObjectMap {
  const out: ObjectMap = {};
  for (const c of children) {
    const key = `${c.kind}.${c.apiVersion}`;
    const prev = previous[key]?.[c.metadata.name] as Json | undefined;
    out[key] ??= {};
    out[key][c.metadata.name] = JSON.parse(JSON.stringify(prev?.status ? { ...c, status: prev.status } : c));
  }
  return out;
}

export function byKind(res: SyncResponse, kind: string): Json[] {
  return (res.children as Json[]).filter((c) => c.kind === kind);
}

export function child(res: SyncResponse, kind: string, name: string): Json {
  const found = (res.children as Json[]).find((c) => c.kind === kind && c.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} in ${(res.children as Json[]).map((c) => `${c.kind}/${c.metadata.name}`)}`);
  return found;
}

export function decode(secret: Json): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string, "base64").toString("utf8")]),
  );
}

export interface PodState {
  ready?: boolean;
  role?: "master" | "replica";
  /** Run a different template than the StatefulSet's (a pod not yet replaced). */
  configHash?: string;
  deleting?: boolean;
}

function pod(name: string, labels: Record<string, string>, annotations: Record<string, string>, s: PodState): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "db",
      labels: { ...labels, ...(s.role ? { [LABEL.patroniRole]: s.role } : {}) },
      annotations: { ...annotations, ...(s.configHash ? { [ANNOTATION.configHash]: s.configHash } : {}) },
      ...(s.deleting ? { deletionTimestamp: "2026-03-01T12:00:00Z" } : {}),
    },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: s.ready === false ? "False" : "True" }],
    },
  };
}

/** The pods the observed StatefulSets run (replicas 1 each), with per-pod state. */
export function podsOf(children: ObjectMap, states: Record<string, PodState> = {}): ObjectMap {
  const pods: Record<string, Json> = {};
  for (const sts of Object.values(children["StatefulSet.apps/v1"] ?? {}) as Json[]) {
    if ((sts.spec?.replicas ?? 1) < 1) continue;
    const name = `${sts.metadata.name}-0`;
    const t = sts.spec.template.metadata;
    pods[name] = pod(name, t.labels ?? {}, t.annotations ?? {}, states[name] ?? {});
  }
  return { "Pod.v1": pods };
}

/** Marks every observed Job (or the named ones) as finished. */
export function finishJobs(
  children: ObjectMap,
  outcome: "Complete" | "Failed" = "Complete",
  only?: string[],
): ObjectMap {
  const out = JSON.parse(JSON.stringify(children)) as ObjectMap;
  for (const [name, job] of Object.entries(out["Job.batch/v1"] ?? {}) as [string, Json][]) {
    if (only && !only.includes(name)) continue;
    job.status = {
      ...(outcome === "Complete" ? { succeeded: 1 } : { failed: 7 }),
      conditions: [{ type: outcome, status: "True" }],
    };
  }
  return out;
}

export async function sync(
  parent: Json,
  children: ObjectMap = {},
  related: ObjectMap = {},
  seed = 1,
): Promise<SyncResponse> {
  return syncCluster(request(parent, children, related), seededDeps(seed));
}

/**
 * Drives a cluster to steady state: sync, observe, run pods (the first instance leads), finish
 * Jobs, until the output no longer changes.
 */
export async function steadyState(
  parent: Json,
  options: { leader?: string; seed?: number; maxRounds?: number } = {},
): Promise<{ res: SyncResponse; children: ObjectMap; related: ObjectMap }> {
  let children: ObjectMap = {};
  let related: ObjectMap = {};
  let res = await sync(parent, children, related, options.seed);
  for (let round = 0; round < (options.maxRounds ?? 10); round++) {
    children = finishJobs(observe(res.children as Json[], children));
    const stsNames = Object.keys(children["StatefulSet.apps/v1"] ?? {}).sort();
    const leader = options.leader ?? `${stsNames[0]}-0`;
    related = podsOf(
      children,
      Object.fromEntries(stsNames.map((s) => [`${s}-0`, { role: `${s}-0` === leader ? "master" : "replica" }])),
    );
    const next = await sync(parent, children, related, options.seed);
    if (JSON.stringify(next) === JSON.stringify(res)) return { res: next, children, related };
    res = next;
  }
  throw new Error("no steady state");
}

/** The PGO-compatibility fixtures (test/fixtures/compat/), read by one helper shared with the admission tests. */
export { compatClusters } from "../../fixtures/compat.ts";
