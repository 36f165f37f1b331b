import { describe, expect, it } from "vitest";
import {
  backupSchedules,
  buildScheduleCronJob,
  buildSchedulePingSource,
  DEFAULT_SCHEDULER_SINK,
  nextRun,
  scheduleStatus,
} from "../../../functions/cluster/pgbackrest/schedules.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { cluster, SCENARIOS } from "../pgbackrest/scenarios.ts";
import type { Json } from "./fixtures.ts";

const minio = SCENARIOS.minio!;

describe("backup schedules", () => {
  it("lists each schedule with its backup type and a PGO-style name", () => {
    expect(backupSchedules(minio)).toEqual([
      { name: "hippo-repo2-full", repoName: "repo2", type: "full", schedule: "0 1 * * 0" },
      { name: "hippo-repo2-incr", repoName: "repo2", type: "incr", schedule: "0 1 * * 1-6" },
    ]);
    expect(backupSchedules(SCENARIOS["s3-only"]!).map((s) => s.type)).toEqual(["full", "diff"]);
  });

  it("builds a valid PingSource delivering the schedule's data to the scheduler", () => {
    const ps = buildSchedulePingSource(minio, "repo2", "full", "0 1 * * 0") as unknown as Json;
    expect(validateObject(ps)).toEqual([]);
    expect(ps).toMatchObject({
      apiVersion: "sources.knative.dev/v1",
      kind: "PingSource",
      metadata: { name: "hippo-repo2-full", namespace: "db" },
      spec: {
        schedule: "0 1 * * 0",
        timezone: "Etc/UTC",
        contentType: "application/json",
        sink: { uri: DEFAULT_SCHEDULER_SINK },
      },
    });
    expect(JSON.parse(ps.spec.data)).toEqual({ cluster: "hippo", namespace: "db", repoName: "repo2", type: "full" });
    const custom = buildSchedulePingSource(minio, "repo2", "incr", "0 1 * * 1-6", {
      sinkUri: "http://x/scheduler/ping",
    });
    expect(custom.spec.sink.uri).toBe("http://x/scheduler/ping");
  });

  it("builds a valid, restricted CronJob that runs the backup itself", () => {
    const cj = buildScheduleCronJob(minio, "repo1", "full", "0 2 * * *") as Json;
    expect(validateObject(cj)).toEqual([]);
    expect(podSecurityRestrictedViolations(cj)).toEqual([]);
    expect(cj.spec).toMatchObject({ schedule: "0 2 * * *", timeZone: "Etc/UTC", concurrencyPolicy: "Forbid" });
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].command.join(" ")).toContain("--repo=1 --type=full backup");
    expect(pod.volumes.some((v: Json) => v.persistentVolumeClaim?.claimName === "repo1-hippo-repo-host-0")).toBe(true);
    expect(cj.spec.jobTemplate.metadata.labels["postgres.tusk.dev/scheduled"]).toBe("true");
  });

  it("suspends CronJobs of a shut-down cluster and refuses what a CronJob cannot run", () => {
    const down = cluster({ ...minio.spec, shutdown: true });
    expect((buildScheduleCronJob(down, "repo2", "full", "0 1 * * 0") as Json).spec.suspend).toBe(true);
    expect(buildScheduleCronJob(minio, "repo2", "full", "0 0 1 * * *")).toBeUndefined();
    expect(buildScheduleCronJob(minio, "repo3", "full", "0 1 * * 0")).toBeUndefined();
    expect(buildScheduleCronJob(minio, "repo2", "full", "@daily")).toBeDefined();
  });

  it("computes the next run in UTC from the given time", () => {
    const now = new Date("2026-09-05T23:59:30Z");
    expect(now.getUTCDay()).toBe(6);
    expect(nextRun("0 1 * * 0", now)).toBe("2026-09-06T01:00:00Z");
    expect(nextRun("0 1 * * 1-6", now)).toBe("2026-09-07T01:00:00Z");
    expect(nextRun("@daily", now)).toBe("2026-09-06T00:00:00Z");
    expect(nextRun("30 0 1 * * *", now)).toBe("2026-09-06T01:00:30Z");
    expect(nextRun("not a schedule", now)).toBeUndefined();
    expect(scheduleStatus(minio, now)).toEqual([
      {
        name: "hippo-repo2-full",
        repoName: "repo2",
        type: "full",
        schedule: "0 1 * * 0",
        nextRun: "2026-09-06T01:00:00Z",
      },
      {
        name: "hippo-repo2-incr",
        repoName: "repo2",
        type: "incr",
        schedule: "0 1 * * 1-6",
        nextRun: "2026-09-07T01:00:00Z",
      },
    ]);
  });

  it("keeps schedule names within CronJob's 52 characters", () => {
    const long = cluster(minio.spec, "a-very-long-cluster-name-that-goes-on-and-on-and-on-x");
    const cj = buildScheduleCronJob(long, "repo2", "incr", "0 1 * * *") as Json;
    expect(cj.metadata.name.length).toBeLessThanOrEqual(52);
    expect(validateObject(cj)).toEqual([]);
  });
});
