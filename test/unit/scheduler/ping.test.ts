import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { PingEvent } from "../../../functions/scheduler/cloudevent.ts";
import { handlePing, minuteStamp, scheduledBackup, scheduledBackupName } from "../../../functions/scheduler/ping.ts";
import { validatorWithCrds } from "../../support/k8s-validate.ts";
import { fakeStore } from "./fake-store.ts";

const event = (time: string, data: Partial<PingEvent["data"]> = {}): PingEvent => ({
  id: `id-${time}`,
  source: "/apis/v1/namespaces/db/pingsources/hippo-repo2-full",
  type: "dev.knative.sources.ping",
  time,
  data: { cluster: "hippo", namespace: "db", repoName: "repo2", type: "full", ...data },
});

describe("scheduled PostgresBackups", () => {
  it("are named after the schedule and the event's UTC minute", () => {
    expect(minuteStamp("2026-09-06T01:00:00.412Z")).toBe("202609060100");
    expect(minuteStamp("2026-09-06T03:00:59+02:00")).toBe("202609060100");
    expect(scheduledBackupName(event("2026-09-06T01:00:00.412Z"))).toBe("hippo-repo2-full-202609060100");
    const long = scheduledBackupName(event("2026-09-06T01:00:00Z", { cluster: "c".repeat(60) }));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long.endsWith("-202609060100")).toBe(true);
  });

  it("are valid PostgresBackups for the generated CRD, labelled as scheduled", () => {
    const dir = join(import.meta.dirname, "../../../manifests/crds");
    const crds = readdirSync(dir)
      .filter((f) => f.endsWith(".postgres.tusk.dev.yaml"))
      .map((f) => parse(readFileSync(join(dir, f), "utf8")));
    const validate = validatorWithCrds(crds);
    const backup = scheduledBackup(event("2026-09-06T01:00:00Z"));
    expect(validate(backup)).toEqual([]);
    expect(backup.metadata.labels).toMatchObject({
      "postgres.tusk.dev/cluster": "hippo",
      "postgres.tusk.dev/pgbackrest-repo": "repo2",
      "postgres.tusk.dev/backup-type": "full",
      "postgres.tusk.dev/scheduled": "true",
    });
    expect(backup.metadata.annotations?.["postgres.tusk.dev/cloudevent-id"]).toBe("id-2026-09-06T01:00:00Z");
  });
});

describe("handlePing", () => {
  it("creates the backup once: a duplicate or retried event creates nothing", async () => {
    const store = fakeStore();
    const first = await handlePing(event("2026-09-06T01:00:00.100Z"), store);
    expect(first).toMatchObject({ name: "hippo-repo2-full-202609060100", namespace: "db", created: true, pruned: [] });
    const again = await handlePing({ ...event("2026-09-06T01:00:00.400Z"), id: "other-id" }, store);
    expect(again.created).toBe(false);
    expect(store.objects.size).toBe(1);
  });

  it("keeps the newest N scheduled backups per cluster and repo and deletes older ones", async () => {
    const store = fakeStore();
    for (let h = 0; h < 5; h++) await handlePing(event(`2026-09-06T0${h}:00:00Z`), store, 3);
    // Another repo and another cluster are not counted.
    await handlePing(event("2026-09-06T06:00:00Z", { repoName: "repo1" }), store, 3);
    await handlePing(event("2026-09-06T07:00:00Z", { cluster: "other" }), store, 3);
    const names = [...store.objects.values()].map((o) => o.metadata.name).sort();
    expect(names).toEqual([
      "hippo-repo1-full-202609060600",
      "hippo-repo2-full-202609060200",
      "hippo-repo2-full-202609060300",
      "hippo-repo2-full-202609060400",
      "other-repo2-full-202609060700",
    ]);
    expect(store.calls.filter((c) => c.startsWith("delete"))).toEqual([
      "delete db/hippo-repo2-full-202609060000",
      "delete db/hippo-repo2-full-202609060100",
    ]);
  });

  it("counts full, differential and incremental backups of a repo together", async () => {
    const store = fakeStore();
    await handlePing(event("2026-09-06T01:00:00Z", { type: "full" }), store, 2);
    await handlePing(event("2026-09-06T02:00:00Z", { type: "diff" }), store, 2);
    const r = await handlePing(event("2026-09-06T03:00:00Z", { type: "incr" }), store, 2);
    expect(r.pruned).toEqual(["hippo-repo2-full-202609060100"]);
  });

  it("never prunes a backup that is still running", async () => {
    const store = fakeStore();
    await handlePing(event("2026-09-06T01:00:00Z"), store, 1);
    store.objects.get("db/hippo-repo2-full-202609060100")!.phase = "Running";
    const r = await handlePing(event("2026-09-06T02:00:00Z"), store, 1);
    expect(r.pruned).toEqual([]);
    expect(store.objects.size).toBe(2);
  });

  it("reports a pruning failure without failing the tick", async () => {
    const store = fakeStore();
    await handlePing(event("2026-09-06T01:00:00Z"), store, 1);
    store.failOn = { op: "delete", status: 403 };
    const r = await handlePing(event("2026-09-06T02:00:00Z"), store, 1);
    expect(r.created).toBe(true);
    expect(r.pruneError).toMatch(/delete refused/);
  });
});
