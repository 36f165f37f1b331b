/**
 * @module
 * PostgreSQL parameters a user may not set through `config.parameters` or Patroni's
 * `dynamicConfiguration.postgresql.parameters`, because the operator owns them: paths, the
 * listen address and port, TLS, WAL archiving and restore commands, replication and recovery
 * targets. Learned from PGO's CEL deny-list on `config.parameters` (postgres_types.go), with the
 * reason each one is refused.
 */
import { forbidden, hasControl, invalid, key, type Problem, show } from "./problems.ts";

interface Rule {
  test: (name: string, value: unknown, version: number) => boolean;
  why: string;
}

const named = (...names: string[]) => {
  const set = new Set(names);
  return (name: string) => set.has(name);
};

/** "off", "false", "0", "no" in any case: PostgreSQL's spellings of a false boolean. */
function isOff(value: unknown): boolean {
  return /^(off|false|no|n|0|f)$/i.test(String(value).trim());
}

export const PARAMETER_RULES: Rule[] = [
  {
    test: named("config_file", "data_directory"),
    why: "the data directory and its config file are set by the operator",
  },
  { test: named("hba_file", "ident_file"), why: "authentication files are set by the operator" },
  { test: named("external_pid_file"), why: "the pid file is set by the operator" },
  { test: named("listen_addresses"), why: "network connectivity is always enabled" },
  { test: named("port"), why: "set the port with spec.port" },
  {
    // PGO allows the key-exchange groups; ssl_groups exists from PostgreSQL 18 (ssl_ecdh_curve before).
    test: (n, _v, version) =>
      (n === "ssl" || n.startsWith("ssl_")) && n !== "ssl_ecdh_curve" && !(n === "ssl_groups" && version >= 18),
    why: "TLS is always enabled and managed by the operator (ssl_ecdh_curve, and ssl_groups on 18+, may be set)",
  },
  { test: (n) => n.startsWith("unix_socket_"), why: "the domain socket paths are set by the operator" },
  {
    test: (n, v) => n === "wal_level" && !["replica", "logical"].includes(String(v).trim().toLowerCase()),
    why: 'wal_level must be "replica" or "logical" (replication needs at least replica)',
  },
  { test: named("wal_log_hints"), why: "wal_log_hints is always on (pg_rewind needs it)" },
  {
    test: (n) => n.startsWith("archive_") || n === "restore_command",
    why: "WAL archiving and restore use pgBackRest, set by the operator",
  },
  {
    test: (n) => n === "recovery_target" || n.startsWith("recovery_target_"),
    why: "use a PostgresRestore to recover to a target",
  },
  { test: named("hot_standby"), why: "hot_standby is always on" },
  { test: named("synchronous_standby_names"), why: "Patroni manages synchronous_standby_names (use synchronous_mode)" },
  { test: named("primary_conninfo", "primary_slot_name"), why: "Patroni manages replication connections" },
  { test: named("recovery_min_apply_delay"), why: "delayed replication is not supported" },
  { test: named("cluster_name"), why: "cluster_name is derived from the PostgresCluster name" },
  { test: (n, v) => n === "logging_collector" && isOff(v), why: "turning logging_collector off is unsafe" },
  { test: named("log_file_mode"), why: "log_file_mode is set by the operator" },
];

/** Custom options (`pg_stat_statements.max`) have a dot; names are ASCII identifiers. */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

export function checkParameters(params: Record<string, unknown>, path: string, version: number): Problem[] {
  const problems: Problem[] = [];
  for (const [rawName, value] of Object.entries(params)) {
    const at = key(path, rawName);
    if (!PARAMETER_NAME.test(rawName)) {
      problems.push(invalid(at, "is not a PostgreSQL parameter name (letters, digits, '_' and one '.')"));
      continue;
    }
    const name = rawName.toLowerCase();
    const rule = PARAMETER_RULES.find((r) => r.test(name, value, version));
    if (rule) {
      problems.push(forbidden(at, `cannot be set: ${rule.why}`));
      continue;
    }
    if (typeof value === "string" && hasControl(value)) {
      problems.push(invalid(at, `${show(value)} must not contain newlines or control characters`));
    } else if (value !== null && typeof value === "object") {
      problems.push(invalid(at, "must be a string or a number"));
    }
  }
  return problems;
}
