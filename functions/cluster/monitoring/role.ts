/**
 * @module
 * The exporter's login role `ROLES.monitoring` (pg_monitor and nothing else) and its Secret
 * `<cluster>-monitoring`, and the SECURITY DEFINER lookup through which it reads pgBackRest's
 * backup list: `pgbackrest info` on the primary at most every 5 minutes, cached in a table the
 * replicas receive by replication.
 */

import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import { infoArgs, shellQuote } from "../../../shared/pgbackrest/commands.ts";
import { ROLES } from "../../../shared/pod-layout.ts";
import type { ClusterDeps } from "../deps.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { hasBackups } from "../pgbackrest/pgbackrest.ts";
import { type RoleCredentials, roleCredentials, roleSecret } from "../users/role-secret.ts";
import { createRoleSql, quoteIdent, quoteLiteral } from "../users/sql.ts";
import { MONITORING_SCHEMA } from "./exporter.ts";

const BACKUP_INFO_MAX_AGE = "5 minutes";

/** `<cluster>-monitoring`: the monitoring role's login. */
export async function monitoringSecret(
  model: ClusterModel,
  observed: ObservedCluster,
  deps: ClusterDeps,
): Promise<{ secret: V1Secret; credentials: RoleCredentials }> {
  const name = names.monitoringSecret(model.name);
  const credentials = await roleCredentials(ROLES.monitoring, observed.secrets.get(name)?.data, deps);
  return { secret: roleSecret(model, name, "monitoring", credentials), credentials };
}

/** The command the backup lookup runs as the postgres OS user in the database container. */
function pgbackrestInfoCommand(): string {
  return infoArgs().map(shellQuote).join(" ");
}

function backupLookupSql(): string[] {
  const schema = quoteIdent(MONITORING_SCHEMA);
  const role = quoteIdent(ROLES.monitoring);
  return [
    `CREATE TABLE IF NOT EXISTS ${schema}.pgbackrest_info (refreshed_at timestamptz NOT NULL, info jsonb NOT NULL);`,
    `REVOKE ALL ON TABLE ${schema}.pgbackrest_info FROM PUBLIC;`,
    `CREATE OR REPLACE FUNCTION ${schema}.pgbackrest_last_backups()`,
    "  RETURNS TABLE (repo text, type text, seconds_since_completion double precision)",
    "  LANGUAGE plpgsql SECURITY DEFINER",
    "  SET search_path = pg_catalog, pg_temp",
    "AS $tusk$",
    "DECLARE",
    "  output text;",
    "BEGIN",
    // Only the primary can write the cache; replicas read what replication brings.
    "  IF NOT pg_is_in_recovery() AND NOT EXISTS (",
    `      SELECT 1 FROM ${schema}.pgbackrest_info WHERE refreshed_at > now() - interval ${quoteLiteral(BACKUP_INFO_MAX_AGE)}) THEN`,
    "    BEGIN",
    "      CREATE TEMP TABLE IF NOT EXISTS tusk_pgbackrest_output (n bigserial, line text) ON COMMIT DELETE ROWS;",
    // CSV with control characters as quote and delimiter: no escape processing touches the JSON.
    `      EXECUTE format('COPY pg_temp.tusk_pgbackrest_output (line) FROM PROGRAM %L WITH (FORMAT csv, DELIMITER E''\\x1f'', QUOTE E''\\x1e'')', ${quoteLiteral(pgbackrestInfoCommand())});`,
    "      SELECT string_agg(line, E'\\n' ORDER BY n) INTO output FROM pg_temp.tusk_pgbackrest_output;",
    `      DELETE FROM ${schema}.pgbackrest_info;`,
    `      INSERT INTO ${schema}.pgbackrest_info VALUES (now(), output::jsonb);`,
    "    EXCEPTION WHEN OTHERS THEN",
    // Keep the last good answer: its ages keep growing, so a stuck pgBackRest still alerts.
    "      RAISE WARNING 'pgbackrest info failed: %', SQLERRM;",
    "    END;",
    "  END IF;",
    "  RETURN QUERY",
    "    SELECT (b.value -> 'database' ->> 'repo-key'), (b.value ->> 'type'),",
    "           EXTRACT(EPOCH FROM now())::double precision - max((b.value -> 'timestamp' ->> 'stop')::double precision)",
    `      FROM ${schema}.pgbackrest_info AS i,`,
    "           jsonb_array_elements(i.info) AS s,",
    "           jsonb_array_elements(s.value -> 'backup') AS b",
    "     WHERE NOT COALESCE((b.value ->> 'error')::boolean, false)",
    "     GROUP BY 1, 2;",
    "END",
    "$tusk$;",
    `REVOKE ALL ON FUNCTION ${schema}.pgbackrest_last_backups() FROM PUBLIC;`,
    `GRANT EXECUTE ON FUNCTION ${schema}.pgbackrest_last_backups() TO ${role};`,
  ];
}

/** Appended to the users SQL; runs in the `postgres` database, where the exporter connects. */
export function monitoringSql(model: ClusterModel, credentials: RoleCredentials): string[] {
  const role = quoteIdent(credentials.role);
  const schema = quoteIdent(MONITORING_SCHEMA);
  return [
    "",
    "-- The exporter's login: pg_monitor (statistics views, pg_ls_waldir) and nothing else.",
    ...createRoleSql(credentials.role),
    `ALTER ROLE ${role} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${quoteLiteral(credentials.verifier)};`,
    `GRANT pg_monitor TO ${role};`,
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${role};`,
    ...(hasBackups(model) ? backupLookupSql() : []),
  ];
}
