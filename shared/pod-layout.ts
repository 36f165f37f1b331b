/**
 * @module
 * Where things live inside Tusk's pods: mount paths, ports and file names shared by the
 * cluster hook (which builds the pods), the backup and restore Jobs (which mount the same
 * configuration) and the end-to-end suite (which maps these paths to temporary directories).
 * Changing a value here changes every consumer at once.
 */

export const PATHS = {
  /** PGDATA volume mount; the data directory is `${pgdata}/pg${version}`. */
  pgdata: "/pgdata",
  pgwal: "/pgwal",
  /** Patroni configuration (from the cluster ConfigMap). */
  patroniConfigDir: "/etc/patroni",
  patroniConfigFile: "/etc/patroni/patroni.yaml",
  /** Server certificate, key and CA (tls.crt, tls.key, ca.crt), mode 0600 via projection. */
  tlsDir: "/etc/postgres/tls",
  /** Replication client certificate. */
  replicationTlsDir: "/etc/postgres/tls/replication",
  /** pgBackRest: main config file and the conf.d directory holding user `configuration`. */
  pgbackrestConfigDir: "/etc/pgbackrest",
  pgbackrestConfigFile: "/etc/pgbackrest/pgbackrest.conf",
  pgbackrestConfD: "/etc/pgbackrest/conf.d",
  /** A volume repository's mount on the repository host. */
  pgbackrestRepo: "/pgbackrest/repo1",
  /** Writable scratch (emptyDir): sockets, pgpass, pgBackRest lock/log/spool. */
  tmp: "/tmp",
  socketDir: "/tmp/postgres",
  pgpass: "/tmp/pgpass",
  pgbackrestLock: "/tmp/pgbackrest/lock",
  pgbackrestLog: "/tmp/pgbackrest/log",
  pgbackrestSpool: "/tmp/pgbackrest/spool",
  /** pgBouncer configuration. */
  pgbouncerConfigDir: "/etc/pgbouncer",
  /** postgres_exporter's queries (and web TLS configuration) and the CA it verifies Postgres with. */
  exporterConfigDir: "/etc/postgres-exporter",
} as const;

/** The data directory of a PostgreSQL major version, on the PGDATA volume. */
export function dataDirectory(version: number): string {
  return `${PATHS.pgdata}/pg${version}`;
}

/** The WAL directory of a major version on its own volume (an instance set with `walVolumeClaimSpec`). */
export function walDirectory(version: number): string {
  return `${PATHS.pgwal}/pg${version}_wal`;
}

/** Where the Postgres image keeps a major version's programs. */
export function binDirectory(version: number): string {
  return `/usr/lib/postgresql/${version}/bin`;
}

export const PORTS = {
  postgres: 5432,
  patroni: 8008,
  /** pgBackRest TLS server beside Postgres in every instance pod and on the repo host. */
  pgbackrestTls: 8432,
  exporter: 9187,
  pgbouncer: 5432,
  /** The pgBouncer exporter beside pgBouncer (prometheus-community/pgbouncer_exporter's default). */
  pgbouncerExporter: 9127,
} as const;

/** The pgBackRest stanza every cluster uses (PGO uses "db" too). */
export const STANZA = "db";

/** Default images; a user's `spec.image` wins. Never embed Tusk's own version here. */
export const IMAGES = {
  postgres: (version: number) => `ghcr.io/tusk-dev/postgres-patroni:${version}`,
  pgbackrest: "ghcr.io/tusk-dev/pgbackrest:2",
  pgbouncer: "ghcr.io/tusk-dev/pgbouncer:1",
  exporter: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
  pgbouncerExporter: "quay.io/prometheuscommunity/pgbouncer-exporter:v0.7.0",
} as const;

export { ROLES } from "./roles.ts";

/** The non-root UID/GID the Postgres image runs as (Debian's postgres user is 999 in most images). */
export const POSTGRES_UID = 26;
