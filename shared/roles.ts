/**
 * @module
 * PostgreSQL role names: the roles the operator creates in every cluster, and the names a
 * `spec.users[]` entry may not take. Admission refuses the reserved names with a message, the
 * CRD's CEL rule refuses them when the webhook is down, and the cluster hook refuses a spec
 * whose user would take over one of the operator's roles.
 */

/**
 * Roles the operator owns in every cluster. Patroni creates the replication and rewind roles at
 * bootstrap, the users Job the rest. `postgres` is the superuser a user may list, as in PGO, to
 * get its Secret; every other name starts with `_tusk_`, which the user name pattern (a DNS
 * label, since it names a Secret) cannot produce.
 */
export const ROLES = {
  superuser: "postgres",
  replication: "_tusk_replication",
  rewind: "_tusk_rewind",
  /** pgBouncer's auth_user: runs auth_query (a SECURITY DEFINER lookup) and reads pgBouncer's stats. */
  pgbouncer: "_tusk_pgbouncer",
  /** The metrics exporter's login: pg_monitor, nothing else. */
  monitoring: "_tusk_monitoring",
} as const;

/** The operator's roles a user may not take: a user entry would change their password and options. */
export const OPERATOR_ROLE_NAMES: readonly string[] = Object.values(ROLES).filter((r) => r !== ROLES.superuser);

/**
 * Names a user may not take. Besides the operator's roles: PostgreSQL refuses to create `public`
 * and `none`; and the plain names of what the operator's roles do plus the operator's own name,
 * which admission refused before the operator's roles moved under `_tusk_` (freeing a name later
 * is harmless, reserving one that clusters already use is not).
 */
export const RESERVED_ROLE_NAMES: readonly string[] = [
  ...OPERATOR_ROLE_NAMES,
  "replicator",
  "rewinder",
  "pgbouncer",
  "monitoring",
  "tusk",
  "public",
  "none",
];

/**
 * PostgreSQL reserves `pg_` for its predefined roles (CREATE ROLE refuses it); `_tusk_` and
 * `tusk-` are kept for the operator's future roles.
 */
export const RESERVED_ROLE_PREFIXES: readonly string[] = ["pg_", "_tusk_", "tusk-"];

/** Whether a user may not take this role name. */
export function reservedRoleName(name: string): boolean {
  return RESERVED_ROLE_NAMES.includes(name) || RESERVED_ROLE_PREFIXES.some((p) => name.startsWith(p));
}
