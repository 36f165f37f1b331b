/**
 * The repository reader's logic (shared/pgbackrest/repo-read.ts) against a bucket in memory
 * holding the real info files pgBackRest 2.45 wrote (test/golden/pgbackrest/real/).
 */
import { describe, expect, it } from "vitest";
import { type RepoObjectReader, readRepoStatus, repoKeyPrefix } from "../../../shared/pgbackrest/repo-read.ts";
import { bucket, REPO } from "./repo-fixtures.ts";

describe("readRepoStatus", () => {
  it("maps a repo path to pgBackRest's object keys", () => {
    expect(repoKeyPrefix("/pgbackrest/repo1")).toBe("pgbackrest/repo1/");
    expect(repoKeyPrefix("/")).toBe("");
    expect(repoKeyPrefix("pgbackrest/x/")).toBe("pgbackrest/x/");
  });

  it("reads the backups, the last one, the newest WAL segment and the recoverability window", async () => {
    const status = await readRepoStatus(bucket(REPO), { repoPath: "/pgbackrest/repo1" });
    if (!status.reachable) throw new Error(status.error);
    expect(status.stanzaExists).toBe(true);
    expect(status.backups.map((b) => b.label)).toEqual(["20261122-223335F", "20261122-223357F"]);
    expect(status.lastBackup?.label).toBe("20261122-223357F");
    expect(status.archive).toEqual({
      id: "15-1",
      newestSegment: "000000010000000000000004",
      newestSegmentTime: "2026-11-22T23:10:00Z",
    });
    expect(status.recoverability).toEqual({
      earliest: status.backups[0]!.stopTime,
      latest: "2026-11-22T23:10:00Z",
      latestFrom: "wal",
    });
    expect(status.systemId).toBe("7711127497098134972");
  });

  it("falls back to the .copy files pgBackRest writes beside each info file", async () => {
    const copy = Object.fromEntries(Object.entries(REPO).map(([k, v]) => [k.endsWith(".info") ? `${k}.copy` : k, v]));
    const status = await readRepoStatus(bucket(copy), { repoPath: "/pgbackrest/repo1" });
    expect(status.reachable && status.backups.length).toBe(2);
  });

  it("says the stanza is missing when the repo has no backup.info", async () => {
    expect(await readRepoStatus(bucket({}), { repoPath: "/pgbackrest/repo1" })).toEqual({
      reachable: true,
      stanzaExists: false,
      backups: [],
    });
  });

  it("turns storage errors and unreadable files into reachable: false with the error, never a throw", async () => {
    const failing: RepoObjectReader = {
      getText: async () => {
        throw Object.assign(new Error("The AWS Access Key Id you provided does not exist in our records."), {
          name: "InvalidAccessKeyId",
          $metadata: { httpStatusCode: 403 },
        });
      },
      list: async () => ({ objects: [], prefixes: [] }),
    };
    const status = await readRepoStatus(failing, { repoPath: "/r" });
    expect(status).toEqual({
      reachable: false,
      error: "InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records. (HTTP 403)",
    });
    const garbage = await readRepoStatus(bucket({ "r/backup/db/backup.info": { text: "<html>proxy error</html>" } }), {
      repoPath: "/r",
    });
    expect(garbage).toMatchObject({ reachable: false });
    expect(!garbage.reachable && garbage.error).toMatch(/not a pgBackRest backup.info/);
  });

  it("skips the archive listing when told to (the cluster status leaves WAL out)", async () => {
    const store = bucket(REPO);
    const status = await readRepoStatus(store, { repoPath: "/pgbackrest/repo1", wal: false });
    expect(store.reads.filter((r) => r.startsWith("list"))).toEqual([]);
    expect(status.reachable && status.archive).toEqual({ id: "15-1" });
    expect(status.reachable && status.recoverability?.latestFrom).toBe("backup");
  });

  it("says an encrypted repository cannot be read without its passphrase", async () => {
    const status = await readRepoStatus(bucket({ "r/backup/db/backup.info": { text: "Salted__\u0001\u0002binary" } }), {
      repoPath: "/r",
    });
    expect(status).toEqual({
      reachable: false,
      error:
        "EncryptedRepository: the repository is encrypted (repoN-cipher-type): its backup.info cannot be read without the cipher passphrase",
    });
  });
});
