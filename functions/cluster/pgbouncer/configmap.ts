/**
 * @module
 * `pgbouncer.ini` (ConfigMap `<cluster>-pgbouncer`) from `spec.proxy.pgBouncer.config`, over
 * defaults, under what the operator owns.
 *
 * Rules the file follows, each learnt on pgBouncer 1.18 (G1-G7 in docs/dataplane-notes.md):
 * - ONE `[pgbouncer]` section: every `[pgbouncer]` header resets all settings to their defaults
 *   (G7), so user settings are merged here rather than `%include`d.
 * - `[databases]` entries never set `user=`: SCRAM pass-through needs the client's own login
 *   to reach the server (G3).
 * - `auth_user` + `auth_query` (pgbouncer/sql.ts) instead of copying verifiers into
 *   `auth_file`; the auth_user's own `auth_file` entry is plain text (G1, pgbouncer/secret.ts).
 * - `server_login_retry` is short: pgBouncer refuses every client for that long after one
 *   failed server login (G5), e.g. while the users Job has not yet created the auth_user.
 *
 * Failover. The fallback database `*` points at the `<cluster>-primary` Service, which follows
 * Patroni's leader label, so pgBouncer never needs a RELOAD to follow the leader (G6). Patroni
 * stops Postgres when it demotes a leader (switchover or failover), which closes every server
 * connection to it. What is left is a short window in which the Service may still route a NEW
 * connection to the demoted instance (until its role label, the endpoints and kube-proxy catch
 * up), or to an instance that is no longer the leader after a partition. Such a connection
 * would hand clients `read-only transaction` errors for its whole life. So:
 * - `server_check_query` makes a server in recovery close the connection it runs on (it
 *   terminates its own backend; on the primary it does nothing). pgBouncer ignores an error
 *   from the check query and keeps the connection (seen on 1.18, and so in its source), but a
 *   closed connection it drops, and the waiting client gets a fresh one. The check runs when
 *   a connection is reused after `server_check_delay` (5 s) idle;
 * - `server_lifetime = 60` bounds how long any server connection lives, checked or not, so a
 *   pool kept busy without idle gaps still moves over within a minute, at the price of
 *   reconnecting (TLS and SCRAM) each server connection once a minute;
 * - TCP keepalives (30 s idle, 3 probes 10 s apart) and `server_connect_timeout = 5` notice a
 *   vanished node instead of waiting for the kernel's two-hour default.
 * `server_check_delay = 0` would check before every transaction, closing the window at once
 * for one extra round trip per transaction; a user may choose it in `config.global`.
 * PAUSE/RESUME around a switchover was not chosen: it would need something to reach every
 * pgBouncer pod's admin console at the right moment, it cannot precede an unplanned failover,
 * and the hook does no I/O. A pool that points at replicas on purpose (a `config.databases`
 * entry with the replicas Service) must set `server_check_query` to `select 1` in
 * `config.global`, or its connections close at every check.
 */
import type { V1ConfigMap } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { ownedPgBouncerSetting } from "../../../shared/pgbouncer/settings.ts";
import { PATHS, ROLES } from "../../../shared/pod-layout.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { AUTH_QUERY } from "./sql.ts";

export const INI_KEY = "pgbouncer.ini";

/** Files in the pgBouncer pod (one projected volume at PATHS.pgbouncerConfigDir). */
export const PGBOUNCER_FILES = {
  ini: `${PATHS.pgbouncerConfigDir}/${INI_KEY}`,
  authFile: `${PATHS.pgbouncerConfigDir}/users.txt`,
  /** The certificate pgBouncer presents to clients. */
  clientTlsDir: `${PATHS.pgbouncerConfigDir}/client-tls`,
  /** The CA that signed Postgres's server certificate. */
  serverCa: `${PATHS.pgbouncerConfigDir}/server-ca/ca.crt`,
} as const;

export function pgbouncerSpec(model: ClusterModel) {
  return model.spec.proxy?.pgBouncer;
}

/** On a server in recovery, closes the connection it runs on (see the module comment). */
const STALE_SERVER_CHECK =
  "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_terminate_backend(pg_catalog.pg_backend_pid()) END";

/** Defaults; a user may override those shared/pgbouncer/settings.ts does not own in `config.global`. */
function defaults(): Record<string, string> {
  return {
    listen_addr: "*",
    pool_mode: "transaction",
    max_client_conn: "1000",
    default_pool_size: "20",
    // JDBC sends extra_float_digits at startup; pgBouncer would refuse it otherwise.
    ignore_startup_parameters: "extra_float_digits",
    server_login_retry: "1",
    server_connect_timeout: "5",
    server_check_query: STALE_SERVER_CHECK,
    server_check_delay: "5",
    server_lifetime: "60",
    server_idle_timeout: "60",
    tcp_keepalive: "1",
    tcp_keepidle: "30",
    tcp_keepintvl: "10",
    tcp_keepcnt: "3",
    client_tls_sslmode: "require",
    server_tls_sslmode: "verify-ca",
  };
}

/** Settings the pod layout and authentication depend on; a user value is ignored and reported. */
function owned(model: ClusterModel): Record<string, string> {
  const port = pgbouncerSpec(model)?.port ?? 5432;
  return {
    listen_port: String(port),
    // The root filesystem is read-only; clients come over TCP.
    unix_socket_dir: "",
    auth_type: "scram-sha-256",
    auth_file: PGBOUNCER_FILES.authFile,
    auth_user: ROLES.pgbouncer,
    auth_query: AUTH_QUERY,
    // The exporter sidecar reads SHOW STATS/POOLS as the auth_user.
    stats_users: ROLES.pgbouncer,
    client_tls_cert_file: `${PGBOUNCER_FILES.clientTlsDir}/tls.crt`,
    client_tls_key_file: `${PGBOUNCER_FILES.clientTlsDir}/tls.key`,
    server_tls_ca_file: PGBOUNCER_FILES.serverCa,
  };
}

/** A line break would end the entry and start another: such an entry is refused. */
const unsafe = (s: string) => /[\r\n]/.test(s);
/** Keys are single ini tokens. */
const badKey = (s: string) => !/^[A-Za-z0-9_.*@$-]+$/.test(s);

export interface PgBouncerIni {
  ini: string;
  /** User settings that were not applied, for the cluster's Valid condition. */
  ignored: string[];
}

function section(name: string, entries: Record<string, string>): string[] {
  return [`[${name}]`, ...Object.keys(entries).map((k) => `${k} = ${entries[k]}`.trimEnd()), ""];
}

function userEntries(
  what: string,
  entries: Record<string, string> | undefined,
  ignored: string[],
  refuse: (key: string) => string | undefined = () => undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(entries ?? {}).sort()) {
    const value = entries![key]!;
    const why = unsafe(key) || unsafe(value) || badKey(key) ? "is not a single ini line" : refuse(key);
    if (why) ignored.push(`proxy.pgBouncer.config.${what} ${JSON.stringify(key)} ${why}`);
    else out[key] = value;
  }
  return out;
}

export function pgbouncerIni(model: ClusterModel): PgBouncerIni {
  const config = pgbouncerSpec(model)?.config;
  const ignored: string[] = [];
  const own = owned(model);
  const global = userEntries("global", config?.global, ignored, (k) =>
    k in own || ownedPgBouncerSetting(k) !== undefined ? "is set by the operator" : undefined,
  );
  const databases = userEntries("databases", config?.databases, ignored);
  const users = userEntries("users", config?.users, ignored);
  const primary = `${names.primaryService(model.name)}.${model.namespace}.svc`;
  // The fallback: any database, on the leader, as the connecting user (no user=, docs/dataplane-notes.md G3).
  const fallback = { "*": `host=${primary} port=${model.port}` };
  const settings = { ...defaults(), ...global, ...own };
  const sorted = (r: Record<string, string>) =>
    Object.fromEntries(
      Object.keys(r)
        .sort()
        .map((k) => [k, r[k]!]),
    );
  const lines = [
    "; Generated by Tusk from spec.proxy.pgBouncer; edits here are overwritten.",
    "; Exactly one [pgbouncer] section: pgBouncer 1.18 resets its settings at every such header.",
    "",
    ...section("databases", { ...fallback, ...databases }),
    ...(Object.keys(users).length ? section("users", users) : []),
    ...section("pgbouncer", sorted(settings)),
  ];
  return { ini: `${lines.join("\n").trimEnd()}\n`, ignored };
}

export function buildPgBouncerConfigMap(model: ClusterModel, ini: string): V1ConfigMap {
  return withKind("ConfigMap", {
    metadata: childMeta(model, names.pgbouncer(model.name), clusterLabels(model.name, "pgbouncer"), {
      user: [pgbouncerSpec(model)?.metadata],
    }),
    data: { [INI_KEY]: ini },
  });
}
