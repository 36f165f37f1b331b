/**
 * @module
 * `PostgresBackup` (postgres.tusk.dev/v1): one pgBackRest backup of a cluster to one repository.
 */
import * as z from "zod";
import { Conditions } from "./kube.ts";
import { RepoName } from "./postgres-cluster.ts";

export const PostgresBackupSpec = z.object({
  cluster: z.string().min(1).meta({ description: "Name of the PostgresCluster in this namespace." }),
  repoName: RepoName.meta({ description: "Repository to back up to (repo1..repo4)." }),
  type: z.enum(["full", "diff", "incr"]).default("full").meta({ description: "pgBackRest backup type." }),
  options: z.array(z.string()).optional().meta({ description: "Extra pgBackRest flags (allow-listed)." }),
  deleteFromRepository: z.boolean().optional().meta({
    description: "When true, deleting this object also expires the backup set in the repository.",
  }),
});
export type PostgresBackupSpec = z.infer<typeof PostgresBackupSpec>;

export const PostgresBackupStatus = z.looseObject({
  observedGeneration: z.number().int().optional(),
  phase: z.enum(["Pending", "Running", "Succeeded", "Failed"]).optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  jobName: z.string().optional(),
  backupLabel: z.string().optional(),
  backupType: z.string().optional(),
  size: z.number().optional(),
  repoSize: z.number().optional(),
  walStart: z.string().optional(),
  walStop: z.string().optional(),
  lsnStart: z.string().optional(),
  lsnStop: z.string().optional(),
  retention: z.string().optional(),
  error: z.string().optional(),
  conditions: Conditions.optional(),
});
export type PostgresBackupStatus = z.infer<typeof PostgresBackupStatus>;
