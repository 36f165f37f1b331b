/**
 * @module
 * The update gate: which pod template each instance StatefulSet gets in this sync, how many
 * replicas, and whether the leader must first be switched over. Decided from the observed
 * StatefulSets and the related Pods only (Patroni's role label, readiness, the config hash of
 * the template each pod was created from).
 *
 * - A new instance is created at once.
 * - A changed template reaches at most one ready instance per sync, replicas first (by name),
 *   and only while every instance is ready, nothing else is mid-update and the dynamic
 *   configuration Job has finished. The leader goes last: when it is the only outdated
 *   instance, a switchover to an up-to-date ready replica comes first; a single-instance
 *   cluster has nobody to switch to and is updated in place.
 * - An outdated instance that is not ready anyway is updated at once (a fixed image must be
 *   able to repair a crash-looping pod).
 * - An instance held back is emitted with its OBSERVED template, so Metacontroller (InPlace)
 *   changes nothing there.
 * - Scale-down drops the instances no longer desired (the highest ordinals), but only while the
 *   leader is known and every instance that stays is ready; the leader itself stays until a
 *   switchover has moved leadership to a kept instance.
 * - Shutdown scales replicas to zero first and the leader last.
 */
import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import type { ClusterModel, InstanceModel, InstanceSetModel } from "../../../shared/cluster/model.ts";
import type { ObservedPod, ObservedStatefulSet } from "../observe/observed.ts";
import { LEADER_ROLE } from "../patroni/config.ts";

export interface DesiredInstance {
  set: InstanceSetModel;
  instance: InstanceModel;
  template: V1PodTemplateSpec;
  configHash: string;
}

interface InstancePlan {
  /** Undefined for a retiring instance that is no longer in the spec. */
  desired?: DesiredInstance;
  name: string;
  observed?: ObservedStatefulSet;
  replicas: number;
  template: V1PodTemplateSpec | Record<string, unknown>;
}

type Progress = "Creating" | "RollingUpdate" | "Switchover" | "ScalingDown" | "ShuttingDown" | "Restoring";

export interface RolloutPlan {
  instances: InstancePlan[];
  switchover?: { leader: string; candidate: string };
  /** What is still under way; empty when the instances are as desired. */
  progress: { reason: Progress; message: string }[];
}

export interface RolloutInput {
  model: ClusterModel;
  desired: DesiredInstance[];
  statefulSets: Map<string, ObservedStatefulSet>;
  pods: Map<string, ObservedPod>;
  /** Whether the dynamic configuration currently desired has been applied (its Job succeeded). */
  configApplied: boolean;
}

const podOf = (statefulSet: string) => `${statefulSet}-0`;

function observedTemplate(o: ObservedStatefulSet | undefined): Record<string, unknown> | undefined {
  const template = (o?.raw.spec as { template?: Record<string, unknown> } | undefined)?.template;
  return template && typeof template === "object" ? template : undefined;
}

export function planRollout(input: RolloutInput): RolloutPlan {
  const { model, desired, statefulSets, pods } = input;
  const desiredNames = new Set(desired.map((d) => d.instance.name));
  const leaderPod = [...pods.values()].find((p) => p.role === LEADER_ROLE && !p.terminating);
  const leader = leaderPod?.name;
  const retiring = [...statefulSets.values()]
    .filter((o) => !desiredNames.has(o.name))
    .sort((a, b) => a.name.localeCompare(b.name));
  const progress: RolloutPlan["progress"] = [];

  if (model.shutdown) return planShutdown(input, leader, retiring);

  const podState = (d: DesiredInstance) => {
    const pod = pods.get(podOf(d.instance.name));
    const o = statefulSets.get(d.instance.name);
    return {
      pod,
      observed: o,
      ready: pod?.ready === true,
      stsCurrent: o !== undefined && o.configHash === d.configHash,
      podCurrent: pod?.configHash === d.configHash,
    };
  };

  const states = desired.map((d) => ({ d, ...podState(d) }));
  const release = new Set<string>();
  let switchover: RolloutPlan["switchover"];

  const creating = states.filter((s) => !s.observed);
  if (creating.length)
    progress.push({
      reason: "Creating",
      message: `creating instance(s) ${creating.map((s) => s.d.instance.name).join(", ")}`,
    });

  const outdated = states.filter((s) => s.observed && !s.stsCurrent);
  // Down anyway: replacing them costs nothing and may be what repairs them.
  for (const s of outdated) if (!s.ready) release.add(s.d.instance.name);

  // Told to update, but its pod still runs (or is replacing) the old template.
  const updating = states.filter((s) => s.stsCurrent && !s.podCurrent);
  const allReady = states.every((s) => s.ready);
  const readyOutdated = outdated.filter((s) => s.ready);
  if (readyOutdated.length) {
    const names = readyOutdated.map((s) => s.d.instance.name).join(", ");
    if (!allReady || updating.length || release.size) {
      progress.push({
        reason: "RollingUpdate",
        message: `waiting for every instance to be ready before updating ${names}`,
      });
    } else if (!input.configApplied) {
      progress.push({
        reason: "RollingUpdate",
        message: `waiting for the Patroni configuration Job before updating ${names}`,
      });
    } else {
      const replicas = readyOutdated.filter((s) => podOf(s.d.instance.name) !== leader);
      if (replicas.length) {
        release.add(replicas[0]!.d.instance.name);
        progress.push({ reason: "RollingUpdate", message: `updating instance ${replicas[0]!.d.instance.name}` });
      } else {
        const candidate = states.find(
          (s) =>
            s.podCurrent &&
            s.ready &&
            s.pod?.role !== LEADER_ROLE &&
            s.d.instance.name !== readyOutdated[0]!.d.instance.name,
        );
        const others = states.filter((s) => s.d.instance.name !== readyOutdated[0]!.d.instance.name);
        if (candidate && leader) {
          switchover = { leader, candidate: podOf(candidate.d.instance.name) };
          progress.push({
            reason: "Switchover",
            message: `switching the leader over from ${leader} to ${switchover.candidate} before updating it`,
          });
        } else if (others.length === 0) {
          release.add(readyOutdated[0]!.d.instance.name);
          progress.push({
            reason: "RollingUpdate",
            message: `updating the only instance ${readyOutdated[0]!.d.instance.name} (brief downtime)`,
          });
        } else {
          progress.push({
            reason: "RollingUpdate",
            message: `waiting for an up-to-date replica to take over from ${leader}`,
          });
        }
      }
    }
  }
  if (release.size && !progress.some((p) => p.reason === "RollingUpdate"))
    progress.push({
      reason: "RollingUpdate",
      message: `replacing instance(s) that are not ready: ${[...release].join(", ")}`,
    });
  if (updating.length && !progress.some((p) => p.reason === "RollingUpdate"))
    progress.push({
      reason: "RollingUpdate",
      message: `waiting for instance(s) ${updating.map((s) => s.d.instance.name).join(", ")} to restart with the new template`,
    });

  const instances: InstancePlan[] = states.map((s) => {
    const held =
      s.observed && !s.stsCurrent && !release.has(s.d.instance.name) ? observedTemplate(s.observed) : undefined;
    return {
      desired: s.d,
      name: s.d.instance.name,
      ...(s.observed ? { observed: s.observed } : {}),
      replicas: 1,
      template: held ?? s.d.template,
    };
  });

  // An instance leaves only when losing it cannot lose the cluster: never while the leader is
  // unknown (any of them may be it), never before every instance that stays is ready (a renamed
  // set would otherwise drop its replicas while the new instances still clone), and the leader
  // only after it has handed over to an instance that stays.
  const retireNow = leader !== undefined && allReady;
  const kept = retiring.filter((o) => podOf(o.name) === leader || !retireNow);
  for (const o of kept) {
    const template = observedTemplate(o);
    if (template) instances.push({ name: o.name, observed: o, replicas: 1, template });
    if (podOf(o.name) !== leader) continue;
    const candidate = states.find((s) => s.ready && s.pod?.role !== LEADER_ROLE);
    if (candidate && !switchover) switchover = { leader: podOf(o.name), candidate: podOf(candidate.d.instance.name) };
  }
  if (retiring.length) {
    const list = retiring.map((o) => o.name).join(", ");
    const waitingFor =
      leader === undefined
        ? "the leader is known (no pod carries Patroni's leader label, so any of them may be it)"
        : !allReady
          ? "every instance that stays is ready"
          : kept.length
            ? "the leader has moved to an instance that stays"
            : undefined;
    progress.push({
      reason: "ScalingDown",
      message: waitingFor ? `removing instance(s) ${list} once ${waitingFor}` : `removing instance(s) ${list}`,
    });
  }

  return { instances, ...(switchover ? { switchover } : {}), progress };
}

/** Replicas stop first; the leader keeps running until it is the last pod. */
function planShutdown(input: RolloutInput, leader: string | undefined, retiring: ObservedStatefulSet[]): RolloutPlan {
  const { desired, statefulSets, pods } = input;
  const instancePods = [...pods.values()].filter(
    (p) => !p.terminating && [...statefulSets.keys()].some((s) => podOf(s) === p.name),
  );
  const othersRunning = instancePods.some((p) => p.name !== leader);
  const keepLeader = (name: string) => podOf(name) === leader && othersRunning;
  const instances: InstancePlan[] = desired.map((d) => {
    const o = statefulSets.get(d.instance.name);
    return {
      desired: d,
      name: d.instance.name,
      ...(o ? { observed: o } : {}),
      replicas: keepLeader(d.instance.name) ? 1 : 0,
      template: observedTemplate(o) ?? d.template,
    };
  });
  for (const o of retiring) {
    const template = observedTemplate(o);
    if (keepLeader(o.name) && template) instances.push({ name: o.name, observed: o, replicas: 1, template });
  }
  return {
    instances,
    progress: instancePods.length
      ? [{ reason: "ShuttingDown", message: `stopping ${instancePods.map((p) => p.name).join(", ")}` }]
      : [],
  };
}
