/**
 * @module
 * What the restore hook reads from Metacontroller's request, through small loose schemas:
 * the cluster (its spec as the cluster hook models it, and the few status fields the restore
 * relies on), the cluster's instance Pods and StatefulSets, the other PostgresRestores, and the
 * restore's own Jobs and their Pods. Observed objects are raw JSON: anything may be missing.
 */
import * as z from "zod";
import { PostgresRestoreSpec } from "../../shared/api/postgres-restore.ts";
import { type ClusterModel, clusterModel } from "../../shared/cluster/model.ts";
import { LABEL, labelValue } from "../../shared/labels.ts";
import { type ObjectMap, observedOf } from "../../shared/metacontroller.ts";
import { KINDS } from "./kinds.ts";

const Meta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const Window = z.looseObject({ earliest: z.string(), latest: z.string(), latestFrom: z.string().optional() });
const RepoStatus = z.looseObject({
  name: z.string().optional(),
  repoName: z.string().optional(),
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

export interface RelatedCluster {
  model: ClusterModel;
  status: ClusterStatusView;
  /** True when the cluster hook has never written a status (a cluster that never ran). */
  neverSynced: boolean;
  deleting: boolean;
}

export type ClusterLookup = { ok: true; cluster: RelatedCluster } | { ok: false; reason: string; message: string };

const ClusterObject = z.looseObject({ metadata: Meta, spec: z.unknown().optional(), status: z.unknown().optional() });

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
export function publishedWindow(status: ClusterStatusView, repoName: string): z.infer<typeof Window> | undefined {
  for (const list of [status.repos, status.pgbackrest?.repos]) {
    const found = (list ?? []).find((r) => r.name === repoName || r.repoName === repoName);
    if (found?.recoverability) return found.recoverability;
  }
  return undefined;
}

const PodObject = z.looseObject({
  metadata: Meta.extend({ ownerReferences: z.array(z.looseObject({ kind: z.string(), name: z.string() })).optional() }),
  status: z
    .looseObject({
      phase: z.string().optional(),
      conditions: z
        .array(z.looseObject({ type: z.string(), status: z.string(), lastTransitionTime: z.string().optional() }))
        .optional(),
      containerStatuses: z
        .array(
          z.looseObject({
            name: z.string(),
            state: z
              .looseObject({
                terminated: z
                  .looseObject({
                    exitCode: z.number(),
                    message: z.string().optional(),
                    finishedAt: z.string().optional(),
                  })
                  .optional(),
              })
              .optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type PodObject = z.infer<typeof PodObject>;

function pods(related: ObjectMap): PodObject[] {
  const all = observedOf(related, KINDS.Pod.kind, KINDS.Pod.apiVersion);
  return Object.keys(all)
    .sort()
    .flatMap((k) => {
      const p = PodObject.safeParse(all[k]);
      return p.success ? [p.data] : [];
    });
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
  return pods(related).flatMap((p) => {
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

/** The Pods of one Job (by owner, else by the Job controller's label). */
export function podsOfJob(related: ObjectMap, job: string): PodObject[] {
  return pods(related).filter((p) => {
    const owned = p.metadata.ownerReferences?.some((o) => o.kind === "Job" && o.name === job);
    const l = p.metadata.labels ?? {};
    return owned || l["batch.kubernetes.io/job-name"] === job || l["job-name"] === job;
  });
}

/** Pods carrying this restore's label (any of its Jobs), for the finalizer. */
export function restorePods(related: ObjectMap, restoreLabel: string): PodObject[] {
  return pods(related).filter((p) => p.metadata.labels?.[LABEL.restore] === restoreLabel);
}

const ClaimObject = z.looseObject({ metadata: Meta });

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
  metadata: Meta,
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

/* ------------------------------------------------------------------ Jobs */

const JobObject = z.looseObject({
  metadata: Meta,
  spec: z.unknown().optional(),
  status: z
    .looseObject({
      active: z.number().optional(),
      succeeded: z.number().optional(),
      failed: z.number().optional(),
      startTime: z.string().optional(),
      completionTime: z.string().optional(),
      conditions: z
        .array(
          z.looseObject({
            type: z.string(),
            status: z.string(),
            lastTransitionTime: z.string().optional(),
            reason: z.string().optional(),
            message: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

export interface JobState {
  state: "pending" | "running" | "succeeded" | "failed";
  startTime?: string;
  completionTime?: string;
  /** The relevant Pod's termination message: the result on success, the error on failure. */
  message?: string;
  /** The Job's own reason when no Pod said more (BackoffLimitExceeded, DeadlineExceeded). */
  reason?: string;
}

function terminated(p: PodObject) {
  return p.status?.containerStatuses?.[0]?.state?.terminated;
}

/** Latest finished first, then by name: the choice never depends on list order. */
function latest(list: PodObject[]): PodObject | undefined {
  return [...list].sort((a, b) => {
    const fa = terminated(a)?.finishedAt ?? a.metadata.creationTimestamp ?? "";
    const fb = terminated(b)?.finishedAt ?? b.metadata.creationTimestamp ?? "";
    if (fa !== fb) return fa < fb ? 1 : -1;
    return a.metadata.name < b.metadata.name ? 1 : -1;
  })[0];
}

/** An observed Job's state, with the termination message of its relevant Pod. */
export function jobState(raw: unknown, jobPods: PodObject[]): JobState {
  const parsed = JobObject.safeParse(raw);
  if (!parsed.success) return { state: "pending" };
  const s = parsed.data.status ?? {};
  const base = s.startTime ? { startTime: s.startTime } : {};
  const condition = (type: string) => s.conditions?.find((c) => c.type === type && c.status === "True");
  const complete = condition("Complete");
  if (complete || (s.succeeded ?? 0) > 0) {
    const pod = latest(jobPods.filter((p) => terminated(p)?.exitCode === 0));
    const completionTime = s.completionTime ?? complete?.lastTransitionTime;
    const message = pod ? terminated(pod)?.message : undefined;
    return {
      state: "succeeded",
      ...base,
      ...(completionTime ? { completionTime } : {}),
      ...(message ? { message } : {}),
    };
  }
  const failed = condition("Failed");
  if (failed) {
    const pod = latest(jobPods.filter((p) => (terminated(p)?.exitCode ?? 0) !== 0));
    const message = pod ? terminated(pod)?.message : undefined;
    return {
      state: "failed",
      ...base,
      ...(failed.lastTransitionTime ? { completionTime: failed.lastTransitionTime } : {}),
      ...(message ? { message } : {}),
      ...(failed.reason ? { reason: failed.message ? `${failed.reason}: ${failed.message}` : failed.reason } : {}),
    };
  }
  if ((s.active ?? 0) > 0 || s.startTime) return { state: "running", ...base };
  return { state: "pending" };
}

/** An observed Job returned unchanged in substance (Jobs are immutable): without server state. */
export function keepObserved(raw: Record<string, unknown>): Record<string, unknown> {
  const meta = (raw.metadata ?? {}) as Record<string, unknown>;
  const labels = { ...((meta.labels as Record<string, string> | undefined) ?? {}) };
  delete labels["controller-uid"];
  const annotations = Object.fromEntries(
    Object.entries((meta.annotations as Record<string, string> | undefined) ?? {}).filter(
      ([k]) => !k.startsWith("metacontroller.k8s.io/"),
    ),
  );
  return {
    apiVersion: raw.apiVersion ?? KINDS.Job.apiVersion,
    kind: raw.kind ?? KINDS.Job.kind,
    metadata: {
      name: meta.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: raw.spec,
  };
}
