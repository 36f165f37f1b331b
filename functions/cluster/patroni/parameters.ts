/**
 * @module
 * PostgreSQL parameters: the ones the operator owns (a user value is ignored and reported in a
 * condition; admission refuses them too), the defaults a user may override, and the ones whose
 * change needs a restart (postmaster context), which decide whether a change rolls the pods.
 */

/**
 * Set by the operator from the pod layout, TLS and backup settings; a user value would break
 * replication, TLS, archiving or Patroni itself. Patroni additionally owns `listen_addresses`,
 * `port`, `cluster_name`, `hba_file`, `ident_file`, `data_directory`, `config_file`,
 * recovery settings (`primary_conninfo`, ...), so they are here too.
 */
export const OPERATOR_OWNED_PARAMETERS: readonly string[] = [
  "archive_command",
  "archive_mode",
  "archive_cleanup_command",
  "cluster_name",
  "config_file",
  "data_directory",
  "external_pid_file",
  "hba_file",
  "hot_standby",
  "ident_file",
  "listen_addresses",
  "port",
  "primary_conninfo",
  "primary_slot_name",
  "promote_trigger_file",
  "recovery_end_command",
  "recovery_min_apply_delay",
  "recovery_target",
  "recovery_target_action",
  "recovery_target_inclusive",
  "recovery_target_lsn",
  "recovery_target_name",
  "recovery_target_time",
  "recovery_target_timeline",
  "recovery_target_xid",
  "restore_command",
  "ssl",
  "ssl_ca_file",
  "ssl_cert_file",
  "ssl_crl_dir",
  "ssl_crl_file",
  "ssl_dh_params_file",
  "ssl_key_file",
  "ssl_passphrase_command",
  "ssl_passphrase_command_supports_reload",
  "unix_socket_directories",
  "unix_socket_group",
  "unix_socket_permissions",
  "wal_log_hints",
];

/** Defaults a user's `config.parameters` or dynamic configuration may change. */
const DEFAULT_PARAMETERS: Readonly<Record<string, string>> = {
  wal_level: "replica",
  max_wal_senders: "10",
  max_replication_slots: "10",
  password_encryption: "scram-sha-256",
  wal_keep_size: "128MB",
};

/**
 * Postmaster-context parameters (PostgreSQL 13-18): a new value takes effect only after a
 * restart, so a change rolls the pods one at a time. Everything else Patroni reloads in place.
 */
export const RESTART_PARAMETERS: ReadonlySet<string> = new Set([
  "archive_mode",
  "autovacuum_max_workers",
  "autovacuum_worker_slots",
  "bonjour",
  "bonjour_name",
  "commit_timestamp_buffers",
  "data_sync_retry",
  "dynamic_shared_memory_type",
  "event_source",
  "huge_page_size",
  "huge_pages",
  "io_max_concurrency",
  "io_method",
  "jit_provider",
  "logging_collector",
  "max_active_replication_origins",
  "max_connections",
  "max_files_per_process",
  "max_locks_per_transaction",
  "max_logical_replication_workers",
  "max_notify_queue_pages",
  "max_pred_locks_per_transaction",
  "max_prepared_transactions",
  "max_replication_slots",
  "max_wal_senders",
  "max_worker_processes",
  "min_dynamic_shared_memory",
  "multixact_member_buffers",
  "multixact_offset_buffers",
  "notify_buffers",
  "old_snapshot_threshold",
  "reserved_connections",
  "serializable_buffers",
  "shared_buffers",
  "shared_memory_type",
  "shared_preload_libraries",
  "subtransaction_buffers",
  "superuser_reserved_connections",
  "track_activity_query_size",
  "track_commit_timestamp",
  "transaction_buffers",
  "wal_buffers",
  "wal_decode_buffer_size",
  "wal_level",
]);

/** Patroni passes parameters as strings; numbers from the spec are written the same way. */
function parameterValue(value: string | number): string {
  return typeof value === "number" ? String(value) : value;
}

export interface MergedParameters {
  parameters: Record<string, string>;
  /** Operator-owned names the user tried to set (reported, never applied). */
  ignored: string[];
}

/**
 * Operator defaults, then the user's values (dynamic configuration first, `config.parameters`
 * over it, as in PGO), then what the operator owns. wal_level `minimal` would make replicas
 * impossible, so it is ignored like an owned parameter.
 */
export function mergeParameters(
  owned: Record<string, string>,
  ...user: (Record<string, unknown> | undefined)[]
): MergedParameters {
  const out: Record<string, string> = { ...DEFAULT_PARAMETERS };
  const ignored = new Set<string>();
  for (const layer of user) {
    for (const [key, raw] of Object.entries(layer ?? {})) {
      if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean") continue;
      const name = key.toLowerCase();
      const value = typeof raw === "boolean" ? (raw ? "on" : "off") : parameterValue(raw);
      if (OPERATOR_OWNED_PARAMETERS.includes(name) || name in owned) ignored.add(name);
      else if (name === "wal_level" && value.toLowerCase() === "minimal") ignored.add(name);
      else out[name] = value;
    }
  }
  return { parameters: { ...out, ...owned }, ignored: [...ignored].sort() };
}
