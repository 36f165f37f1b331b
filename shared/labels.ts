/**
 * @module
 * Every label Tusk puts on a child, in one place, so `kubectl get all -l
 * postgres.tusk.dev/cluster=hippo` finds everything and selectors never drift from labels.
 */
import { MAX_LABEL, shortHash } from "./names.ts";

const PREFIX = "postgres.tusk.dev";

export const LABEL = {
  cluster: `${PREFIX}/cluster`,
  instanceSet: `${PREFIX}/instance-set`,
  instance: `${PREFIX}/instance`,
  role: `${PREFIX}/role`,
  /** The label Patroni patches onto pods with the member's role (`master`/`replica` in 3.0). */
  patroniRole: `${PREFIX}/patroni-role`,
  patroniScope: `${PREFIX}/patroni`,
  user: `${PREFIX}/pguser`,
  data: `${PREFIX}/data`,
  name: "app.kubernetes.io/name",
  instanceName: "app.kubernetes.io/instance",
  component: "app.kubernetes.io/component",
  managedBy: "app.kubernetes.io/managed-by",
  /** What a pgBackRest object is: repo-host, backup, expire, stanza-create. */
  pgbackrest: `${PREFIX}/pgbackrest`,
  /** The PostgresBackup a Job or Pod belongs to. */
  backup: `${PREFIX}/backup`,
  /** The PostgresRestore a Job or Pod belongs to. */
  restore: `${PREFIX}/restore`,
  pgbackrestRepo: `${PREFIX}/pgbackrest-repo`,
  backupType: `${PREFIX}/backup-type`,
  /** "true" on PostgresBackups the scheduler created. */
  scheduled: `${PREFIX}/scheduled`,
} as const;

export const ANNOTATION = {
  configHash: `${PREFIX}/config-hash`,
  deletionProtection: `${PREFIX}/deletion-protection`,
  backupTrigger: `${PREFIX}/pgbackrest-backup`,
  restoreTrigger: `${PREFIX}/pgbackrest-restore`,
  switchoverTrigger: `${PREFIX}/trigger-switchover`,
  restart: `${PREFIX}/restart`,
  /** "true" lets a PostgresBackup with deleteFromRepository go when its expire Job failed. */
  skipExpire: `${PREFIX}/skip-expire`,
  /** "true" lets the cluster hook delete the PVCs of instances removed by a scale-down. */
  deletePvcsOnScaleDown: `${PREFIX}/delete-pvcs-on-scale-down`,
  /** On a TLS Secret: a hash of the certificate it replaced, so Postgres is reloaded for the new one. */
  replacedCertificate: `${PREFIX}/replaced-certificate`,
  /** "true": each user gets a schema of its own in each of its databases (PGO's autoCreateUserSchema). */
  autoCreateUserSchema: `${PREFIX}/auto-create-user-schema`,
  /**
   * "internal", "ca" or both, comma-separated: lets the cluster hook generate credentials that a
   * cluster holding data has lost (functions/cluster/lost-credentials.ts).
   */
  regenerateCredentials: `${PREFIX}/regenerate-credentials`,
  /** "true": the cluster hook may remove pgBackRest repositories the spec no longer lists. */
  authorizeBackupRemoval: `${PREFIX}/authorize-backup-removal`,
} as const;

/** PGO's name for ANNOTATION.authorizeBackupRemoval, honoured the same way. */
export const PGO_AUTHORIZE_BACKUP_REMOVAL = "postgres-operator.crunchydata.com/authorizeBackupRemoval";

/** Either annotation set to "true" (any case, as PGO compares it). */
export function backupRemovalAuthorized(annotations: Record<string, string> | undefined): boolean {
  return [ANNOTATION.authorizeBackupRemoval, PGO_AUTHORIZE_BACKUP_REMOVAL].some(
    (key) => annotations?.[key]?.toLowerCase() === "true",
  );
}

/** PGO's name for ANNOTATION.autoCreateUserSchema, honoured so a PGO manifest keeps its meaning. */
export const PGO_AUTO_CREATE_USER_SCHEMA = "postgres-operator.crunchydata.com/autoCreateUserSchema";

/** Either annotation set to "true" (any case, as PGO compares it). */
export function autoCreateUserSchema(annotations: Record<string, string> | undefined): boolean {
  return [ANNOTATION.autoCreateUserSchema, PGO_AUTO_CREATE_USER_SCHEMA].some(
    (k) => annotations?.[k]?.toLowerCase() === "true",
  );
}

/** Patroni 3.0 writes this value for the leader (`master`, not `primary`: docs/dataplane-notes.md P8). */
export const PATRONI_LEADER_VALUE = "master";
export const PATRONI_REPLICA_VALUE = "replica";

/** Label values are at most 63 characters; longer ones shorten with a stable hash. */
export function labelValue(value: string): string {
  if (value.length <= MAX_LABEL) return value;
  const hash = shortHash(value);
  return `${value.slice(0, MAX_LABEL - hash.length - 1).replace(/[-_.]+$/, "")}-${hash}`;
}

export function clusterLabels(cluster: string, component: string): Record<string, string> {
  return {
    [LABEL.name]: "postgres",
    [LABEL.instanceName]: labelValue(cluster),
    [LABEL.component]: component,
    [LABEL.managedBy]: "tusk",
    [LABEL.cluster]: labelValue(cluster),
  };
}

export function instanceSetLabels(cluster: string, set: string): Record<string, string> {
  return { ...clusterLabels(cluster, "database"), [LABEL.instanceSet]: labelValue(set) };
}

export function instanceLabels(cluster: string, set: string, instance: string): Record<string, string> {
  return { ...instanceSetLabels(cluster, set), [LABEL.instance]: labelValue(instance) };
}

/**
 * PGO's own labels, also put on instance pods so the label selectors in PGO manifests (affinity,
 * topology spread: `postgres-operator.crunchydata.com/instance-set: "00"`) keep matching.
 */
const PGO_LABEL = {
  cluster: "postgres-operator.crunchydata.com/cluster",
  instanceSet: "postgres-operator.crunchydata.com/instance-set",
  instance: "postgres-operator.crunchydata.com/instance",
  data: "postgres-operator.crunchydata.com/data",
} as const;

export function pgoInstanceLabels(cluster: string, set: string, instance: string): Record<string, string> {
  return {
    [PGO_LABEL.cluster]: labelValue(cluster),
    [PGO_LABEL.instanceSet]: labelValue(set),
    [PGO_LABEL.instance]: labelValue(instance),
    [PGO_LABEL.data]: "postgres",
  };
}

/** The repository host's pods; backup Jobs of a volume repo are scheduled next to them. */
export function repoHostLabels(cluster: string): Record<string, string> {
  return { ...clusterLabels(cluster, "pgbackrest"), [LABEL.pgbackrest]: "repo-host" };
}
