/**
 * @module
 * The three CustomResourceDefinitions Tusk installs, built from the zod schemas.
 */
import { buildCrd } from "./crd.ts";
import { PostgresBackupSpec, PostgresBackupStatus } from "./postgres-backup.ts";
import { PostgresClusterSpec, PostgresClusterStatus } from "./postgres-cluster.ts";
import { PostgresRestoreSpec, PostgresRestoreStatus } from "./postgres-restore.ts";

const age = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" } as const;

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
      specValidations: [
        {
          rule: "self.instances.all(a, self.instances.exists_one(b, a.name == b.name))",
          message: "instance set names must be unique",
        },
        {
          rule: "!has(self.backups) || !has(self.backups.pgbackrest) || self.backups.pgbackrest.repos.all(a, self.backups.pgbackrest.repos.exists_one(b, a.name == b.name))",
          message: "repo names must be unique",
        },
        {
          rule: "!has(oldSelf.postgresVersion) || self.postgresVersion == oldSelf.postgresVersion",
          message: "postgresVersion cannot change on an existing cluster; a major upgrade needs its own procedure",
        },
      ],
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
      specValidations: [{ rule: "self == oldSelf", message: "a PostgresRestore spec is immutable" }],
    }),
  ];
}
