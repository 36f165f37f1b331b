/**
 * Requests as Metacontroller sends them to the PostgresBackup hooks, and the observed Jobs and
 * Pods of a backup at each stage, with termination messages as the backup Job writes them
 * (real pgBackRest 2.45 output, see test/golden/pgbackrest/real/).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SyncRequest } from "../../../shared/metacontroller.ts";
import type { PgBackRestCluster } from "../../../shared/pgbackrest/layout.ts";
import { SCENARIOS } from "../pgbackrest/scenarios.ts";

export type Json = Record<string, any>;

export const real = (name: string) =>
  readFileSync(join(import.meta.dirname, "../../golden/pgbackrest/real", name), "utf8");

/** What the backup Job's script leaves in its termination message (database list etc. removed). */
export const SUCCESS_MESSAGE = real("info-set.json")
  .replace(/,"database-ref":\[[^\]]*\]/, "")
  .replace(/,"link":null/, "")
  .replace(/,"tablespace":null/, "");

/** The log tail Kubernetes puts in the message when the container failed (FallbackToLogsOnError). */
export const FAILURE_LOGS = [
  "2026-09-06 01:00:01.000 P00   INFO: backup command begin 2.45: --repo=2 --type=full",
  "WARN: unable to check pg2: [HostConnectError] unable to connect to 'hippo-a-1-0.hippo-pods.db.svc:8432'",
  "ERROR: [056]: unable to find primary cluster - cannot proceed",
  "       HINT: are all available clusters in recovery?",
  "2026-09-06 01:00:12.000 P00   INFO: backup command end: aborted with exception [056]",
].join("\n");

export function clusterObject(c: PgBackRestCluster, extra: Json = {}): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresCluster",
    metadata: { name: c.name, namespace: c.namespace, uid: "c-uid", generation: 1, ...(extra.metadata ?? {}) },
    spec: { ...JSON.parse(JSON.stringify(c.spec)), ...(extra.spec ?? {}) },
  };
}

export function backupParent(spec: Json, options: { name?: string; status?: Json; annotations?: Json } = {}): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresBackup",
    metadata: {
      name: options.name ?? "hippo-nightly",
      namespace: "db",
      uid: "b-uid",
      generation: 1,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec,
    ...(options.status ? { status: options.status } : {}),
  };
}

export interface RequestOptions {
  cluster?: Json | null;
  jobs?: Json[];
  pods?: Json[];
  status?: Json;
  spec?: Json;
  name?: string;
  annotations?: Json;
  finalizing?: boolean;
}

/** A sync request for a backup of the `minio` scenario's repo2 (S3) unless told otherwise. */
export function syncRequest(options: RequestOptions = {}): SyncRequest {
  const cluster = options.cluster === undefined ? clusterObject(SCENARIOS.minio!) : options.cluster;
  const jobs = Object.fromEntries((options.jobs ?? []).map((j) => [j.metadata.name, j]));
  const pods = Object.fromEntries((options.pods ?? []).map((p) => [p.metadata.name, p]));
  return SyncRequest.parse({
    controller: {},
    parent: backupParent(options.spec ?? { cluster: "hippo", repoName: "repo2", type: "full" }, {
      ...(options.name ? { name: options.name } : {}),
      ...(options.status ? { status: options.status } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    }),
    children: { "Job.batch/v1": jobs },
    related: {
      ...(cluster ? { "PostgresCluster.postgres.tusk.dev/v1": { [cluster.metadata.name]: cluster } } : {}),
      "Pod.v1": pods,
    },
    finalizing: options.finalizing ?? false,
  });
}

/** The Job as Metacontroller observes it: the applied object plus server fields and a status. */
export function observed(job: Json, status: Json): Json {
  const copy = JSON.parse(JSON.stringify(job));
  copy.metadata.uid = "job-uid";
  copy.metadata.resourceVersion = "42";
  copy.metadata.labels = { ...copy.metadata.labels, "controller-uid": "b-uid" };
  copy.metadata.annotations = { "metacontroller.k8s.io/last-applied-configuration": "{}" };
  copy.status = status;
  return copy;
}

export function pod(jobName: string, suffix: string, terminated?: Json, phase = "Succeeded"): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${jobName}-${suffix}`,
      namespace: "db",
      creationTimestamp: "2026-09-06T01:00:00Z",
      labels: { "batch.kubernetes.io/job-name": jobName, "job-name": jobName },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: jobName, uid: "job-uid", controller: true }],
    },
    status: {
      phase,
      containerStatuses: [
        {
          name: "pgbackrest",
          state: terminated ? { terminated } : { running: { startedAt: "2026-09-06T01:00:01Z" } },
        },
      ],
    },
  };
}

export const RUNNING = { active: 1, startTime: "2026-09-06T01:00:01Z" };
export const SUCCEEDED = {
  succeeded: 1,
  startTime: "2026-09-06T01:00:01Z",
  completionTime: "2026-09-06T01:00:20Z",
  conditions: [{ type: "Complete", status: "True", lastTransitionTime: "2026-09-06T01:00:20Z" }],
};
export const FAILED = {
  failed: 3,
  startTime: "2026-09-06T01:00:01Z",
  conditions: [
    {
      type: "Failed",
      status: "True",
      reason: "BackoffLimitExceeded",
      message: "Job has reached the specified backoff limit",
      lastTransitionTime: "2026-09-06T01:03:00Z",
    },
  ],
};
