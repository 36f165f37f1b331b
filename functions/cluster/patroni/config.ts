/**
 * @module
 * The Patroni configuration of a cluster, and the contract between it and the pod that runs it.
 *
 * ## Pod-world contract (what the instance pod provides; the end-to-end suite maps each item)
 *
 * Configuration file: ConfigMap `names.clusterConfig(cluster)`, key `patroni.yaml` (key
 * `patroni-pgwal.yaml` for instance sets with a WAL volume), mounted so the file is
 * `PATHS.patroniConfigFile` (/etc/patroni/patroni.yaml). Container command:
 * `patroni /etc/patroni/patroni.yaml`.
 *
 * Per-pod values come from the environment, never from the file (Patroni merges its
 * `PATRONI_*` environment over the file):
 * - `PATRONI_NAME`: the pod name (fieldRef metadata.name); Kubernetes DCS members are pods.
 * - `PATRONI_KUBERNETES_NAMESPACE`: fieldRef metadata.namespace.
 * - `PATRONI_KUBERNETES_POD_IP`: fieldRef status.podIP (the leader Endpoints address).
 * - `PATRONI_POSTGRESQL_CONNECT_ADDRESS`: `$(PATRONI_KUBERNETES_POD_IP):<spec.port>`.
 * - `PATRONI_RESTAPI_CONNECT_ADDRESS`: `$(PATRONI_KUBERNETES_POD_IP):<spec.patroni.port>`.
 * - `PATRONI_SUPERUSER_USERNAME` / `_PASSWORD`, `PATRONI_REPLICATION_USERNAME` / `_PASSWORD`,
 *   `PATRONI_REWIND_USERNAME` / `_PASSWORD`, `PATRONI_RESTAPI_USERNAME` / `_PASSWORD`:
 *   secretKeyRef into `names.internalSecret(cluster)` (keys in `INTERNAL_KEYS`, users/secrets.ts).
 * - Never `PGPASSWORD`, `PGUSER` or other libpq variables: libpq prefers them over the pgpass
 *   file Patroni writes, and replicas then fail to bootstrap (docs/dataplane-notes.md P1).
 *
 * Files and directories (pod-layout.ts `PATHS`):
 * - `PATHS.pgdata` (PVC, fsGroup-writable); data directory `<pgdata>/pg<version>`;
 *   WAL directory `PATHS.pgwal/pg<version>_wal` when the set has a WAL volume.
 * - `/usr/lib/postgresql/<version>/bin`: the PostgreSQL binaries (Debian layout).
 * - `PATHS.tlsDir`: `tls.crt`, `tls.key` (server certificate, SANs in users/secrets.ts), `ca.crt`;
 *   `PATHS.replicationTlsDir`: `tls.crt`, `tls.key` of the replication client certificate.
 * - `PATHS.socketDir` (emptyDir; Unix socket), `PATHS.pgpass` (written by Patroni), `/tmp`.
 *
 * DCS: the `kubernetes` section (Endpoints mode). Objects: the leader lock is the Endpoints of
 * Service `<scope>` (scope = `names.patroniScope(cluster)`, created by the hook WITHOUT a
 * selector), the dynamic configuration lives in Endpoints `<scope>-config`. Pods are selected by
 * `postgres.tusk.dev/cluster=<cluster>,postgres.tusk.dev/patroni=<scope>` and Patroni labels
 * each pod `postgres.tusk.dev/patroni-role=master|replica`. The end-to-end suite swaps this
 * section for `etcd3` and keeps everything else.
 *
 * What the file holds:
 * - local, static, path-bearing settings (listen addresses, data/bin dirs, TLS files, socket
 *   directory, replication/rewind TLS connection options). A change here rolls the pods.
 * - `bootstrap.dcs`: the dynamic configuration (timings, pg_hba, parameters, archive and restore
 *   commands). Patroni reads it ONLY when it initialises the cluster; afterwards the hook applies
 *   changes with a Job that sends the same document to Patroni's REST API (`PUT /config`,
 *   objects/job.ts), and Patroni reloads Postgres itself. A changed parameter that needs a restart
 *   (patroni/parameters.ts RESTART_PARAMETERS) also changes the pod template's config hash, so the
 *   pods roll one at a time after the configuration Job has run.
 */

import { stringify } from "yaml";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { LABEL, labelValue, PATRONI_LEADER_VALUE } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { OWNED_PATRONI_KEYS, OWNED_PATRONI_POSTGRESQL_KEYS } from "../../../shared/patroni.ts";
import { archiveGetCommand, archivePushCommand } from "../../../shared/pgbackrest/commands.ts";
import { binDirectory, dataDirectory, PATHS, ROLES, walDirectory } from "../../../shared/pod-layout.ts";
import { bootstrapMethod } from "../../../shared/restore/pod.ts";
import { sortKeys } from "../objects/canonical.ts";
import { standbyCallbacks, standbyCluster, standbyReplicaMethods } from "../restore/standby.ts";
import { mergeParameters, RESTART_PARAMETERS } from "./parameters.ts";

/** Patroni 3.0 labels the leader `master`; newer versions need to be told to keep doing so. */
export const LEADER_ROLE = PATRONI_LEADER_VALUE;

/** Patroni's default; a replica further behind than this never becomes leader. */
const MAXIMUM_LAG_ON_FAILOVER = 1048576;

export const CONFIG_KEY = "patroni.yaml";
export const CONFIG_KEY_WITH_WAL = "patroni-pgwal.yaml";

const TLS_FILES = {
  certificate: `${PATHS.tlsDir}/tls.crt`,
  privateKey: `${PATHS.tlsDir}/tls.key`,
  ca: `${PATHS.tlsDir}/ca.crt`,
  replicationCertificate: `${PATHS.replicationTlsDir}/tls.crt`,
  replicationPrivateKey: `${PATHS.replicationTlsDir}/tls.key`,
} as const;

/**
 * WAL archiving and fetching through pgBackRest. The backup work renders the configuration file
 * this names; the commands live here only so Patroni's configuration and the backup Jobs agree.
 */
export function pgbackrestCommands(): { archive_command: string; restore_command: string } {
  return { archive_command: archivePushCommand(), restore_command: archiveGetCommand() };
}

/**
 * How the replication role authenticates: SCRAM with the internal Secret's password, or (a
 * standby cluster) the replication client certificate the cluster's CA signed.
 */
export type ReplicationAuth = "scram-sha-256" | "cert";

/**
 * A standby cluster's database is its source's: the replication role holds the source's password
 * verifier, which this cluster's internal Secret never matches, and a read-only standby cannot
 * change it (Patroni sets it only after bootstrapping a new primary). Its members authenticate
 * replication with the client certificate every instance pod already presents (CN = the role,
 * signed by this cluster's CA, which `ssl_ca_file` trusts), as PGO does; so does the cluster once
 * promoted, since the verifier stays the source's.
 */
function replicationAuth(model: ClusterModel): ReplicationAuth {
  return model.spec.standby ? "cert" : "scram-sha-256";
}

/** Lines Patroni writes to pg_hba.conf: TLS and SCRAM (or a client certificate) for everything that comes over the network. */
export function pgHba(userLines: string[], replication: ReplicationAuth = "scram-sha-256"): string[] {
  return [
    // In-pod superuser over the Unix socket, whose directory only the postgres UID can enter
    // (unix_socket_permissions 0700): whoever reaches it already owns the data files.
    `local all ${ROLES.superuser} trust`,
    "local all all scram-sha-256",
    `hostssl replication ${ROLES.replication} all ${replication}`,
    "hostnossl all all all reject",
    "hostnossl replication all all reject",
    ...userLines,
    "hostssl all all all scram-sha-256",
  ];
}

export interface DynamicConfiguration {
  config: Record<string, unknown>;
  /** Operator-owned settings the user tried to set; reported in a condition. */
  ignored: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Timings from the spec: RTO is about `ttl`, and Patroni needs
 * `loop_wait + 2 * retry_timeout <= ttl` (docs/dataplane-notes.md F1).
 */
function timings(model: ClusterModel): { ttl: number; loop_wait: number; retry_timeout: number } {
  const ttl = model.spec.patroni?.leaderLeaseDurationSeconds ?? 30;
  const loopWait = Math.min(model.spec.patroni?.syncPeriodSeconds ?? 10, Math.max(1, ttl - 2));
  return { ttl, loop_wait: loopWait, retry_timeout: Math.max(1, Math.floor((ttl - loopWait) / 2)) };
}

/**
 * The dynamic (DCS) configuration: operator defaults, the user's `patroni.dynamicConfiguration`
 * and `config.parameters`, then what the operator owns, which always wins.
 */
export function dynamicConfiguration(model: ClusterModel): DynamicConfiguration {
  const user = isRecord(model.spec.patroni?.dynamicConfiguration) ? model.spec.patroni.dynamicConfiguration : {};
  const userPostgresql = isRecord(user.postgresql) ? user.postgresql : {};
  const ignored: string[] = [];

  const archive = model.spec.backups?.pgbackrest
    ? pgbackrestCommands()
    : // Archiving stays on so enabling backups later is a reload, not a restart.
      { archive_command: "true", restore_command: undefined };
  const owned: Record<string, string> = {
    archive_mode: "on",
    archive_command: archive.archive_command,
    hot_standby: "on",
    wal_log_hints: "on",
  };
  const merged = mergeParameters(
    model.version,
    owned,
    isRecord(userPostgresql.parameters) ? userPostgresql.parameters : undefined,
    model.spec.config?.parameters,
  );
  ignored.push(...merged.ignored.map((p) => `parameter ${p}`));

  const userHba = Array.isArray(userPostgresql.pg_hba)
    ? userPostgresql.pg_hba.filter((l): l is string => typeof l === "string")
    : [];

  const ownedTop = Object.keys(OWNED_PATRONI_KEYS);
  for (const key of ownedTop) if (key in user) ignored.push(`patroni ${key}`);
  const ownedPostgresql = Object.keys(OWNED_PATRONI_POSTGRESQL_KEYS);
  for (const key of ownedPostgresql) if (key in userPostgresql) ignored.push(`patroni postgresql.${key}`);

  const rest = Object.fromEntries(Object.entries(user).filter(([k]) => !ownedTop.includes(k) && k !== "postgresql"));
  const restPostgresql = Object.fromEntries(
    Object.entries(userPostgresql).filter(
      ([k]) => !ownedPostgresql.includes(k) && k !== "parameters" && k !== "pg_hba",
    ),
  );

  const standby = standbyCluster(model);
  const config = {
    maximum_lag_on_failover: MAXIMUM_LAG_ON_FAILOVER,
    ...rest,
    ...timings(model),
    ...(standby ? { standby_cluster: standby } : {}),
    postgresql: {
      use_slots: true,
      ...restPostgresql,
      use_pg_rewind: true,
      parameters: merged.parameters,
      pg_hba: pgHba(userHba, replicationAuth(model)),
      ...(archive.restore_command ? { recovery_conf: { restore_command: archive.restore_command } } : {}),
    },
  };
  return { config: sortKeys(config), ignored: ignored.sort() };
}

/** The whole patroni.yaml as an object: local settings plus `bootstrap`. */
export function patroniConfig(model: ClusterModel, options: { walVolume: boolean }): Record<string, unknown> {
  const { config: dcs } = dynamicConfiguration(model);
  const scope = names.patroniScope(model.name);
  const sslConnection = { sslmode: "verify-ca", sslrootcert: TLS_FILES.ca };
  return sortKeys({
    scope,
    restapi: { listen: `0.0.0.0:${model.patroniPort}` },
    kubernetes: {
      labels: { [LABEL.cluster]: labelValue(model.name) },
      scope_label: LABEL.patroniScope,
      role_label: LABEL.patroniRole,
      leader_label_value: LEADER_ROLE,
      use_endpoints: true,
      ports: [{ name: "postgres", port: model.port }],
    },
    bootstrap: {
      dcs,
      initdb: [
        { encoding: "UTF8" },
        { locale: "C.UTF-8" },
        "data-checksums",
        ...(options.walVolume ? [{ waldir: walDirectory(model.version) }] : []),
      ],
      // A restored data directory is moved into place; initdb would start an empty cluster instead.
      ...(model.bootstrapFromRestore ? bootstrapMethod(dataDirectory(model.version)) : {}),
    },
    postgresql: {
      listen: `*:${model.port}`,
      data_dir: dataDirectory(model.version),
      bin_dir: binDirectory(model.version),
      pgpass: PATHS.pgpass,
      use_unix_socket: true,
      authentication: {
        replication: {
          ...sslConnection,
          sslcert: TLS_FILES.replicationCertificate,
          sslkey: TLS_FILES.replicationPrivateKey,
        },
        rewind: sslConnection,
      },
      parameters: {
        unix_socket_directories: PATHS.socketDir,
        unix_socket_permissions: "0700",
        ssl: "on",
        ssl_cert_file: TLS_FILES.certificate,
        ssl_key_file: TLS_FILES.privateKey,
        ssl_ca_file: TLS_FILES.ca,
      },
      create_replica_methods: ["basebackup"],
      basebackup: [{ checkpoint: "fast" }, ...(options.walVolume ? [{ waldir: walDirectory(model.version) }] : [])],
      ...standbyReplicaMethods(model, options.walVolume ? { walDirectory: walDirectory(model.version) } : {}),
      ...standbyCallbacks(model),
    },
    // Pods have no /dev/watchdog; "automatic" would only log a warning on every promotion.
    watchdog: { mode: "off" },
  });
}

export function patroniYaml(model: ClusterModel, options: { walVolume: boolean }): string {
  // YAML 1.1 quoting: Patroni reads the file with PyYAML, for which a bare `on` or `off` is a boolean.
  return stringify(patroniConfig(model, options), { version: "1.1", sortMapEntries: true, lineWidth: 0 });
}

/**
 * What a pod must be restarted for: the local part of patroni.yaml (read only at start) and the
 * values of postmaster-context parameters. Hashed into the pod template's config-hash annotation.
 */
export function restartRelevantConfig(model: ClusterModel, options: { walVolume: boolean }): unknown {
  const { bootstrap: _bootstrap, ...local } = patroniConfig(model, options);
  const { config } = dynamicConfiguration(model);
  const parameters = ((config.postgresql as Record<string, unknown>).parameters ?? {}) as Record<string, string>;
  const restart = Object.fromEntries(Object.entries(parameters).filter(([k]) => RESTART_PARAMETERS.has(k)));
  return { local, restart };
}
