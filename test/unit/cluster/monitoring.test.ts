import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { podMonitorsListed } from "../../../functions/cluster/observe/cluster.ts";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { ANNOTATION } from "../../../shared/labels.ts";
import { type ObjectMap, SyncRequest, type SyncResponse } from "../../../shared/metacontroller.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import {
  byKind,
  child,
  cluster,
  decode,
  type Json,
  observe,
  seededDeps,
  steadyState,
  sync,
  volume,
} from "./fixtures.ts";

const monitored = (exporter: Json = {}, spec: Json = {}) =>
  cluster({ monitoring: { pgmonitor: { exporter } }, ...spec });

/** The CompositeController as manifests/components/prometheus-operator leaves it. */
const WITH_PODMONITORS = {
  spec: {
    childResources: [
      { apiVersion: "apps/v1", resource: "statefulsets" },
      { apiVersion: "monitoring.coreos.com/v1", resource: "podmonitors" },
    ],
  },
};

function syncWith(controller: Json, parent: Json, children: ObjectMap = {}): Promise<SyncResponse> {
  return syncCluster(
    SyncRequest.parse(JSON.parse(JSON.stringify({ controller, parent, children, related: {} }))),
    seededDeps(),
  );
}

const podTemplate = (res: SyncResponse, sts = "hippo-instance1-0") => child(res, "StatefulSet", sts).spec.template;
const container = (res: SyncResponse, name: string, sts = "hippo-instance1-0") =>
  podTemplate(res, sts).spec.containers.find((c: Json) => c.name === name);

describe("monitoring: the exporter sidecar", () => {
  it("runs postgres_exporter in every instance pod, port 9187 named exporter, as the monitoring role", async () => {
    const res = await sync(monitored());
    for (const sts of byKind(res, "StatefulSet")) {
      const exporter = sts.spec.template.spec.containers.find((c: Json) => c.name === "exporter");
      expect(exporter, sts.metadata.name).toBeDefined();
    }
    const exporter = container(res, "exporter");
    expect(exporter.image).toBe("quay.io/prometheuscommunity/postgres-exporter:v0.15.0");
    expect(exporter.ports).toEqual([{ name: "exporter", containerPort: 9187, protocol: "TCP" }]);
    const env = Object.fromEntries(exporter.env.map((e: Json) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toEqual({
      DATA_SOURCE_URI: "localhost:5432/postgres?sslmode=verify-ca&sslrootcert=/etc/postgres-exporter/ca.crt",
      DATA_SOURCE_USER: "_tusk_monitoring",
      DATA_SOURCE_PASS: { secretKeyRef: { name: "hippo-monitoring", key: "password" } },
      PG_EXPORTER_EXTEND_QUERY_PATH: "/etc/postgres-exporter/queries.yaml",
    });
    // Only the CA of the server certificate, never its key.
    const volume = podTemplate(res).spec.volumes.find((v: Json) => v.name === "exporter-config");
    expect(volume.projected.sources).toEqual([
      { configMap: { name: "hippo-exporter", items: [{ key: "queries.yaml", path: "queries.yaml" }] } },
      { secret: { name: "hippo-cluster-cert", items: [{ key: "ca.crt", path: "ca.crt" }] } },
    ]);
    for (const c of res.children as Json[]) {
      expect(validateObject(c), `${c.kind} ${c.metadata.name}`).toEqual([]);
      if (c.kind === "StatefulSet") expect(podSecurityRestrictedViolations(c)).toEqual([]);
    }
  });

  it("takes image, resources, custom queries and a web TLS certificate from the spec", async () => {
    const res = await sync(
      monitored({
        image: "example.com/exporter:1",
        resources: { limits: { memory: "64Mi" } },
        configuration: [{ configMap: { name: "my-queries" } }],
        customTLSSecret: { name: "exporter-tls" },
      }),
    );
    const exporter = container(res, "exporter");
    expect(exporter).toMatchObject({
      image: "example.com/exporter:1",
      resources: { limits: { memory: "64Mi" } },
      args: ["--web.config.file=/etc/postgres-exporter/web-config.yml"],
    });
    const queries = exporter.env.find((e: Json) => e.name === "PG_EXPORTER_EXTEND_QUERY_PATH").value;
    expect(queries).toBe("/etc/postgres-exporter/queries.yml");
    const sources = podTemplate(res).spec.volumes.find((v: Json) => v.name === "exporter-config").projected.sources;
    expect(sources).toContainEqual({ configMap: { name: "my-queries" } });
    expect(sources).toContainEqual({
      secret: {
        name: "exporter-tls",
        items: [
          { key: "tls.crt", path: "web-tls/tls.crt" },
          { key: "tls.key", path: "web-tls/tls.key" },
        ],
      },
    });
    expect(parse(child(res, "ConfigMap", "hippo-exporter").data["web-config.yml"])).toEqual({
      tls_server_config: {
        cert_file: "/etc/postgres-exporter/web-tls/tls.crt",
        key_file: "/etc/postgres-exporter/web-tls/tls.key",
      },
    });
    expect(podTemplate(res).metadata.annotations["prometheus.io/scheme"]).toBe("https");
  });

  it("is absent without spec.monitoring, and turning it on rolls the pods through the update gate", async () => {
    const plain = await sync(cluster());
    expect(container(plain, "exporter")).toBeUndefined();
    expect(byKind(plain, "Secret").map((s) => s.metadata.name)).not.toContain("hippo-monitoring");
    const { children, related } = await steadyState(cluster());
    const res = await sync(monitored(), children, related);
    // One instance at a time: the replica first, the leader keeps its observed template.
    const hashes = byKind(res, "StatefulSet").map((s) => s.spec.template.metadata.annotations[ANNOTATION.configHash]);
    const before = Object.values(children["StatefulSet.apps/v1"]!).map(
      (s) => (s as Json).spec.template.metadata.annotations[ANNOTATION.configHash],
    );
    expect(hashes.filter((h, i) => h !== before[i])).toHaveLength(1);
    expect(hashes[0]).toBe(before[0]);
  });

  it("puts the usual scrape annotations on instance and pgBouncer pods", async () => {
    const res = await sync(monitored({}, { proxy: { pgBouncer: {} } }));
    expect(podTemplate(res).metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "9187",
      "prometheus.io/path": "/metrics",
    });
    const bouncer = child(res, "Deployment", "hippo-pgbouncer").spec.template;
    expect(bouncer.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "9127",
      "prometheus.io/path": "/metrics",
    });
    const sidecar = bouncer.spec.containers.find((c: Json) => c.name === "pgbouncer-exporter");
    expect(sidecar).toMatchObject({
      image: "quay.io/prometheuscommunity/pgbouncer-exporter:v0.7.0",
      args: [
        "--pgBouncer.connectionString=postgres://_tusk_pgbouncer@localhost:5432/pgbouncer?sslmode=require",
        "--web.listen-address=:9127",
      ],
      env: [{ name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: "hippo-pgbouncer", key: "password" } } }],
      ports: [{ name: "pgb-exporter", containerPort: 9127, protocol: "TCP" }],
    });
    expect(podSecurityRestrictedViolations(child(res, "Deployment", "hippo-pgbouncer"))).toEqual([]);
  });
});

describe("monitoring: PodMonitor", () => {
  it("is returned only under a controller that lists PodMonitors", async () => {
    expect(podMonitorsListed(WITH_PODMONITORS)).toBe(true);
    expect(podMonitorsListed({})).toBe(false);
    expect(
      podMonitorsListed({
        spec: { childResources: [{ apiVersion: "monitoring.coreos.com/v1", resource: "servicemonitors" }] },
      }),
    ).toBe(false);
    expect(byKind(await sync(monitored()), "PodMonitor")).toEqual([]);
    expect(byKind(await syncWith(WITH_PODMONITORS, cluster()), "PodMonitor")).toEqual([]);
    const res = await syncWith(WITH_PODMONITORS, monitored());
    const [podMonitor] = byKind(res, "PodMonitor");
    expect(validateObject(podMonitor)).toEqual([]);
    expect(podMonitor).toMatchObject({
      apiVersion: "monitoring.coreos.com/v1",
      metadata: { name: "hippo-metrics", namespace: "db" },
      spec: {
        selector: { matchLabels: { "postgres.tusk.dev/cluster": "hippo" } },
        podMetricsEndpoints: [
          {
            port: "exporter",
            path: "/metrics",
            relabelings: [
              {
                action: "replace",
                sourceLabels: ["__meta_kubernetes_pod_label_postgres_tusk_dev_cluster"],
                targetLabel: "cluster",
              },
            ],
          },
        ],
      },
    });
    // The pod template does not depend on the controller: installing the component restarts nothing.
    expect(podTemplate(res)).toEqual(podTemplate(await sync(monitored())));
  });

  it("adds the pgBouncer exporter's port when the proxy is on, and https when the exporter serves TLS", async () => {
    const res = await syncWith(
      WITH_PODMONITORS,
      monitored({ customTLSSecret: { name: "exporter-tls" } }, { proxy: { pgBouncer: {} } }),
    );
    const [podMonitor] = byKind(res, "PodMonitor");
    expect(validateObject(podMonitor)).toEqual([]);
    expect(podMonitor!.spec.podMetricsEndpoints.map((e: Json) => [e.port, e.scheme])).toEqual([
      ["exporter", "https"],
      ["pgb-exporter", undefined],
    ]);
  });
});

describe("monitoring: role, Secret and queries", () => {
  it("creates a login with pg_monitor and nothing else, its password only as a verifier in the SQL", async () => {
    const res = await sync(monitored());
    const secret = decode(child(res, "Secret", "hippo-monitoring"));
    expect(secret.username).toBe("_tusk_monitoring");
    const sql = decode(child(res, "Secret", "hippo-users-sql"))["users.sql"]!;
    expect(sql).toContain(
      `ALTER ROLE "_tusk_monitoring" WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD '${secret.verifier}';`,
    );
    expect(sql).toContain(`GRANT pg_monitor TO "_tusk_monitoring";`);
    expect(sql).not.toContain(secret.password);
    expect(sql).not.toMatch(/pg_read_all_data|pg_execute_server_program/);
  });

  it("queries the pgMonitor-style metrics, and pgBackRest's last backups only when the cluster has backups", async () => {
    const queriesOf = async (spec: Json) =>
      Object.keys(parse(child(await sync(monitored({}, spec)), "ConfigMap", "hippo-exporter").data["queries.yaml"]));
    const base = [
      "ccp_archive_command_status",
      "ccp_connection_stats",
      "ccp_database_size",
      "ccp_is_in_recovery",
      "ccp_replication_lag",
      "ccp_replication_lag_size",
      "ccp_wal_activity",
    ];
    expect((await queriesOf({})).sort()).toEqual(base);
    const backups = { backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: volume } }] } } };
    expect((await queriesOf(backups)).sort()).toEqual([...base, "ccp_backrest_last_backup"].sort());
    const sql = decode(child(await sync(monitored({}, backups)), "Secret", "hippo-users-sql"))["users.sql"]!;
    expect(sql).toContain('FUNCTION "_tusk_monitoring".pgbackrest_last_backups()');
    expect(sql).toContain("SECURITY DEFINER");
    expect(sql).toContain(
      `GRANT EXECUTE ON FUNCTION "_tusk_monitoring".pgbackrest_last_backups() TO "_tusk_monitoring";`,
    );
  });

  it("keeps its password (and verifier) once generated, whatever the randomness of later syncs", async () => {
    const secretOf = (res: SyncResponse) => decode(child(res, "Secret", "hippo-monitoring"));
    const first = await sync(monitored(), {}, {}, 1);
    const again = await sync(monitored(), observe(first.children as Json[]), {}, 2);
    expect(secretOf(again)).toEqual(secretOf(first));
    // A different seed would have made a different password: the one above was read back.
    expect(secretOf(await sync(monitored(), {}, {}, 2)).password).not.toBe(secretOf(first).password);
  });
});
