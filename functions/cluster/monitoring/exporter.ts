/**
 * @module
 * Metrics (`spec.monitoring.pgmonitor.exporter`): a postgres_exporter sidecar in every instance
 * pod, a pgBouncer exporter beside pgBouncer when the proxy is on, the exporter's queries
 * (ConfigMap `<cluster>-exporter`), its login role and Secret (`<cluster>-monitoring`), and the
 * scrape annotations on both kinds of pods.
 *
 * The exporter logs in over TCP to localhost with TLS (`verify-ca` against the CA of the server
 * certificate: pg_hba refuses non-TLS TCP) as `ROLES.monitoring`, a role with `pg_monitor`
 * and nothing else: it reads every statistics view and `pg_ls_waldir()`, never a user table.
 * The one thing pg_monitor cannot read, pgBackRest's backup list, comes from a SECURITY
 * DEFINER function owned by the superuser (created by the users Job, EXECUTE for the
 * monitoring role only) that runs `pgbackrest info` on the primary at most every 5 minutes and
 * keeps the answer in a table the replicas receive by replication.
 *
 * Metric names follow Crunchy's pgMonitor (`ccp_*`) so its dashboards and rules mostly apply;
 * manifests/monitoring/ holds Tusk's own alert rules and dashboard over these names.
 *
 * Scrape annotations are on the pods whenever the exporter is on, PodMonitors or not: they
 * are part of the pod template, and a template that depended on whether the Prometheus
 * Operator component is installed would restart every database when it is. The Prometheus
 * Operator ignores them.
 */
import type {
  V1ConfigMap,
  V1Container,
  V1EnvVar,
  V1Secret,
  V1Volume,
  V1VolumeProjection,
} from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import { names } from "../../../shared/names.ts";
import { infoArgs, shellQuote } from "../../../shared/pgbackrest/commands.ts";
import { IMAGES, PATHS, PORTS, ROLES } from "../../../shared/pod-layout.ts";
import { restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import type { ClusterDeps } from "../deps.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { observedSecretData } from "../observe/observed.ts";
import { hasBackups } from "../pgbackrest/pgbackrest.ts";
import { ROLE_SECRET_KEYS, type RoleCredentials, roleCredentials, roleSecret } from "../users/role-secret.ts";
import { createRoleSql, quoteIdent, quoteLiteral } from "../users/sql.ts";

export const EXPORTER_CONTAINER = "exporter";
export const PGBOUNCER_EXPORTER_CONTAINER = "pgbouncer-exporter";
export const EXPORTER_PORT_NAME = "exporter";
/** A port name of its own: a PodMonitor endpoint per exporter, each with its own scheme. */
export const PGBOUNCER_EXPORTER_PORT_NAME = "pgb-exporter";
export const METRICS_PATH = "/metrics";
const CONFIG_VOLUME = "exporter-config";

export const EXPORTER_FILES = {
  queries: `${PATHS.exporterConfigDir}/queries.yaml`,
  /** With `exporter.configuration`, the user's queries replace ours (as in PGO). */
  userQueries: `${PATHS.exporterConfigDir}/queries.yml`,
  ca: `${PATHS.exporterConfigDir}/ca.crt`,
  webConfig: `${PATHS.exporterConfigDir}/web-config.yml`,
  webTlsDir: `${PATHS.exporterConfigDir}/web-tls`,
} as const;

/** The schema holding the pgBackRest lookup (named after the role, owned by the superuser). */
export const MONITORING_SCHEMA = ROLES.monitoring;
/** pgBackRest is asked at most this often; backups are hours apart, `info` may take seconds on S3. */
const BACKUP_INFO_MAX_AGE = "5 minutes";

export function exporterSpec(model: ClusterModel) {
  return model.spec.monitoring?.pgmonitor?.exporter;
}

export function exporterEnabled(model: ClusterModel): boolean {
  return exporterSpec(model) !== undefined;
}

export const webTls = (model: ClusterModel) => exporterSpec(model)?.customTLSSecret !== undefined;

/** `prometheus.io/*` annotations for a pod running postgres_exporter or the pgBouncer exporter. */
export function scrapeAnnotations(model: ClusterModel, pod: "postgres" | "pgbouncer"): Record<string, string> {
  const port = pod === "postgres" ? PORTS.exporter : PORTS.pgbouncerExporter;
  return {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": String(port),
    "prometheus.io/path": METRICS_PATH,
    ...(pod === "postgres" && webTls(model) ? { "prometheus.io/scheme": "https" } : {}),
  };
}

// ------------------------------------------------------------------ queries

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

export function exporterQueriesYaml(model: ClusterModel): string {
  return `# Generated by Tusk (postgres_exporter --extend.query-path).\n${stringify(exporterQueries(model), { lineWidth: 0 })}`;
}

// ------------------------------------------------------------------ children

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

/** `<cluster>-monitoring`: the monitoring role's login. */
export async function monitoringSecret(
  model: ClusterModel,
  children: ObjectMap,
  deps: ClusterDeps,
): Promise<{ secret: V1Secret; credentials: RoleCredentials }> {
  const name = names.monitoringSecret(model.name);
  const credentials = await roleCredentials(ROLES.monitoring, observedSecretData(children, name), deps);
  return { secret: roleSecret(model, name, "monitoring", credentials), credentials };
}

// ------------------------------------------------------------------ SQL

/** The command the backup lookup runs as the postgres OS user in the database container. */
export function pgbackrestInfoCommand(): string {
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

// ------------------------------------------------------------------ containers

function configVolume(model: ClusterModel): V1Volume {
  const exporter = exporterSpec(model)!;
  const rel = (path: string) => path.slice(PATHS.exporterConfigDir.length + 1);
  const configMapItems = [{ key: rel(EXPORTER_FILES.queries), path: rel(EXPORTER_FILES.queries) }];
  if (webTls(model)) configMapItems.push({ key: rel(EXPORTER_FILES.webConfig), path: rel(EXPORTER_FILES.webConfig) });
  const custom = exporter.customTLSSecret;
  const webDir = rel(EXPORTER_FILES.webTlsDir);
  return {
    name: CONFIG_VOLUME,
    projected: {
      defaultMode: 0o440,
      sources: [
        { configMap: { name: names.exporterConfig(model.name), items: configMapItems } },
        {
          secret: {
            name: model.spec.customTLSSecret?.name ?? names.serverCertSecret(model.name),
            items: [{ key: "ca.crt", path: rel(EXPORTER_FILES.ca) }],
          },
        },
        ...(custom
          ? [
              {
                secret: {
                  name: custom.name,
                  items: custom.items?.length
                    ? custom.items.map((i) => ({ ...i, path: `${webDir}/${i.path}` }))
                    : ["tls.crt", "tls.key"].map((key) => ({ key, path: `${webDir}/${key}` })),
                },
              },
            ]
          : []),
        ...((exporter.configuration ?? []) as V1VolumeProjection[]),
      ],
    },
  };
}

function secretEnv(name: string, secretName: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

function exporterContainer(model: ClusterModel): V1Container {
  const exporter = exporterSpec(model)!;
  const queries = exporter.configuration?.length ? EXPORTER_FILES.userQueries : EXPORTER_FILES.queries;
  return {
    name: EXPORTER_CONTAINER,
    image: exporter.image ?? IMAGES.exporter,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    ...(webTls(model) ? { args: [`--web.config.file=${EXPORTER_FILES.webConfig}`] } : {}),
    env: [
      {
        name: "DATA_SOURCE_URI",
        value: `localhost:${model.port}/postgres?sslmode=verify-ca&sslrootcert=${EXPORTER_FILES.ca}`,
      },
      { name: "DATA_SOURCE_USER", value: ROLES.monitoring },
      secretEnv("DATA_SOURCE_PASS", names.monitoringSecret(model.name), ROLE_SECRET_KEYS.password),
      { name: "PG_EXPORTER_EXTEND_QUERY_PATH", value: queries },
    ],
    ports: [{ name: EXPORTER_PORT_NAME, containerPort: PORTS.exporter, protocol: "TCP" }],
    ...(exporter.resources ? { resources: exporter.resources as V1Container["resources"] } : {}),
    securityContext: restrictedContainerSecurity,
    volumeMounts: [{ name: CONFIG_VOLUME, mountPath: PATHS.exporterConfigDir, readOnly: true }],
  };
}

/** The instance pod's containers and volumes, with the exporter added when it is on. */
export function withExporter<T extends { containers?: V1Container[]; volumes?: V1Volume[] }>(
  model: ClusterModel,
  pod: T,
): T {
  if (!exporterEnabled(model)) return pod;
  return {
    ...pod,
    containers: [...(pod.containers ?? []), exporterContainer(model)],
    volumes: [...(pod.volumes ?? []), configVolume(model)],
  };
}

/**
 * Beside pgBouncer: reads SHOW STATS/POOLS on the local admin console as the auth_user (a
 * `stats_users` entry). Its password comes from PGPASSWORD, which the Go driver reads, so it
 * never shows in the process's arguments.
 */
export function pgbouncerExporterContainer(model: ClusterModel): V1Container {
  const exporter = exporterSpec(model)!;
  const port = model.spec.proxy?.pgBouncer?.port ?? 5432;
  return {
    name: PGBOUNCER_EXPORTER_CONTAINER,
    image: IMAGES.pgbouncerExporter,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    args: [
      `--pgBouncer.connectionString=postgres://${ROLES.pgbouncer}@localhost:${port}/pgbouncer?sslmode=require`,
      `--web.listen-address=:${PORTS.pgbouncerExporter}`,
    ],
    env: [secretEnv("PGPASSWORD", names.pgbouncer(model.name), ROLE_SECRET_KEYS.password)],
    ports: [{ name: PGBOUNCER_EXPORTER_PORT_NAME, containerPort: PORTS.pgbouncerExporter, protocol: "TCP" }],
    ...(exporter.resources ? { resources: exporter.resources as V1Container["resources"] } : {}),
    securityContext: restrictedContainerSecurity,
  };
}
