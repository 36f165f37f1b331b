/**
 * Standby clusters through the cluster hook: Patroni's `standby_cluster` from `spec.standby`
 * (repository and/or streaming), the `pgbackrest` replica method, the Jobs held while the
 * database is read-only, and promotion with `enabled: false` through the Patroni configuration
 * Job (a new Job whose document no longer has `standby_cluster`), without restarting any Pod.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LABEL } from "../../../shared/labels.ts";
import type { SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { byKind, child, cluster, type Json, steadyState, volume } from "./fixtures.ts";

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
