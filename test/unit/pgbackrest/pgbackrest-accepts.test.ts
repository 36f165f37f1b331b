/**
 * The installed pgBackRest parses every rendered configuration: `pgbackrest help <command>`
 * loads the configuration files and validates each option's name, value and index for that
 * command, without touching any host or repository. Skipped where pgBackRest is not installed.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderPgBackRestConfig } from "../../../shared/pgbackrest/config.ts";
import { hasVolumeRepo, OPERATOR_CONFIG_FILE, type PgBackRestRole, ROLES } from "../../../shared/pgbackrest/layout.ts";
import { cluster, SCENARIOS } from "./scenarios.ts";

function installed(): boolean {
  try {
    execFileSync("pgbackrest", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const COMMANDS: Record<PgBackRestRole, string[]> = {
  instance: ["archive-push", "archive-get", "check", "server"],
  "repo-host": ["server", "backup", "info"],
  job: ["backup", "expire", "stanza-create", "info", "restore", "check"],
};

/** Credentials as a user's configuration Secret would project them. */
const CREDENTIALS = [
  "[global]",
  ...[1, 2, 3, 4].flatMap((n) => [`repo${n}-s3-key=K`, `repo${n}-s3-key-secret=S`]),
  ...[1, 2, 3, 4].flatMap((n) => [`repo${n}-azure-account=a`, `repo${n}-azure-key=aGVsbG8=`]),
  "",
].join("\n");

describe.skipIf(!installed())("pgBackRest accepts the rendered configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "tusk-pgbackrest-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  interface Outcome {
    command: string;
    code: number;
    complaints: string[];
  }

  function outcomes(text: string, role: PgBackRestRole, label: string): Outcome[] {
    const out: Outcome[] = [];
    const base = join(dir, label);
    mkdirSync(join(base, "conf.d"), { recursive: true });
    writeFileSync(join(base, "conf.d", OPERATOR_CONFIG_FILE), text);
    writeFileSync(join(base, "conf.d", "credentials.conf"), CREDENTIALS);
    for (const command of COMMANDS[role]) {
      const args = [`--config-path=${base}`, ...(command === "server" ? [] : ["--stanza=db"]), "help", command];
      let output = "";
      let code = 0;
      try {
        output = execFileSync("pgbackrest", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      } catch (err) {
        const e = err as { status: number; stdout: string; stderr: string };
        code = e.status;
        output = `${e.stdout}${e.stderr}`;
      }
      const complaints = output.split("\n").filter((l) => /^(WARN|ERROR):/.test(l));
      out.push({ command, code, complaints });
    }
    return out;
  }

  const problems = (all: Outcome[]) => all.filter((o) => o.code !== 0 || o.complaints.length > 0);

  for (const [name, c] of Object.entries(SCENARIOS)) {
    for (const role of ROLES) {
      if (role === "repo-host" && !hasVolumeRepo(c.spec)) continue;
      it(`${name} (${role})`, () =>
        expect(problems(outcomes(renderPgBackRestConfig({ cluster: c, role }), role, `${name}-${role}`))).toEqual([]));
    }
  }

  it("still complains about what it should (the check can fail)", () => {
    const bad = cluster({
      postgresVersion: 15,
      instances: [{ dataVolumeClaimSpec: {} }],
      backups: {
        pgbackrest: { global: { "compress-type": "zzz" }, repos: [{ name: "repo1", volume: { volumeClaimSpec: {} } }] },
      },
    });
    const found = problems(outcomes(renderPgBackRestConfig({ cluster: bad, role: "job" }), "job", "bad"));
    expect(found.find((o) => o.command === "backup")?.complaints.join("\n")).toMatch(
      /'zzz' is not allowed for 'compress-type'/,
    );
  });
});
