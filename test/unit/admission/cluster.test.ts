import { describe, expect, it } from "vitest";
import { cluster, fields, validate, volume } from "./fixtures.ts";

type Json = Record<string, any>;

const s3Repo = (name = "repo1") => ({ name, s3: { bucket: "b", endpoint: "s3.amazonaws.com", region: "us-east-1" } });
const withRepos = (repos: Json[], extra: Json = {}) => ({ backups: { pgbackrest: { repos, ...extra } } });

/** [what, spec overrides (or a whole object), expected causes as [field, reason], message pattern] */
const refused: [string, Json, [string, string][], RegExp?][] = [
  // schema (same zod schema the CRD is generated from)
  [
    "replicas below 1",
    { instances: [{ name: "a", replicas: 0, dataVolumeClaimSpec: volume("1Gi") }] },
    [["spec.instances[0].replicas", "FieldValueInvalid"]],
    /must be >= 1/,
  ],
  ["no instances", { instances: [] }, [["spec.instances", "FieldValueInvalid"]], /at least 1 item/],
  [
    "postgresVersion missing",
    { postgresVersion: undefined },
    [["spec.postgresVersion", "FieldValueRequired"]],
    /is required/,
  ],
  ["postgresVersion 12", { postgresVersion: 12 }, [["spec.postgresVersion", "FieldValueInvalid"]], /must be >= 13/],
  [
    "bad enum",
    { imagePullPolicy: "Sometimes" },
    [["spec.imagePullPolicy", "FieldValueNotSupported"]],
    /"Always", "Never", "IfNotPresent"/,
  ],
  [
    "bad repo name",
    withRepos([{ name: "backup", volume: { volumeClaimSpec: volume("1Gi") } }]),
    [["spec.backups.pgbackrest.repos[0].name", "FieldValueInvalid"]],
    /repo1, repo2, repo3 or repo4/,
  ],
  // instance sets
  [
    "duplicate instance set names",
    {
      instances: [
        { name: "a", dataVolumeClaimSpec: volume("1Gi") },
        { name: "a", dataVolumeClaimSpec: volume("1Gi") },
      ],
    },
    [["spec.instances[1].name", "FieldValueDuplicate"]],
    /already used by spec.instances\[0\]/,
  ],
  [
    "two unnamed instance sets",
    { instances: [{ dataVolumeClaimSpec: volume("1Gi") }, { dataVolumeClaimSpec: volume("1Gi") }] },
    [["spec.instances[1].name", "FieldValueDuplicate"]],
    /only one instance set may be unnamed/,
  ],
  [
    "a name that clashes with PGO's default for an unnamed set",
    { instances: [{ dataVolumeClaimSpec: volume("1Gi") }, { name: "00", dataVolumeClaimSpec: volume("1Gi") }] },
    [["spec.instances[1].name", "FieldValueDuplicate"]],
    /resolves to "00" like spec.instances\[0\]/,
  ],
  [
    "instance set name not DNS-safe",
    { instances: [{ name: "Set_1", dataVolumeClaimSpec: volume("1Gi") }] },
    [["spec.instances[0].name", "FieldValueInvalid"]],
    /DNS label/,
  ],
  [
    "no storage request",
    { instances: [{ name: "a", dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"] } }] },
    [["spec.instances[0].dataVolumeClaimSpec.resources.requests.storage", "FieldValueRequired"]],
    /size of the volume/,
  ],
  [
    "storage not a quantity",
    { instances: [{ name: "a", dataVolumeClaimSpec: volume("10 GB") }] },
    [["spec.instances[0].dataVolumeClaimSpec.resources.requests.storage", "FieldValueInvalid"]],
    /not a Kubernetes quantity/,
  ],
  [
    "zero storage",
    { instances: [{ name: "a", dataVolumeClaimSpec: volume("0Gi") }] },
    [["spec.instances[0].dataVolumeClaimSpec.resources.requests.storage", "FieldValueInvalid"]],
    /greater than zero/,
  ],
  [
    "bad WAL storage",
    { instances: [{ name: "a", dataVolumeClaimSpec: volume("1Gi"), walVolumeClaimSpec: volume("-1Gi") }] },
    [["spec.instances[0].walVolumeClaimSpec.resources.requests.storage", "FieldValueInvalid"]],
  ],
  // versions and images
  [
    "image for another major",
    { postgresVersion: 17, image: "registry.example/postgres:postgres-16-patroni" },
    [["spec.image", "FieldValueInvalid"]],
    /looks like PostgreSQL 16.*postgresVersion is 17/,
  ],
  [
    "Crunchy image for another major",
    { postgresVersion: 16, image: "crunchy-postgres:ubi9-17.5-2520" },
    [["spec.image", "FieldValueInvalid"]],
    /PostgreSQL 17/,
  ],
  // users
  ["reserved role", { users: [{ name: "replicator" }] }, [["spec.users[0].name", "FieldValueForbidden"]], /reserved/],
  ["tusk- prefix", { users: [{ name: "tusk-admin" }] }, [["spec.users[0].name", "FieldValueForbidden"]], /reserved/],
  ["public", { users: [{ name: "public" }] }, [["spec.users[0].name", "FieldValueForbidden"]]],
  ["duplicate user", { users: [{ name: "app" }, { name: "app" }] }, [["spec.users[1].name", "FieldValueDuplicate"]]],
  ["user name with upper case", { users: [{ name: "App" }] }, [["spec.users[0].name", "FieldValueInvalid"]]],
  [
    "password in options",
    { users: [{ name: "app", options: "LOGIN PASSWORD 'x'" }] },
    [["spec.users[0].options", "FieldValueForbidden"]],
    /PASSWORD/,
  ],
  [
    "comment in options",
    { users: [{ name: "app", options: "LOGIN -- x" }] },
    [["spec.users[0].options", "FieldValueInvalid"]],
    /comments/,
  ],
  [
    "database name over 63 bytes",
    { users: [{ name: "app", databases: ["ü".repeat(32)] }] },
    [["spec.users[0].databases[0]", "FieldValueInvalid"]],
    /63 bytes/,
  ],
  [
    "template database",
    { users: [{ name: "app", databases: ["template1"] }] },
    [["spec.users[0].databases[0]", "FieldValueInvalid"]],
    /template/,
  ],
  [
    "duplicate database",
    { users: [{ name: "app", databases: ["zoo", "zoo"] }] },
    [["spec.users[0].databases[1]", "FieldValueDuplicate"]],
  ],
  // repos
  [
    "duplicate repo names",
    withRepos([s3Repo("repo1"), { name: "repo1", volume: { volumeClaimSpec: volume("1Gi") } }]),
    [["spec.backups.pgbackrest.repos[1].name", "FieldValueDuplicate"]],
    /already defined/,
  ],
  [
    "repo with no storage kind",
    withRepos([{ name: "repo1" }]),
    [["spec.backups.pgbackrest.repos[0]", "FieldValueRequired"]],
    /exactly one of volume, s3, gcs or azure/,
  ],
  [
    "repo with two storage kinds",
    withRepos([{ ...s3Repo(), gcs: { bucket: "g" } }]),
    [["spec.backups.pgbackrest.repos[0]", "FieldValueInvalid"]],
    /has s3 and gcs/,
  ],
  [
    "invalid cron",
    withRepos([{ ...s3Repo(), schedules: { full: "0 0 * *" } }]),
    [["spec.backups.pgbackrest.repos[0].schedules.full", "FieldValueInvalid"]],
    /5 fields/,
  ],
  [
    "cron that never fires",
    withRepos([{ ...s3Repo(), schedules: { differential: "0 0 30 2 *" } }]),
    [["spec.backups.pgbackrest.repos[0].schedules.differential", "FieldValueInvalid"]],
    /never fires/,
  ],
  [
    "manual backup on a missing repo",
    withRepos([s3Repo()], { manual: { repoName: "repo2" } }),
    [["spec.backups.pgbackrest.manual.repoName", "FieldValueInvalid"]],
    /repo2 is not defined.*defined: repo1/,
  ],
  [
    "manual backup option escape",
    withRepos([s3Repo()], { manual: { repoName: "repo1", options: ["--repo1-path=/other"] } }),
    [["spec.backups.pgbackrest.manual.options[0]", "FieldValueForbidden"]],
  ],
  [
    "in-place restore from a missing repo",
    withRepos([s3Repo()], { restore: { enabled: true, repoName: "repo3" } }),
    [["spec.backups.pgbackrest.restore.repoName", "FieldValueInvalid"]],
  ],
  [
    "in-place restore to a time without zone",
    withRepos([s3Repo()], {
      restore: { enabled: true, repoName: "repo1", options: ["--type=time", "--target=2026-01-02 15:04:05"] },
    }),
    [["spec.backups.pgbackrest.restore.options", "FieldValueInvalid"]],
    /explicit time zone/,
  ],
  [
    "credential in global",
    withRepos([s3Repo()], { global: { "repo1-s3-key-secret": "hunter2" } }),
    [["spec.backups.pgbackrest.global[repo1-s3-key-secret]", "FieldValueForbidden"]],
    /credential.*Secret/,
  ],
  [
    "repo host in global",
    withRepos([s3Repo()], { global: { "pg1-path": "/x" } }),
    [["spec.backups.pgbackrest.global[pg1-path]", "FieldValueForbidden"]],
  ],
  [
    "newline in global",
    withRepos([s3Repo()], { global: { "repo1-path": "/x\nrepo1-type=posix" } }),
    [["spec.backups.pgbackrest.global[repo1-path]", "FieldValueInvalid"]],
    /newlines/,
  ],
  // postgres configuration
  [
    "ssl parameter",
    { config: { parameters: { ssl_cert_file: "/tmp/x" } } },
    [["spec.config.parameters[ssl_cert_file]", "FieldValueForbidden"]],
    /TLS is always enabled/,
  ],
  [
    "archive_command via Patroni",
    { patroni: { dynamicConfiguration: { postgresql: { parameters: { archive_command: "true" } } } } },
    [["spec.patroni.dynamicConfiguration.postgresql.parameters[archive_command]", "FieldValueForbidden"]],
    /pgBackRest/,
  ],
  [
    "standby_cluster via Patroni",
    { patroni: { dynamicConfiguration: { standby_cluster: { host: "x" } } } },
    [["spec.patroni.dynamicConfiguration.standby_cluster", "FieldValueForbidden"]],
    /spec.standby/,
  ],
  [
    "parameters not an object",
    { patroni: { dynamicConfiguration: { postgresql: { parameters: ["a"] } } } },
    [["spec.patroni.dynamicConfiguration.postgresql.parameters", "FieldValueInvalid"]],
  ],
  // ports and Patroni
  ["Patroni on the Postgres port", { port: 8008 }, [["spec.patroni.port", "FieldValueInvalid"]], /also spec.port/],
  [
    "Postgres on the pgBackRest TLS port",
    { port: 8432 },
    [["spec.port", "FieldValueInvalid"]],
    /pgBackRest TLS server/,
  ],
  [
    "sync period not below the lease",
    { patroni: { leaderLeaseDurationSeconds: 10, syncPeriodSeconds: 10 } },
    [["spec.patroni.syncPeriodSeconds", "FieldValueInvalid"]],
    /less than leaderLeaseDurationSeconds \(10\)/,
  ],
  [
    "failover without target",
    { patroni: { switchover: { enabled: true, type: "Failover" } } },
    [["spec.patroni.switchover.targetInstance", "FieldValueRequired"]],
  ],
  // standby and data sources
  [
    "standby with nothing to follow",
    { standby: { enabled: true } },
    [["spec.standby", "FieldValueRequired"]],
    /repoName.*host/,
  ],
  [
    "standby on a missing repo",
    { standby: { enabled: true, repoName: "repo2" } },
    [["spec.standby.repoName", "FieldValueInvalid"]],
  ],
  [
    "standby port without host",
    { standby: { enabled: true, repoName: "repo1", port: 5432 } },
    [["spec.standby.host", "FieldValueRequired"]],
  ],
  [
    "two data sources",
    { dataSource: { postgresCluster: { clusterName: "a", repoName: "repo1" }, pgbackrest: { repo: s3Repo() } } },
    [["spec.dataSource", "FieldValueInvalid"]],
  ],
  [
    "clone with a shell escape",
    {
      dataSource: {
        postgresCluster: { clusterName: "a", repoName: "repo1", options: ["--type=time", "--target=$(reboot)"] },
      },
    },
    [
      ["spec.dataSource.postgresCluster.options[1]", "FieldValueInvalid"],
      ["spec.dataSource.postgresCluster.options", "FieldValueInvalid"],
    ],
  ],
  [
    "data source repo without kind",
    { dataSource: { pgbackrest: { repo: { name: "repo1" } } } },
    [["spec.dataSource.pgbackrest.repo", "FieldValueRequired"]],
  ],
  // pgBouncer
  [
    "pgBouncer auth_file",
    { proxy: { pgBouncer: { config: { global: { auth_file: "/etc/passwd" } } } } },
    [["spec.proxy.pgBouncer.config.global[auth_file]", "FieldValueForbidden"]],
  ],
];

describe("PostgresCluster CREATE: refused with the field to fix", () => {
  it.each(refused)("%s", (_what, spec, causes, message) => {
    const response = validate({ object: cluster(spec) });
    expect(response.allowed).toBe(false);
    expect(response.status!.details!.causes.map((c) => [c.field, c.reason])).toEqual(causes);
    if (message) expect(response.status!.message).toMatch(message);
  });
});

describe("PostgresCluster CREATE: allowed", () => {
  it.each([
    ["the minimal cluster", {}],
    ["unnamed instance set", { instances: [{ dataVolumeClaimSpec: volume("1Gi") }] }],
    [
      "named and unnamed sets",
      { instances: [{ dataVolumeClaimSpec: volume("1Gi") }, { name: "b", dataVolumeClaimSpec: volume("1Gi") }] },
    ],
    ["numeric storage", { instances: [{ name: "a", dataVolumeClaimSpec: volume(10737418240) }] }],
    [
      "the postgres user (gets the superuser Secret)",
      { users: [{ name: "postgres" }, { name: "app", databases: ["app", "zoo"] }] },
    ],
    [
      "four repos of every kind with schedules",
      withRepos(
        [
          {
            name: "repo1",
            volume: { volumeClaimSpec: volume("1Gi") },
            schedules: { full: "0 1 * * 0", incremental: "0 1 * * 1-6" },
          },
          { ...s3Repo("repo2"), schedules: { differential: "@daily" } },
          { name: "repo3", gcs: { bucket: "g" } },
          { name: "repo4", azure: { container: "c" } },
        ],
        {
          global: {
            "repo2-retention-full": "2",
            "repo2-path": "/pgbackrest/hippo/repo2",
            "repo2-s3-uri-style": "path",
          },
        },
      ),
    ],
    [
      "manual backup with options",
      withRepos([s3Repo()], { manual: { repoName: "repo1", options: ["--type=full", "--start-fast"] } }),
    ],
    ["image for the same major", { postgresVersion: 16, image: "postgres:16.4-bookworm" }],
    [
      "tuning parameters",
      { config: { parameters: { shared_buffers: "1GB", max_connections: 300, wal_level: "logical" } } },
    ],
    ["standby from a repo", { standby: { enabled: true, repoName: "repo1" } }],
    ["standby streaming", { standby: { enabled: true, host: "primary.example", port: 5432 } }],
    ["a disabled standby section", { standby: { enabled: false } }],
    [
      "clone from another cluster at a time",
      {
        dataSource: {
          postgresCluster: {
            clusterName: "old",
            repoName: "repo1",
            options: ["--type=time", '--target="2021-06-09 14:15:11-04"'],
          },
        },
      },
    ],
    [
      "switchover",
      { patroni: { switchover: { enabled: true, type: "Failover", targetInstance: "hippo-instance1-0" } } },
    ],
    [
      "restore of another cluster's repo",
      withRepos([s3Repo()], { restore: { enabled: true, repoName: "repo4", clusterName: "other" } }),
    ],
  ])("%s", (_what, spec) => {
    const response = validate({ object: cluster(spec) });
    expect(response.status?.message).toBeUndefined();
    expect(response.allowed).toBe(true);
  });
});

describe("cluster and instance set names", () => {
  it("refuses a cluster name that is not a DNS-1035 label", () => {
    for (const name of ["1hippo", "hippo.db", "Hippo"]) {
      const response = validate({ object: cluster({}, { name }) });
      expect(fields(response)).toEqual(["metadata.name"]);
      expect(response.status!.message).toMatch(/start with a lowercase letter/);
    }
  });

  it("allows the longest cluster name whose children keep their names, refuses one more character", () => {
    const limit = (() => {
      for (let n = 1; n < 100; n++) {
        const response = validate({
          object: cluster({ instances: [{ name: "a", dataVolumeClaimSpec: volume("1Gi") }] }, { name: "h".repeat(n) }),
        });
        if (!response.allowed) return n - 1;
      }
      return 100;
    })();
    // The repo host StatefulSet (<cluster>-repo-host) must keep room for its pod suffix (52 characters).
    expect(limit).toBe(52 - "-repo-host".length);
    const refused = validate({ object: cluster({}, { name: "h".repeat(limit + 1) }) });
    expect(fields(refused)).toEqual(["metadata.name"]);
    expect(refused.status!.message).toMatch(new RegExp(`use at most ${limit}`));
  });

  it("refuses when cluster plus instance set name make the StatefulSet too long, counting the last ordinal", () => {
    const name = "h".repeat(30);
    const set = "s".repeat(19); // <name>-<set>-0 is 30 + 1 + 19 + 2 = 52 characters, the limit
    expect(
      validate({
        object: cluster({ instances: [{ name: set, replicas: 1, dataVolumeClaimSpec: volume("1Gi") }] }, { name }),
      }).allowed,
    ).toBe(true);
    const tenReplicas = validate({
      object: cluster({ instances: [{ name: set, replicas: 11, dataVolumeClaimSpec: volume("1Gi") }] }, { name }),
    });
    expect(fields(tenReplicas)).toEqual(["spec.instances[0].name"]);
    expect(tenReplicas.status!.message).toContain(
      `instance StatefulSet name "${name}-${set}-10" would exceed 52 characters`,
    );
  });

  it("checks generateName plus the 5 characters the API server appends", () => {
    const object = cluster({}, { name: undefined, generateName: `${"g".repeat(40)}-` });
    const response = validate({ object });
    expect(fields(response)).toEqual(["metadata.generateName"]);
  });
});

describe("warnings (allowed)", () => {
  it("names unknown fields, saying whether Kubernetes drops them", () => {
    const response = validate({
      object: cluster({ crVersion: "2.5.0", standby: { enabled: false, maxAcceptableLag: "1Gi" } }),
    });
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual([
      "spec.crVersion: unknown field, dropped by Kubernetes",
      "spec.standby.maxAcceptableLag: unknown field, dropped by Kubernetes",
    ]);
  });

  it("does not report fields of Kubernetes shapes that are passed through", () => {
    const response = validate({
      object: cluster({
        instances: [
          {
            name: "a",
            dataVolumeClaimSpec: { ...volume("1Gi"), dataSource: { kind: "VolumeSnapshot", name: "s" } },
            affinity: { nodeAffinity: {} },
          },
        ],
      }),
    });
    expect(response).toEqual({ uid: expect.any(String), allowed: true });
  });

  it("names fields accepted for PGO compatibility but not acted on yet", () => {
    const response = validate({
      object: cluster({
        authentication: { rules: [] },
        instances: [{ name: "a", dataVolumeClaimSpec: volume("1Gi"), tablespaceVolumes: [{ name: "t" }] }],
      }),
    });
    expect(response.warnings).toEqual([
      "spec.instances[0].tablespaceVolumes: accepted for PGO compatibility but not acted on yet",
      "spec.authentication: accepted for PGO compatibility but not acted on yet",
    ]);
  });

  it("names PGO annotations and their Tusk equivalents; autoCreateUserSchema is honoured, so no warning", () => {
    const response = validate({
      object: cluster(
        {},
        {
          annotations: {
            "postgres-operator.crunchydata.com/pgbackrest-backup": "1",
            "postgres-operator.crunchydata.com/autoCreateUserSchema": "true",
            "postgres-operator.crunchydata.com/trigger-switchover": "a",
            "postgres-operator.crunchydata.com/pgbackrest-hash": "x",
          },
        },
      ),
    });
    expect(response.warnings).toEqual([
      "annotation postgres-operator.crunchydata.com/pgbackrest-backup ignored; use postgres.tusk.dev/pgbackrest-backup",
      "annotation postgres-operator.crunchydata.com/trigger-switchover ignored; use postgres.tusk.dev/trigger-switchover",
      "annotation postgres-operator.crunchydata.com/pgbackrest-hash is PGO's; ignored by Tusk",
    ]);
  });

  it("warns about one instance without backups, an object-store repo without retention, and cron seconds", () => {
    expect(
      validate({
        object: cluster({ backups: undefined, instances: [{ name: "a", dataVolumeClaimSpec: volume("1Gi") }] }),
      }).warnings,
    ).toEqual(["spec: one instance and no backups: losing its volume loses the data"]);
    expect(
      validate({ object: cluster(withRepos([{ ...s3Repo(), schedules: { full: "0 0 1 * * 0" } }])) }).warnings,
    ).toEqual([
      "spec.backups.pgbackrest.repos[0].schedules.full: has a seconds field: works with PingSource only, not with CronJobs",
      "spec.backups.pgbackrest.repos[0]: no repo1-retention-full in global; the default retention applies",
    ]);
  });

  it("warns when an image's version cannot be read from its tag", () => {
    expect(validate({ object: cluster({ image: "registry.example/postgres@sha256:0123" }) }).warnings).toEqual([
      "spec.image: cannot tell its PostgreSQL version (it has no tag); it must run 17",
    ]);
  });

  it("caps warnings at 20, each at most 120 printable characters", () => {
    const unknown = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`field${i}\u00e9${"x".repeat(150)}`, i]));
    const response = validate({ object: cluster(unknown) });
    expect(response.allowed).toBe(true);
    expect(response.warnings).toHaveLength(20);
    expect(response.warnings![19]).toBe("... and 21 more warnings");
    expect(response.warnings![0]).toMatch(/^spec\.field0\?x+\.\.\.$/);
  });
});

describe("every problem at once", () => {
  it("lists all problems, in the message and as causes", () => {
    const response = validate({
      object: cluster({
        users: [{ name: "pgbouncer" }],
        config: { parameters: { port: 5433, listen_addresses: "*" } },
        backups: {
          pgbackrest: {
            repos: [{ name: "repo1", s3: { bucket: "b", endpoint: "e", region: "r" }, schedules: { full: "nope" } }],
            manual: { repoName: "repo2" },
          },
        },
      }),
    });
    expect(fields(response)).toEqual([
      "spec.users[0].name",
      "spec.backups.pgbackrest.repos[0].schedules.full",
      "spec.backups.pgbackrest.manual.repoName",
      "spec.config.parameters[port]",
      "spec.config.parameters[listen_addresses]",
    ]);
    const causes = response.status!.details!.causes;
    expect(response.status!.message).toBe(causes.map((c) => `${c.field}: ${c.message}`).join("; "));
  });
});
