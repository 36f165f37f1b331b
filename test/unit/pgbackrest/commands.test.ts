import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  archiveGetCommand,
  archivePushCommand,
  backupArgs,
  backupCommand,
  expireArgs,
  expireCommand,
  infoArgs,
  restoreArgs,
  serverArgs,
  shellQuote,
  stanzaCreateCommand,
} from "../../../shared/pgbackrest/commands.ts";
import { parsePgBackRestInfo } from "../../../shared/pgbackrest/info.ts";

const run = promisify(execFile);
const real = (name: string) => readFileSync(join(import.meta.dirname, "../../golden/pgbackrest/real", name), "utf8");

describe("command builders", () => {
  it("give Patroni archive and restore commands that name the configuration directory", () => {
    expect(archivePushCommand()).toBe(
      'pgbackrest --no-config --config-path=/etc/pgbackrest --stanza=db archive-push "%p"',
    );
    expect(archiveGetCommand()).toBe(
      'pgbackrest --no-config --config-path=/etc/pgbackrest --stanza=db archive-get %f "%p"',
    );
    expect(archivePushCommand({ configPath: "/tmp/e2e dir/pg1" })).toBe(
      `pgbackrest --no-config '--config-path=/tmp/e2e dir/pg1' --stanza=db archive-push "%p"`,
    );
  });

  it("build backup argv with the repo index, type and only allow-listed options", () => {
    expect(
      backupArgs({ repoName: "repo2", type: "diff", options: ["--start-fast=n", "--repo2-path=/x", "--type=full"] }),
    ).toEqual([
      "pgbackrest",
      "--no-config",
      "--config-path=/etc/pgbackrest",
      "--stanza=db",
      "--repo=2",
      "--type=diff",
      "--start-fast=n",
      "backup",
    ]);
    // Without a type (PGO's manual backups) a --type in the options is the user's choice.
    expect(backupArgs({ repoName: "repo1", options: ["--type=full"] }).slice(4)).toEqual([
      "--repo=1",
      "--type=full",
      "backup",
    ]);
  });

  it("build expire, info, server and restore argv", () => {
    expect(expireArgs({ repoName: "repo3", set: "20260101-010101F" }).slice(4)).toEqual([
      "--repo=3",
      "--set=20260101-010101F",
      "expire",
    ]);
    expect(infoArgs().slice(4)).toEqual(["--output=json", "info"]);
    expect(infoArgs({ repoName: "repo1", set: "L" }).slice(4)).toEqual([
      "--repo=1",
      "--set=L",
      "--output=json",
      "info",
    ]);
    expect(serverArgs()).toEqual(["pgbackrest", "--no-config", "--config-path=/etc/pgbackrest", "server"]);
    expect(
      restoreArgs({
        repoName: "repo1",
        target: { type: "time", value: "2026-01-01 10:00:00+00" },
        options: ["--type=xid", "--db-include=app"],
      }).slice(4),
    ).toEqual([
      "--repo=1",
      "--type=time",
      "--target=2026-01-01 10:00:00+00",
      "--target-action=promote",
      "--delta",
      "--db-include=app",
      "restore",
    ]);
    expect(
      restoreArgs({
        repoName: "repo2",
        target: { type: "immediate" },
        set: "S",
        delta: false,
        pgPath: "/pgdata/pg16",
      }).slice(4),
    ).toEqual([
      "--repo=2",
      "--pg1-path=/pgdata/pg16",
      "--set=S",
      "--type=immediate",
      "--target-action=promote",
      "restore",
    ]);
    expect(restoreArgs({ repoName: "repo1" }).slice(4)).toEqual(["--repo=1", "--delta", "restore"]);
  });

  it("quote for sh only where needed", () => {
    expect(shellQuote("--repo=1")).toBe("--repo=1");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("a b")).toBe("'a b'");
  });
});

/**
 * The Job scripts run for real under sh, with a stand-in `pgbackrest` that records its calls,
 * fails a given number of times with a given exit code, and prints real `info` output.
 */
describe("Job scripts under sh", () => {
  let dir = "";
  let fake = "";
  const env = () => ({ ...process.env, FAKE_DIR: dir });
  const calls = () =>
    existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : [];
  const failNext = (n: number, code = 50) => {
    writeFileSync(join(dir, "fails"), String(n));
    writeFileSync(join(dir, "code"), String(code));
  };
  const quick = { attempts: 4, delaySeconds: 0 };

  async function sh(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(argv[0]!, argv.slice(1), { env: env() });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tusk-fake-pgbackrest-"));
    fake = join(dir, "pgbackrest");
    writeFileSync(
      fake,
      [
        "#!/bin/sh",
        'echo "$*" >> "$FAKE_DIR/calls"',
        'for a in "$@"; do cmd="$a"; done',
        'case "$cmd" in',
        "  backup|stanza-create|expire)",
        '    n=$(cat "$FAKE_DIR/fails" 2>/dev/null || echo 0)',
        '    if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$FAKE_DIR/fails"; echo "ERROR: [050]: unable to acquire lock" >&2; exit "$(cat "$FAKE_DIR/code")"; fi',
        "    exit 0 ;;",
        '  info) case "$*" in *--set=*) cat "$FAKE_DIR/set.json" ;; *) cat "$FAKE_DIR/info.json" ;; esac ;;',
        "esac",
        "",
      ].join("\n"),
    );
    chmodSync(fake, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    for (const f of ["calls", "fails", "termination"]) rmSync(join(dir, f), { force: true });
    writeFileSync(join(dir, "info.json"), real("info-two-repos.json"));
    writeFileSync(join(dir, "set.json"), real("info-set.json"));
  });

  it("backs up, retrying while the lock is held, then writes the new set's info without the database list", async () => {
    failNext(2);
    const term = join(dir, "termination");
    const r = await sh(
      backupCommand({ repoName: "repo1", type: "full" }, { binary: fake, terminationLog: term, retry: quick }),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/retrying in 0s \(1\/4\)/);
    const made = calls();
    expect(made.filter((c) => c.endsWith(" backup"))).toHaveLength(3);
    // The label asked for is the newest in the repo's info (the last one listed).
    const lastLabel = [...readFileSync(join(dir, "info.json"), "utf8").matchAll(/"label":"([^"]+)"/g)].pop()![1];
    expect(made.find((c) => c.includes("--set="))).toContain(`--set=${lastLabel}`);
    const message = readFileSync(term, "utf8");
    expect(message).not.toContain("database-ref");
    expect(message).not.toContain('"link"');
    expect(message).not.toContain('"tablespace"');
    expect(parsePgBackRestInfo(message)[0]!.repos[0]!.backups[0]!.label).toBe("20261122-223335F");
  });

  it("stops at once on an error that is not transient, and writes no result", async () => {
    failNext(1, 31);
    const term = join(dir, "termination");
    const r = await sh(
      backupCommand({ repoName: "repo1", type: "full" }, { binary: fake, terminationLog: term, retry: quick }),
    );
    expect(r.code).toBe(31);
    expect(calls()).toHaveLength(1);
    expect(existsSync(term)).toBe(false);
  });

  it("gives up after the last attempt with pgBackRest's exit code", async () => {
    failNext(10, 50);
    const r = await sh(
      backupCommand({ repoName: "repo1" }, { binary: fake, terminationLog: join(dir, "termination"), retry: quick }),
    );
    expect(r.code).toBe(50);
    expect(calls()).toHaveLength(4);
  });

  it("writes only the label when the set's info would not fit in a termination message", async () => {
    const big = real("info-set.json").replace(
      '"database-ref":[{"name":"postgres","oid":5}]',
      `"database-ref":[{"name":"postgres","oid":5}],"padding":"${"x".repeat(5000)}"`,
    );
    writeFileSync(join(dir, "set.json"), big);
    const term = join(dir, "termination");
    expect(
      (await sh(backupCommand({ repoName: "repo1" }, { binary: fake, terminationLog: term, retry: quick }))).code,
    ).toBe(0);
    const lastLabel = [...readFileSync(join(dir, "info.json"), "utf8").matchAll(/"label":"([^"]+)"/g)].pop()![1];
    expect(JSON.parse(readFileSync(term, "utf8"))).toEqual({ label: lastLabel });
  });

  it("retries stanza-create and expire on transient errors only", async () => {
    failNext(2, 49);
    expect((await sh(stanzaCreateCommand({ binary: fake }, quick))).code).toBe(0);
    expect(calls().filter((c) => c.endsWith("stanza-create"))).toHaveLength(3);
    failNext(1, 75);
    const r = await sh(expireCommand({ repoName: "repo2", set: "L" }, { binary: fake }, quick));
    expect(r.code).toBe(75);
  });
});
