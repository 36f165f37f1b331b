/**
 * @module
 * Keys of Patroni's dynamic configuration (`spec.patroni.dynamicConfiguration`) the operator
 * owns. The cluster hook ignores a user value and reports it; admission warns (or, for
 * standby_cluster, refuses) with what to set instead. PostgreSQL parameters inside it follow
 * shared/postgres/parameters.ts.
 */

export interface OwnedPatroniKey {
  /** What to set instead, or why the operator keeps it. */
  instead: string;
  /** Refused by admission rather than only warned about: a user value would change what runs. */
  refused?: boolean;
}

/** Top-level keys. */
export const OWNED_PATRONI_KEYS: Readonly<Record<string, OwnedPatroniKey>> = {
  // The timings come from the spec and are kept consistent (loop_wait + 2 * retry_timeout <= ttl).
  ttl: { instead: "set spec.patroni.leaderLeaseDurationSeconds" },
  loop_wait: { instead: "set spec.patroni.syncPeriodSeconds" },
  retry_timeout: { instead: "derived from spec.patroni.leaderLeaseDurationSeconds and syncPeriodSeconds" },
  // A standby's source (repository, host) must match what its pods mount and trust.
  standby_cluster: { instead: "use spec.standby", refused: true },
};

/** Keys under `postgresql`. */
export const OWNED_PATRONI_POSTGRESQL_KEYS: Readonly<Record<string, OwnedPatroniKey>> = {
  // A former leader rejoins with pg_rewind; wal_log_hints is always on for it.
  use_pg_rewind: { instead: "always on: a former leader rejoins with pg_rewind" },
  // restore_command is pgBackRest's, set by the operator.
  recovery_conf: { instead: "set by the operator (restore_command is pgBackRest's)" },
};
