/**
 * @module
 * The cluster's pgBackRest repository side for sync.ts: the configuration ConfigMap, the
 * repository host (for volume repositories) and one schedule object per backup schedule. The
 * Jobs that run against the primary (stanza creation, a manual backup) are started by sync.ts
 * with the other Jobs, because they wait for the primary and for restores like them.
 */
import type { Condition } from "../../../shared/api/kube.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { type Part, part } from "../part.ts";
import { buildPgBackRestConfigMap, hasBackups, pgbackrestCluster } from "./pgbackrest.ts";
import { planRepoHost, type RepoHostPlan } from "./repo-host.ts";
import { backupSchedules, buildScheduleCronJob, buildSchedulePingSource } from "./schedules.ts";

/** How backup schedules run: a CronJob runs the backup, or a Knative PingSource calls the scheduler function. */
export type BackupScheduler = "cronjob" | "knative";

/** Overrides the operator-wide scheduler for one cluster. */
export const BACKUP_SCHEDULER_ANNOTATION = "postgres.tusk.dev/backup-scheduler";

export function repositoryPart(model: ClusterModel, observed: ObservedCluster, scheduler: BackupScheduler): Part {
  if (!hasBackups(model)) return part();
  const cluster = pgbackrestCluster(model);
  const annotated = observed.annotations[BACKUP_SCHEDULER_ANNOTATION];
  const chosen = annotated === "knative" || annotated === "cronjob" ? annotated : scheduler;
  const schedules = backupSchedules(cluster).flatMap((s) => {
    const built =
      chosen === "knative"
        ? buildSchedulePingSource(cluster, s.repoName, s.type, s.schedule)
        : buildScheduleCronJob(cluster, s.repoName, s.type, s.schedule);
    return built ? [built] : [];
  });
  const repoHost = planRepoHost(model, observed.child("StatefulSet", names.repoHost(model.name)));
  return part({
    children: [buildPgBackRestConfigMap(model), ...(repoHost.child ? [repoHost.child] : []), ...schedules],
    conditions: repoHostCondition(repoHost),
    busy: repoHost.recreating !== undefined,
  });
}

/** The condition that explains a repository host missing while it is created again. */
function repoHostCondition(plan: RepoHostPlan): Condition[] {
  if (!plan.recreating) return [];
  const { added, removed } = plan.recreating;
  const change = [
    ...(added.length ? [`added ${added.join(", ")}`] : []),
    ...(removed.length ? [`removed ${removed.join(", ")}`] : []),
  ].join("; ");
  return [
    {
      type: "RepoHostReady",
      status: "False",
      reason: "Recreating",
      message: `the repository host's volumes changed (${change || "its old StatefulSet is still being deleted"}); a StatefulSet's volume claims cannot change, so it is deleted and created again: each repository keeps its claim`,
    },
  ];
}
