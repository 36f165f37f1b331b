/**
 * @module
 * What the restore hook reads from Metacontroller's request, through small loose schemas:
 * the cluster (its spec as the cluster hook models it, and the few status fields the restore
 * relies on), the cluster's instance Pods and StatefulSets and the other PostgresRestores (the
 * restore's own Jobs and their Pods are read by shared/observed-job.ts). Observed objects are
 * raw JSON: anything may be missing.
 */
import * as z from "zod";
import { PostgresRestoreSpec } from "../../shared/api/postgres-restore.ts";
import { type ClusterModel, clusterModel } from "../../shared/cluster/model.ts";
import { LABEL, labelValue } from "../../shared/labels.ts";
import { type ObjectMap, observedOf } from "../../shared/metacontroller.ts";
import { ObservedMeta, observedPods, type PodObject } from "../../shared/observed-job.ts";
import { KINDS } from "./kinds.ts";

const Window = z.looseObject({ earliest: z.string(), latest: z.string(), latestFrom: z.string().optional() });
const Ref = z.looseObject({ label: z.string() });
const RepoStatus = z.looseObject({
  name: z.string().optional(),
  repoName: z.string().optional(),
  state: z.string().optional(),
  backups: z
    .looseObject({
      count: z.number().optional(),
      oldest: Ref.optional(),
      latest: Ref.optional(),
      labels: z.array(z.string()).optional(),
    })
    .optional(),
  recoverability: Window.optional(),
});

/** The cluster status fields a restore reads; `restore` is what the cluster's restore gate publishes. */
export const ClusterStatusView = z.looseObject({
  phase: z.string().optional(),
  primary: z.string().optional(),
  restore: z.looseObject({ name: z.string(), state: z.string() }).optional(),
  repos: z.array(RepoStatus).optional(),
  pgbackrest: z.looseObject({ repos: z.array(RepoStatus).optional() }).optional(),
});
export type ClusterStatusView = z.infer<typeof ClusterStatusView>;

interface RelatedCluster {
  model: ClusterModel;
  status: ClusterStatusView;
  /** True when the cluster hook has never written a status (a cluster that never ran). */
  neverSynced: boolean;
  deleting: boolean;
}

export type ClusterLookup = { ok: true; cluster: RelatedCluster } | { ok: false; reason: string; message: string };

const ClusterObject = z.looseObject({
  metadata: ObservedMeta,
  spec: z.unknown().optional(),
  status: z.unknown().optional(),
});

export function relatedCluster(related: ObjectMap, name: string, namespace: string): ClusterLookup {
  const raw = observedOf(related, KINDS.PostgresCluster.kind, KINDS.PostgresCluster.apiVersion)[name];
  const parsed = ClusterObject.safeParse(raw);
  if (!raw || !parsed.success)
    return { ok: false, reason: "ClusterNotFound", message: `PostgresCluster ${name} does not exist` };
  const obj = parsed.data;
  const model = clusterModel({
    apiVersion: KINDS.PostgresCluster.apiVersion,
    kind: KINDS.PostgresCluster.kind,
    metadata: { ...obj.metadata, namespace: obj.metadata.namespace ?? namespace },
    spec: obj.spec,
  });
  if (!model.ok) {
    const first = model.problems[0];
    return {
      ok: false,
      reason: "ClusterInvalid",
      message: `PostgresCluster ${name} has an invalid spec${first ? ` (${first.field}: ${first.message})` : ""}`,
    };
  }
  const status = ClusterStatusView.safeParse(obj.status ?? {});
  const view = status.success ? status.data : {};
  return {
    ok: true,
    cluster: {
      model: model.model,
      status: view,
      neverSynced: view.phase === undefined,
      deleting: obj.metadata.deletionTimestamp !== undefined,
    },
  };
}

/** The recoverability window the cluster publishes for a repo (under `repos` or `pgbackrest.repos`). */
/** The entry the cluster publishes for a repository (shared/pgbackrest/repo-summary.ts), if any. */
export function publishedRepo(status: ClusterStatusView, repoName: string): z.infer<typeof RepoStatus> | undefined {
  for (const list of [status.pgbackrest?.repos, status.repos]) {
    const found = (list ?? []).find((r) => r.name === repoName || r.repoName === repoName);
    if (found) return found;
  }
  return undefined;
}

export interface InstancePod {
  name: string;
  /** The StatefulSet (instance) it belongs to. */
  instance: string;
  ready: boolean;
  readySince?: string;
  role?: string;
  terminating: boolean;
}

/** The cluster's instance Pods (labelled with an instance; Job and repo-host Pods are not). */
export function instancePods(related: ObjectMap, cluster: string): InstancePod[] {
  return observedPods(related).flatMap((p) => {
    const labels = p.metadata.labels ?? {};
    const instance = labels[LABEL.instance];
    if (!instance || p.metadata.name !== `${instance}-0`) return [];
    if (labels[LABEL.cluster] !== labelValue(cluster)) return [];
    const ready = (p.status?.conditions ?? []).find((c) => c.type === "Ready");
    const role = labels[LABEL.patroniRole];
    return [
      {
        name: p.metadata.name,
        instance,
        ready: ready?.status === "True" && p.metadata.deletionTimestamp === undefined,
        ...(ready?.status === "True" && ready.lastTransitionTime ? { readySince: ready.lastTransitionTime } : {}),
        ...(role ? { role } : {}),
        terminating: p.metadata.deletionTimestamp !== undefined,
      },
    ];
  });
}

/** Pods carrying this restore's label (any of its Jobs), for the finalizer. */
export function restorePods(related: ObjectMap, restoreLabel: string): PodObject[] {
  return observedPods(related).filter((p) => p.metadata.labels?.[LABEL.restore] === restoreLabel);
}

const ClaimObject = z.looseObject({ metadata: ObservedMeta });

/** Names of the cluster's PersistentVolumeClaims that exist (and are not being deleted). */
export function existingClaims(related: ObjectMap): Set<string> {
  const all = observedOf(related, KINDS.PersistentVolumeClaim.kind, KINDS.PersistentVolumeClaim.apiVersion);
  const out = new Set<string>();
  for (const raw of Object.values(all)) {
    const c = ClaimObject.safeParse(raw);
    if (c.success && c.data.metadata.deletionTimestamp === undefined) out.add(c.data.metadata.name);
  }
  return out;
}

const RestoreObject = z.looseObject({
  metadata: ObservedMeta,
  spec: z.unknown().optional(),
  status: z.looseObject({ phase: z.string().optional() }).optional(),
});

export interface OtherRestore {
  name: string;
  createdAt: string;
  phase?: string;
  deleting: boolean;
}

/** The other PostgresRestores of the same cluster. */
export function otherRestores(related: ObjectMap, self: string, cluster: string): OtherRestore[] {
  const all = observedOf(related, KINDS.PostgresRestore.kind, KINDS.PostgresRestore.apiVersion);
  return Object.keys(all)
    .sort()
    .flatMap((k) => {
      const r = RestoreObject.safeParse(all[k]);
      if (!r.success || r.data.metadata.name === self) return [];
      const spec = PostgresRestoreSpec.safeParse(r.data.spec ?? {});
      if (!spec.success || spec.data.cluster !== cluster) return [];
      return [
        {
          name: r.data.metadata.name,
          createdAt: r.data.metadata.creationTimestamp ?? "",
          ...(r.data.status?.phase ? { phase: r.data.status.phase } : {}),
          deleting: r.data.metadata.deletionTimestamp !== undefined,
        },
      ];
    });
}
