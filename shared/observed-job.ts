/**
 * @module
 * Observed Jobs and their Pods, read the same way by every hook that runs Jobs (backups and their
 * expiry, restores, the cluster hook's data-source restore, switchover and volume Jobs): a Job's
 * state with the termination message of its relevant Pod. Observed objects are raw JSON: anything
 * may be missing. A Job is kept as observed with shared/metacontroller.ts's asDesired.
 */
import * as z from "zod";
import { KINDS } from "./kinds.ts";
import { type ObjectMap, observedOf } from "./metacontroller.ts";

/** The metadata fields the readers of observed objects use. */
export const ObservedMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const PodObject = z.looseObject({
  metadata: ObservedMeta.extend({
    ownerReferences: z.array(z.looseObject({ kind: z.string(), name: z.string() })).optional(),
  }),
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

/** Every observed Pod that parses, by name. */
export function observedPods(related: ObjectMap): PodObject[] {
  const all = observedOf(related, KINDS.Pod.kind, KINDS.Pod.apiVersion);
  return Object.keys(all)
    .sort()
    .flatMap((k) => {
      const p = PodObject.safeParse(all[k]);
      return p.success ? [p.data] : [];
    });
}

/** The Pods of one Job (by owner, else by the Job controller's label). */
export function podsOfJob(related: ObjectMap, job: string): PodObject[] {
  return observedPods(related).filter((p) => isPodOfJob(p, job));
}

/** A Job's Pod: owned by it, or labelled by the Job controller with its name. */
export function isPodOfJob(pod: PodObject, job: string): boolean {
  const owned = pod.metadata.ownerReferences?.some((o) => o.kind === "Job" && o.name === job);
  const l = pod.metadata.labels ?? {};
  return owned === true || l["batch.kubernetes.io/job-name"] === job || l["job-name"] === job;
}

const JobObject = z.looseObject({
  metadata: ObservedMeta,
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

/** The named container's termination (a pod may carry injected sidecars), else the first container's. */
function terminated(p: PodObject, container: string | undefined) {
  const statuses = p.status?.containerStatuses ?? [];
  return (statuses.find((c) => c.name === container) ?? statuses[0])?.state?.terminated;
}

/** Latest finished first, then by name: the choice never depends on list order. */
function latest(list: PodObject[], container: string | undefined): PodObject | undefined {
  return [...list].sort((a, b) => {
    const fa = terminated(a, container)?.finishedAt ?? a.metadata.creationTimestamp ?? "";
    const fb = terminated(b, container)?.finishedAt ?? b.metadata.creationTimestamp ?? "";
    if (fa !== fb) return fa < fb ? 1 : -1;
    return a.metadata.name < b.metadata.name ? 1 : -1;
  })[0];
}

/**
 * An observed Job's state, with the termination message of its relevant Pod (of `container`'s
 * status when given). Succeeded is any of the Job controller's signs of success: the Complete
 * condition, a succeeded Pod count, or a completionTime (set only on success); the condition can
 * lag the count by a sync, and a hook must not run the same work twice meanwhile.
 */
export function jobState(raw: unknown, jobPods: PodObject[], container?: string): JobState {
  const parsed = JobObject.safeParse(raw);
  if (!parsed.success) return { state: "pending" };
  const s = parsed.data.status ?? {};
  const base = s.startTime ? { startTime: s.startTime } : {};
  const condition = (type: string) => s.conditions?.find((c) => c.type === type && c.status === "True");
  const complete = condition("Complete");
  if (complete || (s.succeeded ?? 0) > 0 || s.completionTime) {
    const pod = latest(
      jobPods.filter((p) => terminated(p, container)?.exitCode === 0),
      container,
    );
    const completionTime = s.completionTime ?? complete?.lastTransitionTime;
    const message = pod ? terminated(pod, container)?.message : undefined;
    return {
      state: "succeeded",
      ...base,
      ...(completionTime ? { completionTime } : {}),
      ...(message ? { message } : {}),
    };
  }
  const failed = condition("Failed");
  if (failed) {
    const pod = latest(
      jobPods.filter((p) => (terminated(p, container)?.exitCode ?? 0) !== 0),
      container,
    );
    const message = pod ? terminated(pod, container)?.message : undefined;
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
