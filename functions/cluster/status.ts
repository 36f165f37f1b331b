/**
 * @module
 * The PostgresCluster status, derived only from observed children and related Pods (never a
 * clock, never a counter: status is replaced wholesale and a changing one re-triggers syncs).
 * Metacontroller itself writes `observedGeneration`.
 */
import type { Condition } from "../../shared/api/kube.ts";
import type { PostgresClusterStatus } from "../../shared/api/postgres-cluster.ts";
import type { ClusterModel } from "../../shared/cluster/model.ts";
import { condition } from "../../shared/conditions.ts";
import type { FieldProblem } from "../../shared/field-path.ts";
import type { DesiredInstance, RolloutPlan } from "./instance/rollout.ts";
import type { ObservedPod } from "./observe/observed.ts";
import type { Part } from "./part.ts";
import { LEADER_ROLE } from "./patroni/config.ts";
import type { GateStatus } from "./restore/gate.ts";

export function leaderPod(pods: Map<string, ObservedPod>): ObservedPod | undefined {
  return [...pods.values()]
    .filter((p) => p.role === LEADER_ROLE && !p.terminating)
    .sort((a, b) => a.name.localeCompare(b.name))[0];
}

export interface StatusInput {
  model: ClusterModel;
  desired: DesiredInstance[];
  pods: Map<string, ObservedPod>;
  plan: RolloutPlan;
  /** What the parts report: their Jobs, ignored settings and own conditions. */
  parts: Part;
  /** What a restore, data source or standby decides over the instances' own status. */
  gate: GateStatus;
  /** An instance has run as a Patroni member (observe/cluster.ts). */
  initialized: boolean;
}

/**
 * The status, built in this one place: the instances' phase and conditions, then what the gate
 * decides over them (a condition of the same type replaced in place, others added), then the
 * parts' own conditions.
 */
export function clusterStatus(input: StatusInput): PostgresClusterStatus {
  const { gate } = input;
  const base = instanceStatus(input);
  const conditions = [...(base.conditions ?? [])];
  for (const c of gate.conditions) {
    const i = conditions.findIndex((x) => x.type === c.type);
    if (i >= 0) conditions[i] = c;
    else conditions.push(c);
  }
  return {
    ...base,
    ...(gate.phase ? { phase: gate.phase } : {}),
    conditions: [...conditions, ...input.parts.conditions],
    ...(gate.restore ? { restore: gate.restore } : {}),
    ...(gate.dataSource ? { dataSource: gate.dataSource } : {}),
  };
}

function instanceStatus(input: StatusInput): PostgresClusterStatus {
  const { model, desired, pods, plan } = input;
  const { jobs, ignored } = input.parts;
  const generation = model.generation;
  const leader = leaderPod(pods);
  const podOf = (d: DesiredInstance) => pods.get(`${d.instance.name}-0`);
  const desiredCount = model.shutdown ? 0 : desired.length;
  const ready = desired.filter((d) => podOf(d)?.ready === true);
  const notReady = desired.filter((d) => podOf(d)?.ready !== true).map((d) => d.instance.name);
  const primaryReady = leader?.ready === true;
  const { initialized } = input;

  const instances = model.sets.map((set) => {
    const mine = desired.filter((d) => d.set.name === set.name);
    return {
      name: set.name,
      replicas: model.shutdown ? 0 : mine.length,
      readyReplicas: mine.filter((d) => podOf(d)?.ready === true).length,
      updatedReplicas: mine.filter((d) => podOf(d)?.configHash === d.configHash).length,
    };
  });

  const runningJobs = jobs.filter((j) => j.state === "running");
  const failedJobs = jobs.filter((j) => j.state === "failed");
  const instancePods = desired.filter((d) => podOf(d) !== undefined);

  let phase: string;
  if (model.shutdown) phase = plan.progress.length ? "Stopping" : "Stopped";
  else if (primaryReady) {
    if (plan.progress.length) phase = "Updating";
    else if (notReady.length || failedJobs.length) phase = "Degraded";
    else phase = "Running";
  } else if (initialized) phase = "Degraded";
  else if (instancePods.length === 0 && plan.progress.some((p) => p.reason === "Creating")) phase = "Pending";
  else phase = "Creating";

  const conditions: Condition[] = [];
  if (model.shutdown) {
    conditions.push(
      condition(
        "Ready",
        "False",
        "Shutdown",
        "spec.shutdown is true: every instance is scaled to zero; the data is kept",
        { generation },
      ),
    );
  } else if (!primaryReady) {
    conditions.push(
      condition(
        "Ready",
        "False",
        "NoPrimary",
        leader
          ? `the leader ${leader.name} is not ready; check its logs (kubectl logs ${leader.name})`
          : `no instance is the Patroni leader yet; ${ready.length}/${desiredCount} instances ready${notReady.length ? ` (not ready: ${notReady.join(", ")})` : ""}`,
        { generation },
      ),
    );
  } else if (notReady.length) {
    conditions.push(
      condition(
        "Ready",
        "False",
        "InstancesNotReady",
        `${ready.length}/${desiredCount} instances ready; not ready: ${notReady.join(", ")}`,
        { generation },
      ),
    );
  } else {
    conditions.push(
      condition(
        "Ready",
        "True",
        "AllInstancesReady",
        `${ready.length}/${desiredCount} instances ready; primary ${leader!.name}`,
        { generation },
      ),
    );
  }

  const progressing = [
    ...plan.progress,
    ...runningJobs.map((j) => ({ reason: "JobRunning", message: `${j.what} (Job ${j.name}) is running` })),
  ];
  conditions.push(
    progressing.length
      ? condition("Progressing", "True", progressing[0]!.reason, progressing.map((p) => p.message).join("; "), {
          generation,
        })
      : condition("Progressing", "False", "UpToDate", "every instance runs the desired configuration", {
          generation,
        }),
  );

  const degraded: string[] = [];
  if (!model.shutdown && !primaryReady && initialized)
    degraded.push(leader ? `the leader ${leader.name} is not ready` : "no instance is the Patroni leader");
  if (!model.shutdown && primaryReady && notReady.length)
    degraded.push(`instance(s) not ready: ${notReady.join(", ")}`);
  for (const j of failedJobs)
    degraded.push(`${j.what} failed (Job ${j.name}): see kubectl logs job/${j.name}; delete the Job to run it again`);
  conditions.push(
    degraded.length
      ? condition(
          "Degraded",
          "True",
          failedJobs.length ? "JobFailed" : primaryReady ? "InstancesNotReady" : "NoPrimary",
          degraded.join("; "),
          { generation },
        )
      : condition("Degraded", "False", "AsExpected", "nothing is degraded", { generation }),
  );
  conditions.push(
    ignored.length
      ? condition(
          "Valid",
          "True",
          "SettingsIgnored",
          `the spec is usable, but these settings were ignored: ${ignored.join("; ")}`,
          { generation },
        )
      : condition("Valid", "True", "SpecAccepted", "the spec is valid", { generation }),
  );

  return {
    phase,
    ...(leader ? { primary: leader.name } : {}),
    ...(initialized ? { initialized: true } : {}),
    readyInstances: `${ready.length}/${desiredCount}`,
    instances,
    conditions,
  };
}

/** An unusable spec: say what is wrong; the children stay as they are. */
export function invalidStatus(
  problems: FieldProblem[],
  pods: Map<string, ObservedPod>,
  generation: number | undefined,
  initialized: boolean,
): PostgresClusterStatus {
  const message = `the spec is invalid, nothing was changed: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`;
  const leader = leaderPod(pods);
  return {
    phase: "Invalid",
    ...(leader ? { primary: leader.name } : {}),
    ...(initialized ? { initialized: true } : {}),
    conditions: [
      condition("Ready", "False", "InvalidSpec", "the spec is invalid; see the Valid condition", {
        generation,
      }),
      condition("Progressing", "False", "InvalidSpec", "nothing is changed until the spec is fixed", {
        generation,
      }),
      condition("Degraded", "True", "InvalidSpec", message, { generation }),
      condition("Valid", "False", "InvalidSpec", message, { generation }),
    ],
  };
}

/**
 * The hook holds everything as observed until a person acts: credentials lost on a cluster that
 * holds data (lost-credentials.ts), or a backup repository removed without confirmation
 * (pgbackrest/removal.ts).
 */
export function heldStatus(
  hold: { reason: "CredentialsLost" | "BackupRemovalNotAuthorized"; message: string },
  pods: Map<string, ObservedPod>,
  generation: number | undefined,
  initialized: boolean,
): PostgresClusterStatus {
  const leader = leaderPod(pods);
  const { reason, message } = hold;
  return {
    phase: "Degraded",
    ...(leader ? { primary: leader.name } : {}),
    ...(initialized ? { initialized: true } : {}),
    conditions: [
      condition("Ready", "False", reason, "the cluster is held as it is; see the Degraded condition", { generation }),
      condition("Progressing", "False", reason, "nothing is changed until a person acts", { generation }),
      condition("Degraded", "True", reason, message, { generation }),
      condition("Valid", "True", "SpecAccepted", "the spec is valid", { generation }),
    ],
  };
}
