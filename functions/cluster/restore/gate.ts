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
import type { V1Job } from "@kubernetes/client-node";
import * as z from "zod";
import type { Condition } from "../../../shared/api/kube.ts";
import type { PostgresClusterStatus } from "../../../shared/api/postgres-cluster.ts";
import { PostgresRestoreSpec } from "../../../shared/api/postgres-restore.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { LABEL } from "../../../shared/labels.ts";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import type { RolloutPlan } from "../instance/rollout.ts";
import { childKey } from "../objects/kinds.ts";
import type { ObservedPod, ObservedStatefulSet } from "../observe/observed.ts";
import { type DataSourceState, dataSourceState } from "./data-source.ts";
import { standbyDescription, standbyEnabled } from "./standby.ts";

const RESTORING_CONDITION = "Restoring";

const RestoreObject = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.unknown().optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      error: z.string().optional(),
      target: z.string().optional(),
      backupSet: z.string().optional(),
      startInstance: z.string().optional(),
      dataChanged: z.boolean().optional(),
    })
    .optional(),
});

export interface ClusterRestore {
  name: string;
  createdAt: string;
  phase?: string;
  deleting: boolean;
  error?: string;
  target?: string;
  backupSet?: string;
  startInstance?: string;
  dataChanged?: boolean;
}

const ACTIVE = new Set(["ScalingDown", "Restoring", "Starting"]);

/** This cluster's PostgresRestores (the customize hook asks for every one in the namespace), oldest first. */
export function clusterRestores(related: ObjectMap, cluster: string): ClusterRestore[] {
  return Object.values(related[childKey("PostgresRestore")] ?? {})
    .flatMap((raw) => {
      const r = RestoreObject.safeParse(raw);
      if (!r.success) return [];
      const spec = PostgresRestoreSpec.safeParse(r.data.spec ?? {});
      if (!spec.success || spec.data.cluster !== cluster) return [];
      const s = r.data.status ?? {};
      return [
        {
          name: r.data.metadata.name,
          createdAt: r.data.metadata.creationTimestamp ?? "",
          deleting: r.data.metadata.deletionTimestamp !== undefined,
          ...(s.phase ? { phase: s.phase } : {}),
          ...(s.error ? { error: s.error } : {}),
          ...(s.target ? { target: s.target } : {}),
          ...(s.backupSet ? { backupSet: s.backupSet } : {}),
          ...(s.startInstance ? { startInstance: s.startInstance } : {}),
          ...(s.dataChanged !== undefined ? { dataChanged: s.dataChanged } : {}),
        },
      ];
    })
    .sort((a, b) => (a.createdAt === b.createdAt ? a.name.localeCompare(b.name) : a.createdAt < b.createdAt ? -1 : 1));
}

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

export interface GateInput {
  model: ClusterModel;
  children: ObjectMap;
  related: ObjectMap;
  pods: Map<string, ObservedPod>;
  statefulSets: Map<string, ObservedStatefulSet>;
  prevStatus: unknown;
}

export interface Gate {
  /** The model, with `bootstrapFromRestore` while Patroni may have to bootstrap from restored data. */
  model: ClusterModel;
  /** True while a restore holds the instances (Restoring=True or a failed restore). */
  holding: boolean;
  /** Jobs held now (not started, and an observed one not returned, so it runs again afterwards). */
  holdsJob(job: V1Job): boolean;
  /** The rollout plan with the gate's replica counts. */
  applyTo(plan: RolloutPlan): RolloutPlan;
  /** The data source's Job and ConfigMap. */
  children: object[];
  /** The status with the gate's phase, conditions and `restore`/`dataSource` fields. */
  status(status: PostgresClusterStatus): PostgresClusterStatus;
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

const WRITING_COMPONENTS = new Set(["users", "backup"]);
const RESTORE_HELD_COMPONENTS = new Set(["users", "patroni-config", "switchover"]);

export function restoreGate(input: GateInput): Gate {
  const { model } = input;
  const state = restoreGateState(clusterRestores(input.related, model.name));
  const ds: DataSourceState = dataSourceState(input);
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

  /** The replica count the gate imposes on an instance, or undefined to keep the plan's. */
  const replicasFor = (name: string): number | undefined => {
    if (holding) return name === startInstance ? 1 : 0;
    if (ds.holdOthers && name !== firstInstance) return 0;
    return undefined;
  };

  const gateState = (): string => {
    if (state.kind === "failed") return "Failed";
    if (startInstance) return "Starting";
    return allStopped(input.statefulSets, input.pods) ? "Stopped" : "Stopping";
  };

  return {
    model: active || ds.bootstrapping ? { ...model, bootstrapFromRestore: true } : model,
    holding,
    holdsJob(job) {
      const component = job.metadata?.labels?.[LABEL.component] ?? "";
      if (holding && RESTORE_HELD_COMPONENTS.has(component)) return true;
      if (ds.bootstrapping && RESTORE_HELD_COMPONENTS.has(component)) return true;
      return standby && WRITING_COMPONENTS.has(component);
    },
    applyTo(plan) {
      const instances = plan.instances.map((p) => {
        const replicas = replicasFor(p.name);
        return replicas === undefined ? p : { ...p, replicas: Math.min(p.replicas, replicas) };
      });
      const progress = [...plan.progress];
      if (state.kind === "active")
        progress.unshift({
          reason: "Restoring",
          message: startInstance
            ? `PostgresRestore ${state.restore.name}: starting ${startInstance} from the restored data`
            : `PostgresRestore ${state.restore.name} (${state.restore.phase}): every instance is stopped while it restores`,
        });
      else if (ds.progress) progress.unshift({ reason: "Restoring", message: ds.progress });
      const { switchover, ...rest } = plan;
      return { ...rest, instances, progress, ...(switchover && !holding ? { switchover } : {}) };
    },
    children: ds.children,
    status(status) {
      const conditions = [...(status.conditions ?? [])];
      const replace = (c: Condition) => {
        const i = conditions.findIndex((x) => x.type === c.type);
        if (i >= 0) conditions[i] = c;
        else conditions.push(c);
      };
      const out: PostgresClusterStatus = { ...status };
      if (state.kind === "active") {
        const message = `PostgresRestore ${state.restore.name} is ${state.restore.phase}${state.restore.target ? ` (${state.restore.target})` : ""}; the instances run again once it has succeeded`;
        out.phase = "Restoring";
        replace(cond("Ready", "False", "Restoring", message));
        replace(cond(RESTORING_CONDITION, "True", "RestoreInProgress", message));
        out.restore = { name: state.restore.name, state: gateState() };
      } else if (state.kind === "failed") {
        const message = `PostgresRestore ${state.restore.name} failed${state.restore.error ? `: ${state.restore.error}` : ""}. The instances stay stopped until it is deleted or a newer PostgresRestore succeeds`;
        out.phase = "RestoreFailed";
        replace(cond("Ready", "False", "RestoreFailed", message));
        replace(cond(RESTORING_CONDITION, "False", "RestoreFailed", message));
        out.restore = { name: state.restore.name, state: gateState() };
      } else if (state.succeeded) {
        const r = state.succeeded;
        replace(
          cond(
            RESTORING_CONDITION,
            "False",
            "RestoreSucceeded",
            `PostgresRestore ${r.name} restored ${r.backupSet ? `backup set ${r.backupSet}` : "a backup"}${r.target ? ` (${r.target})` : ""}`,
          ),
        );
      }
      if (ds.condition) replace(ds.condition);
      if (ds.status) out.dataSource = ds.status;
      const standbyMessage = standbyDescription(model);
      if (standbyMessage) replace(cond("Standby", "True", "StandbyCluster", `this is ${standbyMessage}`));
      else if (model.spec.standby)
        replace(cond("Standby", "False", "Promoted", "spec.standby.enabled is false: the cluster runs as a primary"));
      out.conditions = conditions;
      return out;
    },
  };
}
