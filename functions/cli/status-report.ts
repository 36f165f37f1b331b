/**
 * @module
 * `tusk status` as a pure function of what the API server returned: the cluster (spec and the
 * status the hook published), its Pods (Patroni's role label and its member annotation) and
 * its PostgresBackups. Instances come from the spec's names, so a missing pod shows up.
 */

import { LABEL, PATRONI_LEADER_VALUE } from "../../shared/labels.ts";
import { instanceSetName, names } from "../../shared/names.ts";
import type { KubeObject } from "./kube.ts";
import { age, bytes, table } from "./output.ts";

type Obj = Record<string, unknown>;

interface InstanceReport {
  name: string;
  pod: string;
  set: string;
  /** primary, replica, or unknown (no Patroni role yet); missing when there is no pod. */
  role: string;
  ready: boolean;
  /** Bytes of WAL behind the primary, from Patroni's member data; null when unknown. */
  lagBytes: number | null;
  state: string;
  timeline: number | null;
}

interface RepoReport {
  name: string;
  type: string;
  lastBackup: { name?: string; type?: string; label?: string; completed?: string } | null;
  recoverability: { earliest: string; latest: string } | null;
}

export interface ClusterReport {
  name: string;
  namespace: string;
  phase: string;
  postgresVersion: number | null;
  primary: string | null;
  readyInstances: string | null;
  shutdown: boolean;
  instances: InstanceReport[];
  repos: RepoReport[];
  conditions: { type: string; status: string; reason: string; message: string }[];
}

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Patroni (Kubernetes DCS) keeps each member's state in the pod annotation `status` as JSON. */
function patroniMember(pod: KubeObject): Obj {
  const raw = pod.metadata?.annotations?.status;
  if (!raw) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    return isObj(v) ? v : {};
  } catch {
    return {};
  }
}

function podReady(pod: KubeObject): boolean {
  const conditions = (pod.status as Obj | undefined)?.conditions;
  return Array.isArray(conditions) && conditions.some((c) => isObj(c) && c.type === "Ready" && c.status === "True");
}

function repoType(repo: Obj): string {
  return ["volume", "s3", "gcs", "azure"].find((t) => t in repo) ?? "unknown";
}

/**
 * What the hooks publish about a repository (issue 5): read loosely, as `status.repos[]` or
 * `status.pgbackrest.repos[]`, so the report shows it as soon as the backup work writes it.
 */
function publishedRepo(status: Obj, repo: string): Obj | undefined {
  const lists = [status.repos, isObj(status.pgbackrest) ? status.pgbackrest.repos : undefined];
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    const found = list.find((r) => isObj(r) && (r.name === repo || r.repoName === repo));
    if (isObj(found)) return found;
  }
  return undefined;
}

function window(published: Obj | undefined): RepoReport["recoverability"] {
  if (!published) return null;
  const w = published.recoverability ?? published.recoverabilityWindow ?? published.window;
  if (!isObj(w)) return null;
  const earliest = str(w.earliest) ?? str(w.start) ?? str(w.from);
  const latest = str(w.latest) ?? str(w.end) ?? str(w.to);
  return earliest && latest ? { earliest, latest } : null;
}

function lastFromBackups(backups: KubeObject[], cluster: string, repo: string): RepoReport["lastBackup"] {
  const done = backups
    .filter((b) => b.spec?.cluster === cluster && b.spec?.repoName === repo && b.status?.phase === "Succeeded")
    .map((b) => ({ b, completed: str(b.status?.completionTime) ?? "" }))
    .sort((x, y) => y.completed.localeCompare(x.completed));
  const top = done[0];
  if (!top) return null;
  return {
    name: top.b.metadata?.name ?? "",
    type: str(top.b.status?.backupType) ?? str(top.b.spec?.type) ?? "",
    ...(str(top.b.status?.backupLabel) ? { label: str(top.b.status?.backupLabel) } : {}),
    ...(top.completed ? { completed: top.completed } : {}),
  };
}

function lastFromStatus(published: Obj | undefined): RepoReport["lastBackup"] {
  // The cluster's read of an S3 bucket (shared/pgbackrest/repo-summary.ts) says `backups.latest`.
  const backups = published?.backups;
  const last = isObj(backups) && isObj(backups.latest) ? backups.latest : published?.lastBackup;
  if (typeof last === "string") return { label: last };
  if (!isObj(last)) return null;
  const completed = str(last.completed) ?? str(last.completionTime) ?? str(last.stopTime) ?? str(last.time);
  return {
    ...(str(last.label) ? { label: str(last.label) } : {}),
    ...(str(last.type) ? { type: str(last.type) } : {}),
    ...(completed ? { completed } : {}),
  };
}

export function clusterReport(cluster: KubeObject, pods: KubeObject[], backups: KubeObject[]): ClusterReport {
  const name = cluster.metadata?.name ?? "";
  const spec = (cluster.spec ?? {}) as Obj;
  const status = (cluster.status ?? {}) as Obj;
  const podsByName = new Map(pods.map((p) => [p.metadata?.name ?? "", p]));
  const members = new Map(pods.map((p) => [p.metadata?.name ?? "", patroniMember(p)]));
  const leader = pods.find((p) => p.metadata?.labels?.[LABEL.patroniRole] === PATRONI_LEADER_VALUE);
  const leaderLsn = leader ? members.get(leader.metadata?.name ?? "")?.xlog_location : undefined;

  const sets = Array.isArray(spec.instances) ? (spec.instances as Obj[]) : [];
  const instances: InstanceReport[] = sets.flatMap((set, index) => {
    const setName = instanceSetName(str(set.name), index);
    const count = typeof set.replicas === "number" ? set.replicas : 1;
    return Array.from({ length: count }, (_, ordinal) => {
      const instance = names.instance(name, setName, ordinal);
      const podName = names.pod(instance);
      const pod = podsByName.get(podName);
      const member = members.get(podName) ?? {};
      const roleLabel = pod?.metadata?.labels?.[LABEL.patroniRole];
      const role = !pod
        ? "missing"
        : roleLabel === PATRONI_LEADER_VALUE
          ? "primary"
          : (roleLabel ?? str(member.role) ?? "unknown");
      const lsn = member.xlog_location;
      const lagBytes =
        role === "primary"
          ? 0
          : typeof lsn === "number" && typeof leaderLsn === "number"
            ? Math.max(0, leaderLsn - lsn)
            : null;
      return {
        name: instance,
        pod: podName,
        set: setName,
        role,
        ready: pod ? podReady(pod) : false,
        lagBytes,
        state:
          str(member.replication_state) ?? str(member.state) ?? (pod ? (str((pod.status as Obj)?.phase) ?? "") : ""),
        timeline: typeof member.timeline === "number" ? member.timeline : null,
      };
    });
  });

  const backupSpec = isObj(spec.backups) && isObj(spec.backups.pgbackrest) ? spec.backups.pgbackrest : {};
  const repos: RepoReport[] = (Array.isArray(backupSpec.repos) ? (backupSpec.repos as Obj[]) : []).map((repo) => {
    const repoName = str(repo.name) ?? "";
    const published = publishedRepo(status, repoName);
    return {
      name: repoName,
      type: repoType(repo),
      lastBackup: lastFromBackups(backups, name, repoName) ?? lastFromStatus(published),
      recoverability: window(published),
    };
  });

  const conditions = (Array.isArray(status.conditions) ? (status.conditions as Obj[]) : []).map((c) => ({
    type: str(c.type) ?? "",
    status: str(c.status) ?? "",
    reason: str(c.reason) ?? "",
    message: str(c.message) ?? "",
  }));
  return {
    name,
    namespace: cluster.metadata?.namespace ?? "",
    phase: str(status.phase) ?? "Unknown",
    postgresVersion: typeof spec.postgresVersion === "number" ? spec.postgresVersion : null,
    primary: str(status.primary) ?? leader?.metadata?.name ?? null,
    readyInstances: str(status.readyInstances) ?? null,
    shutdown: spec.shutdown === true,
    instances,
    repos,
    conditions,
  };
}

export function formatReport(r: ClusterReport, now: Date): string {
  const parts: string[] = [];
  const head = [
    `phase ${r.phase}${r.shutdown ? " (shut down)" : ""}`,
    r.readyInstances ? `ready ${r.readyInstances}` : "",
    r.primary ? `primary ${r.primary}` : "no primary",
    r.postgresVersion ? `PostgreSQL ${r.postgresVersion}` : "",
  ].filter(Boolean);
  parts.push(`PostgresCluster ${r.name} in namespace ${r.namespace}: ${head.join(", ")}\n`);
  parts.push(
    `\n${table(
      ["INSTANCE", "SET", "ROLE", "READY", "LAG", "STATE"],
      r.instances.map((i) => [
        i.pod,
        i.set,
        i.role,
        i.ready ? "yes" : "no",
        i.lagBytes === null ? "-" : bytes(i.lagBytes),
        i.state || "-",
      ]),
    )}`,
  );
  if (r.repos.length) {
    parts.push(
      `\n${table(
        ["REPO", "TYPE", "LAST BACKUP", "COMPLETED", "RECOVERABLE"],
        r.repos.map((repo) => {
          const b = repo.lastBackup;
          const what = b ? [b.label ?? b.name, b.type ? `(${b.type})` : ""].filter(Boolean).join(" ") : "none yet";
          const when = b?.completed ? `${b.completed} (${age(b.completed, now)} ago)` : "-";
          const window = repo.recoverability
            ? `${repo.recoverability.earliest} .. ${repo.recoverability.latest}`
            : "not published";
          return [repo.name, repo.type, what, when, window];
        }),
      )}`,
    );
  } else {
    parts.push("\nno backup repositories (spec.backups.pgbackrest.repos): this cluster cannot be restored\n");
  }
  if (r.conditions.length) {
    parts.push(
      `\n${table(
        ["CONDITION", "STATUS", "REASON", "MESSAGE"],
        r.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      )}`,
    );
  }
  return parts.join("");
}
