import { describe, expect, it } from "vitest";
import { buildManualBackupJob, manualBackupJobName } from "../../../functions/cluster/pgbackrest/manual-backup.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { cluster, SCENARIOS } from "../pgbackrest/scenarios.ts";
import type { Json } from "./fixtures.ts";

describe("manual backups (spec.backups.pgbackrest.manual + annotation)", () => {
  it("builds a valid, restricted Job with the manual options, named after the trigger id", () => {
    const job = buildManualBackupJob(SCENARIOS.minio!, "2026-09-06-a") as Json;
    expect(validateObject(job)).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
    expect(job.metadata.name).toBe(manualBackupJobName("hippo", "2026-09-06-a"));
    expect(job.metadata.annotations).toEqual({ "postgres.tusk.dev/pgbackrest-backup": "2026-09-06-a" });
    expect(job.metadata.labels["postgres.tusk.dev/backup-type"]).toBe("full");
    const script = job.spec.template.spec.containers[0].command.join(" ");
    expect(script).toContain("--repo=2 --type=full --annotation=reason=before-upgrade backup");
  });

  it("runs a new Job for a new id and the same Job for the same id", () => {
    const a = buildManualBackupJob(SCENARIOS.minio!, "one")!;
    expect(buildManualBackupJob(SCENARIOS.minio!, "one")).toEqual(a);
    expect(buildManualBackupJob(SCENARIOS.minio!, "two")!.metadata!.name).not.toBe(a.metadata!.name);
  });

  it("builds nothing without a manual section, an id, a known repo, or while shut down", () => {
    expect(buildManualBackupJob(SCENARIOS["volume-only"]!, "x")).toBeUndefined();
    expect(buildManualBackupJob(SCENARIOS.minio!, " ")).toBeUndefined();
    const spec = JSON.parse(JSON.stringify(SCENARIOS.minio!.spec));
    spec.backups.pgbackrest.manual.repoName = "repo3";
    expect(buildManualBackupJob(cluster(spec), "x")).toBeUndefined();
    expect(buildManualBackupJob(cluster({ ...SCENARIOS.minio!.spec, shutdown: true }), "x")).toBeUndefined();
  });
});
