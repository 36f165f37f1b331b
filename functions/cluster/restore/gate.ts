/**
 * @module
 * The cluster's side of restores, decided from related PostgresRestores, observed StatefulSets
 * and Pods only (the restore hook and this hook share no state but the objects' status):
 *
 * - While a PostgresRestore of this cluster is past Pending and not finished (ScalingDown,
 *   Restoring, Starting; also while being deleted, until it is gone), every instance StatefulSet
 *   is at zero, Restoring=True is published (admission refuses a new restore annotation then),
 *   and `status.restore = {name, state}` says `Stopping`, `Stopped` (every instance StatefulSet
 *   at zero with no Pod left: the restore may use the volumes) or `Starting`. In Starting, once
 *   the restore publishes `startInstance`, that instance alone runs until the restore has
 *   Succeeded; the others start afterwards and re-clone. Patroni's bootstrap becomes the
 *   "restored data" method meanwhile (patroni/config.ts), and the users, Patroni configuration and
 *   switchover Jobs are held, so they run again on the restored database afterwards.
 * - After a Failed restore that may have changed data, every instance stays at zero with
 *   `Restoring=False, reason RestoreFailed`, until that PostgresRestore is deleted or a newer
 *   one has Succeeded. A restore refused up front changed nothing and holds nothing.
 * - A new cluster with `spec.dataSource` (restore/data-source.ts) keeps its other instances at zero until
 *   the first one has been bootstrapped from the restored data.
 * - A standby cluster (restore/standby.ts) holds the Jobs that write: its database is read-only.
 */
import type { Condition } from "../../../shared/api/kube.ts";
import type { PostgresClusterStatus } from "../../../shared/api/postgres-cluster.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import type { RolloutPlan } from "../instance/rollout.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import type { ObservedPod, ObservedStatefulSet } from "../observe/observed.ts";
import type { ClusterRestore } from "../observe/restores.ts";
import { type Part, part } from "../part.ts";
import { type DataSourceState, dataSourceState } from "./data-source.ts";
import { standbyDescription, standbyEnabled } from "./standby.ts";

const RESTORING_CONDITION = "Restoring";

const ACTIVE = new Set(["ScalingDown", "Restoring", "Starting"]);

export type RestoreGateState =
  | { kind: "none"; succeeded?: ClusterRestore }
  | { kind: "active"; restore: ClusterRestore }
  | { kind: "failed"; restore: ClusterRestore };

/** Which restore, if any, holds the cluster. */
export function restoreGateState(restores: ClusterRestore[]): RestoreGateState {
  const active = restores.find((r) => r.phase !== undefined && ACTIVE.has(r.phase));
  if (active) return { kind: "active", restore: active };
  const later = (r: ClusterRestore, than: ClusterRestore) =>
    r.createdAt > than.createdAt || (r.createdAt === than.createdAt && r.name > than.name);
  const failed = [...restores]
    .reverse()
    .find(
      (r) =>
        r.phase === "Failed" &&
        r.dataChanged !== false &&
        !restores.some((s) => s.phase === "Succeeded" && later(s, r)),
    );
  if (failed) return { kind: "failed", restore: failed };
  const succeeded = [...restores].reverse().find((r) => r.phase === "Succeeded");
  return succeeded ? { kind: "none", succeeded } : { kind: "none" };
}

/** Status fields a restore decides, over the instances' own. */
export interface GateStatus {
  phase?: string;
  restore?: PostgresClusterStatus["restore"];
  dataSource?: PostgresClusterStatus["dataSource"];
  /** Conditions that replace the instances' own of the same type (Ready), or are added. */
  conditions: Condition[];
}

/**
 * What restores, data sources and standby clusters decide for this sync, as plain data: the
 * plan step computes it once, and the parts and the status read it.
 */
export interface Gate {
  /** The model, with `bootstrapFromRestore` while Patroni may have to bootstrap from restored data. */
  model: ClusterModel;
  /** Job components (their `component` label) that do not start now; an observed one is not returned, so it runs again afterwards. */
  heldJobs: ReadonlySet<string>;
  /** The replica count the gate imposes on an instance (retiring ones too), or undefined to keep the plan's. */
  replicaCap(instance: string): number | undefined;
  /** True while a restore holds the instances: no rolling switchover. */
  holding: boolean;
  /** Shown first in Progressing. */
  progress?: RolloutPlan["progress"][number];
  /** The data source's Job and ConfigMap. */
  part: Part;
  status: GateStatus;
}

const podOf = (statefulSet: string) => `${statefulSet}-0`;

/** Every instance StatefulSet scaled to zero (spec and status) and none of their Pods left. */
function allStopped(statefulSets: Map<string, ObservedStatefulSet>, pods: Map<string, ObservedPod>): boolean {
  for (const s of statefulSets.values()) {
    const spec = (s.raw.spec ?? {}) as { replicas?: number };
    const status = (s.raw.status ?? {}) as { replicas?: number };
    if ((spec.replicas ?? 1) !== 0 || (status.replicas ?? 0) !== 0 || pods.has(podOf(s.name))) return false;
  }
  return true;
}

const WRITING_COMPONENTS = ["users", "backup"];
const RESTORE_HELD_COMPONENTS = ["users", "patroni-config", "switchover"];

export function restoreGate(model: ClusterModel, observed: ObservedCluster): Gate {
  const state = restoreGateState(observed.restores);
  const ds: DataSourceState = dataSourceState(model, observed);
  const standby = standbyEnabled(model);
  const generation = model.generation;
  const cond = (type: string, status: Condition["status"], reason: string, message: string): Condition => ({
    type,
    status,
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  });

  const active = state.kind === "active" ? state.restore : undefined;
  const startInstance = active?.phase === "Starting" ? active.startInstance : undefined;
  const holding = state.kind !== "none";
  const firstInstance = model.instances[0]?.name;

  const replicaCap = (name: string): number | undefined => {
    if (holding) return name === startInstance ? 1 : 0;
    if (ds.holdOthers && name !== firstInstance) return 0;
    return undefined;
  };

  const gateState = (): string => {
    if (state.kind === "failed") return "Failed";
    if (startInstance) return "Starting";
    return allStopped(observed.instanceStatefulSets, observed.pods) ? "Stopped" : "Stopping";
  };

  const status: GateStatus = { conditions: [] };
  if (state.kind === "active") {
    const message = `PostgresRestore ${state.restore.name} is ${state.restore.phase}${state.restore.target ? ` (${state.restore.target})` : ""}; the instances run again once it has succeeded`;
    status.phase = "Restoring";
    status.conditions.push(cond("Ready", "False", "Restoring", message));
    status.conditions.push(cond(RESTORING_CONDITION, "True", "RestoreInProgress", message));
    status.restore = { name: state.restore.name, state: gateState() };
  } else if (state.kind === "failed") {
    const message = `PostgresRestore ${state.restore.name} failed${state.restore.error ? `: ${state.restore.error}` : ""}. The instances stay stopped until it is deleted or a newer PostgresRestore succeeds`;
    status.phase = "RestoreFailed";
    status.conditions.push(cond("Ready", "False", "RestoreFailed", message));
    status.conditions.push(cond(RESTORING_CONDITION, "False", "RestoreFailed", message));
    status.restore = { name: state.restore.name, state: gateState() };
  } else if (state.succeeded) {
    const r = state.succeeded;
    status.conditions.push(
      cond(
        RESTORING_CONDITION,
        "False",
        "RestoreSucceeded",
        `PostgresRestore ${r.name} restored ${r.backupSet ? `backup set ${r.backupSet}` : "a backup"}${r.target ? ` (${r.target})` : ""}`,
      ),
    );
  }
  if (ds.condition) status.conditions.push(ds.condition);
  if (ds.status) status.dataSource = ds.status;
  const standbyMessage = standbyDescription(model);
  if (standbyMessage) status.conditions.push(cond("Standby", "True", "StandbyCluster", `this is ${standbyMessage}`));
  else if (model.spec.standby)
    status.conditions.push(
      cond("Standby", "False", "Promoted", "spec.standby.enabled is false: the cluster runs as a primary"),
    );

  const progress =
    state.kind === "active"
      ? {
          reason: "Restoring" as const,
          message: startInstance
            ? `PostgresRestore ${state.restore.name}: starting ${startInstance} from the restored data`
            : `PostgresRestore ${state.restore.name} (${state.restore.phase}): every instance is stopped while it restores`,
        }
      : ds.progress
        ? { reason: "Restoring" as const, message: ds.progress }
        : undefined;

  return {
    model: active || ds.bootstrapping ? { ...model, bootstrapFromRestore: true } : model,
    heldJobs: new Set([
      ...(holding || ds.bootstrapping ? RESTORE_HELD_COMPONENTS : []),
      ...(standby ? WRITING_COMPONENTS : []),
    ]),
    replicaCap,
    holding,
    ...(progress ? { progress } : {}),
    part: part({ children: ds.children }),
    status,
  };
}

/** The rollout plan with the gate's replica caps and progress; no rolling switchover while it holds. */
export function gatedRollout(plan: RolloutPlan, gate: Gate): RolloutPlan {
  const instances = plan.instances.map((p) => {
    const cap = gate.replicaCap(p.name);
    return cap === undefined ? p : { ...p, replicas: Math.min(p.replicas, cap) };
  });
  const progress = gate.progress ? [gate.progress, ...plan.progress] : plan.progress;
  const { switchover, ...rest } = plan;
  return { ...rest, instances, progress, ...(switchover && !gate.holding ? { switchover } : {}) };
}
