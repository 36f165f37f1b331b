/**
 * @module
 * Every generated object name comes from here, so the pattern is predictable
 * (`<cluster>-primary`, `<cluster>-pguser-<user>`, ...) and stays a valid Kubernetes name.
 */

/** Kubernetes DNS labels (Service, Pod, label values) are at most 63 characters. */
export const MAX_LABEL = 63;

/**
 * FNV-1a 32-bit, hex. Used to shorten names and to fingerprint content deterministically;
 * not a security hash.
 */
export function shortHash(text: string, length = 8): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A second round with a different seed gives 16 hex digits when asked for more than 8.
  let h2 = 0x01000193;
  for (let i = text.length - 1; i >= 0; i--) {
    h2 ^= text.charCodeAt(i);
    h2 = Math.imul(h2, 0x811c9dc5) >>> 0;
  }
  return (h.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0")).slice(0, length);
}

/**
 * Joins parts with '-' and, when the result would exceed `max`, cuts it and appends a stable
 * hash of the full name so distinct long names stay distinct.
 */
export function boundedName(parts: string[], max = MAX_LABEL): string {
  const full = parts.filter((p) => p !== "").join("-");
  if (full.length <= max) return full;
  const hash = shortHash(full);
  const head = full.slice(0, max - hash.length - 1).replace(/-+$/, "");
  return `${head}-${hash}`;
}

/** PGO names unnamed instance sets 00, 01, ... by position. */
export function instanceSetName(name: string | undefined, index: number): string {
  return name && name.length > 0 ? name : String(index).padStart(2, "0");
}

/**
 * A StatefulSet's Pod is `<sts>-0`; the pod name must stay a DNS label, so the StatefulSet
 * name leaves room for the `-0` suffix (and the controller-revision-hash label the
 * StatefulSet controller adds, which is `<sts>-<10 chars>`).
 */
const STS_MAX = MAX_LABEL - 11;

const patroniScope = (cluster: string) => boundedName([cluster, "ha"], MAX_LABEL - "-config".length);

export const names = {
  instance: (cluster: string, set: string, ordinal: number) => boundedName([cluster, set, String(ordinal)], STS_MAX),
  pod: (statefulSet: string) => `${statefulSet}-0`,
  instanceSet: (cluster: string, set: string) => boundedName([cluster, set]),
  pgdata: (instance: string) => boundedName([instance, "pgdata"]),
  pgwal: (instance: string) => boundedName([instance, "pgwal"]),
  primaryService: (cluster: string) => boundedName([cluster, "primary"]),
  replicaService: (cluster: string) => boundedName([cluster, "replicas"]),
  podsService: (cluster: string) => boundedName([cluster, "pods"]),
  /**
   * Patroni's scope: the leader lock and the DCS Service (Endpoints) carry this name. Patroni
   * names its configuration Service `<scope>-config` itself, so the scope leaves room for that.
   */
  patroniScope: (cluster: string) => patroniScope(cluster),
  patroniConfigService: (cluster: string) => `${patroniScope(cluster)}-config`,
  clusterConfig: (cluster: string) => boundedName([cluster, "config"]),
  instanceRbac: (cluster: string) => boundedName([cluster, "instance"]),
  userSecret: (cluster: string, user: string) => boundedName([cluster, "pguser", user], 253),
  internalSecret: (cluster: string) => boundedName([cluster, "internal"]),
  caSecret: (cluster: string) => boundedName([cluster, "ca"]),
  serverCertSecret: (cluster: string) => boundedName([cluster, "cluster-cert"]),
  replicationCertSecret: (cluster: string) => boundedName([cluster, "replication-cert"]),
  usersJob: (cluster: string, hash: string) => boundedName([cluster, "users", hash]),
  /** The SQL the users Job applies; a Secret because it carries SCRAM verifiers. */
  usersSqlSecret: (cluster: string) => boundedName([cluster, "users-sql"]),
  /** Applies the Patroni dynamic (DCS) configuration through the REST API; named by its hash. */
  patroniConfigJob: (cluster: string, hash: string) => boundedName([cluster, "patroni", hash]),
  /** Moves the Patroni leader before the leader's pod is replaced or removed; named by its target. */
  switchoverJob: (cluster: string, hash: string) => boundedName([cluster, "switchover", hash]),
  /** ServiceAccount, Role and RoleBinding of the Jobs that patch or delete the cluster's PVCs. */
  pvcJobs: (cluster: string) => boundedName([cluster, "pvc"]),
  /** Expands one PVC to one size; named by a hash of both. */
  resizeJob: (cluster: string, hash: string) => boundedName([cluster, "resize", hash]),
  /** Deletes one PVC of a removed instance; named by a hash of its name and uid. */
  pvcDeleteJob: (cluster: string, hash: string) => boundedName([cluster, "pvc-delete", hash]),
  /** Reloads Postgres once a replaced server certificate is on every instance's disk. */
  tlsReloadJob: (cluster: string, hash: string) => boundedName([cluster, "tls-reload", hash]),
  pdb: (cluster: string, set: string) => boundedName([cluster, "set", set]),
  pgbackrestConfig: (cluster: string) => boundedName([cluster, "pgbackrest-config"]),
  repoHost: (cluster: string) => boundedName([cluster, "repo-host"], STS_MAX),
  /** pgBouncer's Deployment, Service, PodDisruptionBudget, ConfigMap and Secret (auth_file). */
  pgbouncer: (cluster: string) => boundedName([cluster, "pgbouncer"]),
  /** pgBouncer's client-facing certificate (its Service's DNS names), unless proxy.pgBouncer.customTLSSecret. */
  pgbouncerCertSecret: (cluster: string) => boundedName([cluster, "pgbouncer-cert"]),
  monitoringSecret: (cluster: string) => boundedName([cluster, "monitoring"]),
  /** postgres_exporter's queries (ConfigMap). */
  exporterConfig: (cluster: string) => boundedName([cluster, "exporter"]),
  /** The PodMonitor selecting the cluster's exporter ports. */
  podMonitor: (cluster: string) => boundedName([cluster, "metrics"]),
  /** pgBackRest's TLS client certificate (instance pods, repo host and Jobs present it). */
  pgbackrestClientSecret: (cluster: string) => boundedName([cluster, "pgbackrest"]),
  /**
   * The repo host StatefulSet's claim template for a volume repo (also the volume name its pod
   * mounts): the bare repo name, so the claim below fits a DNS label with a long cluster name.
   */
  repoClaimTemplate: (repo: string) => repo,
  /** A volume repository's claim, as the StatefulSet controller names it: `<template>-<repo host>-0`. */
  repoVolumeClaim: (cluster: string, repo: string) => `${names.repoClaimTemplate(repo)}-${names.repoHost(cluster)}-0`,
  /** Creates the stanza; named by a hash of the repositories so a new repo runs it again. */
  stanzaJob: (cluster: string, hash: string) => boundedName([cluster, "stanza", hash]),
  backupJob: (backup: string) => boundedName([backup, "backup"]),
  /** An instance's data and WAL claims: the StatefulSet controller names them `<template>-<sts>-0`. */
  dataVolumeClaim: (instance: string) => `pgdata-${instance}-0`,
  walVolumeClaim: (instance: string) => `pgwal-${instance}-0`,
  /** A PostgresRestore's Jobs: the restore itself, Patroni's DCS reset, and one reset per other instance. */
  restoreJob: (restore: string) => boundedName([restore, "restore"]),
  restoreDcsJob: (restore: string) => boundedName([restore, "dcs"]),
  restoreResetJob: (restore: string, instance: string) => boundedName([restore, "reset", instance]),
  /** A new cluster's restore from spec.dataSource, and the pgBackRest configuration of a dataSource.pgbackrest repo. */
  dataSourceJob: (cluster: string) => boundedName([cluster, "datasource"]),
  dataSourceConfig: (cluster: string) => boundedName([cluster, "datasource"]),
  expireJob: (backup: string) => boundedName([backup, "expire"]),
  manualBackupJob: (cluster: string, hash: string) => boundedName([cluster, "backup", hash]),
  /** A schedule's PingSource or CronJob; CronJob names leave room for the Jobs' suffix. */
  backupSchedule: (cluster: string, repo: string, type: string) => boundedName([cluster, repo, type], STS_MAX),
  /** A scheduled PostgresBackup: the schedule and a UTC minute stamp, so one tick makes one name. */
  scheduledBackup: (cluster: string, repo: string, type: string, stamp: string) =>
    `${boundedName([cluster, repo, type], MAX_LABEL - stamp.length - 1)}-${stamp}`,
};
