import { describe, expect, it } from "vitest";
import { finalizeBackup } from "../../../functions/backup/finalize.ts";
import { names } from "../../../shared/names.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { FAILED, type Json, observed, pod, SUCCEEDED, syncRequest } from "./fixtures.ts";

const DONE = { phase: "Succeeded", backupLabel: "20260906-010001F", jobName: names.backupJob("hippo-nightly") };
const OPT_IN = { cluster: "hippo", repoName: "repo2", type: "full", deleteFromRepository: true };
const EXPIRE = names.expireJob("hippo-nightly");
const expired = (status: Json): Json | undefined =>
  (status.conditions as Json[] | undefined)?.find((c) => c.type === "Expired");

describe("PostgresBackup finalize", () => {
  it("lets go at once and keeps the backup unless the user opted in", () => {
    const res = finalizeBackup(syncRequest({ status: DONE, finalizing: true }));
    expect(res).toMatchObject({ finalized: true, children: [] });
  });

  it("expires the set with a valid, restricted Job when opted in", () => {
    const res = finalizeBackup(syncRequest({ spec: OPT_IN, status: DONE, finalizing: true }));
    expect(res.finalized).toBe(false);
    expect(res.children).toHaveLength(1);
    const job = res.children[0] as Json;
    expect(job.metadata.name).toBe(EXPIRE);
    expect(validateObject(job)).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
    expect(job.spec.template.spec.containers[0].command.join(" ")).toContain("--repo=2 --set=20260906-010001F expire");
    expect(job.spec.template.metadata.labels["postgres.tusk.dev/backup"]).toBe("hippo-nightly");
    expect(expired(res.status)).toMatchObject({ status: "Unknown", reason: "Expiring" });
  });

  it("answers finalized once the expire Job succeeded", () => {
    const job = finalizeBackup(syncRequest({ spec: OPT_IN, status: DONE, finalizing: true })).children[0] as Json;
    const running = finalizeBackup(
      syncRequest({ spec: OPT_IN, status: DONE, finalizing: true, jobs: [observed(job, { active: 1 })] }),
    );
    expect(running.finalized).toBe(false);
    expect(running.children).toHaveLength(1);
    const done = finalizeBackup(
      syncRequest({ spec: OPT_IN, status: DONE, finalizing: true, jobs: [observed(job, SUCCEEDED)] }),
    );
    expect(done.finalized).toBe(true);
  });

  it("holds the object with pgBackRest's error when expire failed, and lets go when told to skip", () => {
    const job = finalizeBackup(syncRequest({ spec: OPT_IN, status: DONE, finalizing: true })).children[0] as Json;
    const message =
      "ERROR: [075]: repo2: full backup 20260906-010001F cannot be expired until another full backup has been created on this repo";
    const failed = finalizeBackup(
      syncRequest({
        spec: OPT_IN,
        status: DONE,
        finalizing: true,
        jobs: [observed(job, FAILED)],
        pods: [pod(EXPIRE, "x1", { exitCode: 75, message }, "Failed")],
      }),
    );
    expect(failed.finalized).toBe(false);
    expect(failed.resyncAfterSeconds).toBeUndefined();
    expect(expired(failed.status)).toMatchObject({ status: "False", reason: "ExpireFailed" });
    expect(expired(failed.status)?.message).toContain("cannot be expired until another full backup");
    expect(expired(failed.status)?.message).toContain("postgres.tusk.dev/skip-expire");
    // The failed Job is kept, not re-created.
    expect((failed.children[0] as Json).metadata.name).toBe(EXPIRE);
    const skipped = finalizeBackup(
      syncRequest({
        spec: OPT_IN,
        status: failed.status,
        finalizing: true,
        jobs: [observed(job, FAILED)],
        annotations: { "postgres.tusk.dev/skip-expire": "true" },
      }),
    );
    expect(skipped).toMatchObject({ finalized: true, children: [] });
  });

  it("has nothing to expire when no backup was made, or the cluster or repo is gone", () => {
    expect(finalizeBackup(syncRequest({ spec: OPT_IN, status: { phase: "Failed" }, finalizing: true })).finalized).toBe(
      true,
    );
    expect(finalizeBackup(syncRequest({ spec: OPT_IN, status: DONE, cluster: null, finalizing: true })).finalized).toBe(
      true,
    );
    expect(
      finalizeBackup(syncRequest({ spec: { ...OPT_IN, repoName: "repo4" }, status: { ...DONE }, finalizing: true }))
        .finalized,
    ).toBe(true);
  });
});
