/**
 * @module
 * The PostgresCluster sync hook as a pure function: the parent, its observed children and
 * related Pods in; every desired child and the status out. Randomness and time are injected
 * and used only to generate Secrets and certificates absent from the observed children (or,
 * for certificates, due for renewal: the one moment the output depends on the clock,
 * tls/renewal.ts), so the same request always gives byte-identical output, and feeding the
 * output back as the observed children changes nothing.
 */

import { type ClusterModel, clusterModel } from "../../shared/cluster/model.ts";
import type { FieldProblem } from "../../shared/field-path.ts";
import { ANNOTATION } from "../../shared/labels.ts";
import type { SyncRequest, SyncResponse } from "../../shared/metacontroller.ts";
import { names } from "../../shared/names.ts";
import type { ClusterDeps } from "./deps.ts";
import { buildInstanceSetPdb } from "./instance/pdb.ts";
import { bindingsAfterTheirRoles, buildInstanceRoleBinding } from "./instance/rolebinding.ts";
import { type DesiredInstance, planRollout } from "./instance/rollout.ts";
import { buildInstanceServiceAccount } from "./instance/serviceaccount.ts";
import { buildServices } from "./instance/services.ts";
import { buildInstanceStatefulSet, instancePodTemplate } from "./instance/statefulset.ts";
import { monitoringChildren } from "./monitoring/children.ts";
import { podMonitorsListed } from "./monitoring/podmonitor.ts";
import { sortKeys } from "./objects/canonical.ts";
import {
  asDesired,
  jobState,
  observedAsDesired,
  observedChildren,
  observedInstanceStatefulSets,
  observedPods,
} from "./observe/observed.ts";
import { dynamicConfiguration } from "./patroni/config.ts";
import { buildClusterConfigMap } from "./patroni/configmap.ts";
import { buildPatroniConfigJob, buildSwitchoverJob } from "./patroni/jobs.ts";
import { triggeredSwitchover } from "./patroni/switchover.ts";
import { buildManualBackupJob } from "./pgbackrest/manual-backup.ts";
import { buildPgBackRestConfigMap, hasBackups, pgbackrestCluster } from "./pgbackrest/pgbackrest.ts";
import { planRepoHost, type RepoHostPlan } from "./pgbackrest/repo-host.ts";
import { backupSchedules, buildScheduleCronJob, buildSchedulePingSource } from "./pgbackrest/schedules.ts";
import { buildStanzaCreateJob } from "./pgbackrest/stanza-job.ts";
import { pgbouncerChildren } from "./pgbouncer/children.ts";
import { restoreGate } from "./restore/gate.ts";
import { buildStatus, invalidStatus, type JobReport, leaderPod } from "./status.ts";
import { buildTlsReloadJob } from "./tls/reload-job.ts";
import { tlsSecrets } from "./tls/secrets.ts";
import { internalSecret } from "./users/internal-secret.ts";
import { buildUsersJob } from "./users/job.ts";
import { userSecrets, usersSqlSecret } from "./users/secrets.ts";
import { optionsProblem, usersSql } from "./users/sql.ts";
import { volumeWork } from "./volumes/work.ts";

export type { ClusterDeps } from "./deps.ts";

/** Re-sync soon while something is under way; pods changing also re-trigger a sync. */
const RESYNC_PENDING_SECONDS = 10;
const RESYNC_UNHEALTHY_SECONDS = 30;

type Child = Record<string, unknown> & { kind?: string; metadata?: { name?: string } };

/** Children sorted by kind, then name, each with sorted keys: the response is canonical. */
function canonicalChildren(children: object[]): Record<string, unknown>[] {
  return (children as Child[])
    .map((c) => sortKeys(c))
    .sort((a, b) => `${a.kind}\u0000${a.metadata?.name}`.localeCompare(`${b.kind}\u0000${b.metadata?.name}`));
}

/** Operator-wide settings the adapter reads from its environment; the core stays pure. */
export interface ClusterOptions {
  /**
   * How backup schedules run: `cronjob` (default: a CronJob runs the backup) or `knative`
   * (a PingSource per schedule calls the scheduler function). A cluster can override it with
   * the annotation postgres.tusk.dev/backup-scheduler.
   */
  backupScheduler?: "cronjob" | "knative";
}

export const BACKUP_SCHEDULER_ANNOTATION = "postgres.tusk.dev/backup-scheduler";

export async function syncCluster(
  request: SyncRequest,
  deps: ClusterDeps,
  options: ClusterOptions = {},
): Promise<SyncResponse> {
  const pods = observedPods(request.related);
  const parsed = clusterModel(request.parent);
  if (!parsed.ok) return invalidResponse(request, parsed.problems, pods);
  // Restores, data sources and standby clusters (restore/gate.ts) adjust the model, Jobs, replicas and status.
  const gate = restoreGate({
    model: parsed.model,
    children: request.children,
    related: request.related,
    pods,
    statefulSets: observedInstanceStatefulSets(request.children),
    prevStatus: request.parent.status,
  });
  const model = gate.model;
  const children = request.children;

  const internal = internalSecret(model, children, deps);
  const tls = await tlsSecrets(model, children, deps);
  const users = await userSecrets(model, children, internal.credentials, deps);
  const proxy = await pgbouncerChildren(model, children, deps, tls);
  const monitoring = await monitoringChildren(model, children, deps, {
    podMonitors: podMonitorsListed(request.controller),
  });
  const sql = usersSql(users.users, [...proxy.sql, ...monitoring.sql], model.userSchemas);
  const ignored: string[] = [];
  for (const u of model.users) {
    const problem = u.options ? optionsProblem(u.options) : undefined;
    if (problem) ignored.push(`users ${u.name} options ${problem}`);
  }
  const dynamic = dynamicConfiguration(model);
  ignored.push(...dynamic.ignored, ...proxy.ignored);

  const desired: DesiredInstance[] = model.sets.flatMap((set) =>
    set.instances.map((instance) => ({ set, instance, ...instancePodTemplate(model, set, instance) })),
  );

  const leader = leaderPod(pods);
  const primaryReady = leader?.ready === true && !model.shutdown;
  const jobs: JobReport[] = [];
  const jobChildren: object[] = [];
  /**
   * A Job starts once it can do its work, and is returned exactly as observed while it exists
   * (so it never runs twice and its immutable template is never touched).
   */
  const addJob = (job: ReturnType<typeof buildUsersJob>, what: string, runnable: boolean) => {
    const name = job.metadata!.name!;
    if (gate.holdsJob(job)) return "absent";
    const state = jobState(children, name);
    if (state === "absent" && !runnable) return state;
    const observed = observedChildren(children, "Job")[name];
    jobChildren.push(observed ? asDesired(observed) : job);
    jobs.push({ name, what, state });
    return state;
  };
  const configState = addJob(
    buildPatroniConfigJob(model, dynamic.config),
    "applying the Patroni configuration",
    primaryReady,
  );
  addJob(buildUsersJob(model, sql), "creating users and databases", primaryReady);
  const tlsReload = buildTlsReloadJob(model, tls);
  if (tlsReload)
    addJob(
      tlsReload,
      "reloading Postgres for its new server certificate",
      primaryReady && desired.every((d) => pods.get(d.instance.pod)?.ready === true),
    );
  const backups = backupsOf(model, request.parent.metadata.annotations ?? {}, options, children);
  if (hasBackups(model)) {
    const stanza = buildStanzaCreateJob(pgbackrestCluster(model));
    if (stanza) addJob(stanza, "creating the pgBackRest stanza", primaryReady);
    const trigger = request.parent.metadata.annotations?.[ANNOTATION.backupTrigger];
    const manual = trigger ? buildManualBackupJob(pgbackrestCluster(model), trigger) : undefined;
    if (manual) addJob(manual, `manual backup ${trigger}`, primaryReady);
  }

  const plan = gate.applyTo(
    planRollout({
      model,
      desired,
      statefulSets: observedInstanceStatefulSets(children),
      pods,
      configApplied: configState === "succeeded",
    }),
  );
  if (plan.switchover)
    addJob(buildSwitchoverJob(model, plan.switchover.leader, plan.switchover.candidate), "switchover", true);
  // postgres.tusk.dev/trigger-switchover: one Job per value, reported in the Switchover condition.
  const trigger = triggeredSwitchover({
    model,
    annotations: request.parent.metadata.annotations,
    children,
    pods,
    rollingSwitchover: plan.switchover !== undefined,
  });
  jobChildren.push(...trigger.children);
  jobs.push(...trigger.jobs);

  const volumes = volumeWork(model, request.parent.metadata.annotations, children, request.related, pods);
  jobs.push(...volumes.reports);

  const statefulSets = plan.instances.map((p) => {
    if (!p.desired) {
      // A retiring instance kept for now: exactly as observed, apart from its replica count.
      const kept = observedAsDesired({ x: { [p.name]: p.observed!.raw } })[0]!;
      return { ...kept, spec: { ...(kept.spec as object), replicas: p.replicas } };
    }
    return buildInstanceStatefulSet(model, p.desired.set, p.desired.instance, {
      replicas: p.replicas,
      template: p.template,
      ...(p.observed ? { observed: p.observed.raw } : {}),
    });
  });

  const out = canonicalChildren(
    bindingsAfterTheirRoles(
      [
        buildClusterConfigMap(model),
        ...buildServices(model),
        buildInstanceServiceAccount(model),
        buildInstanceRoleBinding(model),
        ...model.sets.flatMap((set) => buildInstanceSetPdb(model, set) ?? []),
        internal.secret,
        ...tls,
        ...users.secrets,
        usersSqlSecret(model, sql),
        ...statefulSets,
        ...jobChildren,
        ...backups.children,
        ...volumes.children,
        ...gate.children,
        ...proxy.children,
        ...monitoring.children,
      ],
      children,
    ),
  );

  const status = gate.status(buildStatus({ model, desired, pods, plan, jobs, ignored }));
  status.conditions = [
    ...(status.conditions ?? []),
    ...volumes.conditions,
    ...trigger.conditions,
    ...repoHostCondition(backups.repoHost),
  ];
  const busy =
    plan.progress.length > 0 ||
    jobs.some((j) => j.state === "running") ||
    plan.switchover !== undefined ||
    backups.repoHost.recreating !== undefined;
  const unhealthy =
    !model.shutdown && (!primaryReady || desired.some((d) => pods.get(`${d.instance.name}-0`)?.ready !== true));
  const resync = busy ? RESYNC_PENDING_SECONDS : unhealthy ? RESYNC_UNHEALTHY_SECONDS : undefined;
  return {
    status: status as Record<string, unknown>,
    children: out,
    ...(resync !== undefined ? { resyncAfterSeconds: resync } : {}),
  };
}

/** Never delete a cluster's children because its spec is bad: return them unchanged. */
function invalidResponse(
  request: SyncRequest,
  problems: FieldProblem[],
  pods: ReturnType<typeof observedPods>,
): SyncResponse {
  return {
    status: invalidStatus(problems, pods, request.parent.metadata.generation) as Record<string, unknown>,
    children: canonicalChildren(observedAsDesired(request.children)),
  };
}

/** The pgBackRest configuration, the repository host and one schedule object per schedule. */
function backupsOf(
  model: ClusterModel,
  annotations: Record<string, string>,
  options: ClusterOptions,
  children: SyncRequest["children"],
): { children: object[]; repoHost: RepoHostPlan } {
  if (!hasBackups(model)) return { children: [], repoHost: {} };
  const cluster = pgbackrestCluster(model);
  const annotated = annotations[BACKUP_SCHEDULER_ANNOTATION];
  const scheduler =
    annotated === "knative" || annotated === "cronjob" ? annotated : (options.backupScheduler ?? "cronjob");
  const schedules = backupSchedules(cluster).flatMap((s) => {
    const built =
      scheduler === "knative"
        ? buildSchedulePingSource(cluster, s.repoName, s.type, s.schedule)
        : buildScheduleCronJob(cluster, s.repoName, s.type, s.schedule);
    return built ? [built] : [];
  });
  const repoHost = planRepoHost(model, observedChildren(children, "StatefulSet")[names.repoHost(model.name)]);
  return {
    children: [buildPgBackRestConfigMap(model), ...(repoHost.child ? [repoHost.child] : []), ...schedules],
    repoHost,
  };
}

/** The condition that explains a repository host missing while it is created again. */
function repoHostCondition(plan: RepoHostPlan): { type: string; status: "False"; reason: string; message: string }[] {
  if (!plan.recreating) return [];
  const { added, removed } = plan.recreating;
  const change = [
    ...(added.length ? [`added ${added.join(", ")}`] : []),
    ...(removed.length ? [`removed ${removed.join(", ")}`] : []),
  ].join("; ");
  return [
    {
      type: "RepoHostReady",
      status: "False" as const,
      reason: "Recreating",
      message: `the repository host's volumes changed (${change || "its old StatefulSet is still being deleted"}); a StatefulSet's volume claims cannot change, so it is deleted and created again: each repository keeps its claim`,
    },
  ];
}
