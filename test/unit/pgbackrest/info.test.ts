import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  findBackupSet,
  InfoParseError,
  parseArchiveInfoIni,
  parseBackupInfoIni,
  parsePgBackRestInfo,
  recoverabilityOf,
} from "../../../shared/pgbackrest/info.ts";

/** Real output of pgBackRest 2.45 (see test/golden/pgbackrest/real/). */
const real = (name: string) => readFileSync(join(import.meta.dirname, "../../golden/pgbackrest/real", name), "utf8");

describe("parsePgBackRestInfo (real pgbackrest info --output=json)", () => {
  it("reads one S3 repo with one full backup, keeping the 64-bit system id exact", () => {
    const [stanza] = parsePgBackRestInfo(real("info-s3-full.json"));
    expect(stanza?.name).toBe("db");
    expect(stanza?.status).toEqual({ code: 0, message: "ok" });
    expect(stanza?.systemId).toBe("7711127497098134972");
    expect(stanza?.pgVersion).toBe("15");
    expect(stanza?.repos).toHaveLength(1);
    const repo = stanza!.repos[0]!;
    expect(repo).toMatchObject({ repoKey: 1, repoName: "repo1", status: { code: 0, message: "ok" } });
    expect(repo.archive).toEqual({ id: "15-1", min: "000000010000000000000001", max: "000000010000000000000002" });
    expect(repo.backups).toEqual([
      {
        label: "20261122-223335F",
        type: "full",
        repoKey: 1,
        databaseId: 1,
        startTime: "2026-11-22T22:33:35Z",
        stopTime: "2026-11-22T22:33:40Z",
        size: 22992578,
        delta: 22992578,
        repoSize: 4522417,
        repoDelta: 4522417,
        walStart: "000000010000000000000002",
        walStop: "000000010000000000000002",
        lsnStart: "0/2000028",
        lsnStop: "0/2000138",
      },
    ]);
    expect(repo.recoverability).toEqual({
      earliest: "2026-11-22T22:33:40Z",
      latest: "2026-11-22T22:33:40Z",
      latestFrom: "backup",
    });
  });

  it("splits backups by repo and orders them by completion", () => {
    const [stanza] = parsePgBackRestInfo(real("info-two-repos.json"));
    expect(stanza!.repos.map((r) => r.repoName)).toEqual(["repo1", "repo2"]);
    for (const repo of stanza!.repos) {
      expect(repo.backups.length).toBeGreaterThan(0);
      for (const b of repo.backups) expect(b.repoKey).toBe(repo.repoKey);
      const stops = repo.backups.map((b) => b.stopTime);
      expect([...stops].sort()).toEqual(stops);
    }
    expect(findBackupSet([stanza!], stanza!.repos[1]!.backups[0]!.label)).toBe(stanza!.repos[1]!.backups[0]);
    expect(findBackupSet([stanza!], "nope")).toBeUndefined();
  });

  it("reads a single set (--set) including its database list", () => {
    const [stanza] = parsePgBackRestInfo(real("info-set.json"));
    expect(stanza!.repos[0]!.backups.map((b) => b.label)).toEqual(["20261122-223335F"]);
  });

  it("reports a stanza that does not exist yet", () => {
    const [stanza] = parsePgBackRestInfo(real("info-missing-stanza.json"));
    expect(stanza!.status).toEqual({ code: 1, message: "missing stanza path" });
    expect(stanza!.repos).toEqual([
      { repoKey: 1, repoName: "repo1", status: { code: 1, message: "missing stanza path" }, backups: [] },
    ]);
  });

  it("throws InfoParseError naming what does not fit", () => {
    expect(() => parsePgBackRestInfo("{not json")).toThrow(InfoParseError);
    expect(() => parsePgBackRestInfo('{"label":"20260101-000000F"}')).toThrow(/does not fit/);
    expect(() =>
      parsePgBackRestInfo('[{"name":"db","status":{"code":0,"message":"ok"},"backup":[{"label":"x"}]}]'),
    ).toThrow(/backup\.0/);
  });
});

describe("repository info files", () => {
  it("parses backup.info (real, from S3) into the same sets as pgbackrest info", () => {
    const file = parseBackupInfoIni(real("backup.info"));
    expect(file.format).toBe(5);
    expect(file.version).toBe("2.45");
    expect(file.db).toEqual({ id: 1, systemId: "7711127497098134972", version: "15" });
    const fromInfo = parsePgBackRestInfo(real("info-s3.json"))[0]!.repos[0]!.backups;
    expect(fromInfo).toHaveLength(2);
    expect(file.backups).toEqual(fromInfo.map(({ repoKey: _k, ...rest }) => rest));
  });

  it("parses archive.info into the archive id", () => {
    expect(parseArchiveInfoIni(real("archive.info"))).toEqual({
      db: { id: 1, systemId: "7711127497098134972", version: "15" },
      archiveId: "15-1",
    });
  });

  it("refuses files that are not pgBackRest info files", () => {
    expect(() => parseBackupInfoIni("<Error><Code>AccessDenied</Code></Error>")).toThrow(InfoParseError);
    expect(() => parseArchiveInfoIni("[global]\nx=1\n")).toThrow(InfoParseError);
    expect(() =>
      parseBackupInfoIni('[backrest]\nbackrest-format=5\n[db]\ndb-id=1\n[backup:current]\nL={"backup-type":"weird"}\n'),
    ).toThrow(/L does not fit/);
  });
});

describe("recoverabilityOf", () => {
  const set = (label: string, stop: string, error = false) => ({
    label,
    type: "full" as const,
    startTime: stop,
    stopTime: stop,
    ...(error ? { error: true } : {}),
  });

  it("spans the oldest to the newest usable backup, or a newer archived WAL segment", () => {
    const backups = [
      set("b", "2026-01-02T00:00:00Z"),
      set("a", "2026-01-01T00:00:00Z"),
      set("c", "2026-01-03T00:00:00Z", true),
    ];
    expect(recoverabilityOf(backups)).toEqual({
      earliest: "2026-01-01T00:00:00Z",
      latest: "2026-01-02T00:00:00Z",
      latestFrom: "backup",
    });
    expect(recoverabilityOf(backups, "2026-01-05T00:00:00Z")).toMatchObject({
      latest: "2026-01-05T00:00:00Z",
      latestFrom: "wal",
    });
    expect(recoverabilityOf(backups, "2025-01-01T00:00:00Z")?.latestFrom).toBe("backup");
    expect(recoverabilityOf([set("x", "2026-01-01T00:00:00Z", true)])).toBeUndefined();
  });
});
