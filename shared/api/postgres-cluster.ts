/**
 * @module
 * `PostgresCluster` (postgres.tusk.dev/v1): field names and meanings follow Crunchy PGO v5's
 * `PostgresCluster` (v1beta1), so a PGO manifest moves here by changing only `apiVersion`.
 * This schema is the single source of truth: the CRD in `manifests/crds/` is generated from it
 * (`npm run gen`) and the hook and webhook parse with it.
 */
import * as z from "zod";
import { OWNED_PARAMETERS } from "../postgres/parameters.ts";
import { RESERVED_ROLE_NAMES, RESERVED_ROLE_PREFIXES } from "../roles.ts";
import {
  Affinity,
  Conditions,
  IntOrString,
  LocalObjectReference,
  Metadata,
  Opaque,
  ResourceRequirements,
  SecretProjection,
  ServiceSpec,
  Toleration,
  TopologySpreadConstraint,
  VolumeClaimSpec,
  VolumeProjection,
} from "./kube.ts";

/**
 * Instances per set: every instance is a StatefulSet, a pod and its volumes built in each sync,
 * so the count bounds the work of one request (16 sets of 16 at most).
 */
export const MAX_SET_REPLICAS = 16;

export const SUPPORTED_POSTGRES_VERSIONS = [13, 14, 15, 16, 17, 18] as const;

const DnsLabel = z
  .string()
  .max(63)
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/, "must be a lowercase DNS label (a-z, 0-9, '-')");

export const InstanceSet = z.object({
  name: DnsLabel.default("").meta({
    description: "Name of the instance set; PGO's defaults 00, 01, ... are used when empty.",
  }),
  replicas: z
    .number()
    .int()
    .min(1)
    .max(MAX_SET_REPLICAS)
    .default(1)
    .meta({ description: `Number of instances in this set (at most ${MAX_SET_REPLICAS}).` }),
  minAvailable: IntOrString.optional().meta({
    description: "PodDisruptionBudget minAvailable; defaults to 1 when replicas > 1.",
  }),
  dataVolumeClaimSpec: VolumeClaimSpec.meta({ description: "Volume claim for PGDATA (required)." }),
  walVolumeClaimSpec: VolumeClaimSpec.optional().meta({ description: "Separate volume claim for pg_wal." }),
  resources: ResourceRequirements.optional(),
  affinity: Affinity.optional(),
  tolerations: z.array(Toleration).optional(),
  topologySpreadConstraints: z.array(TopologySpreadConstraint).optional(),
  priorityClassName: z.string().optional(),
  metadata: Metadata.optional(),
  containers: z.array(Opaque("A sidecar container.")).optional(),
  tablespaceVolumes: z.array(Opaque("A tablespace volume (accepted, not acted on).")).optional(),
  volumes: Opaque("Extra volumes (accepted, not acted on).").optional(),
  sidecars: Opaque("Built-in sidecar settings (accepted, not acted on).").optional(),
});
export type InstanceSet = z.infer<typeof InstanceSet>;

/** The owned parameters for the CRD's description: names and families, then the value rules' reasons. */
function ownedParametersText(): string {
  const named = OWNED_PARAMETERS.filter((r) => !r.refused).flatMap((r) => [
    ...(r.names ?? []),
    ...(r.prefix ? [`${r.prefix}*`] : []),
  ]);
  const byValue = OWNED_PARAMETERS.filter((r) => r.refused).map((r) => r.why);
  return `${named.join(", ")} (the admission message says why, and which family members are allowed); also ${byValue.join("; ")}`;
}

export const UserSpec = z.object({
  name: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be lowercase letters, digits and '-'")
    .meta({
      description: `Role name; also used in the Secret name <cluster>-pguser-<name>. Reserved: ${RESERVED_ROLE_NAMES.join(", ")} and names starting with ${RESERVED_ROLE_PREFIXES.join(", ")}.`,
    }),
  databases: z.array(z.string().min(1).max(63)).optional().meta({
    description: "Databases this user owns or may connect to; created when absent.",
  }),
  options: z
    .string()
    .regex(/^[^;]*$/, "must not contain ';'")
    .optional()
    .meta({ description: "ALTER ROLE options, e.g. 'SUPERUSER' or 'CREATEDB NOLOGIN'; no PASSWORD." }),
  password: z
    .object({ type: z.enum(["ASCII", "AlphaNumeric"]).default("ASCII") })
    .optional()
    .meta({ description: "Kind of generated password." }),
});
export type UserSpec = z.infer<typeof UserSpec>;

export const RepoName = z.string().regex(/^repo[1-4]$/, "must be repo1, repo2, repo3 or repo4");

export const BackupSchedules = z.object({
  full: z.string().optional().meta({ description: "Cron schedule of full backups." }),
  differential: z.string().optional().meta({ description: "Cron schedule of differential backups." }),
  incremental: z.string().optional().meta({ description: "Cron schedule of incremental backups." }),
});

export const Repo = z.object({
  name: RepoName,
  schedules: BackupSchedules.optional(),
  volume: z.object({ volumeClaimSpec: VolumeClaimSpec }).optional().meta({
    description: "A repository on a PersistentVolumeClaim held by the repository host.",
  }),
  s3: z
    .object({ bucket: z.string().min(1), endpoint: z.string().min(1), region: z.string().min(1) })
    .optional()
    .meta({ description: "An S3 or S3-compatible bucket." }),
  gcs: z
    .object({ bucket: z.string().min(1) })
    .optional()
    .meta({ description: "A Google Cloud Storage bucket." }),
  azure: z
    .object({ container: z.string().min(1) })
    .optional()
    .meta({ description: "An Azure Blob Storage container." }),
});
export type Repo = z.infer<typeof Repo>;

const JobSettings = z.object({
  resources: ResourceRequirements.optional(),
  affinity: Affinity.optional(),
  tolerations: z.array(Toleration).optional(),
  priorityClassName: z.string().optional(),
  ttlSecondsAfterFinished: z.number().int().min(60).optional(),
});

export const PgBackRest = z.object({
  image: z.string().optional(),
  repos: z.array(Repo).min(1).meta({ description: "Backup repositories repo1..repo4." }),
  global: z.record(z.string(), z.string()).optional().meta({ description: "pgBackRest [global] options." }),
  configuration: z.array(VolumeProjection).optional().meta({
    description: "Secrets/ConfigMaps projected into /etc/pgbackrest/conf.d (credentials go here).",
  }),
  manual: z
    .object({ repoName: RepoName, options: z.array(z.string()).optional() })
    .optional()
    .meta({ description: "Manual backup, run when annotation postgres.tusk.dev/pgbackrest-backup changes." }),
  restore: z
    .looseObject({
      enabled: z.boolean().default(false),
      repoName: RepoName,
      clusterName: z.string().optional(),
      clusterNamespace: z.string().optional(),
      options: z.array(z.string()).optional(),
      resources: ResourceRequirements.optional(),
      affinity: Affinity.optional(),
      tolerations: z.array(Toleration).optional(),
      priorityClassName: z.string().optional(),
    })
    .optional(),
  repoHost: JobSettings.optional().meta({ description: "Scheduling of the repository host." }),
  jobs: JobSettings.optional().meta({ description: "Scheduling and resources of backup Jobs." }),
  sidecars: Opaque("pgBackRest sidecar settings.").optional(),
  metadata: Metadata.optional(),
});
export type PgBackRest = z.infer<typeof PgBackRest>;

export const PgBouncer = z.object({
  replicas: z.number().int().min(0).max(MAX_SET_REPLICAS).default(1),
  port: z.number().int().min(1024).default(5432),
  image: z.string().optional(),
  config: z
    .object({
      global: z.record(z.string(), z.string()).optional(),
      databases: z.record(z.string(), z.string()).optional(),
      users: z.record(z.string(), z.string()).optional(),
      files: z.array(VolumeProjection).optional(),
    })
    .optional(),
  service: ServiceSpec.optional(),
  customTLSSecret: SecretProjection.optional(),
  resources: ResourceRequirements.optional(),
  affinity: Affinity.optional(),
  tolerations: z.array(Toleration).optional(),
  topologySpreadConstraints: z.array(TopologySpreadConstraint).optional(),
  priorityClassName: z.string().optional(),
  minAvailable: IntOrString.optional(),
  metadata: Metadata.optional(),
});
export type PgBouncer = z.infer<typeof PgBouncer>;

export const Patroni = z.object({
  dynamicConfiguration: Opaque("Patroni dynamic (DCS) configuration.").optional(),
  leaderLeaseDurationSeconds: z.number().int().min(3).default(30).meta({
    description: "Leader lock TTL: seconds before an automatic failover starts.",
  }),
  syncPeriodSeconds: z.number().int().min(1).default(10).meta({ description: "Patroni loop interval." }),
  port: z.number().int().min(1024).default(8008).meta({ description: "Patroni REST API port." }),
  switchover: z
    .object({
      enabled: z.boolean(),
      targetInstance: z.string().optional(),
      type: z.enum(["Switchover", "Failover"]).default("Switchover"),
    })
    .optional()
    .meta({ description: "Switchover run when annotation postgres.tusk.dev/trigger-switchover changes." }),
  logging: Opaque("Patroni log settings.").optional(),
});
export type Patroni = z.infer<typeof Patroni>;

export const Standby = z.object({
  enabled: z.boolean().default(true),
  repoName: RepoName.optional(),
  host: z.string().optional(),
  port: z.number().int().min(1024).optional(),
});
export type Standby = z.infer<typeof Standby>;

export const DataSource = z.object({
  postgresCluster: z
    .looseObject({
      clusterName: z.string().optional(),
      clusterNamespace: z.string().optional(),
      repoName: RepoName,
      options: z.array(z.string()).optional(),
      resources: ResourceRequirements.optional(),
      affinity: Affinity.optional(),
      tolerations: z.array(Toleration).optional(),
      priorityClassName: z.string().optional(),
    })
    .optional(),
  pgbackrest: z
    .looseObject({
      stanza: z.string().default("db"),
      configuration: z.array(VolumeProjection).optional(),
      global: z.record(z.string(), z.string()).optional(),
      repo: Repo,
      options: z.array(z.string()).optional(),
      resources: ResourceRequirements.optional(),
      affinity: Affinity.optional(),
      tolerations: z.array(Toleration).optional(),
      priorityClassName: z.string().optional(),
    })
    .optional(),
  volumes: Opaque("Existing volumes to adopt (accepted, not acted on).").optional(),
});
export type DataSource = z.infer<typeof DataSource>;

export const Exporter = z.object({
  image: z.string().optional(),
  resources: ResourceRequirements.optional(),
  configuration: z.array(VolumeProjection).optional(),
  customTLSSecret: SecretProjection.optional(),
});

export const PostgresClusterSpec = z.object({
  postgresVersion: z.number().int().min(13).max(18).meta({ description: "Major PostgreSQL version (13-18)." }),
  image: z.string().optional().meta({ description: "Postgres+Patroni image; a default per version." }),
  imagePullPolicy: z.enum(["Always", "Never", "IfNotPresent"]).optional(),
  imagePullSecrets: z.array(LocalObjectReference).optional(),
  port: z.number().int().min(1024).default(5432).meta({ description: "Postgres port." }),
  instances: z
    .array(InstanceSet)
    .min(1)
    .max(16)
    .meta({
      description: "Instance sets; each instance is a StatefulSet of one Pod.",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    }),
  users: z.array(UserSpec).max(64).optional().meta({
    description: "Roles and databases; without it a user and database named after the cluster.",
  }),
  backups: z
    .looseObject({
      pgbackrest: PgBackRest.optional(),
      snapshots: Opaque("Volume snapshot settings (accepted, not acted on).").optional(),
    })
    .optional(),
  proxy: z.object({ pgBouncer: PgBouncer.optional() }).optional(),
  monitoring: z.object({ pgmonitor: z.object({ exporter: Exporter.optional() }).optional() }).optional(),
  patroni: Patroni.optional(),
  standby: Standby.optional(),
  dataSource: DataSource.optional(),
  shutdown: z.boolean().optional().meta({ description: "Scale every instance to zero, keeping all data." }),
  paused: z.boolean().optional(),
  customTLSSecret: SecretProjection.optional(),
  customReplicationTLSSecret: SecretProjection.optional(),
  service: ServiceSpec.optional().meta({ description: "The primary Service." }),
  replicaService: ServiceSpec.optional().meta({ description: "The replicas Service." }),
  config: z
    .looseObject({
      parameters: z
        .record(z.string(), IntOrString)
        .optional()
        .meta({
          description: `postgresql.conf parameters. The operator owns and refuses ${ownedParametersText()}.`,
        }),
      files: z.array(VolumeProjection).optional(),
    })
    .optional(),
  metadata: Metadata.optional(),
  databaseInitSQL: z
    .object({ name: z.string(), key: z.string() })
    .optional()
    .meta({ description: "ConfigMap key with SQL run once after the cluster is initialised." }),
  disableDefaultPodScheduling: z.boolean().optional(),
  supplementalGroups: z.array(z.number().int()).optional(),
  openshift: z.boolean().optional(),
  postGISVersion: z.string().optional(),
  userInterface: Opaque("Deprecated pgAdmin settings (accepted, not acted on).").optional(),
  instrumentation: Opaque("OpenTelemetry settings (accepted, not acted on).").optional(),
  authentication: Opaque("pg_hba rules (accepted, not acted on).").optional(),
});
export type PostgresClusterSpec = z.infer<typeof PostgresClusterSpec>;

export const InstanceSetStatus = z.object({
  name: z.string(),
  replicas: z.number().int(),
  readyReplicas: z.number().int(),
  updatedReplicas: z.number().int(),
});

const BackupRefStatus = z.object({
  label: z.string(),
  type: z.enum(["full", "diff", "incr"]),
  startTime: z.string(),
  stopTime: z.string(),
});

/** One S3 repository as read from its bucket (shared/pgbackrest/repo-summary.ts): bounded, never a list of backups. */
export const PgBackRestRepoStatus = z.object({
  name: z.string(),
  state: z.enum(["Read", "NoStanza", "Reading", "NotReadable", "ReadFailed"]).meta({
    description:
      "Read: backup.info was read; NoStanza: the bucket holds no stanza yet; Reading: the first read has not finished; NotReadable: the operator has no key for it (see message); ReadFailed: the read failed (see message).",
  }),
  backups: z
    .object({
      count: z.number().int(),
      full: z.number().int(),
      differential: z.number().int(),
      incremental: z.number().int(),
      latest: BackupRefStatus.optional(),
      latestFull: BackupRefStatus.optional(),
      oldest: BackupRefStatus.optional(),
      labels: z.array(z.string()).max(50).optional().meta({
        description:
          "The labels of the usable backup sets, oldest first; only the newest 50 when there are more (then the first is not oldest.label).",
      }),
    })
    .optional()
    .meta({
      description:
        "How many backup sets the repository holds, the latest, latest full and oldest usable one, and their labels (what a PostgresRestore's backupSet may name).",
    }),
  recoverability: z
    .object({ earliest: z.string(), latest: z.string(), latestFrom: z.enum(["backup", "wal"]) })
    .optional()
    .meta({
      description:
        "earliest: the end of the oldest usable backup, the first point a restore reaches; latest: the end of the newest backup (archived WAL usually reaches further).",
    }),
  message: z.string().max(300).optional(),
});

export const PostgresClusterStatus = z.looseObject({
  observedGeneration: z.number().int().optional(),
  phase: z
    .string()
    .optional()
    .meta({ description: "Pending, Creating, Running, Updating, Degraded, Stopped, Invalid." }),
  primary: z.string().optional().meta({ description: "Pod name of the current Patroni leader." }),
  initialized: z.boolean().optional().meta({
    description:
      "True once an instance has run as a Patroni member: from then on, no instance running is an outage (Degraded), not a cluster being created.",
  }),
  readyInstances: z.string().optional().meta({ description: "Ready/desired instances, e.g. 2/2." }),
  instances: z.array(InstanceSetStatus).optional(),
  lastBackup: z
    .string()
    .optional()
    .meta({ description: "When the newest backup read from an S3 repository finished (RFC 3339)." }),
  pgbackrest: z
    .looseObject({ repos: z.array(PgBackRestRepoStatus).max(4).optional() })
    .optional()
    .meta({
      description:
        "The S3 repositories as read from their buckets (backup.info) when the cluster is synced, at most once a minute each.",
    }),
  conditions: Conditions.optional(),
});
export type PostgresClusterStatus = z.infer<typeof PostgresClusterStatus>;

export const ObjectMeta = z.looseObject({
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  deletionTimestamp: z.string().optional(),
});
