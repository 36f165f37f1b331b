/**
 * Restore targets: every shape a PostgresRestore or a data source can ask for, the options the
 * restore decides itself, quotes around option values, and time targets against the
 * recoverability window and against what the repository holds (the cluster's published read).
 */
import { describe, expect, it } from "vitest";
import {
  type PublishedRepoView,
  planFromOptions,
  planFromRestore,
  repoProblem,
  targetTimeMillis,
  unquoteOption,
  windowProblem,
} from "../../../shared/restore/target.ts";

const plan = (spec: Record<string, unknown>) => {
  const r = planFromRestore({ cluster: "hippo", repoName: "repo1", ...spec } as never);
  if (!r.ok) throw new Error(r.message);
  return r.plan;
};

describe("planFromRestore", () => {
  it("each target shape", () => {
    expect(plan({})).toMatchObject({ description: "latest" });
    expect(plan({}).target).toBeUndefined();
    expect(plan({ target: { type: "latest" } }).target).toBeUndefined();
    expect(plan({ target: { type: "time", value: "2026-01-02 03:04:05+00" } })).toMatchObject({
      target: { type: "time", value: "2026-01-02 03:04:05+00" },
      description: "time 2026-01-02 03:04:05+00",
    });
    expect(plan({ target: { type: "lsn", value: "0/5000000" } }).target).toEqual({ type: "lsn", value: "0/5000000" });
    expect(plan({ target: { type: "name", value: "before-migration" } }).target).toEqual({
      type: "name",
      value: "before-migration",
    });
    expect(plan({ target: { type: "xid", value: "1234" } }).target).toEqual({ type: "xid", value: "1234" });
    expect(plan({ target: { type: "immediate" } })).toMatchObject({
      target: { type: "immediate" },
      description: "immediate",
    });
  });

  it("a backup set alone means that backup, to its consistent point; with a target, the target from that set", () => {
    expect(plan({ backupSet: "20260102-030405F" })).toMatchObject({
      set: "20260102-030405F",
      target: { type: "immediate" },
      description: "immediate from backup set 20260102-030405F",
    });
    expect(
      plan({ backupSet: "20260102-030405F", target: { type: "time", value: "2026-01-03 00:00:00Z" } }),
    ).toMatchObject({
      set: "20260102-030405F",
      target: { type: "time" },
    });
  });

  it("options keep one item each, lose one pair of quotes, and cannot override what the restore decides", () => {
    const p = plan({ options: ['--process-max="4"', "--type=xid", "--log-level-console=warn", "--db-include=app"] });
    expect(p.options).toEqual(["--process-max=4", "--db-include=app", "--log-level-console=info"]);
  });

  it("a target type that needs a value and has none is refused", () => {
    const r = planFromRestore({ cluster: "hippo", repoName: "repo1", target: { type: "time" } } as never);
    expect(r.ok).toBe(false);
  });
});

describe("planFromOptions (PGO-style data source options)", () => {
  it("reads --type, --target and --set, with quotes as PGO's examples write them", () => {
    const r = planFromOptions(["--type=time", '--target="2021-06-09 14:15:11-04"', "--set=20210609-000000F"]);
    expect(r).toMatchObject({
      ok: true,
      plan: {
        target: { type: "time", value: "2021-06-09 14:15:11-04" },
        set: "20210609-000000F",
        options: ["--log-level-console=info"],
      },
    });
  });

  it("no type is latest; default is latest; immediate needs no target", () => {
    expect(planFromOptions(undefined)).toMatchObject({ ok: true, plan: { description: "latest" } });
    expect(planFromOptions(["--type=default"])).toMatchObject({ ok: true, plan: { description: "latest" } });
    expect(planFromOptions(["--type=immediate"])).toMatchObject({ ok: true, plan: { target: { type: "immediate" } } });
  });

  it("refuses what cannot end as a new primary, and targets without a type", () => {
    for (const options of [["--type=standby"], ["--type=preserve"], ["--type=lsn"], ["--target=x"]])
      expect(planFromOptions(options).ok, options.join(" ")).toBe(false);
  });
});

describe("unquoteOption", () => {
  it("removes exactly one pair of matching quotes around a value", () => {
    expect(unquoteOption('--target="a b"')).toBe("--target=a b");
    expect(unquoteOption("--target='a b'")).toBe("--target=a b");
    expect(unquoteOption(`--target=""a""`)).toBe('--target="a"');
    expect(unquoteOption(`--target="a'`)).toBe(`--target="a'`);
    expect(unquoteOption("--delta")).toBe("--delta");
    expect(unquoteOption('--target="')).toBe('--target="');
  });
});

describe("targetTimeMillis", () => {
  it("reads offsets, Z and fractions the way PostgreSQL does", () => {
    const utc = Date.UTC(2026, 0, 2, 3, 4, 5);
    expect(targetTimeMillis("2026-01-02 03:04:05+00")).toBe(utc);
    expect(targetTimeMillis("2026-01-02T03:04:05Z")).toBe(utc);
    expect(targetTimeMillis("2026-01-02 05:04:05+02")).toBe(utc);
    expect(targetTimeMillis("2026-01-02 00:34:05-02:30")).toBe(utc);
    expect(targetTimeMillis("2026-01-02 03:04:05.250+00")).toBe(utc + 250);
    expect(targetTimeMillis("2026-01-02 03:04+00")).toBe(utc - 5000);
  });

  it("reads zone names from the time zone database, summer time included", () => {
    expect(targetTimeMillis("2026-01-02 04:04:05 Europe/Berlin")).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(targetTimeMillis("2026-07-02 05:04:05 Europe/Berlin")).toBe(Date.UTC(2026, 6, 2, 3, 4, 5));
    expect(targetTimeMillis("2026-07-02 03:04:05 UTC")).toBe(Date.UTC(2026, 6, 2, 3, 4, 5));
  });

  it("gives up on what it cannot read", () => {
    expect(targetTimeMillis("yesterday")).toBeUndefined();
    expect(targetTimeMillis("2026-01-02 03:04:05 Not/AZone")).toBeUndefined();
  });
});

describe("windowProblem", () => {
  const time = (value: string) => plan({ target: { type: "time", value } });
  const wal = { earliest: "2026-01-10T00:00:00Z", latest: "2026-01-20T00:00:00Z", latestFrom: "wal" };

  it("refuses a target before the oldest backup ends and after the newest archived WAL", () => {
    expect(windowProblem(time("2026-01-09 23:59:59+00"), "repo1", wal)).toMatch(
      /^spec\.target\.value: .* before the end of the oldest backup/,
    );
    expect(windowProblem(time("2026-01-20 00:00:01+00"), "repo1", wal)).toContain("after the newest archived WAL");
    expect(windowProblem(time("2026-01-15 00:00:00+00"), "repo1", wal)).toBeUndefined();
    expect(windowProblem(time("2026-01-10 01:00:00+01"), "repo1", wal)).toBeUndefined();
  });

  it("a window ending at the newest backup bounds only the start; no window, no check; other targets unchecked", () => {
    const backup = { ...wal, latestFrom: "backup" };
    expect(windowProblem(time("2026-02-01 00:00:00+00"), "repo1", backup)).toBeUndefined();
    expect(windowProblem(time("2026-01-01 00:00:00+00"), "repo1", backup)).toBeDefined();
    expect(windowProblem(time("2020-01-01 00:00:00+00"), "repo1", undefined)).toBeUndefined();
    expect(windowProblem(plan({ target: { type: "lsn", value: "0/1" } }), "repo1", wal)).toBeUndefined();
    expect(windowProblem(plan({}), "repo1", wal)).toBeUndefined();
  });
});

describe("repoProblem: the repository as the cluster last read it", () => {
  const F1 = "20260110-010000F";
  const I1 = "20260110-010000F_20260111-010000I";
  const F2 = "20260112-010000F";
  const D2 = "20260112-010000F_20260113-010000D";
  const read = (labels: string[], extra: Partial<PublishedRepoView> = {}): PublishedRepoView => ({
    state: "Read",
    backups: {
      count: labels.length,
      ...(labels.length ? { oldest: { label: labels[0]! }, latest: { label: labels.at(-1)! } } : {}),
      labels,
    },
    ...(labels.length
      ? { recoverability: { earliest: "2026-01-10T01:05:00Z", latest: "2026-01-13T01:05:00Z", latestFrom: "backup" } }
      : {}),
    ...extra,
  });
  const where = "status.pgbackrest.repos of PostgresCluster hippo";

  it("accepts a set the repository holds, and any target when it has backups", () => {
    const repo = read([F1, I1, F2, D2]);
    expect(repoProblem(plan({ backupSet: I1 }), "repo1", repo, where)).toBeUndefined();
    expect(repoProblem(plan({}), "repo1", repo, where)).toBeUndefined();
    expect(repoProblem(plan({ target: { type: "time", value: "2026-01-12 00:00:00+00" } }), "repo1", repo, where)).toBe(
      undefined,
    );
  });

  it("refuses a set that is not there, naming spec.backupSet and what the repository holds", () => {
    const problem = repoProblem(plan({ backupSet: "20260111-010000F" }), "repo1", read([F1, I1, F2, D2]), where);
    expect(problem?.reason).toBe("BackupSetNotFound");
    expect(problem?.message).toMatch(/^spec\.backupSet: repo1 holds no backup set 20260111-010000F; it holds /);
    expect(problem?.message).toContain(D2);
    expect(problem?.message).toContain(where);
    // older than the oldest set: most likely expired
    expect(repoProblem(plan({ backupSet: "20260101-010000F" }), "repo1", read([F2, D2]), where)?.message).toContain(
      "older than its oldest set",
    );
  });

  it("with only the newest labels published, refuses a set older than the oldest, not one in between", () => {
    // the list starts after the oldest set: a set between the two may exist
    const cut = read([F2, D2], {
      backups: { count: 40, oldest: { label: F1 }, latest: { label: D2 }, labels: [F2, D2] },
    });
    expect(repoProblem(plan({ backupSet: I1 }), "repo1", cut, where)).toBeUndefined();
    expect(repoProblem(plan({ backupSet: "20260101-010000F" }), "repo1", cut, where)?.reason).toBe("BackupSetNotFound");
  });

  it("waits for a set newer than the newest read: a backup that finished since shows at the next read", () => {
    const problem = repoProblem(plan({ backupSet: "20260201-010000F" }), "repo1", read([F1, I1, F2, D2]), where);
    expect(problem).toMatchObject({ reason: "BackupSetNotSeen", wait: true });
    expect(problem?.message).toMatch(/^spec\.backupSet: 20260201-010000F is newer than repo1's newest set /);
  });

  it("waits while the repository holds no backup (the status may predate the first)", () => {
    for (const repo of [read([]), { state: "NoStanza", backups: { count: 0 } }]) {
      const problem = repoProblem(plan({}), "repo1", repo, where);
      expect(problem).toMatchObject({ reason: "NoBackupYet", wait: true });
      expect(problem?.message).toMatch(/^spec\.repoName: repo1 holds no usable backup/);
    }
  });

  it("a time target before the oldest backup's end is refused; the window names spec.target.value", () => {
    const problem = repoProblem(
      plan({ target: { type: "time", value: "2026-01-09 00:00:00+00" } }),
      "repo1",
      read([F1, F2]),
      where,
    );
    expect(problem).toMatchObject({ reason: "OutsideRecoverabilityWindow" });
    expect(problem?.message).toMatch(/^spec\.target\.value: /);
  });

  it("says nothing of a repository being read, unreadable, failing or never published", () => {
    for (const state of ["Reading", "NotReadable", "ReadFailed"])
      expect(repoProblem(plan({ backupSet: "x" }), "repo1", { state }, where)).toBeUndefined();
    expect(repoProblem(plan({ backupSet: "x" }), "repo1", undefined, where)).toBeUndefined();
  });
});
