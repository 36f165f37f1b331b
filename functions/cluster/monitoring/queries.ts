/**
 * @module
 * The exporter's queries (postgres_exporter `--extend.query-path`), named after Crunchy's
 * pgMonitor (`ccp_*`) so its dashboards and rules mostly apply, and the ConfigMap
 * `<cluster>-exporter` that carries them (with the exporter's web TLS configuration when the
 * user gives it a certificate).
 */

import type { V1ConfigMap } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { PATHS } from "../../../shared/pod-layout.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { hasBackups } from "../pgbackrest/pgbackrest.ts";
import { EXPORTER_FILES, MONITORING_SCHEMA, webTls } from "./exporter.ts";

interface Metric {
  usage: "GAUGE" | "COUNTER" | "LABEL";
  description: string;
}
interface Query {
  query: string;
  metrics: Record<string, Metric>[];
}

const gauge = (description: string): Metric => ({ usage: "GAUGE", description });
const counter = (description: string): Metric => ({ usage: "COUNTER", description });
const label = (description: string): Metric => ({ usage: "LABEL", description });

const sql = (...lines: string[]) => lines.join("\n");

/** postgres_exporter's `extend.query-path` file: name prefix -> query and its columns. */
export function exporterQueries(model: ClusterModel): Record<string, Query> {
  const queries: Record<string, Query> = {
    ccp_is_in_recovery: {
      query: "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN 1 ELSE 2 END AS status",
      metrics: [{ status: gauge("1 on a replica, 2 on the primary (pgMonitor's encoding)") }],
    },
    ccp_replication_lag: {
      query: sql(
        "SELECT CASE",
        "  WHEN NOT pg_catalog.pg_is_in_recovery() THEN 0",
        "  WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0",
        "  ELSE COALESCE(EXTRACT(EPOCH FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp()), 0)",
        "END AS replay_time",
      ),
      metrics: [{ replay_time: gauge("Seconds this replica's replay is behind what it received (0 on the primary)") }],
    },
    ccp_replication_lag_size: {
      // The WHERE keeps pg_current_wal_lsn(), which fails during recovery, off replicas.
      query: sql(
        "SELECT application_name AS replica,",
        "       CASE WHEN pg_catalog.pg_is_in_recovery() THEN 0",
        "            ELSE COALESCE(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn), 0) END AS bytes",
        "  FROM pg_catalog.pg_stat_replication",
        " WHERE NOT pg_catalog.pg_is_in_recovery()",
      ),
      metrics: [
        { replica: label("The replica's application_name (its pod name under Patroni)") },
        { bytes: gauge("Bytes of WAL the replica has not replayed yet, seen from the primary") },
      ],
    },
    ccp_archive_command_status: {
      query: sql(
        "SELECT CASE WHEN last_failed_time IS NOT NULL",
        "             AND (last_archived_time IS NULL OR last_failed_time > last_archived_time) THEN 1 ELSE 0 END AS failing,",
        "       EXTRACT(EPOCH FROM pg_catalog.now() - last_archived_time) AS seconds_since_last_archive,",
        "       archived_count, failed_count",
        "  FROM pg_catalog.pg_stat_archiver",
      ),
      metrics: [
        { failing: gauge("1 while the most recent archive attempt failed") },
        { seconds_since_last_archive: gauge("Seconds since a WAL file was last archived (NaN: never)") },
        { archived_count: counter("WAL files archived") },
        { failed_count: counter("Failed archive attempts") },
      ],
    },
    ccp_wal_activity: {
      query: "SELECT COALESCE(sum(size), 0) AS total_size_bytes FROM pg_catalog.pg_ls_waldir()",
      metrics: [{ total_size_bytes: gauge("Size of pg_wal") }],
    },
    ccp_connection_stats: {
      query: sql(
        "SELECT count(*) FILTER (WHERE state = 'active') AS active,",
        "       count(*) FILTER (WHERE state = 'idle') AS idle,",
        "       count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle_in_txn,",
        "       count(*) AS total,",
        "       pg_catalog.current_setting('max_connections')::float8 AS max_connections,",
        "       COALESCE(max(EXTRACT(EPOCH FROM pg_catalog.now() - query_start)) FILTER (WHERE state = 'active'), 0) AS max_query_time,",
        "       COALESCE(max(EXTRACT(EPOCH FROM pg_catalog.now() - xact_start)), 0) AS max_tx_time,",
        "       COALESCE(max(EXTRACT(EPOCH FROM pg_catalog.now() - state_change)) FILTER (WHERE state LIKE 'idle in transaction%'), 0) AS max_idle_in_txn_time",
        "  FROM pg_catalog.pg_stat_activity",
        " WHERE backend_type = 'client backend'",
      ),
      metrics: [
        { active: gauge("Client connections running a statement") },
        { idle: gauge("Idle client connections") },
        { idle_in_txn: gauge("Client connections idle inside a transaction") },
        { total: gauge("Client connections") },
        { max_connections: gauge("max_connections") },
        { max_query_time: gauge("Seconds the longest running statement has run") },
        { max_tx_time: gauge("Seconds the oldest open transaction has been open") },
        { max_idle_in_txn_time: gauge("Seconds the longest idle-in-transaction session has idled") },
      ],
    },
    ccp_database_size: {
      query: sql(
        "SELECT datname AS dbname, pg_catalog.pg_database_size(oid) AS bytes",
        "  FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate",
      ),
      metrics: [{ dbname: label("Database") }, { bytes: gauge("Size of the database") }],
    },
  };
  if (hasBackups(model)) {
    queries.ccp_backrest_last_backup = {
      query: `SELECT repo, type, seconds_since_completion AS time_since_completion_seconds FROM ${MONITORING_SCHEMA}.pgbackrest_last_backups()`,
      metrics: [
        { repo: label("pgBackRest repository number (1 for repo1)") },
        { type: label("full, diff or incr") },
        { time_since_completion_seconds: gauge("Seconds since the newest backup of this type finished") },
      ],
    };
  }
  return queries;
}

function exporterQueriesYaml(model: ClusterModel): string {
  return `# Generated by Tusk (postgres_exporter --extend.query-path).\n${stringify(exporterQueries(model), { lineWidth: 0 })}`;
}

export function buildExporterConfigMap(model: ClusterModel): V1ConfigMap {
  const data: Record<string, string> = {
    [EXPORTER_FILES.queries.slice(PATHS.exporterConfigDir.length + 1)]: exporterQueriesYaml(model),
  };
  if (webTls(model)) {
    data[EXPORTER_FILES.webConfig.slice(PATHS.exporterConfigDir.length + 1)] = stringify({
      tls_server_config: {
        cert_file: `${EXPORTER_FILES.webTlsDir}/tls.crt`,
        key_file: `${EXPORTER_FILES.webTlsDir}/tls.key`,
      },
    });
  }
  return withKind("ConfigMap", {
    metadata: childMeta(model, names.exporterConfig(model.name), clusterLabels(model.name, "monitoring")),
    data,
  });
}
