/**
 * @module
 * Representative PostgresClusters shared by the golden-file and validity tests.
 */
import { cluster, type Json, volume } from "./fixtures.ts";

const LONG_NAME = "a-cluster-name-that-is-really-much-longer-than-anyone-would-type";

export const SCENARIOS: Record<string, Json> = {
  minimal: cluster({ instances: [{ dataVolumeClaimSpec: volume }] }),
  ha: cluster({
    postgresVersion: 16,
    instances: [{ name: "pgha1", replicas: 3, dataVolumeClaimSpec: volume }],
    backups: {
      pgbackrest: {
        repos: [{ name: "repo1", volume: { volumeClaimSpec: volume }, schedules: { full: "0 1 * * 0" } }],
      },
    },
    proxy: { pgBouncer: { replicas: 2 } },
  }),
  "long-names": cluster(
    {
      instances: [
        {
          name: "an-instance-set-name-that-is-as-long-as-a-dns-label-can-be-ok",
          replicas: 2,
          dataVolumeClaimSpec: volume,
        },
      ],
      users: [{ name: "a-user-name-that-is-as-long-as-a-postgres-identifier-may-be-ok", databases: ["db"] }],
    },
    LONG_NAME,
  ),
  "every-option": cluster(
    {
      postgresVersion: 17,
      image: "registry.example.com/postgres:17",
      imagePullPolicy: "IfNotPresent",
      imagePullSecrets: [{ name: "regcred" }],
      port: 5433,
      metadata: { labels: { team: "payments", "controller-uid": "must-not-pass" }, annotations: { owner: "db-team" } },
      instances: [
        {
          name: "main",
          replicas: 2,
          minAvailable: 1,
          dataVolumeClaimSpec: { ...volume, storageClassName: "fast" },
          walVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } },
          resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }],
              },
            },
          },
          tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }],
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: { "postgres.tusk.dev/cluster": "hippo" } },
            },
          ],
          priorityClassName: "database",
          metadata: { labels: { tier: "db" }, annotations: { "example.com/scrape": "true" } },
        },
        { name: "reporting", dataVolumeClaimSpec: volume },
      ],
      users: [
        { name: "postgres" },
        { name: "app", databases: ["app", "shared"], options: "CREATEDB CONNECTION LIMIT 20" },
        { name: "reader", databases: ["shared"], options: "NOLOGIN", password: { type: "AlphaNumeric" } },
      ],
      backups: {
        pgbackrest: {
          global: { "repo1-retention-full": "2" },
          repos: [
            { name: "repo1", volume: { volumeClaimSpec: volume } },
            { name: "repo2", s3: { bucket: "b", endpoint: "s3.example.com", region: "us-east-1" } },
          ],
        },
      },
      patroni: {
        leaderLeaseDurationSeconds: 10,
        syncPeriodSeconds: 2,
        port: 8009,
        dynamicConfiguration: {
          synchronous_mode: true,
          ttl: 99,
          postgresql: {
            parameters: { max_connections: 200, ssl: "off" },
            pg_hba: ["hostssl app app 10.0.0.0/8 scram-sha-256"],
          },
        },
      },
      config: { parameters: { shared_buffers: "256MB", work_mem: "8MB", archive_command: "/bin/true" } },
      service: { type: "LoadBalancer", metadata: { annotations: { "lb.example.com/internal": "true" } } },
      replicaService: { type: "NodePort", nodePort: 30432 },
      customTLSSecret: { name: "hippo-tls" },
      customReplicationTLSSecret: { name: "hippo-repl-tls" },
      supplementalGroups: [1000],
    },
    "hippo",
  ),
};
