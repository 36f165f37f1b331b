import { describe, expect, it } from "vitest";
import { checkSchedule } from "../../../functions/admission/cron.ts";
import { imageMajor, imageTag } from "../../../functions/admission/image.ts";
import { checkParameters } from "../../../functions/admission/parameters.ts";
import { checkOptions } from "../../../functions/admission/pgbackrest-options.ts";
import { lsnProblem, nameProblem, timestampProblem, xidProblem } from "../../../functions/admission/targets.ts";

describe("checkSchedule", () => {
  it.each([
    "0 0 * * 6",
    "*/5 * * * *",
    "0 1 * * 1-6",
    "0 0 ? * MON",
    "30 2 1 JAN,JUL *",
    "@daily",
    "@midnight",
    "0 0 29 2 *",
  ])("accepts %j", (s) => expect(checkSchedule(s)).toEqual({}));

  it("accepts a seconds field with a warning (PingSource only)", () => {
    expect(checkSchedule("0 */5 * * * *")).toEqual({ warning: expect.stringContaining("seconds field") });
  });

  it.each([
    ["", /cron expression/],
    ["61 * * * *", /not a valid cron expression.*minute/],
    ["* * *", /5 fields/],
    ["1 2 3 4 5 6 7", /5 fields/],
    ["@every 1h", /@every is not supported/],
    ["@fortnightly", /one of @yearly/],
    ["0 0 L * *", /day-of-month must not use L or W/],
    ["0 0 1W * *", /day-of-month must not use L or W/],
    ["0 0 * * 5#2", /day-of-week must not use # or L/],
    ["0 0 * * 5L", /day-of-week must not use # or L/],
    ["? 0 * * *", /'\?' is allowed only/],
    ["0 0 31 2 *", /never fires/],
    ["0 0 30 2 ?", /never fires/],
    ["TZ=UTC 0 0 * * *", /time zone/],
    ["CRON_TZ=Europe/Berlin 0 0 * * *", /time zone/],
    ["a b c d e", /not a valid cron expression/],
    ["/5 * * * *", /not a valid cron expression/],
  ])("refuses %j", (s, why) => {
    expect(checkSchedule(s).error).toMatch(why);
  });

  it("answers the same whatever the date (no clock)", () => {
    expect(checkSchedule("0 0 ? 2 *")).toEqual(checkSchedule("0 0 * 2 *"));
  });
});

describe("recovery targets", () => {
  it.each([
    "2026-01-02 15:04:05+00",
    "2026-01-02 15:04:05-04",
    "2026-01-02 15:04:05+05:30",
    "2026-01-02 15:04:05.123456+0530",
    "2026-01-02T15:04:05Z",
    "2026-01-02 15:04:05 UTC",
    "2026-01-02 15:04 Europe/Berlin",
    "2024-02-29 00:00:00+00",
  ])("accepts the timestamp %j", (t) => expect(timestampProblem(t)).toBeUndefined());

  it.each([
    ["2026-01-02 15:04:05", /explicit time zone/],
    ["2026-01-02", /explicit time zone/],
    ["yesterday", /explicit time zone/],
    ["2026-13-02 15:04:05+00", /not a real date/],
    ["2025-02-29 15:04:05+00", /not a real date/],
    ["2026-01-02 25:04:05+00", /not a real date/],
    ["2026-01-02 15:04:05+16", /offset out of range/],
    ["2026-01-02 15:04:05 Mars/Olympus", /unknown time zone/],
  ])("refuses the timestamp %j", (t, why) => expect(timestampProblem(t)).toMatch(why));

  it("checks LSNs, xids and restore point names", () => {
    expect(lsnProblem("0/1A2B3C4D")).toBeUndefined();
    expect(lsnProblem("16/B374D848")).toBeUndefined();
    expect(lsnProblem("1A2B3C4D")).toMatch(/hex\/hex/);
    expect(lsnProblem("0/XYZ")).toMatch(/hex\/hex/);
    expect(xidProblem("123456")).toBeUndefined();
    expect(xidProblem("-1")).toMatch(/transaction ID/);
    expect(xidProblem("99999999999999999999999")).toMatch(/transaction ID/);
    expect(nameProblem("before-migration")).toBeUndefined();
    expect(nameProblem("")).toMatch(/not empty/);
    expect(nameProblem("x".repeat(64))).toMatch(/63 bytes/);
  });
});

describe("checkOptions", () => {
  const problems = (options: string[], context: "backup" | "restore", ownFields?: Record<string, string>) =>
    checkOptions(options, "spec.options", { context, ...(ownFields ? { ownFields } : {}) }).problems;

  it("accepts allow-listed flags", () => {
    expect(
      problems(
        ["--type=full", "--start-fast", "--process-max=4", "--compress-level=3", "--no-archive-check"],
        "backup",
      ),
    ).toEqual([]);
    expect(
      problems(
        [
          "--type=time",
          '--target="2021-06-09 14:15:11-04"',
          "--target-action=promote",
          "--delta",
          "--set=20260102-030405F",
        ],
        "restore",
      ),
    ).toEqual([]);
    expect(
      problems(["--type=lsn", "--target=0/3000000", "--target-exclusive", "--log-level-console=info"], "restore"),
    ).toEqual([]);
    expect(problems(["--db-include=app", "--db-include=crm"], "restore")).toEqual([]);
  });

  it.each([
    [["--repo1-path=/elsewhere"], "spec.options[0]", "FieldValueForbidden", /--repo1-path is not allowed/],
    [["--repo-path=/x"], "spec.options[0]", "FieldValueForbidden", /repository paths/],
    [["--config=/tmp/evil.conf"], "spec.options[0]", "FieldValueForbidden", /configuration files/],
    [["--stanza=other"], "spec.options[0]", "FieldValueForbidden", /stanza/],
    [["--pg1-path=/var/lib"], "spec.options[0]", "FieldValueForbidden", /PostgreSQL hosts/],
    [["--repo=2"], "spec.options[0]", "FieldValueForbidden", /repoName/],
    [["--recovery-option=restore_command=sh"], "spec.options[0]", "FieldValueForbidden", /recovery commands/],
    [["--type=full; rm -rf /"], "spec.options[0]", "FieldValueInvalid", /shell characters/],
    [["--annotation=a=$(id)"], "spec.options[0]", "FieldValueInvalid", /shell characters/],
    [["--target=`id`"], "spec.options[0]", "FieldValueInvalid", /shell characters/],
    [["--type=full\n--repo1-path=/x"], "spec.options[0]", "FieldValueInvalid", /control or shell/],
    [["type=full"], "spec.options[0]", "FieldValueInvalid", /--name or --name=value/],
    [["--frobnicate"], "spec.options[0]", "FieldValueNotSupported", /not an allowed backup option/],
    [["--target=x"], "spec.options[0]", "FieldValueNotSupported", /not an allowed backup option/],
    [["--type=incremental"], "spec.options[0]", "FieldValueInvalid", /must be one of full, diff, incr/],
    [["--process-max=0"], "spec.options[0]", "FieldValueInvalid", /from 1 to 999/],
    [["--start-fast=maybe"], "spec.options[0]", "FieldValueInvalid", /takes no value/],
    [["--no-process-max"], "spec.options[0]", "FieldValueInvalid", /--no- form/],
    [["--start-fast", "--start-fast"], "spec.options[1]", "FieldValueDuplicate", /more than once/],
  ])("refuses %j in a backup", (options, field, reason, why) => {
    const [p] = problems(options, "backup");
    expect(p).toMatchObject({ field, reason });
    expect(p!.message).toMatch(why);
  });

  it.each([
    [["--type=time"], /--type=time needs --target/],
    [["--type=time", "--target=2026-01-02 15:04:05"], /explicit time zone/],
    [["--type=lsn", "--target=12345"], /hex\/hex/],
    [["--type=xid", "--target=abc"], /transaction ID/],
    [["--target=2026-01-02 15:04:05+00"], /--target needs --type/],
    [["--type=full"], /must be one of default, immediate/],
    [["--target-action=resume"], /pause, promote, shutdown/],
    [["--set=latest"], /backup label/],
  ])("refuses %j in a restore", (options, why) => {
    expect(
      problems(options, "restore")
        .map((p) => p.message)
        .join("; "),
    ).toMatch(why);
  });

  it("points at the object's own field instead of a repeated option", () => {
    expect(problems(["--type=diff"], "backup", { type: "spec.type" })).toEqual([
      {
        field: "spec.options[0]",
        reason: "FieldValueForbidden",
        message: "--type is set through spec.type; remove it from options",
      },
    ]);
  });
});

describe("checkParameters", () => {
  const forbiddenNames = (params: Record<string, unknown>, version = 17) =>
    checkParameters(params, "spec.config.parameters", version).map((p) => p.field);

  it("refuses what the operator owns, with the field as a map key", () => {
    const owned = {
      config_file: "/x",
      data_directory: "/x",
      hba_file: "/x",
      ident_file: "/x",
      external_pid_file: "/x",
      listen_addresses: "*",
      port: 5433,
      ssl: "off",
      ssl_cert_file: "/x",
      ssl_min_protocol_version: "TLSv1",
      unix_socket_directories: "/x",
      wal_level: "minimal",
      wal_log_hints: "off",
      archive_mode: "off",
      archive_command: "true",
      restore_command: "cp",
      recovery_target: "immediate",
      recovery_target_time: "2026-01-01",
      hot_standby: "off",
      synchronous_standby_names: "*",
      primary_conninfo: "host=x",
      primary_slot_name: "x",
      recovery_min_apply_delay: "1h",
      cluster_name: "x",
      logging_collector: "off",
      log_file_mode: "0777",
      SSL_CIPHERS: "x",
    };
    expect(forbiddenNames(owned)).toEqual(Object.keys(owned).map((k) => `spec.config.parameters[${k}]`));
  });

  it("allows tuning parameters, logical wal_level, ssl_ecdh_curve, and ssl_groups from 18", () => {
    expect(
      forbiddenNames({
        shared_buffers: "1GB",
        work_mem: "2MB",
        max_connections: 200,
        wal_level: "logical",
        ssl_ecdh_curve: "prime256v1",
        logging_collector: "on",
        "pg_stat_statements.max": 10000,
        log_min_duration_statement: "1s",
      }),
    ).toEqual([]);
    expect(forbiddenNames({ ssl_groups: "X25519" }, 18)).toEqual([]);
    expect(forbiddenNames({ ssl_groups: "X25519" }, 17)).toEqual(["spec.config.parameters[ssl_groups]"]);
  });

  it("refuses bad names, control characters and nested values", () => {
    const problems = checkParameters(
      { "bad name": 1, "a.b.c": 1, work_mem: "1MB\nlisten_addresses='*'", foo: { a: 1 } as unknown },
      "p",
      17,
    );
    expect(problems.map((p) => [p.field, p.reason])).toEqual([
      ["p[bad name]", "FieldValueInvalid"],
      ["p[a.b.c]", "FieldValueInvalid"],
      ["p[work_mem]", "FieldValueInvalid"],
      ["p[foo]", "FieldValueInvalid"],
    ]);
  });
});

describe("imageMajor", () => {
  it.each([
    ["postgres:17", 17],
    ["postgres:16.4-bookworm", 16],
    ["docker.io/library/postgres:15-alpine", 15],
    ["registry.example:5000/team/pg:postgres-16-patroni", 16],
    ["docker.io/perconalab/percona-postgresql-operator:main-ppg18-postgres", 18],
    ["percona/percona-postgresql-operator:2.5.0-ppg16.4-postgres", 16],
    ["registry.developers.crunchydata.com/crunchydata/crunchy-postgres:ubi9-17.5-2520", 17],
    ["crunchy-postgres:ubi8-16.4-3.4-0", 16],
    ["ghcr.io/tusk-dev/postgres-patroni:14", 14],
    ["img:pg13", 13],
  ])("%s runs %i", (image, major) => expect(imageMajor(image)).toEqual({ major }));

  it.each([
    "postgres",
    "postgres:latest",
    "registry:5000/postgres",
    "postgres@sha256:abcd",
    "app:v1.10.2",
    "app:2024.10.01",
  ])("%s names no major", (image) => expect(imageMajor(image)).toHaveProperty("unknown"));

  it("reports a tag naming two majors as ambiguous", () => {
    expect(imageMajor("x:pg16-postgres17")).toEqual({ ambiguous: [16, 17] });
  });

  it("reads the tag after a registry port and before a digest", () => {
    expect(imageTag("registry:5000/a/b:17.2@sha256:00")).toBe("17.2");
    expect(imageTag("registry:5000/a/b")).toBeUndefined();
  });
});
