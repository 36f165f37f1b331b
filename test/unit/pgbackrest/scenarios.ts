/**
 * Representative clusters for the pgBackRest configuration tests and golden files.
 */
import { PostgresClusterSpec } from "../../../shared/api/postgres-cluster.ts";
import type { PgBackRestCluster } from "../../../shared/pgbackrest/layout.ts";

const claim = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } };

export function cluster(spec: unknown, name = "hippo", namespace = "db"): PgBackRestCluster {
  return { name, namespace, spec: PostgresClusterSpec.parse(spec) };
}

export const SCENARIOS: Record<string, PgBackRestCluster> = {
  /** PGO's postgres example: one instance, one volume repo, nothing else. */
  "volume-only": cluster({
    postgresVersion: 16,
    instances: [{ name: "instance1", dataVolumeClaimSpec: claim }],
    backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: claim } }] } },
  }),
  /** PGO's multi-backup-repo example: a volume and the three object stores. */
  "multi-repo": cluster(
    {
      postgresVersion: 15,
      instances: [{ dataVolumeClaimSpec: claim }],
      backups: {
        pgbackrest: {
          configuration: [{ secret: { name: "pgo-multi-repo-creds" } }],
          global: {
            "repo2-path": "/pgbackrest/postgres-operator/hippo-multi-repo/repo2",
            "repo3-path": "/pgbackrest/postgres-operator/hippo-multi-repo/repo3",
            "repo4-path": "/pgbackrest/postgres-operator/hippo-multi-repo/repo4",
          },
          repos: [
            { name: "repo1", volume: { volumeClaimSpec: claim } },
            {
              name: "repo2",
              s3: { bucket: "tusk-backups", endpoint: "s3.us-east-1.amazonaws.com", region: "us-east-1" },
            },
            { name: "repo3", gcs: { bucket: "tusk-backups-gcs" } },
            { name: "repo4", azure: { container: "tusk-backups" } },
          ],
        },
      },
    },
    "hippo-multi-repo",
    "postgres-operator",
  ),
  /** MinIO over HTTPS with a private CA, two instance sets, user options that win and lose. */
  minio: cluster({
    postgresVersion: 17,
    port: 5433,
    instances: [
      { name: "a", replicas: 2, dataVolumeClaimSpec: claim },
      { name: "b", replicas: 1, dataVolumeClaimSpec: claim },
    ],
    backups: {
      pgbackrest: {
        image: "registry.example/pgbackrest:2.54",
        configuration: [
          {
            secret: {
              name: "minio-creds",
              items: [
                { key: "s3.conf", path: "s3.conf" },
                { key: "ca.crt", path: "repo2-ca.crt" },
              ],
            },
          },
        ],
        global: {
          "compress-type": "zst",
          "process-max": "4",
          "repo2-retention-full": "7",
          "repo2-retention-full-type": "time",
          "repo2-retention-diff": "3",
          "repo2-s3-key": "AKIA-never-rendered",
          "repo2-s3-key-secret": "never-rendered-either",
          "pg1-path": "/elsewhere",
          "repo1-host": "evil.example",
          "tls-server-auth": "anyone=*",
          "lock-path": "/",
          "repo3-path": "/not/a/repo",
          "repo1-path": "/pgbackrest/repo1/hippo",
          "archive-async": "y",
        },
        repos: [
          { name: "repo1", volume: { volumeClaimSpec: claim } },
          {
            name: "repo2",
            s3: { bucket: "backups", endpoint: "https://minio.minio.svc:9000", region: "minio" },
            schedules: { full: "0 1 * * 0", incremental: "0 1 * * 1-6" },
          },
        ],
        jobs: {
          resources: { requests: { cpu: "100m", memory: "128Mi" } },
          priorityClassName: "backups",
          ttlSecondsAfterFinished: 3600,
          tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }],
              },
            },
          },
        },
        manual: { repoName: "repo2", options: ["--type=full", "--annotation=reason=before-upgrade"] },
      },
    },
  }),
  /** Object storage only: no repository host. */
  "s3-only": cluster({
    postgresVersion: 15,
    instances: [{ name: "pg", replicas: 3, dataVolumeClaimSpec: claim }],
    backups: {
      pgbackrest: {
        configuration: [{ secret: { name: "s3" } }],
        repos: [
          {
            name: "repo1",
            s3: { bucket: "b", endpoint: "s3.eu-west-1.amazonaws.com", region: "eu-west-1" },
            schedules: { full: "0 3 * * 0", differential: "0 3 * * 1-6" },
          },
        ],
      },
    },
  }),
};
