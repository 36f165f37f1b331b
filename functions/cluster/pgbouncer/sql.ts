/**
 * @module
 * What the users Job adds for pgBouncer: its auth_user, a least-privilege login role, and the
 * SECURITY DEFINER lookup its `auth_query` calls, so pgBouncer needs no copy of any user's
 * password. pgBouncer 1.18 runs auth_query in the database the client asked for (it has no
 * `auth_dbname`, docs/dataplane-notes.md G2), so the function goes into every database: `template1`
 * (databases created later inherit it), `postgres`, and each database in `spec.users`. A database
 * created by hand from another template needs it installed the same way.
 *
 * The lookup returns the role's own SCRAM verifier, which is what SCRAM pass-through needs
 * (G3), and only for roles that may log in, are not superusers or replication roles, and
 * are not the operator's: those cannot come through pgBouncer.
 */

import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { ROLES } from "../../../shared/pod-layout.ts";
import type { RoleCredentials } from "../users/role-secret.ts";
import { createRoleSql, psqlConnect, quoteIdent, quoteLiteral, SESSION } from "../users/sql.ts";

/**
 * Schema and function of the lookup; the schema is named after the role and owned by the
 * superuser. A lowercase name needs no quotes, so the same text serves SQL and pgbouncer.ini.
 */
const AUTH_SCHEMA = ROLES.pgbouncer;
const AUTH_FUNCTION = `${AUTH_SCHEMA}.get_auth`;

/** pgBouncer's `auth_query`. */
export const AUTH_QUERY = `SELECT username, password FROM ${AUTH_FUNCTION}($1)`;

/** Every database a client may reach through pgBouncer and that the hook knows of. */
export function authDatabases(model: ClusterModel): string[] {
  const listed = model.users.flatMap((u) => u.databases);
  return ["template1", "postgres", ...[...new Set(listed)].filter((d) => d !== "template1" && d !== "postgres").sort()];
}

function lookupSql(): string[] {
  const schema = quoteIdent(AUTH_SCHEMA);
  const role = quoteIdent(ROLES.pgbouncer);
  const operatorRoles = Object.values(ROLES)
    .map((r) => quoteLiteral(r))
    .join(", ");
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${role};`,
    `CREATE OR REPLACE FUNCTION ${AUTH_FUNCTION}(p_username text)`,
    "  RETURNS TABLE (username text, password text)",
    "  LANGUAGE sql STABLE SECURITY DEFINER",
    "  SET search_path = pg_catalog, pg_temp",
    "AS $tusk$",
    "  SELECT a.rolname::text, a.rolpassword",
    "    FROM pg_catalog.pg_authid AS a",
    "   WHERE a.rolname = p_username",
    "     AND a.rolcanlogin AND NOT a.rolsuper AND NOT a.rolreplication",
    `     AND a.rolname <> ALL (ARRAY[${operatorRoles}])`,
    "     AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil >= pg_catalog.now())",
    "$tusk$;",
    `REVOKE ALL ON FUNCTION ${AUTH_FUNCTION}(text) FROM PUBLIC;`,
    `GRANT EXECUTE ON FUNCTION ${AUTH_FUNCTION}(text) TO ${role};`,
  ];
}

/**
 * Appended to the users SQL (after the databases exist). Ends connected to `postgres`, where
 * the script started, so whatever follows runs where it would have.
 */
export function pgbouncerSql(model: ClusterModel, credentials: RoleCredentials): string[] {
  const role = quoteIdent(credentials.role);
  const lines = [
    "",
    "-- pgBouncer's auth_user: may log in and call the lookup below, nothing else.",
    ...createRoleSql(credentials.role),
    `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT PASSWORD ${quoteLiteral(credentials.verifier)};`,
  ];
  for (const db of authDatabases(model)) {
    lines.push("", psqlConnect(db), ...SESSION);
    if (db !== "template1") lines.push(`GRANT CONNECT ON DATABASE ${quoteIdent(db)} TO ${role};`);
    lines.push(...lookupSql());
  }
  lines.push("", psqlConnect("postgres"), ...SESSION);
  return lines;
}
