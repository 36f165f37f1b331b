/**
 * @module
 * The PostgresCluster sync hook as a pure function: the parent, its observed children and
 * related Pods in; every desired child and the status out. It runs one linear chain:
 *
 *   observe (observe/cluster.ts: the request parsed once)
 *   → plan (the restore gate, the rollout, which Jobs may run)
 *   → parts (each concern's children, Jobs, conditions and ignored settings, in one shape: part.ts)
 *   → assemble (the children, canonical and sorted)
 *   → status (status.ts, in one place).
 *
 * Randomness and time are injected and used only to generate Secrets and certificates absent
 * from the observed children (or, for certificates, due for renewal: the one moment the output
 * depends on the clock, tls/renewal.ts), so the same request always gives byte-identical
 * output, and feeding the output back as the observed children changes nothing.
 */

import type { V1Job } from "@kubernetes/client-node";
import { type ClusterModel, clusterModel } from "../../shared/cluster/model.ts";
import { ANNOTATION, LABEL } from "../../shared/labels.ts";
import type { SyncRequest, SyncResponse } from "../../shared/metacontroller.ts";
import type { ClusterDeps } from "./deps.ts";
import { buildInstanceSetPdb } from "./instance/pdb.ts";
import { bindingsAfterTheirRoles, buildInstanceRoleBinding } from "./instance/rolebinding.ts";
import { type DesiredInstance, planRollout, type RolloutPlan } from "./instance/rollout.ts";
import { buildInstanceServiceAccount } from "./instance/serviceaccount.ts";
import { buildServices } from "./instance/services.ts";
import { buildInstanceStatefulSet, instancePodTemplate } from "./instance/statefulset.ts";
import { lostCredentials, lostCredentialsMessage } from "./lost-credentials.ts";
import { monitoringChildren } from "./monitoring/children.ts";
import { sortKeys } from "./objects/canonical.ts";
import { jobChild } from "./objects/job.ts";
import { type ObservedCluster, observeCluster } from "./observe/cluster.ts";
import { asDesired, type JobState } from "./observe/observed.ts";
import { combine, type Part, part } from "./part.ts";
import { dynamicConfiguration } from "./patroni/config.ts";
import { buildClusterConfigMap } from "./patroni/configmap.ts";
import { buildPatroniConfigJob, buildSwitchoverJob } from "./patroni/jobs.ts";
import { triggeredSwitchover } from "./patroni/switchover.ts";
import { type BackupScheduler, repositoryPart } from "./pgbackrest/children.ts";
import { buildManualBackupJob } from "./pgbackrest/manual-backup.ts";
import { hasBackups, pgbackrestCluster } from "./pgbackrest/pgbackrest.ts";
import { repoRemovalMessage, unauthorizedRepoRemoval } from "./pgbackrest/removal.ts";
import { buildStanzaCreateJob } from "./pgbackrest/stanza-job.ts";
import { pgbouncerChildren } from "./pgbouncer/children.ts";
import { type Gate, gatedRollout, restoreGate } from "./restore/gate.ts";
import { clusterStatus, heldStatus, invalidStatus, leaderPod } from "./status.ts";
import { buildTlsReloadJob } from "./tls/reload-job.ts";
import { tlsSecrets } from "./tls/secrets.ts";
import { internalSecret } from "./users/internal-secret.ts";
import { buildUsersJob } from "./users/job.ts";
import { userSecrets, usersSqlSecret } from "./users/secrets.ts";
import { optionsProblem, usersSql } from "./users/sql.ts";
import { volumeWork } from "./volumes/work.ts";

export type { ClusterDeps } from "./deps.ts";
export { BACKUP_SCHEDULER_ANNOTATION } from "./pgbackrest/children.ts";

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
   * How backup schedules run: `cronjob` (default) or `knative`. A cluster can override it with
   * the annotation postgres.tusk.dev/backup-scheduler.
   */
  backupScheduler?: BackupScheduler;
}

export async function syncCluster(
  request: SyncRequest,
  deps: ClusterDeps,
  options: ClusterOptions = {},
): Promise<SyncResponse> {
  // Observe.
  const observed = observeCluster(request);
  const parsed = clusterModel(request.parent);
  if (!parsed.ok)
    // Never delete a cluster's children because its spec is bad: return them unchanged.
    return {
      status: invalidStatus(
        parsed.problems,
        observed.pods,
        request.parent.metadata.generation,
        observed.initialized,
      ) as Record<string, unknown>,
      children: canonicalChildren(observed.asDesired()),
    };

  // Hold everything as observed, and say why, when going on would lose something: credentials
  // the database and its clients have, or a backup repository removed without confirmation.
  const lost = await lostCredentials(parsed.model, observed, deps.pki);
  const removed = unauthorizedRepoRemoval(parsed.model, observed);
  const hold = lost.length
    ? { reason: "CredentialsLost" as const, message: lostCredentialsMessage(lost) }
    : removed.length
      ? { reason: "BackupRemovalNotAuthorized" as const, message: repoRemovalMessage(parsed.model, removed) }
      : undefined;
  if (hold)
    return {
      status: heldStatus(hold, observed.pods, request.parent.metadata.generation, observed.initialized) as Record<
        string,
        unknown
      >,
      children: canonicalChildren(observed.asDesired()),
      resyncAfterSeconds: RESYNC_UNHEALTHY_SECONDS,
    };

  // Plan: what restores hold, which instances run what, and whether the primary takes work.
  const gate = restoreGate(parsed.model, observed);
  const model = gate.model;
  const desired: DesiredInstance[] = model.sets.flatMap((set) =>
    set.instances.map((instance) => ({ set, instance, ...instancePodTemplate(model, set, instance) })),
  );
  const primaryReady = leaderPod(observed.pods)?.ready === true && !model.shutdown;
  const run = (job: V1Job, what: string, runnable: boolean) => runJob(observed, gate, job, what, runnable);

  // Parts: credentials first (the users SQL needs every role's), then the Jobs, then the rest.
  const internal = internalSecret(model, observed, deps);
  const tls = await tlsSecrets(model, observed, deps);
  const users = await userSecrets(model, observed, internal.credentials, deps);
  const proxy = part(await pgbouncerChildren(model, observed, deps, tls));
  const monitoring = part(await monitoringChildren(model, observed, deps));
  const sql = usersSql(users.users, [...proxy.sql, ...monitoring.sql], model.userSchemas);
  const secrets = part({
    children: [internal.secret, ...tls, ...users.secrets, usersSqlSecret(model, sql)],
    ignored: model.users.flatMap((u) => {
      const problem = u.options ? optionsProblem(u.options) : undefined;
      return problem ? [`users ${u.name} options ${problem}`] : [];
    }),
  });
  const dynamic = dynamicConfiguration(model);
  const patroniConfig = run(
    buildPatroniConfigJob(model, dynamic.config),
    "applying the Patroni configuration",
    primaryReady,
  );
  const usersJob = run(buildUsersJob(model, sql), "creating users and databases", primaryReady);
  const tlsReload = buildTlsReloadJob(model, tls);
  const tlsReloadJob = tlsReload
    ? run(
        tlsReload,
        "reloading Postgres for its new server certificate",
        primaryReady && desired.every((d) => observed.pods.get(d.instance.pod)?.ready === true),
      )
    : part();
  const backupJobs = hasBackups(model) ? backupJobsPart(model, observed, run, primaryReady) : part();

  const plan = gatedRollout(
    planRollout({
      model,
      desired,
      statefulSets: observed.instanceStatefulSets,
      pods: observed.pods,
      configApplied: patroniConfig.state === "succeeded",
    }),
    gate,
  );
  const rollingSwitchover = plan.switchover
    ? run(buildSwitchoverJob(model, plan.switchover.leader, plan.switchover.candidate), "switchover", true)
    : part();
  // postgres.tusk.dev/trigger-switchover: one Job per value, reported in the Switchover condition.
  const trigger = triggeredSwitchover({ model, observed, rollingSwitchover: plan.switchover !== undefined });

  const parts = combine([
    instancePart(model, plan),
    secrets,
    { ...patroniConfig, ignored: dynamic.ignored },
    usersJob,
    tlsReloadJob,
    backupJobs,
    rollingSwitchover,
    trigger,
    volumeWork(model, observed),
    repositoryPart(model, observed, options.backupScheduler ?? "cronjob"),
    gate.part,
    proxy,
    monitoring,
  ]);

  // Assemble.
  const children = canonicalChildren(bindingsAfterTheirRoles(parts.children, observed));

  // Status.
  const status = clusterStatus({
    model,
    desired,
    pods: observed.pods,
    plan,
    parts,
    gate: gate.status,
    initialized: observed.initialized,
  });
  const busy =
    plan.progress.length > 0 ||
    parts.jobs.some((j) => j.state === "running") ||
    plan.switchover !== undefined ||
    parts.busy;
  const unhealthy =
    !model.shutdown &&
    (!primaryReady || desired.some((d) => observed.pods.get(`${d.instance.name}-0`)?.ready !== true));
  const resync = busy ? RESYNC_PENDING_SECONDS : unhealthy ? RESYNC_UNHEALTHY_SECONDS : undefined;
  return {
    status: status as Record<string, unknown>,
    children,
    ...(resync !== undefined ? { resyncAfterSeconds: resync } : {}),
  };
}

type RunJob = (job: V1Job, what: string, runnable: boolean) => Part & { state: JobState };

/**
 * A Job starts once it can do its work and the gate does not hold it, and is returned exactly
 * as observed while it exists (so it never runs twice and its immutable template is never
 * touched). A held Job is left out, even when observed, so it runs again once released.
 */
function runJob(
  observed: ObservedCluster,
  gate: Gate,
  job: V1Job,
  what: string,
  runnable: boolean,
): Part & { state: JobState } {
  if (gate.heldJobs.has(job.metadata?.labels?.[LABEL.component] ?? "")) return { ...part(), state: "absent" };
  const out = jobChild(observed, job, what, runnable);
  return {
    ...part({ children: out.child ? [out.child] : [], jobs: out.report ? [out.report] : [] }),
    state: out.state,
  };
}

/** The instances: Patroni's ConfigMap, Services, identity, disruption budgets and StatefulSets. */
function instancePart(model: ClusterModel, plan: RolloutPlan): Part {
  const statefulSets = plan.instances.map((p) => {
    if (!p.desired) {
      // A retiring instance kept for now: exactly as observed, apart from its replica count.
      const kept = asDesired(p.observed!.raw);
      return { ...kept, spec: { ...(kept.spec as object), replicas: p.replicas } };
    }
    return buildInstanceStatefulSet(model, p.desired.set, p.desired.instance, {
      replicas: p.replicas,
      template: p.template,
      ...(p.observed ? { observed: p.observed.raw } : {}),
    });
  });
  return part({
    children: [
      buildClusterConfigMap(model),
      ...buildServices(model),
      buildInstanceServiceAccount(model),
      buildInstanceRoleBinding(model),
      ...model.sets.flatMap((set) => buildInstanceSetPdb(model, set) ?? []),
      ...statefulSets,
    ],
  });
}

/** Stanza creation and a manual backup (`postgres.tusk.dev/pgbackrest-backup`), against the primary. */
function backupJobsPart(model: ClusterModel, observed: ObservedCluster, run: RunJob, primaryReady: boolean): Part {
  const cluster = pgbackrestCluster(model);
  const stanza = buildStanzaCreateJob(cluster);
  const trigger = observed.annotations[ANNOTATION.backupTrigger];
  const manual = trigger ? buildManualBackupJob(cluster, trigger) : undefined;
  return combine([
    stanza ? run(stanza, "creating the pgBackRest stanza", primaryReady) : part(),
    manual ? run(manual, `manual backup ${trigger}`, primaryReady) : part(),
  ]);
}
