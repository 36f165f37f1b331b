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
 * configuration (job.ts), which drops `standby_cluster` from the DCS; Patroni then promotes the
 * standby leader. Nothing restarts: the replica method below stays in patroni.yaml as long as
 * `spec.standby` is set, enabled or not.
 *
 * Streaming needs the primary to accept this cluster's replication user and client
 * certificate: share the replication credentials and `customReplicationTLSSecret` (and a CA the
 * primary trusts) between the two clusters. While the standby runs, the jobs that write (users,
 * stanza, manual backups) are held: the database is read-only (restore-gate.ts).
 */
import { archiveGetCommand, restoreArgs, shellQuote } from "../../shared/pgbackrest/commands.ts";
import { PORTS } from "../../shared/pod-layout.ts";
import type { ClusterModel } from "./model.ts";

/** The replica method's name in Patroni's configuration. */
export const PGBACKREST_METHOD = "pgbackrest";

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
