/**
 * Standby clusters through the cluster hook: Patroni's `standby_cluster` from `spec.standby`
 * (repository and/or streaming), the `pgbackrest` replica method, the Jobs held while the
 * database is read-only, and promotion with `enabled: false` through the Patroni configuration
 * Job (a new Job whose document no longer has `standby_cluster`), without restarting any Pod.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LABEL } from "../../../shared/labels.ts";
import type { SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { cleanEnv, psql, skipReason, startPostgres, type TempPostgres } from "../crypto/postgres-harness.ts";
import { byKind, child, cluster, type Json, steadyState, volume } from "./fixtures.ts";

const run = promisify(execFile);

const repos = [{ name: "repo1", s3: { bucket: "prod-archive", endpoint: "s3.example.com", region: "x" } }];
const standbyCluster = (standby: Json, extra: Json = {}) =>
  cluster({
    instances: [{ name: "a", replicas: 2, dataVolumeClaimSpec: volume }],
    backups: { pgbackrest: { repos, global: { "repo1-path": "/pgbackrest/prod/repo2" } } },
    standby,
    ...extra,
  });

const configMap = (res: SyncResponse) => child(res, "ConfigMap", "hippo-config");
const patroni = (res: SyncResponse) => parse(configMap(res).data["patroni.yaml"]);
const dynamic = (res: SyncResponse) => JSON.parse(configMap(res).data["patroni-dynamic.json"]);
const components = (res: SyncResponse) =>
  byKind(res, "Job")
    .map((j) => j.metadata.labels[LABEL.component])
    .sort();
const condition = (res: SyncResponse, type: string) =>
  ((res.status as Json).conditions as Json[]).find((c) => c.type === type);
const configJob = (res: SyncResponse) =>
  byKind(res, "Job").find((j) => j.metadata.labels[LABEL.component] === "patroni-config");
const templateHashes = (res: SyncResponse) =>
  byKind(res, "StatefulSet")
    .filter((s) => s.metadata.labels[LABEL.instance])
    .map((s) => s.spec.template.metadata.annotations["postgres.tusk.dev/config-hash"]);

describe("a standby replaying from a repository", async () => {
  const { res } = await steadyState(standbyCluster({ enabled: true, repoName: "repo1" }));

  it("bootstraps and follows through Patroni's standby_cluster with pgbackrest archive-get from that repository", () => {
    const standby = dynamic(res).standby_cluster;
    expect(standby).toEqual({
      create_replica_methods: ["pgbackrest"],
      restore_command: 'pgbackrest --no-config --config-path=/etc/pgbackrest --stanza=db --repo=1 archive-get %f "%p"',
    });
    expect(patroni(res).bootstrap.dcs.standby_cluster).toEqual(standby);
  });

  it("defines the pgbackrest replica method: a delta restore without a primary to connect to", () => {
    expect(patroni(res).postgresql.pgbackrest).toEqual({
      command: "pgbackrest --no-config --config-path=/etc/pgbackrest --stanza=db --repo=1 --delta restore",
      keep_data: true,
      no_master: true,
      no_params: true,
    });
  });

  it("authenticates replication by the cluster's client certificate: the database holds the source's password verifier", () => {
    // the replicas stream from the standby leader with this cluster's replication certificate
    // (CN = the role, signed by this cluster's CA); the internal Secret's password was never set there
    const hba = dynamic(res).postgresql.pg_hba as string[];
    expect(hba).toContain("hostssl replication _tusk_replication all cert");
    expect(hba.filter((l) => l.includes("replication _tusk_replication"))).toHaveLength(1);
    expect(patroni(res).bootstrap.dcs.postgresql.pg_hba).toEqual(hba);
    const replication = patroni(res).postgresql.authentication.replication;
    expect(replication.sslcert).toBeTruthy();
    expect(replication.sslkey).toBeTruthy();
  });

  it("holds the Jobs that write (users, stanza, manual backups) and says it is a standby", () => {
    expect(components(res)).not.toContain("users");
    expect(components(res)).not.toContain("backup");
    expect(components(res)).toContain("patroni-config");
    expect(condition(res, "Standby")).toMatchObject({ status: "True", reason: "StandbyCluster" });
    expect(condition(res, "Standby")!.message).toContain("replaying WAL from repo1");
    for (const c of res.children) expect(validateObject(c)).toEqual([]);
  });
});

describe("a standby streaming from a remote primary", async () => {
  it("host and port, cloned with pg_basebackup; both sources together", async () => {
    const { res } = await steadyState(standbyCluster({ host: "prod-primary.example.com", port: 5433 }));
    expect(dynamic(res).standby_cluster).toEqual({
      host: "prod-primary.example.com",
      port: 5433,
      create_replica_methods: ["basebackup"],
    });
    expect(patroni(res).postgresql.pgbackrest).toBeUndefined();
    const both = await steadyState(standbyCluster({ host: "prod", repoName: "repo1" }));
    expect(dynamic(both.res).standby_cluster).toMatchObject({
      host: "prod",
      port: 5432,
      create_replica_methods: ["pgbackrest", "basebackup"],
    });
  });

  it("a separate WAL volume gets its pg_wal link in the replica method", async () => {
    const { res } = await steadyState(
      standbyCluster(
        { repoName: "repo1" },
        { instances: [{ name: "a", replicas: 1, dataVolumeClaimSpec: volume, walVolumeClaimSpec: volume }] },
      ),
    );
    const yaml = parse(configMap(res).data["patroni-pgwal.yaml"]);
    expect(yaml.postgresql.pgbackrest.command).toContain("--link-map=pg_wal=/pgwal/pg15_wal");
  });
});

describe("promotion: enabled false", async () => {
  const standby = await steadyState(standbyCluster({ enabled: true, repoName: "repo1" }));
  const promoted = await steadyState(standbyCluster({ enabled: false, repoName: "repo1" }));

  it("standby_cluster leaves the dynamic configuration, so a new configuration Job PUTs it without", () => {
    expect(dynamic(promoted.res).standby_cluster).toBeUndefined();
    expect(patroni(promoted.res).bootstrap.dcs.standby_cluster).toBeUndefined();
    const before = configJob(standby.res)!;
    const after = configJob(promoted.res)!;
    expect(after.metadata.name).not.toBe(before.metadata.name);
    expect(after.spec.template.spec.containers[0].command).toContain("PUT");
  });

  it("no Pod restarts for it: the pod templates do not change", () => {
    expect(templateHashes(promoted.res)).toEqual(templateHashes(standby.res));
  });

  it("replication keeps authenticating by certificate once promoted (the verifier is still the source's)", () => {
    expect(dynamic(promoted.res).postgresql.pg_hba).toContain("hostssl replication _tusk_replication all cert");
  });

  it("the Jobs that write run again, and the condition says it was promoted", () => {
    expect(components(promoted.res)).toContain("users");
    expect(condition(promoted.res, "Standby")).toMatchObject({ status: "False", reason: "Promoted" });
  });
});

describe("the on_role_change callback: this cluster's internal passwords once a member leads", async () => {
  const standby = await steadyState(standbyCluster({ enabled: true, repoName: "repo1" }));
  const promoted = await steadyState(standbyCluster({ enabled: false, repoName: "repo1" }));
  const plain = await steadyState(cluster({ instances: [{ name: "a", replicas: 2, dataVolumeClaimSpec: volume }] }));
  const instanceSets = (res: SyncResponse) =>
    byKind(res, "StatefulSet").filter((s) => s.metadata.labels[LABEL.instance]);
  const database = (sts: Json) => (sts.spec.template.spec.containers as Json[]).find((c) => c.name === "database")!;
  const configItems = (sts: Json) =>
    (sts.spec.template.spec.volumes as Json[]).find((v) => v.configMap?.name === "hippo-config")!.configMap.items;

  it("is configured in Patroni, mounted beside patroni.yaml and given the passwords, in a standby and once promoted", () => {
    for (const { res } of [standby, promoted]) {
      expect(patroni(res).postgresql.callbacks).toEqual({ on_role_change: "sh /etc/patroni/on-role-change.sh" });
      expect(configMap(res).data["on-role-change.sh"]).toMatch(/^#!\/bin\/sh\n/);
      for (const sts of instanceSets(res)) {
        expect(configItems(sts)).toContainEqual({ key: "on-role-change.sh", path: "on-role-change.sh" });
        const env = Object.fromEntries((database(sts).env as Json[]).map((e) => [e.name, e.valueFrom?.secretKeyRef]));
        expect(env.TUSK_SUPERUSER_PASSWORD).toEqual({ name: "hippo-internal", key: "superuser-password" });
        expect(env.TUSK_REPLICATION_PASSWORD).toEqual({ name: "hippo-internal", key: "replication-password" });
        expect(env.TUSK_REWIND_PASSWORD).toEqual({ name: "hippo-internal", key: "rewind-password" });
        expect(database(sts).env).toContainEqual({ name: "PGPORT", value: "5432" });
      }
    }
  });

  it("is absent from a cluster that never was a standby", () => {
    expect(patroni(plain.res).postgresql.callbacks).toBeUndefined();
    expect(configMap(plain.res).data["on-role-change.sh"]).toBeUndefined();
    for (const sts of instanceSets(plain.res)) {
      expect(configItems(sts)).toHaveLength(1);
      expect((database(sts).env as Json[]).filter((e) => e.name.startsWith("TUSK_"))).toEqual([]);
    }
  });

  describe.skipIf(skipReason() !== undefined)("run by sh against PostgreSQL 15", () => {
    let pg: TempPostgres;
    const PASSWORDS = {
      TUSK_SUPERUSER_PASSWORD: "own-superuser-Pw'1",
      TUSK_REPLICATION_PASSWORD: "own-replication-Pw2",
      TUSK_REWIND_PASSWORD: "own-rewind-Pw3",
    };
    const script = () =>
      pg.writeFile(
        "on-role-change.sh",
        (configMap(promoted.res).data["on-role-change.sh"] as string).replace("-h /tmp/postgres", `-h ${pg.dir}`),
      );
    const callback = (role: string) =>
      run("sh", [script(), "on_role_change", role, "hippo-ha"], {
        env: cleanEnv({ ...PASSWORDS, PGPORT: String(pg.port) }),
      });
    /** Over TCP with SCRAM; `replication` as a physical replication connection (what replicas open). */
    const login = (user: string, password: string, replication = false) =>
      psql(
        `host=127.0.0.1 port=${pg.port} user=${user} dbname=postgres sslmode=disable connect_timeout=5${replication ? " replication=true" : ""}`,
        replication ? "IDENTIFY_SYSTEM" : "select 1",
        { PGPASSWORD: password },
      );

    beforeAll(async () => {
      // statement logging on, as a user may configure it: the passwords must not reach the log
      pg = await startPostgres({
        hba: ["host all all 127.0.0.1/32 scram-sha-256", "host replication all 127.0.0.1/32 scram-sha-256"],
        conf: ["log_statement = 'all'", "log_min_error_statement = 'error'"],
      });
      // the source cluster's roles and passwords, as a standby's database holds them
      await pg.sql(
        "ALTER ROLE postgres PASSWORD 'source-su'; CREATE ROLE _tusk_replication LOGIN REPLICATION PASSWORD 'source-repl'; CREATE ROLE _tusk_rewind LOGIN PASSWORD 'source-rewind'",
      );
    });
    afterAll(async () => {
      await pg?.stop();
    });

    it("as a replica or standby leader it changes nothing", async () => {
      for (const role of ["replica", "standby_leader"]) await callback(role);
      expect((await login("postgres", "source-su")).ok).toBe(true);
      expect((await login("postgres", PASSWORDS.TUSK_SUPERUSER_PASSWORD)).ok).toBe(false);
    });

    it("as the leader it sets the three passwords, twice without harm, and logs none of them", async () => {
      for (const role of ["master", "primary"]) {
        const { stdout } = await callback(role);
        expect(stdout).toContain("internal passwords set");
      }
      expect((await login("postgres", PASSWORDS.TUSK_SUPERUSER_PASSWORD)).ok).toBe(true);
      expect((await login("_tusk_rewind", PASSWORDS.TUSK_REWIND_PASSWORD)).ok).toBe(true);
      expect((await login("_tusk_replication", PASSWORDS.TUSK_REPLICATION_PASSWORD, true)).ok).toBe(true);
      expect((await login("_tusk_replication", "source-repl", true)).ok).toBe(false);
      expect((await login("postgres", "source-su")).ok).toBe(false);
      const log = readFileSync(join(pg.dir, "log"), "utf8");
      expect(log).toContain("ALTER ROLE postgres PASSWORD 'source-su'"); // statement logging works
      for (const p of Object.values(PASSWORDS)) {
        expect(log).not.toContain(p);
        expect(log).not.toContain(p.replaceAll("'", "''"));
      }
      // stored as SCRAM verifiers (password_encryption), never in clear
      expect(
        await pg.sql(
          "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_authid WHERE rolname IN ('postgres', '_tusk_replication', '_tusk_rewind') AND rolpassword LIKE 'SCRAM-SHA-256$%'",
        ),
      ).toBe("_tusk_replication,_tusk_rewind,postgres");
    });
  });
});
