/**
 * @module
 * PostgreSQL parameters: the defaults a user may override, the ones whose change needs a restart
 * (postmaster context), which decide whether a change rolls the pods, and the merge that ignores
 * (and reports) the operator-owned ones of shared/postgres/parameters.ts, which admission refuses.
 */
import { ownedParameter } from "../../../shared/postgres/parameters.ts";

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
 * over it, as in PGO), then what the operator owns. A value admission would refuse (an owned
 * name, wal_level `minimal`, ...) is ignored, never applied.
 */
export function mergeParameters(
  version: number,
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
      if (name in owned || ownedParameter(name, value, version) !== undefined) ignored.add(name);
      else out[name] = value;
    }
  }
  return { parameters: { ...out, ...owned }, ignored: [...ignored].sort() };
}
