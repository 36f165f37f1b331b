/**
 * @module
 * pgbackrest.conf for a cluster, per role (instance pod, repository host, Job).
 *
 * Precedence: operator defaults (lz4, process-max 2, start-fast, retention) < the user's
 * `backups.pgbackrest.global` < what the operator owns. Owned, and ignored in `global` (see
 * `ignoredGlobalOptions`, for warnings): Postgres hosts and paths (`pgN-*`), repository hosts
 * (`repoN-host*`), the TLS server (`tls-server-*`), lock/log/spool paths, configuration paths,
 * the stanza, a repo's type and location (from `repos[]`), options of repos not in `repos[]`,
 * a volume repo's path outside its volume, and credentials: keys and passwords never go into
 * this file (a ConfigMap) but into the user's `configuration` Secrets, which the pods project
 * into conf.d next to this file (docs/dataplane-notes.md B4).
 *
 * The user's conf.d files must not repeat an option rendered here: pgBackRest refuses an
 * option set in two files (`[031] option ... cannot be set multiple times`).
 *
 * Output is deterministic: sections in a fixed order, keys in natural order.
 */
import type { PgBackRest, PostgresClusterSpec, Repo } from "../api/postgres-cluster.ts";
import { STANZA } from "../pod-layout.ts";
import { hasControlCharacter, renderIni } from "./ini.ts";
import {
  CONFIG_KEYS,
  clientCommonName,
  hasVolumeRepo,
  instancePods,
  type LayoutOptions,
  type PgBackRestCluster,
  type PgBackRestLayout,
  type PgBackRestRole,
  podLayout,
  repoIndex,
  repoKind,
} from "./layout.ts";
import { parseS3Endpoint, repoCaFiles } from "./repos.ts";

export interface PgBackRestConfigInput extends LayoutOptions {
  cluster: PgBackRestCluster;
  role: PgBackRestRole;
  /** Field-by-field overrides of the pod layout (the end-to-end suite's path mapping). */
  layout?: Partial<PgBackRestLayout>;
}

const OPERATOR_DEFAULTS: Record<string, string> = {
  "compress-type": "lz4",
  "process-max": "2",
  // Backups the operator starts should not wait for the next scheduled checkpoint.
  "start-fast": "y",
  // pgBackRest does not create log-path (docs/dataplane-notes.md B12); logs go to the container output instead.
  "log-level-file": "off",
};

/** Retention applied to a repo that has none, so no repository grows without bound. */
const DEFAULT_RETENTION_FULL = { count: "2", time: "14" } as const;

export interface IgnoredOption {
  key: string;
  reason: string;
}

const SECRET_OPTION = /^repo\d+-(s3-key|s3-key-secret|s3-token|azure-key|cipher-pass|sftp-private-key-passphrase)$/;

function pgbackrest(spec: PostgresClusterSpec): PgBackRest | undefined {
  return spec.backups?.pgbackrest;
}

function reposOf(spec: PostgresClusterSpec): Repo[] {
  return pgbackrest(spec)?.repos ?? [];
}

const volumePathOk = (path: string, mount: string) => path === mount || path.startsWith(`${mount}/`);

/** Why a `global` option is not used, or undefined when it is. */
function whyIgnored(key: string, value: string, repos: Repo[], layout: PgBackRestLayout): string | undefined {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(key)) return "not a pgBackRest option name";
  if (hasControlCharacter(value)) return "the value contains a line break or control character";
  if (SECRET_OPTION.test(key)) return "credentials belong in a configuration Secret (conf.d), never in a ConfigMap";
  if (/^pg\d*-/.test(key)) return "the operator sets the PostgreSQL hosts and paths";
  if (/^repo\d*-host(-|$)/.test(key)) return "the operator runs the repository host";
  if (/^tls-server-/.test(key)) return "the operator configures the pgBackRest TLS server";
  if (/^(lock|log|spool)-path$/.test(key)) return "paths inside the pods are fixed";
  if (/^(config|config-path|config-include-path|stanza)$/.test(key)) return "the operator owns these";
  const repo = /^repo(\d+)-(.+)$/.exec(key);
  if (repo) {
    const name = `repo${repo[1]}`;
    const defined = repos.find((r) => r.name === name);
    if (!defined) return `${name} is not in repos[]`;
    const option = repo[2]!;
    if (["type", "s3-bucket", "s3-endpoint", "s3-region", "gcs-bucket", "azure-container"].includes(option))
      return `set in repos[] (${name})`;
    if (option === "path" && repoKind(defined) === "volume" && !volumePathOk(value, layout.repoVolumePath(name)))
      return `a volume repository's path must lie in its volume, ${layout.repoVolumePath(name)}`;
  }
  return undefined;
}

/** The `global` options the renderer does not use, with the reason (admission and status warn). */
export function ignoredGlobalOptions(spec: PostgresClusterSpec, layout?: PgBackRestLayout): IgnoredOption[] {
  const global = pgbackrest(spec)?.global ?? {};
  const repos = reposOf(spec);
  const lay = layout ?? podLayout({ name: "_", namespace: "_", spec });
  return Object.keys(global)
    .sort()
    .flatMap((key) => {
      const reason = whyIgnored(key, global[key] ?? "", repos, lay);
      return reason ? [{ key, reason }] : [];
    });
}

export interface Retention {
  repoName: string;
  full: string;
  fullType: "count" | "time";
  diff?: string;
  archive?: string;
  archiveType?: string;
  /** Whether the full retention came from the user's `global` or the default. */
  source: "user" | "default";
}

/** The retention in effect for a repo (shown in backup and cluster status). */
export function retentionFor(spec: PostgresClusterSpec, repoName: string): Retention {
  const global = pgbackrest(spec)?.global ?? {};
  const userFull = global[`${repoName}-retention-full`];
  const fullType = global[`${repoName}-retention-full-type`] === "time" ? "time" : "count";
  const out: Retention = {
    repoName,
    full: userFull ?? DEFAULT_RETENTION_FULL[fullType],
    fullType,
    source: userFull !== undefined ? "user" : "default",
  };
  const diff = global[`${repoName}-retention-diff`];
  const archive = global[`${repoName}-retention-archive`];
  const archiveType = global[`${repoName}-retention-archive-type`];
  if (diff !== undefined) out.diff = diff;
  if (archive !== undefined) out.archive = archive;
  if (archiveType !== undefined) out.archiveType = archiveType;
  return out;
}

/** `full=2 (count, default)`, plus diff/archive when set. */
export function describeRetention(r: Retention): string {
  const parts = [`full=${r.full} (${r.fullType}${r.source === "default" ? ", default" : ""})`];
  if (r.diff !== undefined) parts.push(`diff=${r.diff}`);
  if (r.archive !== undefined) parts.push(`archive=${r.archive}${r.archiveType ? ` (${r.archiveType})` : ""}`);
  return parts.join(", ");
}

/** A repo's path: the user's (where allowed), else `/pgbackrest/<repo>` (PGO's default). */
export function repoPath(spec: PostgresClusterSpec, repo: Repo, layout?: PgBackRestLayout): string {
  const mount = (layout?.repoVolumePath ?? ((n: string) => `/pgbackrest/${n}`))(repo.name);
  const user = pgbackrest(spec)?.global?.[`${repo.name}-path`];
  if (user !== undefined && !hasControlCharacter(user) && (repoKind(repo) !== "volume" || volumePathOk(user, mount)))
    return user;
  return mount;
}

/**
 * AWS endpoints resolve bucket host names; anything else (MinIO, s3rver, Ceph) needs path style
 * (docs/dataplane-notes.md B3).
 */
function isAwsEndpoint(host: string): boolean {
  return /(^|\.)amazonaws\.com(\.cn)?$/i.test(host);
}

/** Whether pgBackRest addresses this S3 repo path-style (the user's `repoN-s3-uri-style` wins). */
export function s3PathStyle(spec: PostgresClusterSpec, repo: Repo): boolean {
  const user = pgbackrest(spec)?.global?.[`${repo.name}-s3-uri-style`];
  if (user !== undefined) return user === "path";
  return repo.s3 ? !isAwsEndpoint(parseS3Endpoint(repo.s3.endpoint).host) : false;
}

function repoOptions(
  cluster: PgBackRestCluster,
  repo: Repo,
  role: PgBackRestRole,
  layout: PgBackRestLayout,
): Map<string, string> {
  const n = repoIndex(repo.name);
  const p = `repo${n}`;
  const opts = new Map<string, string>();
  const kind = repoKind(repo);
  const global = pgbackrest(cluster.spec)?.global ?? {};
  opts.set(`${p}-path`, repoPath(cluster.spec, repo, layout));
  if (kind === "volume") {
    opts.set(`${p}-type`, "posix");
    // Instances reach a volume repository through the repo host's TLS server; the repo host
    // and Jobs (which mount the volume next to it, docs/dataplane-notes.md B11) use it locally.
    if (role === "instance") {
      opts.set(`${p}-host`, layout.repoHost.host);
      opts.set(`${p}-host-type`, "tls");
      opts.set(`${p}-host-port`, String(layout.repoHost.port));
      opts.set(`${p}-host-ca-file`, layout.clientCaFile);
      opts.set(`${p}-host-cert-file`, layout.clientCertFile);
      opts.set(`${p}-host-key-file`, layout.clientKeyFile);
      for (const [k, v] of remoteConfigOptions(`${p}-host`, layout)) opts.set(k, v);
    }
  } else if (kind === "s3" && repo.s3) {
    const endpoint = parseS3Endpoint(repo.s3.endpoint);
    opts.set(`${p}-type`, "s3");
    opts.set(`${p}-s3-bucket`, repo.s3.bucket);
    opts.set(`${p}-s3-endpoint`, endpoint.host);
    opts.set(`${p}-s3-region`, repo.s3.region);
    if (!isAwsEndpoint(endpoint.host)) opts.set(`${p}-s3-uri-style`, "path");
    if (endpoint.port !== undefined) opts.set(`${p}-storage-port`, String(endpoint.port));
  } else if (kind === "gcs" && repo.gcs) {
    opts.set(`${p}-type`, "gcs");
    opts.set(`${p}-gcs-bucket`, repo.gcs.bucket);
  } else if (repo.azure) {
    opts.set(`${p}-type`, "azure");
    opts.set(`${p}-azure-container`, repo.azure.container);
  }
  const ca = repoCaFiles(pgbackrest(cluster.spec)?.configuration)[repo.name];
  if (ca !== undefined) opts.set(`${p}-storage-ca-file`, `${layout.confD}/${ca}`);
  if (global[`${p}-retention-full`] === undefined) {
    const type = global[`${p}-retention-full-type`] === "time" ? "time" : "count";
    opts.set(`${p}-retention-full`, DEFAULT_RETENTION_FULL[type]);
    if (global[`${p}-retention-full-type`] === undefined) opts.set(`${p}-retention-full-type`, "count");
  }
  return opts;
}

/**
 * Where a remote (the TLS server answering for a pg or repo host) reads its configuration.
 * Left at their defaults, pgBackRest sends no config options and the remote looks for
 * `/etc/pgbackrest/pgbackrest.conf`; when that is missing it loads the distribution's
 * `/etc/pgbackrest.conf` instead (Debian's sets `repo1-path`, and the remote then refuses every
 * request with "option 'repo1-path' cannot be set multiple times"). An explicit empty main file
 * and conf.d make the remote read exactly what the local commands read (`--no-config`).
 */
function remoteConfigOptions(prefix: string, layout: PgBackRestLayout): [string, string][] {
  return [
    [`${prefix}-config`, "/dev/null"],
    [`${prefix}-config-include-path`, layout.confD],
  ];
}

function tlsServerOptions(cluster: PgBackRestCluster, layout: PgBackRestLayout): Map<string, string> {
  return new Map([
    ["tls-server-address", layout.tlsServerAddress],
    ["tls-server-port", String(layout.tlsServerPort)],
    ["tls-server-cert-file", layout.serverCertFile],
    ["tls-server-key-file", layout.serverKeyFile],
    ["tls-server-ca-file", layout.serverCaFile],
    // Jobs and instances always pass --stanza, so the client is authorised for this stanza only.
    ["tls-server-auth", `${clientCommonName(cluster.name)}=${STANZA}`],
  ]);
}

function stanzaOptions(
  cluster: PgBackRestCluster,
  role: PgBackRestRole,
  layout: PgBackRestLayout,
): Map<string, string> {
  const opts = new Map<string, string>();
  if (role === "instance") {
    // The local instance is always pg1 (pgBackRest issue 1197).
    opts.set("pg1-path", layout.pgPath);
    opts.set("pg1-port", String(layout.pgPort));
    opts.set("pg1-socket-path", layout.socketPath);
    return opts;
  }
  // Every instance over TLS: pgBackRest asks each which one is the primary, so a failover needs
  // no new configuration. pgBackRest allows pg1..pg256.
  instancePods(cluster)
    .slice(0, 256)
    .forEach((pod, i) => {
      const remote = layout.instance(pod);
      const p = `pg${i + 1}`;
      opts.set(`${p}-host`, remote.host);
      opts.set(`${p}-host-type`, "tls");
      opts.set(`${p}-host-port`, String(remote.port));
      opts.set(`${p}-host-ca-file`, layout.clientCaFile);
      opts.set(`${p}-host-cert-file`, layout.clientCertFile);
      opts.set(`${p}-host-key-file`, layout.clientKeyFile);
      for (const [k, v] of remoteConfigOptions(`${p}-host`, layout)) opts.set(k, v);
      opts.set(`${p}-path`, remote.pgPath);
      opts.set(`${p}-port`, String(remote.pgPort));
      opts.set(`${p}-socket-path`, remote.socketPath);
    });
  return opts;
}

/** The text of pgbackrest.conf for one role. */
export function renderPgBackRestConfig(input: PgBackRestConfigInput): string {
  const { cluster, role } = input;
  const layout: PgBackRestLayout = { ...podLayout(cluster, input), ...input.layout };
  const repos = reposOf(cluster.spec);
  const global = new Map<string, string>(Object.entries(OPERATOR_DEFAULTS));
  if (role === "job") global.set("log-level-console", "info");
  for (const repo of repos) for (const [k, v] of repoOptions(cluster, repo, role, layout)) global.set(k, v);
  const user = pgbackrest(cluster.spec)?.global ?? {};
  for (const key of Object.keys(user).sort()) {
    const value = user[key]!;
    if (whyIgnored(key, value, repos, layout) === undefined) global.set(key, value);
  }
  global.set("lock-path", layout.lockPath);
  global.set("log-path", layout.logPath);
  global.set("spool-path", layout.spoolPath);
  if (role !== "job") for (const [k, v] of tlsServerOptions(cluster, layout)) global.set(k, v);
  return renderIni(
    [`Generated by Tusk for PostgresCluster ${cluster.namespace}/${cluster.name} (${role}); changes are overwritten.`],
    [
      ["global", global],
      [STANZA, stanzaOptions(cluster, role, layout)],
    ],
  );
}

/**
 * The data of the cluster's pgBackRest ConfigMap (`names.pgbackrestConfig(cluster)`): one key
 * per role; `pgbackrest-repo-host.conf` only when a volume repo needs a repository host.
 */
export function pgbackrestConfigData(
  cluster: PgBackRestCluster,
  options: LayoutOptions & { layout?: Partial<PgBackRestLayout> } = {},
): Record<string, string> {
  const data: Record<string, string> = {
    [CONFIG_KEYS.instance]: renderPgBackRestConfig({ ...options, cluster, role: "instance" }),
    [CONFIG_KEYS.job]: renderPgBackRestConfig({ ...options, cluster, role: "job" }),
  };
  if (hasVolumeRepo(cluster.spec))
    data[CONFIG_KEYS["repo-host"]] = renderPgBackRestConfig({ ...options, cluster, role: "repo-host" });
  return data;
}
