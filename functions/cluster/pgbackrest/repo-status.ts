/**
 * @module
 * What the cluster publishes about its S3 repositories, as a pure addition to the sync hook's
 * answer. The adapter (app.ts) reads each repository's info files from its bucket
 * (`shared/io/repo-reads.ts`) and hands the result in; this core turns the request and that
 * result into `status.pgbackrest.repos[]` (a bounded summary per S3 repo: counts, the latest,
 * latest full and oldest backup, the newest labels, the recoverability window, or why it could
 * not be read), the `RepoReadable` condition and `status.lastBackup`; the restore hook judges a
 * PostgresRestore against it. The same request and the same reads give the same answer, and an
 * answer fed back as the parent's status changes nothing.
 *
 * The credentials are the user's: the Secrets and ConfigMaps `backups.pgbackrest.configuration`
 * projects into the pods, which the customize hook asks Metacontroller for by name (it already
 * manages the cluster's Secrets), so the functions' own ServiceAccount reads no Secret.
 */
import type { Condition } from "../../../shared/api/kube.ts";
import { PostgresClusterSpec } from "../../../shared/api/postgres-cluster.ts";
import {
  type CustomizeRequest,
  observedOf,
  type RelatedResourceRule,
  type SyncRequest,
  type SyncResponse,
} from "../../../shared/metacontroller.ts";
import {
  configurationSources,
  planS3Reads,
  type S3ReadPlan,
  type SourceKind,
} from "../../../shared/pgbackrest/repo-access.ts";
import {
  type PublishedRepo,
  publishedRepo,
  type RepoReads,
  unreadableRepo,
} from "../../../shared/pgbackrest/repo-summary.ts";
import { AWAITING_READ_REASONS } from "../../../shared/restore/target.ts";

export const REPO_READABLE_CONDITION = "RepoReadable";

/** Re-sync this soon while a read is still running (its result is cached by then). */
export const RESYNC_READING_SECONDS = 10;

const RESOURCES: Record<SourceKind, string> = { Secret: "secrets", ConfigMap: "configmaps" };

function specOf(parent: { spec?: unknown }): PostgresClusterSpec | undefined {
  const parsed = PostgresClusterSpec.safeParse(parent.spec ?? {});
  return parsed.success ? parsed.data : undefined;
}

/**
 * Customize rules for the Secrets and ConfigMaps `configuration` names, when the cluster has an
 * S3 repository: the sync hook finds the repositories' keys and CAs among its related objects.
 */
export function configurationRules(request: CustomizeRequest): RelatedResourceRule[] {
  const spec = specOf(request.parent);
  if (!spec?.backups?.pgbackrest?.repos.some((r) => r.s3)) return [];
  const sources = configurationSources(spec.backups.pgbackrest.configuration);
  return (["Secret", "ConfigMap"] as const).flatMap((kind) => {
    const names = [...new Set(sources.filter((s) => s.kind === kind).map((s) => s.name))].sort();
    return names.length ? [{ apiVersion: "v1", resource: RESOURCES[kind], names }] : [];
  });
}

/** The S3 repositories of the request's cluster and how to read them (pure: spec and related objects). */
export function repoReadPlan(request: SyncRequest): S3ReadPlan[] {
  const spec = specOf(request.parent);
  if (!spec) return [];
  return planS3Reads(spec, (kind, name) => observedOf(request.related, kind, "v1")[name]);
}

/**
 * The repos a PostgresRestore of this cluster waits to see read again (a backup that finished
 * after the last read): the adapter reads them early instead of up to a minute later. The
 * restore's own status change is what syncs the cluster, so a restore that waits for a set that
 * never comes costs one early read, not a loop.
 */
export function reposAwaitedByRestores(request: SyncRequest): string[] {
  const restores = observedOf<{
    spec?: { cluster?: unknown; repoName?: unknown };
    status?: { phase?: unknown; conditions?: { reason?: unknown }[] };
  }>(request.related, "PostgresRestore", "postgres.tusk.dev/v1");
  const awaited = Object.values(restores).flatMap((r) => {
    const reason = Array.isArray(r?.status?.conditions) ? r.status.conditions[0]?.reason : undefined;
    const waiting =
      r?.status?.phase === "Pending" && typeof reason === "string" && AWAITING_READ_REASONS.includes(reason);
    return waiting && r.spec?.cluster === request.parent.metadata.name && typeof r.spec.repoName === "string"
      ? [r.spec.repoName]
      : [];
  });
  return [...new Set(awaited)].sort();
}

/** The entry the parent's status holds for a repo now (compared by the adapter with its own reads). */
export function currentlyPublished(request: SyncRequest, repoName: string): unknown {
  const status = request.parent.status as { pgbackrest?: { repos?: { name?: unknown }[] } } | undefined;
  const repos = status?.pgbackrest?.repos;
  return Array.isArray(repos) ? repos.find((r) => r?.name === repoName) : undefined;
}

function readableCondition(repos: PublishedRepo[], generation: number | undefined): Condition {
  const gen = generation !== undefined ? { observedGeneration: generation } : {};
  const bad = repos.filter((r) => r.state === "NotReadable" || r.state === "ReadFailed");
  if (bad.length)
    return {
      type: REPO_READABLE_CONDITION,
      status: "False",
      reason: bad[0]!.state,
      message: bad.map((r) => `${r.name}: ${r.message}`).join("; "),
      ...gen,
    };
  const reading = repos.filter((r) => r.state === "Reading");
  if (reading.length)
    return {
      type: REPO_READABLE_CONDITION,
      status: "Unknown",
      reason: "Reading",
      message: `reading ${reading.map((r) => r.name).join(", ")} from the bucket`,
      ...gen,
    };
  return {
    type: REPO_READABLE_CONDITION,
    status: "True",
    reason: "Read",
    message: repos
      .map((r) =>
        r.state === "NoStanza"
          ? `${r.name}: no stanza yet`
          : `${r.name}: ${r.backups?.count ?? 0} backup(s)${r.backups?.latest ? `, the latest ${r.backups.latest.label} (${r.backups.latest.type}) done ${r.backups.latest.stopTime}` : ""}`,
      )
      .join("; "),
    ...gen,
  };
}

/**
 * The sync answer with the S3 repositories' status added. A cluster without S3 repositories (or
 * with an invalid spec) is answered unchanged.
 */
export function withRepoStatus(request: SyncRequest, response: SyncResponse, reads: RepoReads): SyncResponse {
  const plans = repoReadPlan(request);
  if (plans.length === 0 || response.status.phase === "Invalid") return response;
  const repos = plans.map((plan) =>
    "problem" in plan
      ? unreadableRepo(plan.repoName, plan.problem)
      : publishedRepo(plan.repoName, reads[plan.repoName]?.status),
  );
  const pending = plans.some((p) => !("problem" in p) && (reads[p.repoName]?.pending ?? true));
  const stops = repos.flatMap((r) => (r.backups?.latest ? [r.backups.latest.stopTime] : [])).sort();
  const status = response.status as Record<string, unknown> & { conditions?: Condition[]; pgbackrest?: unknown };
  const conditions = (status.conditions ?? []).filter((c) => c.type !== REPO_READABLE_CONDITION);
  const pgbackrest = { ...((status.pgbackrest as Record<string, unknown> | undefined) ?? {}), repos };
  const out: SyncResponse = {
    ...response,
    status: {
      ...status,
      pgbackrest,
      ...(stops.length ? { lastBackup: stops[stops.length - 1] } : {}),
      conditions: [...conditions, readableCondition(repos, request.parent.metadata.generation)],
    },
  };
  if (pending)
    out.resyncAfterSeconds = Math.min(response.resyncAfterSeconds ?? RESYNC_READING_SECONDS, RESYNC_READING_SECONDS);
  return out;
}
