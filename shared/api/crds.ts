/**
 * @module
 * The three CustomResourceDefinitions Tusk installs, built from the zod schemas.
 */
import { PORTS } from "../pod-layout.ts";
import { namedOwnedParameters, WAL_LEVELS } from "../postgres/parameters.ts";
import { RESERVED_ROLE_NAMES, RESERVED_ROLE_PREFIXES } from "../roles.ts";
import { buildCrd } from "./crd.ts";
import { PostgresBackupSpec, PostgresBackupStatus } from "./postgres-backup.ts";
import { PostgresClusterSpec, PostgresClusterStatus } from "./postgres-cluster.ts";
import { PostgresRestoreSpec, PostgresRestoreStatus } from "./postgres-restore.ts";

const age = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" } as const;

/*
 * CEL rules the API server enforces even when the admission webhook is down. The webhook
 * (functions/admission) checks the same things and more, with messages naming the field.
 *
 * Cost: Kubernetes estimates each rule's worst case from the schema's maxItems/maxLength and
 * rejects the whole CRD when a rule could be too expensive. Only `instances` (16) and `users`
 * (64), with names of at most 63 characters, are bounded, so a rule iterates only those, list
 * literals, or index positions 0..3 (a pgBackRest repo list holds at most repo1..repo4), and
 * compares other strings only with constants. Rules that would need more (storage that only
 * grows, parameter name prefixes) stay in the webhook until the schema bounds those fields.
 * test/unit/admission/cel.test.ts parses every rule, checks each field it names against the
 * schema and this policy, and evaluates the rules on allowed and refused manifests.
 */
const REPOS = "self.backups.pgbackrest.repos";
const HAS_PGBACKREST = "has(self.backups) && has(self.backups.pgbackrest)";
const REPO_NAMES = "['repo1', 'repo2', 'repo3', 'repo4']";
const REPO_INDEXES = "[0, 1, 2, 3]";
/** True when a repo named by the (constant-compared) string expression exists. */
const repoExists = (name: string) =>
  `${REPO_NAMES}.exists(n, ${name} == n && ${REPO_INDEXES}.exists(i, i < size(${REPOS}) && ${REPOS}[i].name == n))`;
const INSTANCE_INDEXES = `[${Array.from({ length: 16 }, (_, i) => i).join(", ")}]`;
/** PGO's names for unnamed instance sets, by position, as a constant list: `string(i)` has no size bound. */
const DEFAULT_SET_NAMES = `[${Array.from({ length: 16 }, (_, i) => `'${String(i).padStart(2, "0")}'`).join(", ")}]`;

/** The reserved role names and prefixes of shared/roles.ts, which admission refuses too. */
export const CEL_RESERVED_ROLES: readonly string[] = RESERVED_ROLE_NAMES;

/**
 * config.parameters keys refused whatever their value: the owned names of
 * shared/postgres/parameters.ts and the known members of its families (the webhook also
 * refuses members that are not known yet, and refuses by value).
 */
export const CEL_OWNED_PARAMETERS: readonly string[] = namedOwnedParameters();

const quoted = (list: readonly string[]) => list.map((s) => `'${s}'`).join(", ");

const clusterValidations = [
  {
    rule: "self.instances.all(a, self.instances.exists_one(b, a.name == b.name))",
    message: "instance set names must be unique",
    fieldPath: ".instances",
  },
  {
    rule: `${INSTANCE_INDEXES}.all(i, i >= size(self.instances) || self.instances[i].name != '' || !self.instances.exists(b, b.name == ${DEFAULT_SET_NAMES}[i]))`,
    message:
      "an unnamed instance set is named 00, 01, ... by its position, and another instance set already has that name",
    fieldPath: ".instances",
  },
  {
    rule: `!(${HAS_PGBACKREST}) || (size(${REPOS}) <= 4 && ${REPO_NAMES}.all(n, ${REPO_INDEXES}.filter(i, i < size(${REPOS}) && ${REPOS}[i].name == n).size() <= 1))`,
    message: "repo names must be unique: at most four repos, repo1 to repo4",
    fieldPath: ".backups.pgbackrest.repos",
  },
  {
    // `[x].all(r, has(r.f))` rather than `has(x.f)`: some CEL implementations accept has() only on a name.
    rule: `!(${HAS_PGBACKREST}) || ${REPO_INDEXES}.all(i, i >= size(${REPOS}) || [${REPOS}[i]].all(r, [has(r.volume), has(r.s3), has(r.gcs), has(r.azure)].filter(b, b).size() == 1))`,
    message: "each repo needs exactly one of volume, s3, gcs or azure",
    fieldPath: ".backups.pgbackrest.repos",
  },
  {
    rule: `!(${HAS_PGBACKREST}) || !has(self.backups.pgbackrest.manual) || ${repoExists("self.backups.pgbackrest.manual.repoName")}`,
    message: "backups.pgbackrest.manual.repoName must name a repo defined in backups.pgbackrest.repos",
    fieldPath: ".backups.pgbackrest.manual.repoName",
  },
  {
    rule: `!has(self.standby) || !has(self.standby.repoName) || ((${HAS_PGBACKREST}) && ${repoExists("self.standby.repoName")})`,
    message: "standby.repoName must name a repo defined in backups.pgbackrest.repos",
    fieldPath: ".standby.repoName",
  },
  {
    rule: "!has(self.standby) || !has(self.standby.enabled) || !self.standby.enabled || has(self.standby.repoName) || has(self.standby.host)",
    message: "an enabled standby needs repoName and/or host",
    fieldPath: ".standby",
  },
  {
    rule: "!has(oldSelf.postgresVersion) || self.postgresVersion == oldSelf.postgresVersion",
    message: "postgresVersion cannot change on an existing cluster; a major upgrade needs its own procedure",
    fieldPath: ".postgresVersion",
  },
  {
    rule: `!has(self.users) || self.users.all(u, !(u.name in [${quoted(CEL_RESERVED_ROLES)}])${RESERVED_ROLE_PREFIXES.map((p) => ` && !u.name.startsWith('${p}')`).join("")})`,
    message: `user names ${CEL_RESERVED_ROLES.join(", ")} and ${RESERVED_ROLE_PREFIXES.map((p) => `${p}*`).join(", ")} are reserved`,
    fieldPath: ".users",
  },
  {
    rule: "!has(self.users) || self.users.all(a, self.users.exists_one(b, a.name == b.name))",
    message: "user names must be unique",
    fieldPath: ".users",
  },
  {
    rule: `!has(self.config) || !has(self.config.parameters) || !(${CEL_OWNED_PARAMETERS.map((k) => `has(self.config.parameters.${k})`).join(" || ")})`,
    message:
      "config.parameters cannot set what the operator owns: paths, listen_addresses, port, TLS, archiving, recovery, replication, cluster_name, logging",
    fieldPath: ".config.parameters",
  },
  {
    rule: `!has(self.config) || !has(self.config.parameters) || !has(self.config.parameters.wal_level) || self.config.parameters.wal_level in [${quoted(WAL_LEVELS)}]`,
    message: 'config.parameters.wal_level must be "replica" or "logical"',
    fieldPath: ".config.parameters",
  },
  {
    rule: `!has(self.port) || (!(self.port in [${PORTS.pgbackrestTls}, ${PORTS.exporter}]) && self.port != (has(self.patroni) && has(self.patroni.port) ? self.patroni.port : ${PORTS.patroni}))`,
    message: `port must differ from Patroni's port, ${PORTS.pgbackrestTls} (pgBackRest TLS) and ${PORTS.exporter} (exporter)`,
    fieldPath: ".port",
  },
  {
    rule: "!has(self.patroni) || !has(self.patroni.syncPeriodSeconds) || !has(self.patroni.leaderLeaseDurationSeconds) || self.patroni.syncPeriodSeconds < self.patroni.leaderLeaseDurationSeconds",
    message: "patroni.syncPeriodSeconds must be less than patroni.leaderLeaseDurationSeconds",
    fieldPath: ".patroni.syncPeriodSeconds",
  },
  {
    rule: "!has(self.patroni) || !has(self.patroni.switchover) || !has(self.patroni.switchover.type) || self.patroni.switchover.type != 'Failover' || has(self.patroni.switchover.targetInstance)",
    message: "patroni.switchover.targetInstance is required when type is Failover",
    fieldPath: ".patroni.switchover",
  },
  {
    rule: "!has(self.dataSource) || !(has(self.dataSource.postgresCluster) && has(self.dataSource.pgbackrest))",
    message: "dataSource takes either postgresCluster or pgbackrest, not both",
    fieldPath: ".dataSource",
  },
];

const restoreValidations = [
  { rule: "self == oldSelf", message: "a PostgresRestore spec is immutable" },
  {
    rule: "!has(self.target) || !has(self.target.type) || !(self.target.type in ['time', 'lsn', 'name', 'xid']) || (has(self.target.value) && self.target.value != '')",
    message: "target.value is required for time, lsn, name and xid targets",
    fieldPath: ".target",
  },
];

export function crds() {
  return [
    buildCrd({
      kind: "PostgresCluster",
      plural: "postgresclusters",
      singular: "postgrescluster",
      shortNames: ["pgc", "pgcluster"],
      description: "A highly available PostgreSQL cluster managed by Patroni, with pgBackRest backups.",
      spec: PostgresClusterSpec,
      status: PostgresClusterStatus,
      printerColumns: [
        { name: "Version", type: "integer", jsonPath: ".spec.postgresVersion" },
        { name: "Phase", type: "string", jsonPath: ".status.phase" },
        { name: "Ready", type: "string", jsonPath: ".status.readyInstances" },
        { name: "Primary", type: "string", jsonPath: ".status.primary" },
        { name: "Last Backup", type: "string", jsonPath: ".status.lastBackup", priority: 1 },
        age,
      ],
      specValidations: clusterValidations,
    }),
    buildCrd({
      kind: "PostgresBackup",
      plural: "postgresbackups",
      singular: "postgresbackup",
      shortNames: ["pgbackup"],
      description: "One pgBackRest backup of a PostgresCluster to one repository.",
      spec: PostgresBackupSpec,
      status: PostgresBackupStatus,
      printerColumns: [
        { name: "Cluster", type: "string", jsonPath: ".spec.cluster" },
        { name: "Repo", type: "string", jsonPath: ".spec.repoName" },
        { name: "Type", type: "string", jsonPath: ".spec.type" },
        { name: "Phase", type: "string", jsonPath: ".status.phase" },
        { name: "Backup", type: "string", jsonPath: ".status.backupLabel" },
        age,
      ],
      specValidations: [{ rule: "self == oldSelf", message: "a PostgresBackup spec is immutable" }],
    }),
    buildCrd({
      kind: "PostgresRestore",
      plural: "postgresrestores",
      singular: "postgresrestore",
      shortNames: ["pgrestore"],
      description: "An in-place restore of a PostgresCluster from a pgBackRest repository.",
      spec: PostgresRestoreSpec,
      status: PostgresRestoreStatus,
      printerColumns: [
        { name: "Cluster", type: "string", jsonPath: ".spec.cluster" },
        { name: "Repo", type: "string", jsonPath: ".spec.repoName" },
        { name: "Target", type: "string", jsonPath: ".status.target" },
        { name: "Phase", type: "string", jsonPath: ".status.phase" },
        age,
      ],
      specValidations: restoreValidations,
    }),
  ];
}
