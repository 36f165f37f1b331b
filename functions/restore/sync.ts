/**
 * @module
 * The PostgresRestore sync hook as a pure function: its phase, derived from the observed
 * cluster, its Pods and PVCs, other restores and its own Jobs, and the Jobs it needs now.
 *
 * - Pending: the spec, the cluster, the repository, the backup set and the recoverability window
 *   are checked (against what the cluster publishes of the repository, read from its bucket).
 *   A restore that cannot work is Failed at once, with the reason and no Job, and the cluster is
 *   never stopped for it; one that a newer read of the bucket could allow (a backup that finished
 *   since) waits in Pending. An older restore of the same cluster still running makes this one
 *   fail (one restore at a time; create it again later).
 * - ScalingDown: the cluster's restore gate (functions/cluster/restore/gate.ts) scales every
 *   instance to zero once the restore is past Pending. The restore waits until the cluster's
 *   status says `restore: {name: <this>, state: Stopped}` and no instance Pod is left, so the
 *   restore Job never shares a volume with a running Postgres.
 * - Restoring: the restore Job (job.ts) restores into the volume of the instance that led the
 *   cluster (its status.primary; else the first instance), chosen once and kept in the status.
 * - Starting: Patroni's DCS is reset and the other instances' data cleared (so they re-clone);
 *   then `startInstance` tells the cluster gate to start the restored instance alone, whose
 *   Patroni bootstraps from the restored directory. Once its Pod is ready as the leader the
 *   restore has Succeeded and the gate starts the rest. Nothing here is ever Failed: past the DCS
 *   reset the only way forward is the restored data (a failed step is retried by deleting its
 *   Job).
 * - Failed keeps the cluster stopped when the restore may have changed data (`dataChanged`)
 *   until the PostgresRestore is deleted or a newer one succeeds.
 */
import type { V1Job } from "@kubernetes/client-node";
import { PostgresRestoreSpec } from "../../shared/api/postgres-restore.ts";
import type { ClusterModel, InstanceModel } from "../../shared/cluster/model.ts";
import { condition } from "../../shared/conditions.ts";
import { zodProblems } from "../../shared/field-path.ts";
import { labelValue, PATRONI_LEADER_VALUE } from "../../shared/labels.ts";
import { asDesired, observedOf, type SyncRequest, type SyncResponse } from "../../shared/metacontroller.ts";
import { names } from "../../shared/names.ts";
import { jobState, podsOfJob } from "../../shared/observed-job.ts";
import { parseRestoreFailure, parseRestoreResult } from "../../shared/restore/pod.ts";
import { planFromRestore, type RestorePlan, repoProblem } from "../../shared/restore/target.ts";
import { buildDcsResetJob, buildInstanceResetJob, buildRestoreJob, type RestoreRef } from "./job.ts";
import { KINDS } from "./kinds.ts";
import {
  type ClusterLookup,
  existingClaims,
  instancePods,
  otherRestores,
  publishedRepo,
  relatedCluster,
} from "./observed.ts";
import { CONDITION, type Phase, previousStatus, type RestoreStatus, TERMINAL } from "./status.ts";

type Child = Record<string, unknown>;

interface Context {
  req: SyncRequest;
  prev: RestoreStatus;
  ref: RestoreRef;
  createdAt: string;
  jobs: Record<string, Record<string, unknown>>;
}

const asChild = (job: V1Job) => job as unknown as Child;

/** Every observed Job, unchanged: a finished restore keeps its Jobs (and their logs) until deleted. */
function observedJobs(ctx: Context): Child[] {
  return Object.keys(ctx.jobs)
    .sort()
    .map((k) => asDesired(ctx.jobs[k]!));
}

function failed(
  ctx: Context,
  base: RestoreStatus,
  reason: string,
  message: string,
  options: { dataChanged: boolean; time?: string },
): SyncResponse {
  return {
    status: {
      ...base,
      phase: "Failed",
      error: message,
      dataChanged: options.dataChanged,
      ...(options.time ? { completionTime: options.time } : {}),
      conditions: [
        condition(CONDITION, "False", reason, message, { previous: ctx.prev.conditions, time: options.time }),
      ],
    },
    children: observedJobs(ctx),
  };
}

function waiting(
  ctx: Context,
  base: RestoreStatus,
  phase: Phase,
  reason: string,
  message: string,
  children: Child[] = [],
) {
  return {
    status: {
      ...base,
      phase,
      conditions: [condition(CONDITION, "Unknown", reason, message, { previous: ctx.prev.conditions })],
    },
    children,
  } satisfies SyncResponse;
}

/** The instance whose volume is restored: the cluster's leader, else the first instance. */
function targetInstance(model: ClusterModel, prev: RestoreStatus, primary: string | undefined): InstanceModel {
  const byName = (n: string | undefined) => model.instances.find((i) => i.name === n);
  return byName(prev.instance) ?? model.instances.find((i) => i.pod === primary) ?? model.instances[0]!;
}

export function syncRestore(req: SyncRequest): SyncResponse {
  const prev = previousStatus(req.parent.status);
  const jobs = observedOf<Record<string, unknown>>(req.children, KINDS.Job.kind, KINDS.Job.apiVersion);
  const spec = PostgresRestoreSpec.safeParse(req.parent.spec ?? {});
  if (!spec.success) {
    const message = zodProblems(spec.error, ["spec"])
      .map((p) => `${p.field}: ${p.message}`)
      .join("; ");
    const ctx: Context = { req, prev, ref: { name: "", namespace: "", repoName: "" }, createdAt: "", jobs };
    return failed(ctx, {}, "InvalidSpec", message, { dataChanged: false });
  }
  const meta = req.parent.metadata as { name: string; namespace?: string; creationTimestamp?: string };
  const ctx: Context = {
    req,
    prev,
    ref: { name: meta.name, namespace: meta.namespace ?? "default", repoName: spec.data.repoName },
    createdAt: meta.creationTimestamp ?? "",
    jobs,
  };

  if (prev.phase && TERMINAL.includes(prev.phase)) return { status: prev, children: observedJobs(ctx) };

  const planned = planFromRestore(spec.data);
  if (!planned.ok) return failed(ctx, {}, "InvalidTarget", planned.message, { dataChanged: false });
  const plan = planned.plan;
  const base: RestoreStatus = { ...keep(prev), repoName: spec.data.repoName, target: plan.description };
  const lookup = relatedCluster(req.related, spec.data.cluster, ctx.ref.namespace);
  return advance(ctx, spec.data.cluster, plan, base, lookup);
}

/** The fields a later phase carries forward. */
function keep(prev: RestoreStatus): RestoreStatus {
  const out: RestoreStatus = {};
  for (const key of [
    "instance",
    "jobName",
    "backupSet",
    "startTime",
    "timeline",
    "lsn",
    "resetInstances",
    "startInstance",
  ] as const) {
    if (prev[key] !== undefined) (out as Record<string, unknown>)[key] = prev[key];
  }
  return out;
}

function advance(ctx: Context, clusterName: string, plan: RestorePlan, base: RestoreStatus, lookup: ClusterLookup) {
  const { prev } = ctx;
  let phase: Phase = prev.phase ?? "Pending";
  const started = phase !== "Pending" && phase !== "ScalingDown";

  if (!lookup.ok) {
    if (!started) return waiting(ctx, base, "Pending", lookup.reason, lookup.message);
    return failed(ctx, base, lookup.reason, `${lookup.message} any more; the restore stopped`, { dataChanged: true });
  }
  const { cluster } = lookup;
  const model = cluster.model;
  const instance = targetInstance(model, prev, cluster.status.primary);
  const withInstance: RestoreStatus = { ...base, instance: instance.name };

  if (phase === "Pending") {
    const refusal = refuse(ctx, clusterName, plan, lookup);
    if (refusal) {
      if (refusal.wait) return waiting(ctx, base, "Pending", refusal.reason, refusal.message);
      return failed(ctx, base, refusal.reason, refusal.message, { dataChanged: false });
    }
    phase = "ScalingDown";
  }

  if (phase === "ScalingDown") {
    const gate = cluster.status.restore;
    const acknowledged =
      cluster.neverSynced || (gate?.name === ctx.ref.name && (gate.state === "Stopped" || gate.state === "Starting"));
    const running = instancePods(ctx.req.related, model.name);
    if (!cluster.neverSynced && !existingClaims(ctx.req.related).has(names.dataVolumeClaim(instance.name)))
      return waiting(
        ctx,
        withInstance,
        "ScalingDown",
        "VolumeMissing",
        `${instance.pod} has no data volume (${names.dataVolumeClaim(instance.name)}) to restore into`,
      );
    if (!acknowledged || running.length > 0) {
      const message = running.length
        ? `waiting for the cluster's instances to stop: ${running.map((p) => p.name).join(", ")}`
        : `waiting for PostgresCluster ${model.name} to stop its instances for this restore`;
      return waiting(ctx, withInstance, "ScalingDown", "StoppingCluster", message);
    }
    phase = "Restoring";
  }

  const jobName = names.restoreJob(ctx.ref.name);
  const restoreRaw = ctx.jobs[jobName];
  const restoreJob = restoreRaw ? asDesired(restoreRaw) : undefined;
  const withJob: RestoreStatus = { ...withInstance, jobName };

  if (phase === "Restoring") {
    if (!restoreRaw && cluster.deleting)
      // nothing ran yet: a restore Job now would only be refused (a namespace being deleted) or orphaned
      return failed(
        ctx,
        withJob,
        "ClusterDeleting",
        `PostgresCluster ${clusterName} is being deleted; nothing was restored`,
        {
          dataChanged: false,
        },
      );
    if (!restoreRaw) {
      const job = buildRestoreJob(ctx.ref, model, instance, plan);
      return waiting(
        ctx,
        withJob,
        "Restoring",
        "JobCreated",
        `restore Job ${jobName} requested into ${instance.pod}'s volume`,
        [asChild(job)],
      );
    }
    const state = jobState(restoreRaw, podsOfJob(ctx.req.related, jobName));
    const timed: RestoreStatus = { ...withJob, ...(state.startTime ? { startTime: state.startTime } : {}) };
    if (state.state === "failed") {
      const failure = parseRestoreFailure(state.message, state.reason ?? "the restore Job failed");
      const note = failure.dataChanged
        ? `; ${instance.pod}'s data may be partly restored: the cluster stays stopped until this PostgresRestore is deleted or a new one succeeds`
        : "; nothing was changed";
      return failed(ctx, timed, "RestoreFailed", `${failure.message}${note}`, {
        dataChanged: failure.dataChanged,
        ...(state.completionTime ? { time: state.completionTime } : {}),
      });
    }
    if (state.state !== "succeeded")
      return waiting(
        ctx,
        timed,
        "Restoring",
        "Restoring",
        `pgbackrest restore (${plan.description}) is running in Job ${jobName}`,
        [restoreJob!],
      );
    const result = parseRestoreResult(state.message);
    const restored: RestoreStatus = {
      ...timed,
      ...(result?.backupSet ? { backupSet: result.backupSet } : {}),
      ...(result?.timeline !== undefined ? { timeline: result.timeline } : {}),
      ...(result?.lsn ? { lsn: result.lsn } : {}),
    };
    return starting(ctx, model, instance, restored, restoreJob!, state.completionTime);
  }
  return starting(ctx, model, instance, withJob, restoreJob, undefined);
}

interface Refusal {
  reason: string;
  message: string;
  /** Wait instead of failing (an older restore is being cancelled, a backup not read yet). */
  wait?: boolean;
}

function refuse(
  ctx: Context,
  clusterName: string,
  plan: RestorePlan,
  lookup: ClusterLookup & { ok: true },
): Refusal | undefined {
  const { cluster } = lookup;
  const older = otherRestores(ctx.req.related, ctx.ref.name, clusterName)
    .filter((o) => !(o.phase && (TERMINAL as readonly string[]).includes(o.phase)))
    .filter((o) => o.createdAt < ctx.createdAt || (o.createdAt === ctx.createdAt && o.name < ctx.ref.name));
  const cancelling = older.find((o) => o.deleting);
  const running = older.find((o) => !o.deleting);
  if (running)
    return {
      reason: "ConcurrentRestore",
      message: `PostgresRestore ${running.name} of cluster ${clusterName} is still in progress; one restore runs at a time: create this one again once it has finished`,
    };
  if (cancelling)
    return {
      reason: "WaitingForCancel",
      message: `waiting for the cancelled PostgresRestore ${cancelling.name} to go away`,
      wait: true,
    };
  if (cluster.deleting)
    return { reason: "ClusterDeleting", message: `PostgresCluster ${clusterName} is being deleted` };
  const repos = cluster.model.spec.backups?.pgbackrest?.repos ?? [];
  if (!repos.some((r) => r.name === ctx.ref.repoName))
    return {
      reason: "RepoNotFound",
      message: `PostgresCluster ${clusterName} has no repository ${ctx.ref.repoName}${repos.length ? ` (it has ${repos.map((r) => r.name).join(", ")})` : " (no spec.backups.pgbackrest)"}`,
    };
  const published = publishedRepo(cluster.status, ctx.ref.repoName);
  const where = `status.pgbackrest.repos of PostgresCluster ${clusterName}, as last read from the bucket`;
  const problem = repoProblem(plan, ctx.ref.repoName, published, where);
  return problem && { reason: problem.reason, message: problem.message, ...(problem.wait ? { wait: true } : {}) };
}

/** Instances whose data is cleared: every other instance of the spec whose data volume exists. */
function instancesToReset(ctx: Context, model: ClusterModel, instance: InstanceModel): string[] {
  if (ctx.prev.resetInstances) return ctx.prev.resetInstances;
  const claims = existingClaims(ctx.req.related);
  return model.instances
    .filter((i) => i.name !== instance.name && claims.has(names.dataVolumeClaim(i.name)))
    .map((i) => i.name)
    .sort();
}

function starting(
  ctx: Context,
  model: ClusterModel,
  instance: InstanceModel,
  base: RestoreStatus,
  restoreJob: Child | undefined,
  restoredAt: string | undefined,
): SyncResponse {
  const resets = instancesToReset(ctx, model, instance);
  const status: RestoreStatus = { ...base, resetInstances: resets };
  const children: Child[] = restoreJob ? [restoreJob] : [];
  const steps: { name: string; build: () => V1Job; what: string }[] = [
    {
      name: names.restoreDcsJob(ctx.ref.name),
      build: () => buildDcsResetJob(ctx.ref, model),
      what: "resetting Patroni's DCS",
    },
    ...resets.flatMap((name) => {
      const i = model.instances.find((m) => m.name === name);
      return i
        ? [
            {
              name: names.restoreResetJob(ctx.ref.name, name),
              build: () => buildInstanceResetJob(ctx.ref, model, i),
              what: `clearing ${i.pod}'s data so it re-clones`,
            },
          ]
        : [];
    }),
  ];
  const problems: string[] = [];
  let pending = 0;
  for (const step of steps) {
    const raw = ctx.jobs[step.name];
    if (raw) {
      children.push(asDesired(raw));
      const state = jobState(raw, podsOfJob(ctx.req.related, step.name));
      if (state.state === "failed")
        problems.push(
          `${step.what} failed (Job ${step.name}: ${parseRestoreFailure(state.message, state.reason ?? "failed").message}); delete the Job to run it again`,
        );
      if (state.state !== "succeeded") pending++;
    } else if (!ctx.prev.startInstance) {
      children.push(asChild(step.build()));
      pending++;
    }
  }
  const done = ctx.prev.startInstance !== undefined || pending === 0;
  if (!done) {
    const message = problems.length
      ? problems.join("; ")
      : "resetting Patroni's DCS and the other instances before the cluster starts";
    return waiting(ctx, status, "Starting", problems.length ? "StepFailed" : "Preparing", message, children);
  }
  const started: RestoreStatus = { ...status, startInstance: instance.name };
  const pod = instancePods(ctx.req.related, model.name).find((p) => p.name === instance.pod);
  if (pod?.ready && pod.role === PATRONI_LEADER_VALUE) {
    const time = pod.readySince ?? restoredAt;
    const message = `restored ${base.backupSet ? `backup set ${base.backupSet}` : "the backup"} (${base.target}) into ${instance.pod}, which leads the cluster${base.timeline !== undefined ? ` on timeline ${base.timeline}` : ""}`;
    return {
      status: {
        ...started,
        phase: "Succeeded",
        ...(time ? { completionTime: time } : {}),
        conditions: [condition(CONDITION, "True", "Restored", message, { previous: ctx.prev.conditions, time: time })],
      },
      children,
    };
  }
  return waiting(
    ctx,
    started,
    "Starting",
    "StartingCluster",
    `waiting for ${instance.pod} to start from the restored data and lead the cluster (Patroni bootstraps it: kubectl logs ${instance.pod})`,
    children,
  );
}

/** The label value this restore's Jobs and Pods carry. */
export const restoreLabelOf = (name: string) => labelValue(name);
