/**
 * @module
 * Why a child exists, for `tusk render`'s summary: a small table of child kind and name
 * pattern (the patterns of shared/names.ts) to its purpose. `{parent}` is the parent's name;
 * other `{...}` parts match one name segment or more. A child no pattern knows falls back to
 * its `app.kubernetes.io/component` label.
 */

interface Purpose {
  kind: string;
  pattern: string;
  why: string;
}

export const PURPOSES: readonly Purpose[] = [
  { kind: "StatefulSet", pattern: "{parent}-repo-host", why: "pgBackRest repository host holding the volume repos" },
  { kind: "StatefulSet", pattern: "{parent}-{set}-{n}", why: "instance {n} of set {set}: Postgres under Patroni" },
  { kind: "Service", pattern: "{parent}-primary", why: "read-write endpoint, follows the Patroni leader" },
  { kind: "Service", pattern: "{parent}-replicas", why: "read-only endpoint over the replicas" },
  { kind: "Service", pattern: "{parent}-pods", why: "headless Service giving each instance pod a DNS name" },
  { kind: "Service", pattern: "{parent}-pgbouncer", why: "pgBouncer connection pooler endpoint" },
  { kind: "Service", pattern: "{parent}-ha-config", why: "Patroni's configuration key in the Kubernetes DCS" },
  { kind: "Service", pattern: "{parent}-ha", why: "Patroni's leader lock in the Kubernetes DCS" },
  { kind: "Service", pattern: "{parent}-repo-host", why: "DNS name of the pgBackRest repository host" },
  { kind: "ConfigMap", pattern: "{parent}-config", why: "Patroni and Postgres configuration" },
  {
    kind: "ConfigMap",
    pattern: "{parent}-pgbackrest-config",
    why: "pgBackRest configuration for instances, repo host and Jobs",
  },
  { kind: "ConfigMap", pattern: "{parent}-pgbouncer", why: "pgbouncer.ini" },
  { kind: "ConfigMap", pattern: "{parent}-exporter", why: "postgres_exporter queries (pgMonitor-style metrics)" },
  { kind: "Secret", pattern: "{parent}-pgbouncer-cert", why: "pgBouncer's TLS server certificate" },
  { kind: "Job", pattern: "{parent}-resize-{hash}", why: "grows a volume claim to the size in the spec" },
  { kind: "Job", pattern: "{parent}-pvc-delete-{hash}", why: "deletes a removed instance's volume claim (opted in)" },
  { kind: "Job", pattern: "{parent}-tls-reload-{hash}", why: "reloads Postgres after a certificate renewal" },
  { kind: "Job", pattern: "{parent}-datasource", why: "restores the first instance from spec.dataSource" },
  { kind: "Secret", pattern: "{parent}-pguser-{user}", why: "credentials and connection URIs of user {user}" },
  { kind: "Secret", pattern: "{parent}-internal", why: "passwords of the superuser, replication and operator roles" },
  { kind: "Secret", pattern: "{parent}-ca", why: "the cluster's certificate authority" },
  { kind: "Secret", pattern: "{parent}-cluster-cert", why: "Postgres server certificate (TLS for clients)" },
  { kind: "Secret", pattern: "{parent}-replication-cert", why: "client certificate for replication" },
  {
    kind: "Secret",
    pattern: "{parent}-users-sql",
    why: "SQL the users Job applies (roles, databases, SCRAM verifiers)",
  },
  { kind: "Secret", pattern: "{parent}-monitoring", why: "password of the monitoring role used by postgres_exporter" },
  { kind: "Secret", pattern: "{parent}-pgbackrest", why: "pgBackRest TLS client certificate" },
  { kind: "Secret", pattern: "{parent}-pgbouncer", why: "pgBouncer TLS and auth_query credentials" },
  { kind: "ServiceAccount", pattern: "{parent}-instance", why: "identity of the instance pods (Patroni)" },
  {
    kind: "RoleBinding",
    pattern: "{parent}-instance",
    why: "grants the ClusterRole tusk-instance (the least Patroni needs: pods, endpoints, services) to the instance pods in this namespace",
  },
  {
    kind: "PodDisruptionBudget",
    pattern: "{parent}-set-{set}",
    why: "keeps instances of set {set} up during node drains",
  },
  { kind: "PodDisruptionBudget", pattern: "{parent}-pgbouncer", why: "keeps pgBouncer up during node drains" },
  { kind: "Deployment", pattern: "{parent}-pgbouncer", why: "pgBouncer connection pooler" },
  { kind: "Job", pattern: "{parent}-users-{hash}", why: "creates users and databases (runs again when users change)" },
  { kind: "Job", pattern: "{parent}-patroni-{hash}", why: "applies the Patroni dynamic configuration" },
  { kind: "Job", pattern: "{parent}-switchover-{hash}", why: "moves the Patroni leader (switchover)" },
  { kind: "Job", pattern: "{parent}-stanza-{hash}", why: "creates the pgBackRest stanza" },
  { kind: "Job", pattern: "{parent}-backup-{hash}", why: "manual pgBackRest backup" },
  { kind: "Job", pattern: "{parent}-backup", why: "runs pgbackrest backup" },
  { kind: "Job", pattern: "{parent}-expire", why: "expires the backup set from the repository" },
  { kind: "Job", pattern: "{parent}-restore", why: "runs pgbackrest restore" },
  { kind: "CronJob", pattern: "{parent}-{repo}-{type}", why: "scheduled {type} backup to {repo}" },
  { kind: "PingSource", pattern: "{parent}-{repo}-{type}", why: "scheduled {type} backup to {repo} (Knative)" },
  { kind: "PodMonitor", pattern: "{parent}{rest}", why: "Prometheus scrape configuration" },
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compile(pattern: string, parent: string): RegExp {
  const parts = pattern.split(/(\{[a-z]+\})/);
  let source = "";
  for (const part of parts) {
    if (part === "{parent}") source += escapeRegExp(parent);
    else if (part === "{n}") source += "(?<n>\\d+)";
    else if (part === "{rest}") source += "(?<rest>.*)";
    else if (/^\{[a-z]+\}$/.test(part)) source += `(?<${part.slice(1, -1)}>[a-z0-9][a-z0-9.-]*?)`;
    else source += escapeRegExp(part);
  }
  return new RegExp(`^${source}$`);
}

/** The purpose of child `kind`/`name` of parent `parent`. */
export function purposeOf(child: Record<string, unknown>, parent: string): string {
  const kind = String(child.kind ?? "");
  const meta = (child.metadata ?? {}) as { name?: string; labels?: Record<string, string> };
  const name = meta.name ?? "";
  for (const p of PURPOSES) {
    if (p.kind !== kind) continue;
    const m = compile(p.pattern, parent).exec(name);
    if (!m) continue;
    const groups = m.groups ?? {};
    return p.why.replace(/\{([a-z]+)\}/g, (_, g: string) => groups[g] ?? g);
  }
  const component = meta.labels?.["app.kubernetes.io/component"];
  return component ? `${component} (${kind})` : kind;
}
