/**
 * @module
 * A new cluster from a backup (`spec.dataSource.pgbackrest`) or from another cluster's
 * repository (`spec.dataSource.postgresCluster`), as in PGO: its first instance's data directory
 * comes from a restore Job (shared/restore/pod.ts, mode `bootstrap`) before Patroni ever
 * initialises anything.
 *
 * - The first instance's StatefulSet starts as usual, so its volumes exist; its Patroni runs
 *   the custom bootstrap method (patroni/config.ts, `bootstrapFromRestore`) that only moves the
 *   restored directory into place: until the Job has left one, Patroni gives up the
 *   initialize lock and exits, and Kubernetes restarts it. It never runs initdb.
 * - The Job mounts those same volumes (pod affinity to the first instance's Pod, so a
 *   ReadWriteOnce volume is shared on one node) and restores into `<PGDATA>_restore`, recovers
 *   to the target with archiving off, and renames the result to `<PGDATA>_bootstrap`. An
 *   existing data directory is never touched: the Job then reports "skipped".
 * - The other instances stay at zero until the first one leads, then clone from it.
 * - The source is only read: `pgbackrest restore` and `archive-get` read the repository, the
 *   recovery runs with `archive_command=false`, and the new cluster's own Patroni archives the
 *   new timeline into the new cluster's repositories (docs/dataplane-notes.md B7). A clone whose own
 *   repository is the source's storage location is refused, since it would archive there.
 * - Done once: the first instance leading (or the latch in the status, `dataSource.restored`)
 *   ends it for good; the Job then stays as observed, and nothing is held.
 *
 * Only the namespace of the cluster: a Pod cannot mount another namespace's configuration.
 */
import type { V1Affinity, V1ConfigMap, V1Job, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import type { Condition } from "../../../shared/api/kube.ts";
import {
  type PostgresClusterSpec,
  PostgresClusterSpec as PostgresClusterSpecSchema,
  type Repo,
} from "../../../shared/api/postgres-cluster.ts";
import type { ClusterModel, InstanceModel } from "../../../shared/cluster/model.ts";
import { condition } from "../../../shared/conditions.ts";
import { clusterLabels, LABEL, labelValue } from "../../../shared/labels.ts";
import { asDesired } from "../../../shared/metacontroller.ts";
import { names } from "../../../shared/names.ts";
import { jobState } from "../../../shared/observed-job.ts";
import { restoreArgs } from "../../../shared/pgbackrest/commands.ts";
import { renderPgBackRestConfig, repoPath } from "../../../shared/pgbackrest/config.ts";
import { OPERATOR_CONFIG_FILE, repoKind } from "../../../shared/pgbackrest/layout.ts";
import { parseS3Endpoint } from "../../../shared/pgbackrest/repos.ts";
import { CONFIG_VOLUME, pgbackrestConfigMount, pgbackrestConfigVolume } from "../../../shared/pgbackrest/volumes.ts";
import { binDirectory, dataDirectory, walDirectory } from "../../../shared/pod-layout.ts";
import { podSecurity } from "../../../shared/pod-security.ts";
import {
  dataVolumes,
  parseRestoreFailure,
  parseRestoreResult,
  restoreContainer,
  workDirectory,
} from "../../../shared/restore/pod.ts";
import { planFromOptions, type RestorePlan, restoreCommandOf } from "../../../shared/restore/target.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { LEADER_ROLE } from "../patroni/config.ts";

/** The related object the customize hook asks for when cloning another cluster. */
export const SOURCE_CLUSTER = {
  apiVersion: "postgres.tusk.dev/v1",
  kind: "PostgresCluster",
  resource: "postgresclusters",
} as const;

/** Where a data source's repository is read, and with which configuration. */
interface Source {
  repo: Repo;
  stanza?: string;
  volume: V1Volume;
  /** The ConfigMap holding a `dataSource.pgbackrest` repository's configuration. */
  configMap?: V1ConfigMap;
  options?: readonly string[];
  scheduling: {
    resources?: unknown;
    affinity?: unknown;
    tolerations?: unknown[];
    priorityClassName?: string;
  };
  description: string;
}

type SourceLookup = { ok: true; source: Source } | { ok: false; reason: string; message: string };

interface DataSourceStatus {
  restored: boolean;
  jobName?: string;
  target?: string;
  backupSet?: string;
  source?: string;
}

export interface DataSourceState {
  /** The data source is set and the cluster has not been bootstrapped from it yet. */
  bootstrapping: boolean;
  /** The Job (new, or as observed) and a `dataSource.pgbackrest` ConfigMap. */
  children: object[];
  /** Instances other than the first stay at zero. */
  holdOthers: boolean;
  condition?: Condition;
  status?: DataSourceStatus;
  /** Progress for the status while the restore runs. */
  progress?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The latch in the previous status: once restored, never again. */
function previousLatch(prevStatus: unknown): DataSourceStatus | undefined {
  const ds = isRecord(prevStatus) ? prevStatus.dataSource : undefined;
  if (!isRecord(ds) || typeof ds.restored !== "boolean") return undefined;
  return ds as unknown as DataSourceStatus;
}

/** Two repositories on the same storage location (volume repos of two clusters never are). */
function sameStorage(aSpec: PostgresClusterSpec, a: Repo, bSpec: PostgresClusterSpec, b: Repo): boolean {
  const path = repoPath(aSpec, a) === repoPath(bSpec, b);
  if (a.s3 && b.s3)
    return (
      path && a.s3.bucket === b.s3.bucket && parseS3Endpoint(a.s3.endpoint).host === parseS3Endpoint(b.s3.endpoint).host
    );
  if (a.gcs && b.gcs) return path && a.gcs.bucket === b.gcs.bucket;
  if (a.azure && b.azure) return path && a.azure.container === b.azure.container;
  return false;
}

function ownRepoProblem(model: ClusterModel, sourceSpec: PostgresClusterSpec, repo: Repo): string | undefined {
  const clash = (model.spec.backups?.pgbackrest?.repos ?? []).find((own) =>
    sameStorage(model.spec, own, sourceSpec, repo),
  );
  return clash
    ? `this cluster's ${clash.name} is the source's storage location: the new cluster would archive into the source's repository; give it its own bucket or path`
    : undefined;
}

function sourceOf(model: ClusterModel, observed: ObservedCluster): SourceLookup | undefined {
  const ds = model.spec.dataSource;
  if (ds?.postgresCluster) {
    const pc = ds.postgresCluster;
    const name = pc.clusterName;
    if (!name)
      return {
        ok: false,
        reason: "SourceNotFound",
        message: "spec.dataSource.postgresCluster.clusterName is required",
      };
    if (pc.clusterNamespace && pc.clusterNamespace !== model.namespace)
      return {
        ok: false,
        reason: "SourceInOtherNamespace",
        message: `the source cluster must be in this namespace (${model.namespace}): a Pod cannot mount another namespace's pgBackRest configuration; use spec.dataSource.pgbackrest with the repository's settings instead`,
      };
    const raw = observed.related(SOURCE_CLUSTER.kind, SOURCE_CLUSTER.apiVersion, name) as
      | { spec?: unknown }
      | undefined;
    if (!raw) return { ok: false, reason: "SourceNotFound", message: `PostgresCluster ${name} does not exist` };
    const spec = PostgresClusterSpecSchema.safeParse(raw.spec ?? {});
    if (!spec.success)
      return { ok: false, reason: "SourceInvalid", message: `PostgresCluster ${name} has an invalid spec` };
    const repo = spec.data.backups?.pgbackrest?.repos.find((r) => r.name === pc.repoName);
    if (!repo)
      return {
        ok: false,
        reason: "SourceRepoNotFound",
        message: `PostgresCluster ${name} has no repository ${pc.repoName}`,
      };
    if (spec.data.postgresVersion !== model.version)
      return {
        ok: false,
        reason: "VersionMismatch",
        message: `PostgresCluster ${name} runs PostgreSQL ${spec.data.postgresVersion}; a clone must use the same major version (${model.version})`,
      };
    const clash = ownRepoProblem(model, spec.data, repo);
    if (clash) return { ok: false, reason: "SharedRepository", message: clash };
    return {
      ok: true,
      source: {
        repo,
        volume: pgbackrestConfigVolume({ name, spec: spec.data }, "instance"),
        ...(pc.options ? { options: pc.options } : {}),
        scheduling: pc,
        description: `PostgresCluster ${name} ${repo.name}`,
      },
    };
  }
  if (ds?.pgbackrest) {
    const pb = ds.pgbackrest;
    if (repoKind(pb.repo) === "volume")
      return {
        ok: false,
        reason: "VolumeRepository",
        message: "a volume repository cannot be read from a new cluster; use spec.dataSource.postgresCluster",
      };
    const sourceSpec: PostgresClusterSpec = {
      ...model.spec,
      backups: {
        pgbackrest: {
          repos: [pb.repo],
          ...(pb.global ? { global: pb.global } : {}),
          ...(pb.configuration ? { configuration: pb.configuration } : {}),
        },
      },
    };
    const clash = ownRepoProblem(model, sourceSpec, pb.repo);
    if (clash) return { ok: false, reason: "SharedRepository", message: clash };
    const configName = names.dataSourceConfig(model.name);
    const configMap = withKind("ConfigMap", {
      metadata: childMeta(model, configName, clusterLabels(model.name, "datasource")),
      data: {
        [CONFIG_KEY]: renderPgBackRestConfig({
          cluster: { name: model.name, namespace: model.namespace, spec: sourceSpec },
          role: "instance",
        }),
      },
    });
    return {
      ok: true,
      source: {
        repo: pb.repo,
        stanza: pb.stanza,
        volume: {
          name: CONFIG_VOLUME,
          projected: {
            defaultMode: 0o600,
            sources: [
              { configMap: { name: configName, items: [{ key: CONFIG_KEY, path: OPERATOR_CONFIG_FILE }] } },
              ...((pb.configuration ?? []) as NonNullable<V1Volume["projected"]>["sources"] & object[]),
            ],
          },
        },
        configMap,
        ...(pb.options ? { options: pb.options } : {}),
        scheduling: pb,
        description: `${pb.repo.name} (stanza ${pb.stanza})`,
      },
    };
  }
  return undefined;
}

const CONFIG_KEY = "pgbackrest.conf";

function firstInstance(model: ClusterModel): { instance: InstanceModel; wal: boolean } {
  const set = model.sets[0]!;
  return { instance: set.instances[0]!, wal: set.spec.walVolumeClaimSpec !== undefined };
}

/** Required pod affinity to the first instance's Pod: its ReadWriteOnce volumes are attached to that node. */
function nextToInstance(model: ClusterModel, instance: InstanceModel, user: unknown): V1Affinity {
  const u = (isRecord(user) ? user : {}) as V1Affinity;
  const term = {
    labelSelector: {
      matchLabels: { [LABEL.cluster]: labelValue(model.name), [LABEL.instance]: labelValue(instance.name) },
    },
    topologyKey: "kubernetes.io/hostname",
  };
  return {
    ...u,
    podAffinity: {
      ...u.podAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: [
        term,
        ...(u.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ],
    },
  };
}

function buildDataSourceJob(model: ClusterModel, source: Source, plan: RestorePlan): V1Job {
  const { instance, wal } = firstInstance(model);
  const dirs = {
    dataDirectory: dataDirectory(model.version),
    binDirectory: binDirectory(model.version),
    ...(wal ? { walDirectory: walDirectory(model.version) } : {}),
  };
  const data = dataVolumes({
    data: names.dataVolumeClaim(instance.name),
    ...(wal ? { wal: names.walVolumeClaim(instance.name) } : {}),
  });
  const argv = restoreArgs(
    restoreCommandOf(plan, source.repo.name, {
      pgPath: workDirectory(dirs.dataDirectory),
      ...(dirs.walDirectory ? { linkMap: { pg_wal: dirs.walDirectory } } : {}),
    }),
    source.stanza ? { stanza: source.stanza } : {},
  );
  const labels = { ...clusterLabels(model.name, "datasource"), [LABEL.pgbackrest]: "restore" };
  const s = source.scheduling;
  const spec: V1PodSpec = {
    restartPolicy: "Never",
    serviceAccountName: names.instanceRbac(model.name),
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity(model),
    containers: [
      restoreContainer({
        image: model.image,
        ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
        mode: "bootstrap",
        dirs,
        pgbackrestArgv: argv,
        volumeMounts: [...data.mounts, pgbackrestConfigMount],
        ...(s.resources ? { resources: s.resources } : {}),
      }),
    ],
    volumes: [...data.volumes, source.volume],
    affinity: nextToInstance(model, instance, s.affinity),
    ...(model.spec.imagePullSecrets?.length ? { imagePullSecrets: model.spec.imagePullSecrets } : {}),
    ...(s.tolerations?.length ? { tolerations: s.tolerations as V1PodSpec["tolerations"] } : {}),
    ...(s.priorityClassName ? { priorityClassName: s.priorityClassName } : {}),
  };
  return withKind("Job", {
    metadata: childMeta(model, names.dataSourceJob(model.name), labels),
    spec: { backoffLimit: 2, template: { metadata: { labels }, spec } },
  });
}

const DATA_SOURCE_CONDITION = "DataSource";

/** Where the data-source bootstrap stands, from the observed Job, Pods and StatefulSets. */
export function dataSourceState(model: ClusterModel, observed: ObservedCluster): DataSourceState {
  const none: DataSourceState = { bootstrapping: false, children: [], holdOthers: false };
  const ds = model.spec.dataSource;
  if (!ds?.postgresCluster && !ds?.pgbackrest) return none;
  const jobName = names.dataSourceJob(model.name);
  const job = observed.jobs.get(jobName)?.raw;
  const kept = job ? [asDesired(job)] : [];
  const { instance } = firstInstance(model);
  const first = observed.pods.get(instance.pod);
  const othersUp = [...observed.instanceStatefulSets.values()].some(
    (s) => s.name !== instance.name && ((s.raw.spec as { replicas?: number } | undefined)?.replicas ?? 0) > 0,
  );
  const latch = previousLatch(observed.previousStatus);
  // Create-only: a data source added to a cluster that already holds data would restore over
  // live volumes and switch Patroni's bootstrap; it is reported and left alone.
  if (!latch && !job && observed.initialized)
    return {
      ...none,
      condition: condition(
        DATA_SOURCE_CONDITION,
        "False",
        "CreateOnly",
        "spec.dataSource was set on a cluster that already holds data: it is read only when a cluster is created, so nothing was restored; remove it, or create a new cluster with it",
        { generation: model.generation },
      ),
    };
  const restoredNow = first?.ready === true && first.role === LEADER_ROLE;
  if (latch?.restored || restoredNow || othersUp) {
    return {
      ...none,
      children: kept,
      status: { ...(latch ?? {}), restored: true },
      condition: condition(
        DATA_SOURCE_CONDITION,
        "True",
        "Bootstrapped",
        "the cluster was created from its data source",
        { generation: model.generation },
      ),
    };
  }

  const lookup = sourceOf(model, observed);
  if (!lookup?.ok) {
    const problem = lookup ?? { reason: "SourceNotFound", message: "no data source" };
    return {
      bootstrapping: true,
      children: kept,
      holdOthers: true,
      status: { restored: false },
      condition: condition(DATA_SOURCE_CONDITION, "False", problem.reason, problem.message, {
        generation: model.generation,
      }),
      progress: `waiting for the data source: ${problem.message}`,
    };
  }
  const { source } = lookup;
  const planned = planFromOptions(source.options);
  if (!planned.ok)
    return {
      bootstrapping: true,
      children: kept,
      holdOthers: true,
      status: { restored: false },
      condition: condition(DATA_SOURCE_CONDITION, "False", "InvalidOptions", planned.message, {
        generation: model.generation,
      }),
      progress: `the data source options are unusable: ${planned.message}`,
    };
  const plan = planned.plan;
  const base: DataSourceStatus = { restored: false, jobName, target: plan.description, source: source.description };
  const configMaps = source.configMap ? [source.configMap] : [];
  if (!job) {
    return {
      bootstrapping: true,
      children: [...configMaps, buildDataSourceJob(model, source, plan)],
      holdOthers: true,
      status: base,
      condition: condition(
        DATA_SOURCE_CONDITION,
        "Unknown",
        "Restoring",
        `restoring ${plan.description} from ${source.description}`,
        { generation: model.generation },
      ),
      progress: `restoring the first instance from ${source.description} (Job ${jobName})`,
    };
  }
  const state = jobState(job, observed.jobPods(jobName));
  if (state.state === "failed") {
    const failure = parseRestoreFailure(state.message, state.reason ?? "the restore Job failed");
    return {
      bootstrapping: true,
      children: [...configMaps, ...kept],
      holdOthers: true,
      status: base,
      condition: condition(
        DATA_SOURCE_CONDITION,
        "False",
        "RestoreFailed",
        `${failure.message}; fix the cause and delete Job ${jobName} to run it again`,
        { generation: model.generation },
      ),
      progress: `the data source restore failed (Job ${jobName})`,
    };
  }
  if (state.state !== "succeeded")
    return {
      bootstrapping: true,
      children: [...configMaps, ...kept],
      holdOthers: true,
      status: base,
      condition: condition(
        DATA_SOURCE_CONDITION,
        "Unknown",
        "Restoring",
        `restoring ${plan.description} from ${source.description}`,
        { generation: model.generation },
      ),
      progress: `restoring the first instance from ${source.description} (Job ${jobName})`,
    };
  const result = parseRestoreResult(state.message);
  return {
    bootstrapping: true,
    children: [...configMaps, ...kept],
    holdOthers: true,
    status: { ...base, ...(result?.backupSet ? { backupSet: result.backupSet } : {}) },
    condition: condition(
      DATA_SOURCE_CONDITION,
      "Unknown",
      "Starting",
      `restored${result?.backupSet ? ` backup set ${result.backupSet}` : ""}; waiting for ${instance.pod} to start from it`,
      { generation: model.generation },
    ),
    progress: `starting ${instance.pod} from the restored data`,
  };
}
