/**
 * @module
 * Standby clusters (`spec.standby`): disaster recovery across Kubernetes clusters. A standby
 * replays the WAL its primary archives to a repository it can read (`repoName`, one of its own
 * `backups.pgbackrest.repos` pointing at the primary's bucket and path) and/or streams from the
 * primary (`host`, `port`). It is Patroni's standby cluster
 * (`bootstrap.dcs.standby_cluster`): the standby leader bootstraps from the repository with
 * `pgbackrest restore` (the `pgbackrest` replica method below, usable without a primary to
 * connect to) or with pg_basebackup from `host`, then follows.
 *
 * Promotion is `enabled: false`: `standby_cluster` leaves the dynamic configuration, so its
 * hash and with it the Patroni configuration Job's name change, and the Job `PUT`s the whole
 * configuration (objects/job.ts), which drops `standby_cluster` from the DCS; Patroni then promotes the
 * standby leader. Nothing restarts: the replica method below stays in patroni.yaml as long as
 * `spec.standby` is set, enabled or not.
 *
 * Streaming needs the primary to accept this cluster's replication user and client
 * certificate: share the replication credentials and `customReplicationTLSSecret` (and a CA the
 * primary trusts) between the two clusters. While the standby runs, the jobs that write (users,
 * stanza, manual backups) are held: the database is read-only (restore/gate.ts).
 *
 * The database is the source's, and so are the password verifiers of the roles Patroni and the
 * Jobs log in as. A read-only standby cannot change them, and Patroni sets them only after it
 * bootstraps a new primary, never on promotion. So members of a cluster with `spec.standby`
 * replicate by client certificate (patroni/config.ts replicationAuth), and Patroni's `on_role_change`
 * callback (roleChangeScript) sets the superuser, replication and rewind passwords to this
 * cluster's internal Secret when a member starts leading a writable cluster; the users Job,
 * held until then, can log in after that.
 */
import type { V1EnvVar } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import { archiveGetCommand, restoreArgs, shellQuote } from "../../../shared/pgbackrest/commands.ts";
import { PATHS, PORTS, ROLES } from "../../../shared/pod-layout.ts";
import { INTERNAL_KEYS } from "../users/internal-secret.ts";
import { quoteIdent, quoteLiteral } from "../users/sql.ts";

/** The replica method's name in Patroni's configuration. */
const PGBACKREST_METHOD = "pgbackrest";

export function standbyEnabled(model: ClusterModel): boolean {
  return model.spec.standby !== undefined && model.spec.standby.enabled !== false;
}

/** `standby_cluster` for the dynamic configuration, or undefined when the cluster is not (or no longer) a standby. */
export function standbyCluster(model: ClusterModel): Record<string, unknown> | undefined {
  const standby = model.spec.standby;
  if (!standby || !standbyEnabled(model)) return undefined;
  const methods = [...(standby.repoName ? [PGBACKREST_METHOD] : []), ...(standby.host ? ["basebackup"] : [])];
  return {
    ...(standby.host ? { host: standby.host, port: standby.port ?? PORTS.postgres } : {}),
    ...(standby.repoName ? { restore_command: archiveGetCommand({}, { repoName: standby.repoName }) } : {}),
    create_replica_methods: methods,
  };
}

/**
 * The `pgbackrest` replica method for patroni.yaml's `postgresql` section: a delta restore of the
 * newest backup into the data directory (pg1-path of the instance configuration), WAL on its
 * volume when the set has one. Patroni then starts it as a standby and replays or streams.
 */
export function standbyReplicaMethods(
  model: ClusterModel,
  options: { walDirectory?: string },
): Record<string, unknown> {
  const standby = model.spec.standby;
  if (!standby?.repoName) return {};
  const argv = restoreArgs({
    repoName: standby.repoName,
    ...(options.walDirectory ? { linkMap: { pg_wal: options.walDirectory } } : {}),
  });
  return {
    [PGBACKREST_METHOD]: { command: argv.map(shellQuote).join(" "), keep_data: true, no_master: true, no_params: true },
  };
}

export function standbyDescription(model: ClusterModel): string | undefined {
  const standby = model.spec.standby;
  if (!standby || !standbyEnabled(model)) return undefined;
  const from = [
    ...(standby.repoName ? [`replaying WAL from ${standby.repoName}`] : []),
    ...(standby.host ? [`streaming from ${standby.host}:${standby.port ?? PORTS.postgres}`] : []),
  ];
  return `a standby cluster ${from.join(" and ")}; set spec.standby.enabled to false to promote it`;
}

/** The callback's key in the cluster ConfigMap, mounted beside patroni.yaml. */
export const ROLE_CHANGE_KEY = "on-role-change.sh";

/**
 * The roles whose passwords the callback sets, each from its internal Secret key, under an
 * environment name Patroni leaves alone: it removes `PATRONI_*` variables from its environment
 * once read, so a callback never sees those.
 */
const ROLE_PASSWORDS = [
  { role: ROLES.superuser, key: INTERNAL_KEYS.superuserPassword, env: "TUSK_SUPERUSER_PASSWORD" },
  { role: ROLES.replication, key: INTERNAL_KEYS.replicationPassword, env: "TUSK_REPLICATION_PASSWORD" },
  { role: ROLES.rewind, key: INTERNAL_KEYS.rewindPassword, env: "TUSK_REWIND_PASSWORD" },
] as const;

/** Only a cluster with `spec.standby` (enabled or not, so promotion restarts nothing) has the callback. */
export function hasRoleChangeCallback(model: ClusterModel): boolean {
  return model.spec.standby !== undefined;
}

/** `postgresql.callbacks` for patroni.yaml. */
export function standbyCallbacks(model: ClusterModel): Record<string, unknown> {
  if (!hasRoleChangeCallback(model)) return {};
  return { callbacks: { on_role_change: `sh ${PATHS.patroniConfigDir}/${ROLE_CHANGE_KEY}` } };
}

export function roleChangeEnv(model: ClusterModel): V1EnvVar[] {
  if (!hasRoleChangeCallback(model)) return [];
  return ROLE_PASSWORDS.map(({ env, key }) => ({
    name: env,
    valueFrom: { secretKeyRef: { name: names.internalSecret(model.name), key } },
  }));
}

/**
 * Patroni runs it as `sh on-role-change.sh on_role_change <role> <scope>`, without waiting. As
 * the new leader it waits for the end of recovery, then sets the three passwords over the Unix
 * socket (the superuser's `local` line is trust; the port is the container's PGPORT). The
 * passwords travel as psql variables on stdin, never on a command line, and the session turns
 * statement logging off first. Running it again (any later failover) changes nothing.
 */
export function roleChangeScript(binDirectory: string): string {
  const vars = ROLE_PASSWORDS.map(({ role, env }, i) => ({ role, env, variable: `p${i}` }));
  const psql = `${binDirectory}/psql -X -q -A -t -h ${PATHS.socketDir} -U ${ROLES.superuser} -d postgres`;
  const alter = vars.map(({ role, variable }) =>
    role === ROLES.superuser
      ? `ALTER ROLE ${quoteIdent(role)} PASSWORD :'${variable}';`
      : [
          `SELECT pg_catalog.format('ALTER ROLE %I PASSWORD %L', ${quoteLiteral(role)}, :'${variable}')`,
          ` WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) \\gexec`,
        ].join("\n"),
  );
  return `${[
    "#!/bin/sh",
    "# Generated by Tusk: sets this cluster's internal passwords once a member of a (former) standby",
    "# cluster leads; its database still holds the source cluster's (standby.ts).",
    "set -eu",
    '[ "$#" -ge 2 ] || exit 0',
    'case "$2" in master | primary) ;; *) exit 0 ;; esac',
    `pg() { ${psql} "$@"; }`,
    "tries=0",
    "until [ \"$(pg -c 'SELECT pg_catalog.pg_is_in_recovery()' 2>/dev/null || true)\" = f ]; do",
    "  tries=$((tries + 1))",
    '  if [ "$tries" -ge 300 ]; then echo "on_role_change: still in recovery, passwords not set" >&2; exit 1; fi',
    "  sleep 1",
    "done",
    `pg -v ON_ERROR_STOP=1 ${vars.map(({ env, variable }) => `-v ${variable}="$${env}"`).join(" ")} <<'SQL'`,
    "SET log_statement = 'none';",
    "SET log_min_duration_statement = -1;",
    "SET log_min_error_statement = 'panic';",
    ...alter,
    "SQL",
    'echo "on_role_change: internal passwords set"',
  ].join("\n")}\n`;
}
