/**
 * @module
 * The PostgreSQL parameters the operator owns: a user may not set them through
 * `config.parameters` or Patroni's `dynamicConfiguration.postgresql.parameters`. This is the one
 * table: admission refuses what it matches (with the reason), the CRD's CEL rule refuses the
 * names it can test, and the cluster hook ignores and reports a value that got past both (a
 * cluster created while the webhook was down, or before a rule existed), so the hook never
 * applies what admission would have refused.
 */

export interface OwnedParameters {
  /** Names owned outright. */
  names?: readonly string[];
  /** A family by prefix (`ssl_`): new PostgreSQL releases add members. */
  prefix?: string;
  /**
   * The family's members known today. The CRD's CEL rule can only test named keys (iterating a
   * map without a size bound is too expensive for the API server), so it refuses these.
   */
  known?: readonly string[];
  /** Members of the family a user may still set. */
  except?: (name: string, version: number) => boolean;
  /** Only these values are refused (undefined: any value). */
  refused?: (value: string) => boolean;
  /** Why the operator owns it; admission's message. */
  why: string;
}

/** The wal_level values that keep streaming replication possible (`minimal` does not). */
export const WAL_LEVELS: readonly string[] = ["replica", "logical"];

/** "off", "false", "0", "no" in any case: PostgreSQL's spellings of a false boolean. */
function isOff(value: string): boolean {
  return /^(off|false|no|n|0|f)$/i.test(value.trim());
}

export const OWNED_PARAMETERS: readonly OwnedParameters[] = [
  {
    // Patroni starts PostgreSQL with these pointing into the data volume's layout.
    names: ["config_file", "data_directory"],
    why: "the data directory and its config file are set by the operator",
  },
  {
    // Patroni writes pg_hba.conf from the operator's rules (TLS only, the replication role).
    names: ["hba_file", "ident_file"],
    why: "authentication files are set by the operator",
  },
  { names: ["external_pid_file"], why: "the pid file is set by the operator" },
  {
    // Services, replicas and the exporter reach every instance over the pod network.
    names: ["listen_addresses"],
    why: "network connectivity is always enabled",
  },
  { names: ["port"], why: "set the port with spec.port" },
  {
    // The server certificate comes from the cluster's CA and replication verifies it; only the
    // key-exchange groups are left to the user (ssl_groups exists from PostgreSQL 18, and
    // ssl_ecdh_curve is its older name).
    names: ["ssl"],
    prefix: "ssl_",
    known: [
      "ssl_ca_file",
      "ssl_cert_file",
      "ssl_ciphers",
      "ssl_crl_dir",
      "ssl_crl_file",
      "ssl_dh_params_file",
      "ssl_key_file",
      "ssl_max_protocol_version",
      "ssl_min_protocol_version",
      "ssl_passphrase_command",
      "ssl_passphrase_command_supports_reload",
      "ssl_prefer_server_ciphers",
    ],
    except: (name, version) => name === "ssl_ecdh_curve" || (name === "ssl_groups" && version >= 18),
    why: "TLS is always enabled and managed by the operator (ssl_ecdh_curve, and ssl_groups on 18+, may be set)",
  },
  {
    // The in-pod superuser connects over the socket in a directory only the postgres UID enters.
    prefix: "unix_socket_",
    known: ["unix_socket_directories", "unix_socket_group", "unix_socket_permissions"],
    why: "the domain socket paths are set by the operator",
  },
  {
    names: ["wal_level"],
    refused: (v) => !WAL_LEVELS.includes(v.trim().toLowerCase()),
    why: 'wal_level must be "replica" or "logical" (replication needs at least replica)',
  },
  { names: ["wal_log_hints"], why: "wal_log_hints is always on (pg_rewind needs it)" },
  {
    // pgBackRest archives and restores WAL; archive_mode stays on even without backups so that
    // adding a repository is a reload rather than a restart.
    names: ["restore_command", "recovery_end_command"],
    prefix: "archive_",
    known: ["archive_cleanup_command", "archive_command", "archive_library", "archive_mode", "archive_timeout"],
    why: "WAL archiving and restore use pgBackRest, set by the operator",
  },
  {
    // Recovery to a target is a PostgresRestore (or a dataSource), which stops the cluster first.
    names: ["recovery_target"],
    prefix: "recovery_target_",
    known: [
      "recovery_target_action",
      "recovery_target_inclusive",
      "recovery_target_lsn",
      "recovery_target_name",
      "recovery_target_time",
      "recovery_target_timeline",
      "recovery_target_xid",
    ],
    why: "use a PostgresRestore to recover to a target",
  },
  { names: ["hot_standby"], why: "hot_standby is always on" },
  {
    // Patroni rewrites it from synchronous_mode on every loop.
    names: ["synchronous_standby_names"],
    why: "Patroni manages synchronous_standby_names (use synchronous_mode)",
  },
  {
    // Patroni points replicas at the leader and promotes through its REST API, not a file.
    names: ["primary_conninfo", "primary_slot_name", "promote_trigger_file"],
    why: "Patroni manages replication connections and promotion",
  },
  { names: ["recovery_min_apply_delay"], why: "delayed replication is not supported" },
  { names: ["cluster_name"], why: "cluster_name is derived from the PostgresCluster name" },
  // Tusk sets neither of the next two itself; they stay refused as PGO refuses them (it ships
  // the log files), so a spec accepted here stays valid there and a later log shipper can own them.
  {
    names: ["logging_collector"],
    refused: isOff,
    why: "turning logging_collector off is unsafe",
  },
  { names: ["log_file_mode"], why: "log_file_mode is set by the operator" },
];

function matches(rule: OwnedParameters, name: string, version: number): boolean {
  if (rule.names?.includes(name)) return true;
  return rule.prefix !== undefined && name.startsWith(rule.prefix) && !rule.except?.(name, version);
}

/** Why the operator owns this parameter with this value, or undefined when a user may set it. */
export function ownedParameter(rawName: string, value: unknown, version: number): string | undefined {
  const name = rawName.toLowerCase();
  const rule = OWNED_PARAMETERS.find(
    (r) => matches(r, name, version) && (r.refused === undefined || r.refused(String(value))),
  );
  return rule?.why;
}

/**
 * The names a CEL rule refuses whatever their value: every owned name plus the known members of
 * each family (value-dependent rules get their own CEL rule).
 */
export function namedOwnedParameters(): string[] {
  return OWNED_PARAMETERS.filter((r) => r.refused === undefined).flatMap((r) => [
    ...(r.names ?? []),
    ...(r.known ?? []),
  ]);
}
