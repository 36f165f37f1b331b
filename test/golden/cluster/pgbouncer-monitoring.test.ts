/**
 * Golden files for pgBouncer, monitoring and switchover on request: the children each option
 * adds (steady state, pods running and Jobs done), with pgbouncer.ini, the users SQL and the
 * exporter queries also as plain text files so a reviewer reads them as they are deployed. The rest
 * is YAML for review (test/support/golden.ts: one document per child, then the pod parts, the
 * user Secret and the conditions; multi-line strings as `|` blocks; Secret data decoded except
 * credentials and private keys; certificates come from the seeded test PKI). Regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden/cluster/pgbouncer-monitoring.test.ts`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { ANNOTATION } from "../../../shared/labels.ts";
import { type ObjectMap, SyncRequest, type SyncResponse } from "../../../shared/metacontroller.ts";
import { childDocument, type GoldenDocument, goldenYaml } from "../../support/golden.ts";
import {
  cluster,
  decode,
  finishJobs,
  type Json,
  observe,
  podsOf,
  seededDeps,
  steadyState,
  volume,
} from "../../unit/cluster/fixtures.ts";

function golden(file: string, text: string): void {
  const path = join(import.meta.dirname, file);
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, text);
  if (!existsSync(path)) throw new Error(`${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(text).toBe(readFileSync(path, "utf8"));
}

const yaml = (name: string, documents: GoldenDocument[]) =>
  goldenYaml(join(import.meta.dirname, `${name}.yaml`), documents);

/**
 * The children an option adds, by name (one document each), plus the parts of the instance pods
 * it changes, the app user's Secret data (private keys redacted, credentials base64, the rest decoded by
 * test/support/golden.ts) and the conditions that tell.
 */
function relevant(res: SyncResponse, pattern: RegExp): GoldenDocument[] {
  const children = (res.children as Json[]).filter((c) => pattern.test(c.metadata.name));
  const sts = (res.children as Json[]).find((c) => c.kind === "StatefulSet" && c.metadata.name === "hippo-instance1-0");
  const template = sts?.spec.template;
  const userSecret = (res.children as Json[]).find((c) => c.metadata.name === "hippo-pguser-app");
  return [
    ...children.map(childDocument),
    [
      "instancePod: the parts of StatefulSet hippo-instance1-0's pod template the option changes",
      template && {
        annotations: template.metadata.annotations,
        sidecars: template.spec.containers.filter((c: Json) => c.name === "exporter"),
        volumes: template.spec.volumes.filter((v: Json) => v.name === "exporter-config"),
      },
    ],
    ["userSecret: the data of Secret hippo-pguser-app", userSecret?.data ?? {}, { dataOf: "Secret" }],
    [
      "conditions: Valid and Switchover",
      (res.status.conditions as Json[]).filter((c) => ["Valid", "Switchover"].includes(c.type)),
    ],
  ];
}

const WITH_PODMONITORS = {
  spec: { childResources: [{ apiVersion: "monitoring.coreos.com/v1", resource: "podmonitors" }] },
};

async function steadyWith(controller: Json, parent: Json): Promise<SyncResponse> {
  const call = (children: ObjectMap, related: ObjectMap) =>
    syncCluster(SyncRequest.parse(JSON.parse(JSON.stringify({ controller, parent, children, related }))), seededDeps());
  let res = await call({}, {});
  let children: ObjectMap = {};
  for (let i = 0; i < 6; i++) {
    children = finishJobs(observe(res.children as Json[], children));
    res = await call(children, podsOf(children, { "hippo-instance1-0-0": { role: "master" } }));
  }
  return res;
}

const users = [{ name: "app", databases: ["app"] }];
const backups = { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: volume } }] } };

const PGBOUNCER: Record<string, Json> = {
  "pgbouncer-defaults": cluster({ users, proxy: { pgBouncer: {} } }),
  "pgbouncer-every-option": cluster({
    users,
    customTLSSecret: { name: "hippo-tls" },
    proxy: {
      pgBouncer: {
        replicas: 3,
        port: 6432,
        image: "registry.example.com/pgbouncer:1.18",
        minAvailable: 2,
        config: {
          global: { pool_mode: "session", max_client_conn: "500", server_check_query: "select 1", auth_type: "any" },
          databases: { reports: "host=hippo-replicas.db.svc port=5432 dbname=app" },
          users: { app: "pool_mode=transaction" },
          files: [{ configMap: { name: "bouncer-extra" } }],
        },
        service: {
          type: "LoadBalancer",
          externalTrafficPolicy: "Local",
          metadata: { annotations: { lb: "internal" } },
        },
        customTLSSecret: { name: "bouncer-tls" },
        resources: { requests: { cpu: "100m", memory: "64Mi" } },
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchLabels: { "postgres.tusk.dev/role": "pgbouncer" } },
              },
            ],
          },
        },
        tolerations: [{ key: "pool", operator: "Exists", effect: "NoSchedule" }],
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
        ],
        priorityClassName: "pool",
        metadata: { labels: { team: "payments" }, annotations: { owner: "db-team" } },
      },
    },
  }),
};

describe("pgBouncer golden files", { timeout: 60_000 }, () => {
  for (const [name, parent] of Object.entries(PGBOUNCER)) {
    it(name, async () => {
      const { res } = await steadyState(parent);
      yaml(name, relevant(res, /pgbouncer/));
      const configMap = (res.children as Json[]).find(
        (c) => c.kind === "ConfigMap" && c.metadata.name === "hippo-pgbouncer",
      );
      golden(`${name}.ini`, configMap!.data["pgbouncer.ini"]);
    });
  }

  it("pgbouncer-users.sql: the users SQL with pgBouncer's auth_user and lookups, and the monitoring role", async () => {
    const { res } = await steadyState(
      cluster({
        users: [{ name: "app", databases: ["app", "reports"] }],
        proxy: { pgBouncer: {} },
        monitoring: { pgmonitor: { exporter: {} } },
        backups,
      }),
    );
    const secret = (res.children as Json[]).find((c) => c.metadata.name === "hippo-users-sql")!;
    golden("pgbouncer-users.sql", decode(secret)["users.sql"]!);
  });
});

describe("monitoring and switchover golden files", { timeout: 60_000 }, () => {
  it("monitoring-annotations: exporters and scrape annotations, no PodMonitor", async () => {
    const { res } = await steadyState(
      cluster({ users, proxy: { pgBouncer: {} }, monitoring: { pgmonitor: { exporter: {} } } }),
    );
    yaml("monitoring-annotations", relevant(res, /exporter|monitoring|metrics|pgbouncer$/));
  });

  it("monitoring-podmonitor: every exporter option under a controller that lists PodMonitors", async () => {
    const res = await steadyWith(
      WITH_PODMONITORS,
      cluster({
        users,
        backups,
        proxy: { pgBouncer: {} },
        monitoring: {
          pgmonitor: {
            exporter: {
              image: "registry.example.com/postgres-exporter:0.15",
              resources: { limits: { cpu: "100m", memory: "128Mi" } },
              configuration: [{ configMap: { name: "custom-queries" } }],
              customTLSSecret: { name: "exporter-tls" },
            },
          },
        },
      }),
    );
    yaml("monitoring-podmonitor", relevant(res, /exporter|monitoring|metrics|pgbouncer$/));
    const configMap = (res.children as Json[]).find((c) => c.metadata.name === "hippo-exporter")!;
    golden("monitoring-queries.yaml", configMap.data["queries.yaml"]);
  });

  it("switchover-trigger: a switchover asked for by annotation, and the restart annotation on the pods", async () => {
    const parent = cluster({
      users,
      instances: [{ name: "instance1", replicas: 2, dataVolumeClaimSpec: volume }],
      patroni: { switchover: { enabled: true, targetInstance: "hippo-instance1-1" } },
    });
    parent.metadata.annotations = { [ANNOTATION.switchoverTrigger]: "2026-03-01T12:00", [ANNOTATION.restart]: "r1" };
    const { res } = await steadyState(parent);
    yaml("switchover-trigger", relevant(res, /switchover/));
  });
});
