/**
 * Requests as Metacontroller sends them to the PostgresRestore hooks, and the observed cluster,
 * Pods, PVCs and Jobs of a restore at each stage, built from small options so a test
 * states only what it is about.
 */
import { LABEL, PATRONI_LEADER_VALUE, PATRONI_REPLICA_VALUE } from "../../../shared/labels.ts";
import { SyncRequest } from "../../../shared/metacontroller.ts";
import { names } from "../../../shared/names.ts";

export type Json = Record<string, any>;

const NS = "db";
const CREATED = "2026-03-01T10:00:00Z";

const volume = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } };

/** Two instance sets (one with a WAL volume), a volume repo and an S3 repo. */
export function clusterSpec(extra: Json = {}): Json {
  return {
    postgresVersion: 16,
    instances: [
      { name: "a", replicas: 2, dataVolumeClaimSpec: volume },
      { name: "w", replicas: 1, dataVolumeClaimSpec: volume, walVolumeClaimSpec: volume },
    ],
    backups: {
      pgbackrest: {
        repos: [
          { name: "repo1", volume: { volumeClaimSpec: volume } },
          { name: "repo2", s3: { bucket: "b", endpoint: "minio.db.svc:9000", region: "x" } },
        ],
        configuration: [{ secret: { name: "hippo-s3" } }],
      },
    },
    ...extra,
  };
}

export function clusterObject(options: { spec?: Json; status?: Json | null; deleting?: boolean } = {}): Json {
  const status =
    options.status === null
      ? undefined
      : (options.status ?? { phase: "Running", primary: "hippo-a-1-0", readyInstances: "3/3" });
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresCluster",
    metadata: {
      name: "hippo",
      namespace: NS,
      uid: "c-uid",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
      ...(options.deleting ? { deletionTimestamp: "2026-03-01T11:00:00Z" } : {}),
    },
    spec: options.spec ?? clusterSpec(),
    ...(status ? { status } : {}),
  };
}

/** The cluster's status once its restore gate has stopped every instance for `restore`. */
export function stoppedFor(restore: string, state = "Stopped", extra: Json = {}): Json {
  return { phase: "Restoring", primary: undefined, restore: { name: restore, state }, ...extra };
}

export const INSTANCES = ["hippo-a-0", "hippo-a-1", "hippo-w-0"];

export function instancePod(
  instance: string,
  options: { ready?: boolean; leader?: boolean; readySince?: string } = {},
): Json {
  const set = instance.split("-")[1]!;
  const ready = options.ready ?? true;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${instance}-0`,
      namespace: NS,
      labels: {
        [LABEL.cluster]: "hippo",
        [LABEL.instanceSet]: set,
        [LABEL.instance]: instance,
        [LABEL.data]: "postgres",
        [LABEL.patroniRole]: options.leader ? PATRONI_LEADER_VALUE : PATRONI_REPLICA_VALUE,
      },
    },
    status: {
      phase: "Running",
      conditions: [
        {
          type: "Ready",
          status: ready ? "True" : "False",
          lastTransitionTime: options.readySince ?? "2026-03-01T10:30:00Z",
        },
      ],
    },
  };
}

export function claim(name: string): Json {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: NS, labels: { [LABEL.cluster]: "hippo" } },
    spec: { accessModes: ["ReadWriteOnce"] },
    status: { phase: "Bound" },
  };
}

/** The claims the instances' StatefulSets created (hippo-w-0 also has a WAL volume). */
const CLAIMS = [...INSTANCES.map((i) => claim(`pgdata-${i}-0`)), claim("pgwal-hippo-w-0-0")];

export function restoreParent(
  spec: Json,
  options: { name?: string; status?: Json; deleting?: boolean; created?: string } = {},
): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresRestore",
    metadata: {
      name: options.name ?? "hippo-pitr",
      namespace: NS,
      uid: "r-uid",
      generation: 1,
      creationTimestamp: options.created ?? CREATED,
      ...(options.deleting ? { deletionTimestamp: "2026-03-01T12:00:00Z" } : {}),
    },
    spec,
    ...(options.status ? { status: options.status } : {}),
  };
}

export const TIME_SPEC = {
  cluster: "hippo",
  repoName: "repo2",
  target: { type: "time", value: "2026-02-20 12:00:00+00" },
};

/** A Job as the API server shows it in each state; `message` is its Pod's termination message. */
export function observedJob(
  name: string,
  state: "running" | "succeeded" | "failed",
  options: { started?: string; finished?: string } = {},
): Json {
  const started = options.started ?? "2026-03-01T10:05:00Z";
  const finished = options.finished ?? "2026-03-01T10:20:00Z";
  const status: Json = { startTime: started };
  if (state === "running") status.active = 1;
  if (state === "succeeded") {
    status.succeeded = 1;
    status.completionTime = finished;
    status.conditions = [{ type: "Complete", status: "True", lastTransitionTime: finished }];
  }
  if (state === "failed") {
    status.failed = 3;
    status.conditions = [
      {
        type: "Failed",
        status: "True",
        lastTransitionTime: finished,
        reason: "BackoffLimitExceeded",
        message: "Job has reached the specified backoff limit",
      },
    ];
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NS, uid: `uid-${name}`, labels: { "controller-uid": "r-uid" } },
    spec: { template: { spec: { containers: [{ name: "restore" }] } } },
    status,
  };
}

export function jobPod(job: string, exitCode: number, message: string, restore = "hippo-pitr"): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${job}-x1`,
      namespace: NS,
      labels: { "batch.kubernetes.io/job-name": job, [LABEL.restore]: restore, [LABEL.cluster]: "hippo" },
      ownerReferences: [{ kind: "Job", name: job }],
    },
    status: {
      phase: exitCode === 0 ? "Succeeded" : "Failed",
      containerStatuses: [
        { name: "restore", state: { terminated: { exitCode, message, finishedAt: "2026-03-01T10:19:00Z" } } },
      ],
    },
  };
}

export const RESTORED_MESSAGE = '{"backupSet":"20260220-010000F","timeline":"3","lsn":"0/5000028","mode":"in-place"}';

export interface RequestOptions {
  spec?: Json;
  name?: string;
  status?: Json;
  deleting?: boolean;
  created?: string;
  cluster?: Json | null;
  pods?: Json[];
  claims?: Json[];
  restores?: Json[];
  jobs?: Json[];
}

export function syncRequest(options: RequestOptions = {}): SyncRequest {
  const by = (list: Json[] | undefined) => Object.fromEntries((list ?? []).map((o) => [o.metadata.name, o]));
  const cluster = options.cluster === undefined ? clusterObject() : options.cluster;
  return SyncRequest.parse({
    controller: {},
    parent: restoreParent(options.spec ?? TIME_SPEC, {
      ...(options.name ? { name: options.name } : {}),
      ...(options.status ? { status: options.status } : {}),
      ...(options.deleting ? { deleting: true } : {}),
      ...(options.created ? { created: options.created } : {}),
    }),
    children: { "Job.batch/v1": by(options.jobs) },
    related: {
      "PostgresCluster.postgres.tusk.dev/v1": cluster ? { hippo: cluster } : {},
      "Pod.v1": by(options.pods),
      "PersistentVolumeClaim.v1": by(options.claims ?? CLAIMS),
      "PostgresRestore.postgres.tusk.dev/v1": by(options.restores),
    },
    finalizing: options.deleting === true,
  });
}

export const JOB = {
  restore: names.restoreJob("hippo-pitr"),
  dcs: names.restoreDcsJob("hippo-pitr"),
  reset: (instance: string) => names.restoreResetJob("hippo-pitr", instance),
};
