import { describe, expect, it } from "vitest";
import { syncBackup } from "../../../functions/backup/sync.ts";
import { names } from "../../../shared/names.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { SCENARIOS } from "../pgbackrest/scenarios.ts";
import {
  clusterObject,
  FAILED,
  FAILURE_LOGS,
  type Json,
  observed,
  pod,
  RUNNING,
  SUCCEEDED,
  SUCCESS_MESSAGE,
  syncRequest,
} from "./fixtures.ts";

const JOB = names.backupJob("hippo-nightly");
const first = () => syncBackup(syncRequest()).children[0] as Json;

const condition = (status: Json): Json => (status.conditions as Json[]).find((c) => c.type === "Succeeded")!;

describe("PostgresBackup sync: before the Job", () => {
  it("emits one valid backup Job that passes Pod Security restricted, and reports Pending", () => {
    const res = syncBackup(syncRequest());
    expect(res.children).toHaveLength(1);
    const job = res.children[0] as Json;
    expect(job.kind).toBe("Job");
    expect(job.metadata.name).toBe(JOB);
    expect(validateObject(job)).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
    expect(res.status).toMatchObject({ phase: "Pending", jobName: JOB, backupType: "full" });
    expect(condition(res.status)).toMatchObject({ status: "Unknown", reason: "JobCreated" });
    expect(res.resyncAfterSeconds).toBeUndefined();
  });

  it("runs pgbackrest backup of the requested type to the requested repo with the Job configuration", () => {
    const job = first();
    const container = job.spec.template.spec.containers[0];
    const script = container.command.join(" ");
    expect(script).toContain("--repo=2 --type=full");
    expect(script).toContain("--config-path=/etc/pgbackrest");
    expect(container.image).toBe("registry.example/pgbackrest:2.54");
    expect(container.terminationMessagePolicy).toBe("FallbackToLogsOnError");
    const projected = job.spec.template.spec.volumes.find((v: Json) => v.name === "pgbackrest-config").projected;
    expect(projected.sources[0].configMap).toEqual({
      name: names.pgbackrestConfig("hippo"),
      items: [{ key: "pgbackrest-job.conf", path: "~tusk.conf" }],
    });
    expect(projected.sources[1].secret.name).toBe(names.pgbackrestClientSecret("hippo"));
    // The user's configuration (credentials, CA) is projected as written.
    expect(projected.sources[2].secret.name).toBe("minio-creds");
  });

  it("passes only allow-listed options from the PostgresBackup", () => {
    const res = syncBackup(
      syncRequest({
        spec: {
          cluster: "hippo",
          repoName: "repo2",
          type: "incr",
          options: ["--start-fast=n", "--repo2-path=/x", "--type=full"],
        },
      }),
    );
    const script = (res.children[0] as Json).spec.template.spec.containers[0].command.join(" ");
    expect(script).toContain("--repo=2 --type=incr --start-fast=n backup");
    expect(script).not.toContain("/x");
  });

  // A volume repository is local only where its claim is mounted (docs/dataplane-notes.md B11).
  it("mounts a volume repo's claim and runs next to the repo host, keeping the user's affinity", () => {
    const job = syncBackup(syncRequest({ spec: { cluster: "hippo", repoName: "repo1", type: "full" } }))
      .children[0] as Json;
    const pod = job.spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: "pgbackrest-repo1",
      persistentVolumeClaim: { claimName: "repo1-hippo-repo-host-0" },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: "pgbackrest-repo1", mountPath: "/pgbackrest/repo1" });
    const [term] = pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(term).toEqual({
      labelSelector: {
        matchLabels: { "postgres.tusk.dev/cluster": "hippo", "postgres.tusk.dev/pgbackrest": "repo-host" },
      },
      topologyKey: "kubernetes.io/hostname",
    });
    expect(pod.affinity.nodeAffinity).toBeDefined();
    expect(validateObject(job)).toEqual([]);
    // An S3 backup needs neither.
    const s3 = first().spec.template.spec;
    expect(s3.volumes.some((v: Json) => v.persistentVolumeClaim)).toBe(false);
    expect(s3.affinity.podAffinity).toBeUndefined();
  });

  it("applies the cluster's job settings: resources, tolerations, priority class, TTL", () => {
    const job = first();
    expect(job.spec.ttlSecondsAfterFinished).toBe(3600);
    expect(job.spec.template.spec.priorityClassName).toBe("backups");
    expect(job.spec.template.spec.tolerations).toHaveLength(1);
    expect(job.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" } });
  });

  it("labels the Job and its Pods so the customize hook finds the Pods", () => {
    const job = first();
    for (const labels of [job.metadata.labels, job.spec.template.metadata.labels]) {
      expect(labels).toMatchObject({
        "postgres.tusk.dev/cluster": "hippo",
        "postgres.tusk.dev/backup": "hippo-nightly",
        "postgres.tusk.dev/pgbackrest-repo": "repo2",
        "postgres.tusk.dev/backup-type": "full",
        "app.kubernetes.io/managed-by": "tusk",
      });
      expect(labels["controller-uid"]).toBeUndefined();
    }
  });

  it.each([
    ["the cluster does not exist", { cluster: null }, "ClusterNotFound"],
    ["the repo is not in the cluster", { spec: { cluster: "hippo", repoName: "repo4", type: "full" } }, "RepoNotFound"],
    [
      "the cluster is shut down",
      { cluster: clusterObject(SCENARIOS.minio!, { spec: { shutdown: true } }) },
      "ClusterShutDown",
    ],
    [
      "the cluster has no pgBackRest",
      { cluster: clusterObject(SCENARIOS.minio!, { spec: { backups: {} } }) },
      "BackupsNotConfigured",
    ],
    [
      "the cluster is being deleted",
      { cluster: clusterObject(SCENARIOS.minio!, { metadata: { deletionTimestamp: "2026-09-06T00:00:00Z" } }) },
      "ClusterDeleting",
    ],
    [
      "the cluster's spec is invalid",
      { cluster: clusterObject(SCENARIOS.minio!, { spec: { instances: [] } }) },
      "ClusterInvalid",
    ],
  ])("creates no Job and says why when %s, without a retry loop", (_, options, reason) => {
    const res = syncBackup(syncRequest(options as Json));
    expect(res.children).toEqual([]);
    expect(res.status.phase).toBe("Pending");
    expect(condition(res.status)).toMatchObject({ status: "False", reason });
    expect(condition(res.status).message.length).toBeGreaterThan(10);
    expect(res.resyncAfterSeconds).toBeUndefined();
  });

  it("answers an invalid PostgresBackup with a Failed status naming the field, not an error", () => {
    const res = syncBackup(syncRequest({ spec: { cluster: "hippo", repoName: "repo9" } }));
    expect(res.children).toEqual([]);
    expect(res.status.phase).toBe("Failed");
    expect(condition(res.status)).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(res.status.error).toMatch(/spec\.repoName/);
  });

  it("is deterministic, and returns its own Job unchanged once observed", () => {
    const a = syncBackup(syncRequest());
    expect(JSON.stringify(syncBackup(syncRequest()))).toBe(JSON.stringify(a));
    const job = a.children[0] as Json;
    const again = syncBackup(syncRequest({ jobs: [observed(job, {})] }));
    expect(again.children).toEqual([job]);
  });

  it("shows the retention in effect", () => {
    expect(syncBackup(syncRequest()).status.retention).toBe("full=7 (time), diff=3");
    const v = syncBackup(syncRequest({ spec: { cluster: "hippo", repoName: "repo1", type: "full" } }));
    expect(v.status.retention).toBe("full=2 (count, default)");
  });
});

describe("PostgresBackup sync: following the Job", () => {
  const job = () => first();

  it("is Running with the Job's start time", () => {
    const res = syncBackup(
      syncRequest({ jobs: [observed(job(), RUNNING)], pods: [pod(JOB, "abcde", undefined, "Running")] }),
    );
    expect(res.status).toMatchObject({ phase: "Running", startTime: "2026-09-06T01:00:01Z", jobName: JOB });
    expect(condition(res.status)).toMatchObject({
      status: "Unknown",
      reason: "JobRunning",
      lastTransitionTime: "2026-09-06T01:00:01Z",
    });
    expect(res.children).toHaveLength(1);
  });

  it("reads the backup set from the Pod's termination message when the Job completed", () => {
    const res = syncBackup(
      syncRequest({
        jobs: [observed(job(), SUCCEEDED)],
        pods: [pod(JOB, "abcde", { exitCode: 0, message: SUCCESS_MESSAGE, finishedAt: "2026-09-06T01:00:19Z" })],
      }),
    );
    expect(res.status).toMatchObject({
      phase: "Succeeded",
      startTime: "2026-09-06T01:00:01Z",
      completionTime: "2026-09-06T01:00:20Z",
      backupLabel: "20261122-223335F",
      backupType: "full",
      size: 22992578,
      repoSize: 4522417,
      walStart: "000000010000000000000002",
      walStop: "000000010000000000000002",
      lsnStart: "0/2000028",
      lsnStop: "0/2000138",
      retention: "full=7 (time), diff=3",
    });
    expect(condition(res.status)).toMatchObject({
      status: "True",
      reason: "BackupComplete",
      lastTransitionTime: "2026-09-06T01:00:20Z",
    });
    expect(res.status.error).toBeUndefined();
  });

  it("reports the actual type when pgBackRest changed it (incr without a prior full becomes full)", () => {
    const res = syncBackup(
      syncRequest({
        spec: { cluster: "hippo", repoName: "repo2", type: "incr" },
        jobs: [observed(job(), SUCCEEDED)],
        pods: [pod(JOB, "abcde", { exitCode: 0, message: SUCCESS_MESSAGE })],
      }),
    );
    expect(res.status.backupType).toBe("full");
  });

  it("picks the successful Pod among retried ones", () => {
    const res = syncBackup(
      syncRequest({
        jobs: [observed(job(), SUCCEEDED)],
        pods: [
          pod(JOB, "aaaaa", { exitCode: 0, message: SUCCESS_MESSAGE, finishedAt: "2026-09-06T01:00:19Z" }),
          pod(JOB, "bbbbb", { exitCode: 56, message: FAILURE_LOGS, finishedAt: "2026-09-06T01:00:10Z" }, "Failed"),
        ],
      }),
    );
    expect(res.status.backupLabel).toBe("20261122-223335F");
  });

  it("takes the label alone when the message had to be cut to it", () => {
    const res = syncBackup(
      syncRequest({
        jobs: [observed(job(), SUCCEEDED)],
        pods: [pod(JOB, "abcde", { exitCode: 0, message: '{"label":"20260906-010001F"}' })],
      }),
    );
    expect(res.status).toMatchObject({ phase: "Succeeded", backupLabel: "20260906-010001F" });
    expect(res.status.size).toBeUndefined();
  });

  it("still reports success, with the reason, when the result cannot be read", () => {
    const res = syncBackup(
      syncRequest({
        jobs: [observed(job(), SUCCEEDED)],
        pods: [pod(JOB, "abcde", { exitCode: 0, message: '[{"archive":[' })],
      }),
    );
    expect(res.status.phase).toBe("Succeeded");
    expect(res.status.backupLabel).toBeUndefined();
    expect(condition(res.status).message).toMatch(/could not be read/);
  });

  it("keeps a result read earlier when the Pods are gone but the Job is not", () => {
    const done = syncBackup(
      syncRequest({
        jobs: [observed(job(), SUCCEEDED)],
        pods: [pod(JOB, "abcde", { exitCode: 0, message: SUCCESS_MESSAGE })],
      }),
    );
    const later = syncBackup(syncRequest({ jobs: [observed(job(), SUCCEEDED)], status: done.status }));
    expect(later.status).toEqual(done.status);
  });

  it("is Failed with pgBackRest's error from the Pod's log tail", () => {
    const res = syncBackup(
      syncRequest({
        jobs: [observed(job(), FAILED)],
        pods: [
          pod(JOB, "abcde", { exitCode: 56, message: FAILURE_LOGS, finishedAt: "2026-09-06T01:02:00Z" }, "Failed"),
        ],
      }),
    );
    expect(res.status).toMatchObject({
      phase: "Failed",
      completionTime: "2026-09-06T01:03:00Z",
      error: "ERROR: [056]: unable to find primary cluster - cannot proceed",
    });
    expect(condition(res.status)).toMatchObject({ status: "False", reason: "BackupFailed" });
    // The failed Job stays (its logs), and is not replaced.
    expect(res.children).toHaveLength(1);
  });

  it("falls back to the Job's own reason when no Pod says more", () => {
    const res = syncBackup(syncRequest({ jobs: [observed(job(), FAILED)] }));
    expect(res.status.error).toBe("BackoffLimitExceeded: Job has reached the specified backoff limit");
  });

  it("never runs a finished backup again once its Job is gone (TTL)", () => {
    const done = syncBackup(
      syncRequest({
        jobs: [observed(job(), SUCCEEDED)],
        pods: [pod(JOB, "abcde", { exitCode: 0, message: SUCCESS_MESSAGE })],
      }),
    );
    const gone = syncBackup(syncRequest({ status: done.status }));
    expect(gone.children).toEqual([]);
    expect(gone.status).toEqual(done.status);
    // Even when the cluster is gone too.
    expect(syncBackup(syncRequest({ status: done.status, cluster: null })).children).toEqual([]);
  });

  it("keeps following a running Job after the cluster disappeared", () => {
    const res = syncBackup(syncRequest({ cluster: null, jobs: [observed(job(), RUNNING)] }));
    expect(res.children).toHaveLength(1);
    expect(res.status.phase).toBe("Running");
  });

  it("keeps a condition's transition time while its status holds", () => {
    const running = syncBackup(syncRequest({ jobs: [observed(job(), RUNNING)] }));
    const again = syncBackup(
      syncRequest({
        jobs: [observed(job(), { ...RUNNING, startTime: "2026-09-06T02:00:00Z" })],
        status: running.status,
      }),
    );
    expect(condition(again.status).lastTransitionTime).toBe("2026-09-06T01:00:01Z");
  });
});
