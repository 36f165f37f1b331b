/**
 * The PostgresRestore phase machine, driven only by observed objects: each test builds the
 * request Metacontroller would send at one point of a restore and checks the phase, the status
 * and the Jobs returned.
 */
import { describe, expect, it } from "vitest";
import { syncRestore } from "../../../functions/restore/sync.ts";
import {
  claim,
  clusterObject,
  clusterSpec,
  INSTANCES,
  instancePod,
  JOB,
  type Json,
  jobPod,
  observedJob,
  RESTORED_MESSAGE,
  restoreParent,
  stoppedFor,
  syncRequest,
  TIME_SPEC,
} from "./fixtures.ts";

const run = (options: Parameters<typeof syncRequest>[0] = {}) => syncRestore(syncRequest(options)) as any;
const names = (res: { children: Json[] }) => res.children.map((c) => c.metadata.name).sort();
const reason = (res: any) => res.status.conditions?.[0]?.reason;

const running = INSTANCES.map((i) => instancePod(i, { leader: i === "hippo-a-1" }));
const stopped = clusterObject({ status: stoppedFor("hippo-pitr") });

describe("Pending: checks before anything is stopped", () => {
  it("a valid restore moves to ScalingDown, pins the leader's instance and emits no Job", () => {
    const res = run({ pods: running });
    expect(res.status.phase).toBe("ScalingDown");
    expect(res.status.instance).toBe("hippo-a-1");
    expect(res.status.target).toBe("time 2026-02-20 12:00:00+00");
    expect(res.status.repoName).toBe("repo2");
    expect(res.children).toEqual([]);
  });

  it("without a primary in the cluster status the first instance is restored", () => {
    const res = run({ cluster: clusterObject({ status: { phase: "Stopped" } }) });
    expect(res.status.instance).toBe("hippo-a-0");
  });

  it("a missing cluster keeps the restore Pending (nothing is refused for good)", () => {
    const res = run({ cluster: null });
    expect(res.status.phase).toBe("Pending");
    expect(reason(res)).toBe("ClusterNotFound");
    expect(res.children).toEqual([]);
  });

  it("a repository the cluster does not have fails at once, without a Job and without touching the cluster", () => {
    const res = run({ spec: { ...TIME_SPEC, repoName: "repo3" } });
    expect(res.status.phase).toBe("Failed");
    expect(reason(res)).toBe("RepoNotFound");
    expect(res.status.error).toContain("repo1, repo2");
    expect(res.status.dataChanged).toBe(false);
    expect(res.children).toEqual([]);
  });

  it("a time target outside the published recoverability window is refused up front", () => {
    const window = { earliest: "2026-02-21T00:00:00Z", latest: "2026-03-01T09:00:00Z", latestFrom: "wal" };
    const cluster = clusterObject({
      status: { phase: "Running", primary: "hippo-a-1-0", repos: [{ repoName: "repo2", recoverability: window }] },
    });
    const before = run({ cluster });
    expect(before.status.phase).toBe("Failed");
    expect(reason(before)).toBe("OutsideRecoverabilityWindow");
    expect(before.status.error).toContain("before the end of the oldest backup");
    expect(before.status.dataChanged).toBe(false);

    const after = run({ cluster, spec: { ...TIME_SPEC, target: { type: "time", value: "2026-03-01 10:00:00+01" } } });
    expect(after.status.phase).toBe("ScalingDown");
    const later = run({ cluster, spec: { ...TIME_SPEC, target: { type: "time", value: "2026-03-01 12:00:00+00" } } });
    expect(later.status.phase).toBe("Failed");
    expect(later.status.error).toContain("after the newest archived WAL");
  });

  it("the window under status.pgbackrest.repos counts too; an LSN target is not checked against it", () => {
    const window = { earliest: "2026-02-21T00:00:00Z", latest: "2026-03-01T09:00:00Z", latestFrom: "backup" };
    const cluster = clusterObject({
      status: { phase: "Running", pgbackrest: { repos: [{ name: "repo2", recoverability: window }] } },
    });
    expect(run({ cluster }).status.phase).toBe("Failed");
    expect(run({ cluster, spec: { ...TIME_SPEC, target: { type: "lsn", value: "0/5000000" } } }).status.phase).toBe(
      "ScalingDown",
    );
  });

  it("a backup set the repository does not hold is refused up front, naming spec.backupSet; a newer one waits", () => {
    const published = {
      name: "repo2",
      state: "Read",
      backups: {
        count: 2,
        full: 1,
        differential: 0,
        incremental: 1,
        oldest: { label: "20260220-010000F" },
        latest: { label: "20260220-010000F_20260221-010000I" },
        labels: ["20260220-010000F", "20260220-010000F_20260221-010000I"],
      },
      recoverability: { earliest: "2026-02-20T01:05:00Z", latest: "2026-02-21T01:02:00Z", latestFrom: "backup" },
    };
    const cluster = clusterObject({
      status: { phase: "Running", primary: "hippo-a-1-0", pgbackrest: { repos: [published] } },
    });
    const missing = run({ cluster, spec: { cluster: "hippo", repoName: "repo2", backupSet: "20260219-010000F" } });
    expect(missing.status.phase).toBe("Failed");
    expect(reason(missing)).toBe("BackupSetNotFound");
    expect(missing.status.error).toMatch(/^spec\.backupSet: repo2 holds no backup set 20260219-010000F/);
    expect(missing.status.error).toContain("PostgresCluster hippo");
    expect(missing.status.dataChanged).toBe(false);
    expect(missing.children).toEqual([]);

    const held = run({ cluster, spec: { cluster: "hippo", repoName: "repo2", backupSet: "20260220-010000F" } });
    expect(held.status.phase).toBe("ScalingDown");

    const empty = clusterObject({
      status: {
        phase: "Running",
        pgbackrest: { repos: [{ name: "repo2", state: "NoStanza", backups: { count: 0 } }] },
      },
    });
    // the status may predate a backup that just finished: wait for the cluster's next read
    const none = run({ cluster: empty, spec: { cluster: "hippo", repoName: "repo2" } });
    expect(none.status.phase).toBe("Pending");
    expect(reason(none)).toBe("NoBackupYet");
    expect(none.status.conditions[0].message).toMatch(/^spec\.repoName: /);
    expect(none.children).toEqual([]);
    const newer = run({ cluster, spec: { cluster: "hippo", repoName: "repo2", backupSet: "20260222-010000F" } });
    expect(newer.status.phase).toBe("Pending");
    expect(reason(newer)).toBe("BackupSetNotSeen");

    // a repository the cluster could not read says nothing: pgBackRest decides
    const unread = clusterObject({
      status: { phase: "Running", pgbackrest: { repos: [{ name: "repo2", state: "ReadFailed", message: "x" }] } },
    });
    expect(
      run({ cluster: unread, spec: { cluster: "hippo", repoName: "repo2", backupSet: "nope" } }).status.phase,
    ).toBe("ScalingDown");
  });

  it("an older restore of the same cluster still running makes this one fail; a finished one does not", () => {
    const older = (status: Json) =>
      restoreParent(TIME_SPEC, { name: "hippo-old", created: "2026-03-01T09:00:00Z", status });
    const blocked = run({ restores: [older({ phase: "Restoring" })] });
    expect(blocked.status.phase).toBe("Failed");
    expect(reason(blocked)).toBe("ConcurrentRestore");
    expect(run({ restores: [older({ phase: "Failed" })] }).status.phase).toBe("ScalingDown");
    // A newer one never blocks an older one: the older proceeds, the newer fails on its own sync.
    const newer = restoreParent(TIME_SPEC, { name: "hippo-new", created: "2026-03-01T11:00:00Z" });
    expect(run({ restores: [newer] }).status.phase).toBe("ScalingDown");
    // Other clusters' restores are not this cluster's business.
    const other = restoreParent({ ...TIME_SPEC, cluster: "other" }, { name: "o", created: "2026-03-01T09:00:00Z" });
    expect(run({ restores: [other] }).status.phase).toBe("ScalingDown");
  });

  it("an older restore being cancelled makes this one wait, not fail", () => {
    const cancelling = {
      ...restoreParent(TIME_SPEC, {
        name: "hippo-old",
        created: "2026-03-01T09:00:00Z",
        status: { phase: "Restoring" },
      }),
    };
    cancelling.metadata.deletionTimestamp = "2026-03-01T10:01:00Z";
    const res = run({ restores: [cancelling] });
    expect(res.status.phase).toBe("Pending");
    expect(reason(res)).toBe("WaitingForCancel");
  });

  it("an invalid spec or target fails without children", () => {
    expect(run({ spec: { cluster: "hippo" } }).status.phase).toBe("Failed");
    const res = run({ spec: { ...TIME_SPEC, target: { type: "xid" } } });
    expect(res.status.phase).toBe("Failed");
    expect(reason(res)).toBe("InvalidTarget");
  });
});

describe("ScalingDown: waits for the cluster to stop", () => {
  const status = { phase: "ScalingDown", instance: "hippo-a-1" };

  it("waits while the cluster has not acknowledged this restore", () => {
    const res = run({ status, pods: [] });
    expect(res.status.phase).toBe("ScalingDown");
    expect(res.children).toEqual([]);
    const other = run({ status, cluster: clusterObject({ status: stoppedFor("someone-else") }) });
    expect(other.status.phase).toBe("ScalingDown");
  });

  it("waits while an instance Pod is left, even when the cluster says it stopped", () => {
    const res = run({ status, cluster: stopped, pods: [instancePod("hippo-w-0")] });
    expect(res.status.phase).toBe("ScalingDown");
    expect(res.status.conditions[0].message).toContain("hippo-w-0-0");
    expect(res.children).toEqual([]);
  });

  it("starts the restore Job once the cluster is stopped; Job Pods of the cluster do not count as instances", () => {
    const stray = jobPod("hippo-users-abc", 0, "");
    const res = run({ status, cluster: stopped, pods: [stray] });
    expect(res.status.phase).toBe("Restoring");
    expect(res.status.jobName).toBe(JOB.restore);
    expect(names(res)).toEqual([JOB.restore]);
    const job = res.children[0];
    expect(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe("pgdata-hippo-a-1-0");
  });

  it("waits, saying so, while the restored instance has no data volume", () => {
    const res = run({ status, cluster: stopped, claims: [claim("pgdata-hippo-a-0-0")] });
    expect(res.status.phase).toBe("ScalingDown");
    expect(reason(res)).toBe("VolumeMissing");
    expect(res.children).toEqual([]);
  });

  it("a cluster that never ran (no status) needs no acknowledgement", () => {
    const res = run({ status, cluster: clusterObject({ status: null }) });
    expect(res.status.phase).toBe("Restoring");
  });
});

describe("Restoring: the restore Job", () => {
  const status = { phase: "Restoring", instance: "hippo-a-1", jobName: JOB.restore };

  it("fails without creating its Job when the cluster is being deleted before the Job exists (nothing restored)", () => {
    // found on the real control plane: deleting a namespace mid-restore made every sync ask for
    // a Job the API server refuses in a terminating namespace
    const res = run({ status, cluster: clusterObject({ status: stoppedFor("hippo-pitr"), deleting: true }) });
    expect(res.status.phase).toBe("Failed");
    expect(reason(res)).toBe("ClusterDeleting");
    expect(res.status.dataChanged).toBe(false);
    expect(res.children).toEqual([]);
    // a Job that already runs is kept: its data may be changing
    const running = run({
      status,
      cluster: clusterObject({ status: stoppedFor("hippo-pitr"), deleting: true }),
      jobs: [observedJob(JOB.restore, "running")],
    });
    expect(running.status.phase).toBe("Restoring");
    expect(running.children).toHaveLength(1);
  });

  it("reports the Job's start time and returns it unchanged while it runs", () => {
    const job = observedJob(JOB.restore, "running");
    const res = run({ status, cluster: stopped, jobs: [job] });
    expect(res.status.phase).toBe("Restoring");
    expect(res.status.startTime).toBe("2026-03-01T10:05:00Z");
    expect(res.children).toHaveLength(1);
    expect(res.children[0].spec).toEqual(job.spec);
    expect(res.children[0].metadata.labels?.["controller-uid"]).toBeUndefined();
  });

  it("a failed restore reports pgBackRest's error, its time, and that data may have changed", () => {
    const message =
      "tusk-restore failed during restore: pgbackrest restore exited with code 75\nERROR: [075]: unable to find backup set with stop time less than '2026-02-20 12:00:00+00'";
    const res = run({
      status,
      cluster: stopped,
      jobs: [observedJob(JOB.restore, "failed")],
      pods: [jobPod(JOB.restore, 1, message)],
    });
    expect(res.status.phase).toBe("Failed");
    expect(res.status.error).toContain("ERROR: [075]: unable to find backup set");
    expect(res.status.error).toContain("stays stopped");
    expect(res.status.dataChanged).toBe(true);
    expect(res.status.completionTime).toBe("2026-03-01T10:20:00Z");
    expect(res.status.startTime).toBe("2026-03-01T10:05:00Z");
    expect(names(res)).toEqual([JOB.restore]);
  });

  it("a failure before anything was moved says nothing changed", () => {
    const message = "tusk-restore failed during check: pgbackrest is not installed";
    const res = run({
      status,
      cluster: stopped,
      jobs: [observedJob(JOB.restore, "failed")],
      pods: [jobPod(JOB.restore, 1, message)],
    });
    expect(res.status.dataChanged).toBe(false);
    expect(res.status.error).toContain("nothing was changed");
  });

  it("without a Pod the Job's own reason is the error", () => {
    const res = run({ status, cluster: stopped, jobs: [observedJob(JOB.restore, "failed")] });
    expect(res.status.error).toContain("BackoffLimitExceeded");
  });

  it("a successful restore reports the backup set and moves to Starting with the DCS and reset Jobs", () => {
    const res = run({
      status,
      cluster: stopped,
      jobs: [observedJob(JOB.restore, "succeeded")],
      pods: [jobPod(JOB.restore, 0, RESTORED_MESSAGE)],
    });
    expect(res.status.phase).toBe("Starting");
    expect(res.status.backupSet).toBe("20260220-010000F");
    expect(res.status.timeline).toBe(3);
    expect(res.status.lsn).toBe("0/5000028");
    expect(res.status.resetInstances).toEqual(["hippo-a-0", "hippo-w-0"]);
    expect(res.status.startInstance).toBeUndefined();
    expect(names(res)).toEqual([JOB.dcs, JOB.reset("hippo-a-0"), JOB.reset("hippo-w-0"), JOB.restore].sort());
  });

  it("a Job deleted by hand while restoring is created again (the script resumes)", () => {
    const res = run({ status, cluster: stopped });
    expect(names(res)).toEqual([JOB.restore]);
    expect(res.status.phase).toBe("Restoring");
  });
});

describe("Starting: the cluster boots from the restored data", () => {
  const base = {
    phase: "Starting",
    instance: "hippo-a-1",
    jobName: JOB.restore,
    backupSet: "20260220-010000F",
    startTime: "2026-03-01T10:05:00Z",
    resetInstances: ["hippo-a-0", "hippo-w-0"],
  };
  const restore = observedJob(JOB.restore, "succeeded");
  const done = (name: string) => observedJob(name, "succeeded");

  it("instances without a data volume are not reset (their Job could never mount it)", () => {
    const res = run({
      status: { phase: "Restoring", instance: "hippo-a-1" },
      cluster: stopped,
      jobs: [restore],
      pods: [jobPod(JOB.restore, 0, RESTORED_MESSAGE)],
      claims: [claim("pgdata-hippo-a-0-0"), claim("pgdata-hippo-a-1-0")],
    });
    expect(res.status.resetInstances).toEqual(["hippo-a-0"]);
  });

  it("waits for every step; a failed step is named with how to retry it", () => {
    const res = run({
      status: base,
      cluster: clusterObject({ status: stoppedFor("hippo-pitr") }),
      jobs: [
        restore,
        done(JOB.dcs),
        observedJob(JOB.reset("hippo-a-0"), "failed"),
        observedJob(JOB.reset("hippo-w-0"), "running"),
      ],
    });
    expect(res.status.phase).toBe("Starting");
    expect(res.status.startInstance).toBeUndefined();
    expect(reason(res)).toBe("StepFailed");
    expect(res.status.conditions[0].message).toContain("delete the Job to run it again");
  });

  it("publishes startInstance once every step succeeded, then waits for the restored instance to lead", () => {
    const jobs = [restore, done(JOB.dcs), done(JOB.reset("hippo-a-0")), done(JOB.reset("hippo-w-0"))];
    const res = run({ status: base, cluster: clusterObject({ status: stoppedFor("hippo-pitr", "Starting") }), jobs });
    expect(res.status.phase).toBe("Starting");
    expect(res.status.startInstance).toBe("hippo-a-1");
    expect(reason(res)).toBe("StartingCluster");
    const notYet = run({ status: base, jobs, pods: [instancePod("hippo-a-1", { ready: false, leader: true })] });
    expect(notYet.status.phase).toBe("Starting");
  });

  it("succeeds when the restored instance is the ready leader; the time is its Ready transition", () => {
    const jobs = [restore, done(JOB.dcs), done(JOB.reset("hippo-a-0")), done(JOB.reset("hippo-w-0"))];
    const res = run({
      status: { ...base, startInstance: "hippo-a-1" },
      jobs,
      pods: [instancePod("hippo-a-1", { leader: true, readySince: "2026-03-01T10:31:00Z" })],
    });
    expect(res.status.phase).toBe("Succeeded");
    expect(res.status.completionTime).toBe("2026-03-01T10:31:00Z");
    expect(res.status.startTime).toBe("2026-03-01T10:05:00Z");
    expect(res.status.backupSet).toBe("20260220-010000F");
    expect(res.status.target).toBe("time 2026-02-20 12:00:00+00");
    expect(res.status.conditions[0]).toMatchObject({ status: "True", reason: "Restored" });
    expect(names(res)).toEqual(jobs.map((j) => j.metadata.name).sort());
  });

  it("once startInstance is published, reset Jobs that went away are not run again", () => {
    const res = run({ status: { ...base, startInstance: "hippo-a-1" }, jobs: [restore] });
    expect(names(res)).toEqual([JOB.restore]);
    expect(res.status.startInstance).toBe("hippo-a-1");
  });
});

describe("finished restores", () => {
  it("Succeeded and Failed are kept as they are, with their Jobs, and never run again", () => {
    for (const status of [
      { phase: "Succeeded", completionTime: "2026-03-01T10:31:00Z", backupSet: "x" },
      { phase: "Failed", error: "boom", dataChanged: true },
    ]) {
      const res = run({ status, jobs: [observedJob(JOB.restore, "succeeded")] });
      expect(res.status).toEqual(status);
      expect(names(res)).toEqual([JOB.restore]);
      expect(run({ status }).children).toEqual([]);
    }
  });
});

describe("determinism", () => {
  it("the same request gives byte-identical output", () => {
    const options = {
      status: { phase: "Restoring", instance: "hippo-a-1" },
      cluster: stopped,
      jobs: [observedJob(JOB.restore, "succeeded")],
      pods: [jobPod(JOB.restore, 0, RESTORED_MESSAGE)],
    };
    expect(JSON.stringify(run(options))).toBe(JSON.stringify(run(options)));
  });

  it("the cluster spec may change during a restore without moving the restored instance", () => {
    const spec = clusterSpec({
      instances: [{ name: "z", replicas: 1, dataVolumeClaimSpec: clusterSpec().instances[0].dataVolumeClaimSpec }],
    });
    const res = run({ status: { phase: "ScalingDown", instance: "hippo-a-1" }, cluster: clusterObject({ spec }) });
    // The pinned instance is no longer in the spec: the first instance of the new spec is used.
    expect(res.status.instance).toBe("hippo-z-0");
  });
});
