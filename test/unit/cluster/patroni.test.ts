import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { dynamicConfiguration, pgbackrestCommands, pgHba } from "../../../functions/cluster/patroni/config.ts";
import { RESTART_PARAMETERS } from "../../../functions/cluster/patroni/parameters.ts";
import { type ClusterModel, clusterModel } from "../../../shared/cluster/model.ts";
import { ANNOTATION, LABEL } from "../../../shared/labels.ts";
import { Parent } from "../../../shared/metacontroller.ts";
import { PATHS } from "../../../shared/pod-layout.ts";
import { namedOwnedParameters } from "../../../shared/postgres/parameters.ts";
import { child, cluster, type Json, sync } from "./fixtures.ts";

function model(spec: Json = {}): ClusterModel {
  const r = clusterModel(Parent.parse(cluster(spec)));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.model;
}

/** patroni.yaml as Patroni (PyYAML, YAML 1.1) reads it. */
async function patroniFile(spec: Json = {}, key = "patroni.yaml"): Promise<Json> {
  const res = await sync(cluster(spec));
  const text = child(res, "ConfigMap", "hippo-config").data[key];
  return parse(text, { version: "1.1" });
}

const hash = (res: Awaited<ReturnType<typeof sync>>, sts: string) =>
  child(res, "StatefulSet", sts).spec.template.metadata.annotations[ANNOTATION.configHash];

describe("Patroni configuration", () => {
  it("uses the Kubernetes DCS with Endpoints, the cluster's labels and Patroni 3.0's leader label value", async () => {
    const f = await patroniFile();
    expect(f.scope).toBe("hippo-ha");
    expect(f.kubernetes).toEqual({
      labels: { [LABEL.cluster]: "hippo" },
      scope_label: LABEL.patroniScope,
      role_label: LABEL.patroniRole,
      leader_label_value: "master",
      use_endpoints: true,
      ports: [{ name: "postgres", port: 5432 }],
    });
    // The pods carry exactly the labels Patroni selects its members by.
    const res = await sync(cluster());
    const labels = child(res, "StatefulSet", "hippo-instance1-0").spec.template.metadata.labels;
    expect(labels[LABEL.cluster]).toBe("hippo");
    expect(labels[LABEL.patroniScope]).toBe(f.scope);
  });

  it("keeps per-pod values out of the file (they come from the environment)", async () => {
    const f = await patroniFile();
    expect(f.name).toBeUndefined();
    expect(f.restapi).toEqual({ listen: "0.0.0.0:8008" });
    expect(f.postgresql.connect_address).toBeUndefined();
    expect(f.postgresql.authentication.superuser).toBeUndefined();
    expect(JSON.stringify(f)).not.toMatch(/"password"/);
    const env = child(await sync(cluster()), "StatefulSet", "hippo-instance1-0").spec.template.spec.containers[0].env;
    expect(env.map((e: Json) => e.name)).toEqual([
      "PATRONI_NAME",
      "PATRONI_KUBERNETES_NAMESPACE",
      "PATRONI_KUBERNETES_POD_IP",
      "PATRONI_POSTGRESQL_CONNECT_ADDRESS",
      "PATRONI_RESTAPI_CONNECT_ADDRESS",
      "PATRONI_SUPERUSER_USERNAME",
      "PATRONI_SUPERUSER_PASSWORD",
      "PATRONI_REPLICATION_USERNAME",
      "PATRONI_REPLICATION_PASSWORD",
      "PATRONI_REWIND_USERNAME",
      "PATRONI_REWIND_PASSWORD",
      "PATRONI_RESTAPI_USERNAME",
      "PATRONI_RESTAPI_PASSWORD",
      "PGDATA",
      "PGHOST",
      "PGPORT",
    ]);
    expect(env.find((e: Json) => e.name === "PATRONI_POSTGRESQL_CONNECT_ADDRESS").value).toBe(
      "$(PATRONI_KUBERNETES_POD_IP):5432",
    );
  });

  it("bootstraps with checksums and UTF-8, and lays out data, binaries, TLS and the socket", async () => {
    const f = await patroniFile();
    expect(f.bootstrap.initdb).toEqual([{ encoding: "UTF8" }, { locale: "C.UTF-8" }, "data-checksums"]);
    expect(f.postgresql.data_dir).toBe(`${PATHS.pgdata}/pg15`);
    expect(f.postgresql.bin_dir).toBe("/usr/lib/postgresql/15/bin");
    expect(f.postgresql.pgpass).toBe(PATHS.pgpass);
    expect(f.postgresql.listen).toBe("*:5432");
    expect(f.postgresql.use_unix_socket).toBe(true);
    expect(f.postgresql.parameters).toEqual({
      ssl: "on",
      ssl_cert_file: `${PATHS.tlsDir}/tls.crt`,
      ssl_key_file: `${PATHS.tlsDir}/tls.key`,
      ssl_ca_file: `${PATHS.tlsDir}/ca.crt`,
      unix_socket_directories: PATHS.socketDir,
      unix_socket_permissions: "0700",
    });
    expect(f.postgresql.create_replica_methods).toEqual(["basebackup"]);
    expect(f.postgresql.basebackup).toEqual([{ checkpoint: "fast" }]);
    expect(f.postgresql.authentication.replication).toMatchObject({
      sslmode: "verify-ca",
      sslrootcert: `${PATHS.tlsDir}/ca.crt`,
    });
    expect(f.watchdog).toEqual({ mode: "off" });
  });

  it("writes nothing PyYAML would read as another type (YAML 1.1 booleans, octals)", async () => {
    const res = await sync(cluster());
    const text: string = child(res, "ConfigMap", "hippo-config").data["patroni.yaml"];
    expect(text).not.toMatch(/: (on|off|yes|no)$/m);
    const as11 = parse(text, { version: "1.1" });
    const as12 = parse(text);
    expect(as11).toEqual(as12);
  });

  it("derives the DCS timings from the spec with loop_wait + 2*retry_timeout <= ttl", async () => {
    for (const [lease, sync_] of [
      [30, 10],
      [10, 2],
      [3, 1],
      [5, 60],
    ]) {
      const f = await patroniFile({ patroni: { leaderLeaseDurationSeconds: lease, syncPeriodSeconds: sync_ } });
      const d = f.bootstrap.dcs;
      expect(d.ttl).toBe(lease);
      expect(d.loop_wait + 2 * d.retry_timeout).toBeLessThanOrEqual(d.ttl);
      expect(d.retry_timeout).toBeGreaterThanOrEqual(1);
      expect(d.postgresql.use_pg_rewind).toBe(true);
      expect(d.postgresql.use_slots).toBe(true);
    }
  });

  it("allows only TLS and SCRAM from outside the pod", () => {
    const hba = pgHba(["host all all 0.0.0.0/0 trust"]);
    const firstReject = hba.indexOf("hostnossl all all all reject");
    expect(firstReject).toBeGreaterThan(-1);
    // No non-TLS network rule before the reject, and user lines only after it.
    expect(hba.slice(0, firstReject).every((l) => l.startsWith("local ") || l.startsWith("hostssl "))).toBe(true);
    expect(hba.indexOf("host all all 0.0.0.0/0 trust")).toBeGreaterThan(firstReject);
    expect(hba.filter((l) => l.startsWith("hostssl")).every((l) => l.endsWith("scram-sha-256"))).toBe(true);
    expect(hba.at(-1)).toBe("hostssl all all all scram-sha-256");
  });

  it("replication by password, except in a standby cluster: by its client certificate", async () => {
    expect(pgHba([])).toContain("hostssl replication _tusk_replication all scram-sha-256");
    const certHba = pgHba([], "cert");
    expect(certHba).toContain("hostssl replication _tusk_replication all cert");
    expect(certHba.filter((l) => l.startsWith("hostssl") && !l.includes("replication"))).toEqual([
      "hostssl all all all scram-sha-256",
    ]);
    const plain = await patroniFile({});
    expect(plain.bootstrap.dcs.postgresql.pg_hba).toContain("hostssl replication _tusk_replication all scram-sha-256");
  });

  it("merges user settings under the operator's: owned parameters are ignored and reported", async () => {
    const spec = {
      patroni: {
        dynamicConfiguration: {
          synchronous_mode: true,
          ttl: 1,
          postgresql: { parameters: { max_connections: 300, ssl: "off" }, use_pg_rewind: false },
        },
      },
      config: {
        parameters: { work_mem: "8MB", max_connections: 200, archive_command: "cp %p /x", wal_level: "minimal" },
      },
    };
    const { config, ignored } = dynamicConfiguration(model(spec));
    const pg = config.postgresql as Json;
    expect(config.synchronous_mode).toBe(true);
    expect(config.ttl).toBe(30);
    expect(pg.use_pg_rewind).toBe(true);
    expect(pg.parameters.work_mem).toBe("8MB");
    expect(pg.parameters.max_connections).toBe("200");
    expect(pg.parameters.archive_command).toBe("true");
    expect(pg.parameters.wal_level).toBe("replica");
    expect(pg.parameters.ssl).toBeUndefined();
    expect(ignored).toEqual([
      "parameter archive_command",
      "parameter ssl",
      "parameter wal_level",
      "patroni postgresql.use_pg_rewind",
      "patroni ttl",
    ]);
    const res = await sync(cluster(spec));
    const valid = (res.status.conditions as Json[]).find((c) => c.type === "Valid")!;
    expect(valid.reason).toBe("SettingsIgnored");
    expect(valid.message).toContain("parameter archive_command");
  });

  it("archives through pgBackRest when backups are configured, with one command definition", async () => {
    const { config } = dynamicConfiguration(
      model({ backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: {} } }] } } }),
    );
    const pg = config.postgresql as Json;
    expect(pg.parameters.archive_mode).toBe("on");
    expect(pg.parameters.archive_command).toBe(pgbackrestCommands().archive_command);
    expect(pg.recovery_conf.restore_command).toBe(pgbackrestCommands().restore_command);
    expect(pgbackrestCommands().archive_command).toBe(
      `pgbackrest --no-config --config-path=${PATHS.pgbackrestConfigDir} --stanza=db archive-push "%p"`,
    );
  });

  it("lists only real parameter names; owned and restart sets are consistent", () => {
    for (const p of [...namedOwnedParameters(), ...RESTART_PARAMETERS]) expect(p).toMatch(/^[a-z_]+$/);
    expect(RESTART_PARAMETERS.has("shared_buffers")).toBe(true);
    expect(RESTART_PARAMETERS.has("work_mem")).toBe(false);
  });

  it("a parameter Patroni can reload leaves the pod template alone; one needing a restart rolls it", async () => {
    const base = await sync(cluster());
    const reload = await sync(
      cluster({ config: { parameters: { work_mem: "64MB", log_min_duration_statement: 500 } } }),
    );
    const restart = await sync(cluster({ config: { parameters: { shared_buffers: "1GB" } } }));
    expect(hash(reload, "hippo-instance1-0")).toBe(hash(base, "hippo-instance1-0"));
    expect(hash(restart, "hippo-instance1-0")).not.toBe(hash(base, "hippo-instance1-0"));
    // The reloadable change still reaches Patroni: through the dynamic configuration.
    expect(child(reload, "ConfigMap", "hippo-config").data["patroni-dynamic.json"]).toContain('"work_mem":"64MB"');
    // So does a pg_hba change, without a restart.
    const hba = await sync(
      cluster({ patroni: { dynamicConfiguration: { postgresql: { pg_hba: ["hostssl a a all cert"] } } } }),
    );
    expect(hash(hba, "hippo-instance1-0")).toBe(hash(base, "hippo-instance1-0"));
  });

  it("never changes a pod template because of anything but the spec (no operator version or build)", async () => {
    const a = await sync(cluster(), {}, {}, 1);
    const b = await sync(cluster(), {}, {}, 2);
    const template = (r: typeof a) => JSON.stringify(child(r, "StatefulSet", "hippo-instance1-0").spec.template);
    expect(template(a)).toBe(template(b));
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8"));
    expect(template(a)).not.toContain(version);
    expect(template(a)).not.toContain("tusk-dev/tusk");
  });
});
