/**
 * @module
 * Switchover and failover on request (PGO's shape): with `spec.patroni.switchover.enabled`,
 * a new value of the annotation `postgres.tusk.dev/trigger-switchover` runs one Job that asks
 * Patroni's REST API for `/switchover` (from the current leader to `targetInstance`, or to any
 * healthy replica) or `/failover` (to `targetInstance`, which type Failover requires).
 *
 * The same value never fires twice: the Job is named by the value alone
 * (objects/job.ts `triggeredSwitchoverJobName`), and while the annotation keeps that value the hook
 * returns the observed Job unchanged, finished or not. Whether a value has fired is read from
 * that observed Job, never remembered elsewhere. When the target already leads, the value is
 * recorded by a suspended Job that never runs a pod, so it cannot fire later, after some
 * other failover, by surprise.
 *
 * A value that cannot run yet (the leader not ready, the target not ready, a rolling update's
 * own switchover under way) waits and fires once it can; an unknown target, or the feature
 * disabled, is reported and fires nothing until the spec changes.
 */
import type { V1Job } from "@kubernetes/client-node";
import type { Condition } from "../../../shared/api/kube.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { condition } from "../../../shared/conditions.ts";
import { ANNOTATION } from "../../../shared/labels.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { asDesired } from "../observe/observed.ts";
import { type Part, part } from "../part.ts";
import { LEADER_ROLE } from "./config.ts";
import { buildSwitchoverJob, triggeredSwitchoverJobName } from "./jobs.ts";

const SWITCHOVER_CONDITION = "Switchover";

/** A request runs once; a refused one fails fast instead of retrying for minutes. */
const TRIGGER_BACKOFF_LIMIT = 2;

export interface TriggerInput {
  model: ClusterModel;
  observed: ObservedCluster;
  /** A rolling update is moving the leader itself in this sync. */
  rollingSwitchover: boolean;
}

/** targetInstance names an instance (`<cluster>-<set>-<n>`) or its pod (`...-0`, Patroni's member name). */
function targetPod(model: ClusterModel, target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  return model.instances.find((i) => i.name === target || i.pod === target)?.pod;
}

function suspended(job: V1Job): V1Job {
  return { ...job, spec: { ...job.spec!, suspend: true } };
}

export function triggeredSwitchover(input: TriggerInput): Part {
  const { model } = input;
  const { pods } = input.observed;
  const id = input.observed.annotations[ANNOTATION.switchoverTrigger];
  if (id === undefined || id === "") return part();
  const settings = model.spec.patroni?.switchover;
  const type = settings?.type ?? "Switchover";
  const what = `${type.toLowerCase()} ${JSON.stringify(id)}`;
  if (!settings?.enabled)
    return part({
      conditions: [
        condition(
          SWITCHOVER_CONDITION,
          "False",
          "Disabled",
          `${ANNOTATION.switchoverTrigger} is ${JSON.stringify(id)}, but spec.patroni.switchover.enabled is not true: nothing was done`,
          { generation: model.generation },
        ),
      ],
    });

  const name = triggeredSwitchoverJobName(model, id);
  const observed = input.observed.jobs.get(name);
  if (observed) {
    const { state, raw } = observed;
    const skipped = (raw.spec as { suspend?: boolean } | undefined)?.suspend === true;
    const outcome: Record<typeof state, [Condition["status"], string, string]> = {
      running: ["Unknown", "Running", `${what} is running (Job ${name})`],
      succeeded: ["True", "Succeeded", `${what} succeeded (Job ${name})`],
      failed: [
        "False",
        "Failed",
        `${what} failed: Patroni refused or could not be reached (kubectl logs job/${name}); set a new value to try again`,
      ],
    };
    const [status, reason, message] = skipped
      ? (["True", "AlreadyLeader", `${what}: the target already led when it was asked for; nothing was done`] as const)
      : outcome[state];
    return part({
      children: [asDesired(raw)],
      jobs: state === "running" && !skipped ? [{ name, what, state }] : [],
      conditions: [condition(SWITCHOVER_CONDITION, status, reason, message, { generation: model.generation })],
    });
  }

  const waiting = (message: string): Part =>
    part({
      conditions: [
        condition(SWITCHOVER_CONDITION, "False", "Waiting", `${what} waits: ${message}`, {
          generation: model.generation,
        }),
      ],
    });
  const target = targetPod(model, settings.targetInstance);
  if (settings.targetInstance !== undefined && target === undefined)
    return part({
      conditions: [
        condition(
          SWITCHOVER_CONDITION,
          "False",
          "InvalidTarget",
          `spec.patroni.switchover.targetInstance ${JSON.stringify(settings.targetInstance)} is not an instance of this cluster (${model.instances.map((i) => i.name).join(", ")})`,
          { generation: model.generation },
        ),
      ],
    });
  if (type === "Failover" && target === undefined)
    return part({
      conditions: [
        condition(
          SWITCHOVER_CONDITION,
          "False",
          "InvalidTarget",
          "type Failover needs spec.patroni.switchover.targetInstance",
          { generation: model.generation },
        ),
      ],
    });
  if (model.shutdown) return waiting("the cluster is shut down");
  if (input.rollingSwitchover) return waiting("a rolling update is moving the leader");

  const leader = [...pods.values()].find((p) => p.role === LEADER_ROLE && !p.terminating);
  const targetState = target ? pods.get(target) : undefined;
  if (target !== undefined && targetState?.ready !== true) return waiting(`the target ${target} is not ready`);
  const trigger = { id, type };

  if (type === "Failover") {
    const job = buildSwitchoverJob(model, leader?.name, target, trigger);
    return start(model, job, what, leader?.name === target);
  }
  if (!leader?.ready) return waiting("the leader is not ready");
  if (target === undefined && ![...pods.values()].some((p) => p.ready && p.role !== LEADER_ROLE))
    return waiting("no ready replica to switch over to");
  const job = buildSwitchoverJob(model, leader.name, target, trigger);
  return start(model, job, what, leader.name === target);
}

function start(model: ClusterModel, job: V1Job, what: string, alreadyLeads: boolean): Part {
  const limited: V1Job = { ...job, spec: { ...job.spec!, backoffLimit: TRIGGER_BACKOFF_LIMIT } };
  const name = job.metadata!.name!;
  if (alreadyLeads)
    return part({
      children: [suspended(limited)],
      conditions: [
        condition(
          SWITCHOVER_CONDITION,
          "True",
          "AlreadyLeader",
          `${what}: the target already leads; nothing was done`,
          { generation: model.generation },
        ),
      ],
    });
  return part({
    children: [limited],
    jobs: [{ name, what, state: "absent" }],
    conditions: [
      condition(SWITCHOVER_CONDITION, "Unknown", "Pending", `${what} starts (Job ${name})`, {
        generation: model.generation,
      }),
    ],
  });
}
