/**
 * @module
 * `PostgresRestore` (postgres.tusk.dev/v1): an in-place restore of a cluster from a repository.
 */
import * as z from "zod";
import { Conditions } from "./kube.ts";
import { RepoName } from "./postgres-cluster.ts";

export const RestoreTarget = z
  .object({
    type: z.enum(["latest", "time", "lsn", "name", "xid", "immediate"]).default("latest"),
    value: z.string().optional().meta({ description: "The target for time, lsn, name and xid." }),
  })
  .meta({ description: "Where recovery stops; latest replays all archived WAL." });
export type RestoreTarget = z.infer<typeof RestoreTarget>;

export const PostgresRestoreSpec = z.object({
  cluster: z.string().min(1).meta({ description: "Name of the PostgresCluster in this namespace." }),
  repoName: RepoName,
  target: RestoreTarget.optional(),
  backupSet: z.string().optional().meta({ description: "A pgBackRest backup label to restore from." }),
  options: z.array(z.string()).optional().meta({ description: "Extra pgBackRest flags (allow-listed)." }),
});
export type PostgresRestoreSpec = z.infer<typeof PostgresRestoreSpec>;

export const PostgresRestoreStatus = z.looseObject({
  observedGeneration: z.number().int().optional(),
  phase: z.enum(["Pending", "ScalingDown", "Restoring", "Starting", "Succeeded", "Failed"]).optional(),
  target: z.string().optional(),
  backupSet: z.string().optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  error: z.string().optional(),
  conditions: Conditions.optional(),
});
export type PostgresRestoreStatus = z.infer<typeof PostgresRestoreStatus>;
