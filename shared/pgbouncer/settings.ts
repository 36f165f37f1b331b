/**
 * @module
 * pgBouncer settings the operator owns: a user may not set them in
 * `proxy.pgBouncer.config.global`. Admission refuses them with the reason; the cluster hook
 * ignores (and reports) a value that got past admission, so it never applies what admission
 * would have refused.
 */

export const OWNED_PGBOUNCER_SETTINGS: readonly (readonly [RegExp, string])[] = [
  // The Service and the exporter reach pgBouncer on the port of the spec, on every address.
  [/^(listen_addr|listen_port)$/, "is set by the operator (use proxy.pgBouncer.port)"],
  // Clients authenticate with SCRAM against PostgreSQL through the operator's auth_query role.
  [
    /^(auth_type|auth_file|auth_query|auth_user|auth_hba_file|auth_dbname)$/,
    "authentication is managed by the operator",
  ],
  // The exporter sidecar reads SHOW STATS/POOLS as the operator's role.
  [/^stats_users$/, "the metrics exporter reads pgBouncer's statistics as the operator's role"],
  // Client TLS uses the cluster's certificate; PostgreSQL accepts only TLS, verified against its CA.
  [/^(client_tls|server_tls)_/, "TLS is managed by the operator"],
  // The root filesystem is read-only and the config file is the operator's ConfigMap.
  [
    /^(unix_socket_dir|unix_socket_mode|unix_socket_group|pidfile|logfile|conffile)$/,
    "paths are fixed by the operator",
  ],
];

/** Why the operator owns this `[pgbouncer]` setting, or undefined when a user may set it. */
export function ownedPgBouncerSetting(key: string): string | undefined {
  return OWNED_PGBOUNCER_SETTINGS.find(([re]) => re.test(key))?.[1];
}
