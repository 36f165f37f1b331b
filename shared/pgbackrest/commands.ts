/**
 * @module
 * The pgBackRest commands Tusk runs: Patroni's archive/restore commands, and argv arrays (or
 * small POSIX sh scripts taking argv) for the TLS server, stanza-create, backup, expire, info
 * and restore. Every command reads only `<config-path>/conf.d/*.conf`: `--no-config` is needed
 * beside `--config-path` because when `<config-path>/pgbackrest.conf` is missing and the path is
 * pgBackRest's compiled default, it loads the distribution's `/etc/pgbackrest.conf` instead
 * (Debian's sets `repo1-path`, and pgBackRest then stops with "option 'repo1-path' cannot be
 * set multiple times"). The end-to-end suite passes its own `configPath`.
 */
import { PATHS, STANZA } from "../pod-layout.ts";
import { repoIndex } from "./layout.ts";
import { filterOptions } from "./options.ts";

export interface CommandContext {
  /** Defaults to PATHS.pgbackrestConfigDir (conf.d is beneath it). */
  configPath?: string;
  stanza?: string;
  /** The pgBackRest binary; defaults to `pgbackrest` on PATH. */
  binary?: string;
}

/**
 * pgBackRest exit codes worth waiting out: 49 host-connect (a TLS server not up yet), 50
 * lock-acquire (another backup or an archive-push holds the stanza lock, docs/dataplane-notes.md
 * B14), 56 db-connect (also what a second concurrent backup meets on the primary's remote lock),
 * 101 service (5xx from object storage).
 */
const TRANSIENT_EXIT_CODES = [49, 50, 56, 101] as const;

const config = (ctx: CommandContext) => ["--no-config", `--config-path=${ctx.configPath ?? PATHS.pgbackrestConfigDir}`];

function base(ctx: CommandContext = {}): string[] {
  return [ctx.binary ?? "pgbackrest", ...config(ctx), `--stanza=${ctx.stanza ?? STANZA}`];
}

/** Single-quotes an argument for POSIX sh. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

const shellLine = (argv: string[]) => argv.map(shellQuote).join(" ");

/** Postgres `archive_command` (Patroni `postgresql.parameters.archive_command`). */
export function archivePushCommand(ctx: CommandContext = {}): string {
  return `${shellLine([...base(ctx), "archive-push"])} "%p"`;
}

/**
 * Postgres `restore_command` (Patroni `postgresql.recovery_conf.restore_command`); with a
 * `repoName` only that repository is read (a standby cluster replaying its primary's archive).
 */
export function archiveGetCommand(ctx: CommandContext = {}, options: { repoName?: string } = {}): string {
  const repo = options.repoName ? [`--repo=${repoIndex(options.repoName)}`] : [];
  return `${shellLine([...base(ctx), ...repo, "archive-get"])} %f "%p"`;
}

/** The TLS server beside Postgres and on the repo host (its container's command). */
export function serverArgs(ctx: CommandContext = {}): string[] {
  return [ctx.binary ?? "pgbackrest", ...config(ctx), "server"];
}

/** An aliveness probe of the local TLS server (no authentication; the server listens on `*`). */
export function serverPingArgs(ctx: CommandContext = {}): string[] {
  return [ctx.binary ?? "pgbackrest", ...config(ctx), "--tls-server-address=127.0.0.1", "server-ping"];
}

function stanzaCreateArgs(ctx: CommandContext = {}): string[] {
  return [...base(ctx), "stanza-create"];
}

/** Verifies archiving end to end (forces a WAL switch and waits for the segment in every repo). */
export function checkArgs(ctx: CommandContext = {}): string[] {
  return [...base(ctx), "check"];
}

export type BackupType = "full" | "diff" | "incr";

export interface BackupCommand {
  repoName: string;
  /** Unset leaves pgBackRest's default (incr, or full when there is none), as PGO's manual backups. */
  type?: BackupType;
  /** The user's `options[]`; only allow-listed flags pass (`--type` too when `type` is unset). */
  options?: readonly string[];
}

export function backupArgs(cmd: BackupCommand, ctx: CommandContext = {}): string[] {
  const except = cmd.type ? ["type"] : [];
  const { allowed } = filterOptions(cmd.options, "backup", except);
  return [
    ...base(ctx),
    `--repo=${repoIndex(cmd.repoName)}`,
    ...(cmd.type ? [`--type=${cmd.type}`] : []),
    ...allowed,
    "backup",
  ];
}

/** Removes one backup set (and what depends on it) from a repository. */
export function expireArgs(cmd: { repoName: string; set: string }, ctx: CommandContext = {}): string[] {
  return [...base(ctx), `--repo=${repoIndex(cmd.repoName)}`, `--set=${cmd.set}`, "expire"];
}

export function infoArgs(cmd: { repoName?: string; set?: string } = {}, ctx: CommandContext = {}): string[] {
  return [
    ...base(ctx),
    ...(cmd.repoName ? [`--repo=${repoIndex(cmd.repoName)}`] : []),
    ...(cmd.set ? [`--set=${cmd.set}`] : []),
    "--output=json",
    "info",
  ];
}

export type RestoreTargetType = "time" | "lsn" | "name" | "xid" | "immediate";

export interface RestoreCommand {
  repoName: string;
  /** A backup label; unset restores from the newest backup that reaches the target. */
  set?: string;
  /** Unset replays all archived WAL (latest). */
  target?: { type: RestoreTargetType; value?: string };
  /** What Postgres does at the target; promote starts a new timeline (default). */
  targetAction?: "promote" | "pause" | "shutdown";
  /** Restore only what differs (an existing data directory); on by default. */
  delta?: boolean;
  /** Restore into another data directory than the configured pg1-path. */
  pgPath?: string;
  /** `--link-map` entries, e.g. `{ pg_wal: "/pgwal/pg16_wal" }` for a separate WAL volume. */
  linkMap?: Readonly<Record<string, string>>;
  options?: readonly string[];
}

export function restoreArgs(cmd: RestoreCommand, ctx: CommandContext = {}): string[] {
  const owned = ["type", "target", "target-action", "set", "delta"];
  const { allowed } = filterOptions(cmd.options, "restore", owned);
  const args = [...base(ctx), `--repo=${repoIndex(cmd.repoName)}`];
  if (cmd.pgPath) args.push(`--pg1-path=${cmd.pgPath}`);
  if (cmd.set) args.push(`--set=${cmd.set}`);
  if (cmd.target) {
    args.push(`--type=${cmd.target.type}`);
    if (cmd.target.type !== "immediate" && cmd.target.value !== undefined) args.push(`--target=${cmd.target.value}`);
    args.push(`--target-action=${cmd.targetAction ?? "promote"}`);
  }
  if (cmd.delta ?? true) args.push("--delta");
  for (const [link, path] of Object.entries(cmd.linkMap ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)))
    args.push(`--link-map=${link}=${path}`);
  return [...args, ...allowed, "restore"];
}

export interface RetryPolicy {
  attempts: number;
  delaySeconds: number;
  codes?: readonly number[];
}

/** A sh function `run` that retries its argv on the given exit codes. */
function retryFunction(policy: RetryPolicy): string {
  const codes = ` ${(policy.codes ?? TRANSIENT_EXIT_CODES).join(" ")} `;
  return [
    "run() {",
    "  i=1",
    "  while :; do",
    '    "$@" && return 0',
    "    rc=$?",
    `    case "${codes}" in *" $rc "*) ;; *) return "$rc" ;; esac`,
    `    [ "$i" -ge ${policy.attempts} ] && return "$rc"`,
    `    echo "tusk: pgbackrest exited with code $rc, retrying in ${policy.delaySeconds}s ($i/${policy.attempts})" >&2`,
    `    sleep ${policy.delaySeconds}`,
    "    i=$((i + 1))",
    "  done",
    "}",
  ].join("\n");
}

/** `sh -c` running argv with retries on transient pgBackRest errors. */
function withRetry(argv: string[], policy: RetryPolicy): string[] {
  return ["sh", "-c", `set -u\n${retryFunction(policy)}\nrun ${shellLine(argv)}\n`];
}

/** stanza-create is idempotent; it is retried while the primary starts or archive-push holds the lock. */
export function stanzaCreateCommand(ctx: CommandContext = {}, policy: RetryPolicy = STANZA_RETRY): string[] {
  return withRetry(stanzaCreateArgs(ctx), policy);
}

const STANZA_RETRY: RetryPolicy = { attempts: 30, delaySeconds: 10 };
const BACKUP_RETRY: RetryPolicy = { attempts: 20, delaySeconds: 30 };

/** Kubernetes reads at most 4096 bytes of a termination message. */
const TERMINATION_MESSAGE_LIMIT = 4000;

export interface BackupScriptOptions extends CommandContext {
  /** Where the result goes; `/dev/termination-log` in a pod. */
  terminationLog?: string;
  retry?: RetryPolicy;
}

/**
 * The backup Job's command: `pgbackrest backup` (retried while another backup runs), then the
 * new backup's `pgbackrest info --output=json --set=<label>` written to the termination message
 * for the PostgresBackup status. The newest backup of the repo is the one just taken:
 * pgBackRest serialises backups of a stanza. The per-database list, links and tablespaces are
 * dropped to stay under Kubernetes' 4096 bytes; past that only the label is written. A
 * failure's pgBackRest error reaches the status through `FallbackToLogsOnError`.
 */
export function backupCommand(cmd: BackupCommand, options: BackupScriptOptions = {}): string[] {
  const term = options.terminationLog ?? "/dev/termination-log";
  const backup = backupArgs(cmd, options);
  const info = infoArgs({ repoName: cmd.repoName }, options);
  const repoBase = [...base(options), `--repo=${repoIndex(cmd.repoName)}`];
  const script = [
    "set -u",
    retryFunction(options.retry ?? BACKUP_RETRY),
    `run ${shellLine(backup)} || exit $?`,
    `info=$(${shellLine(info)}) || exit 0`,
    `label=$(printf '%s' "$info" | sed -n 's/.*"label":"\\([^"]*\\)".*/\\1/p')`,
    '[ -n "$label" ] || { echo "tusk: no backup label in pgbackrest info" >&2; exit 0; }',
    `detail=$(${shellLine(repoBase)} "--set=$label" --output=json info | sed -e 's/,"database-ref":\\[[^]]*\\]//' -e 's/,"link":null//' -e 's/,"link":\\[[^]]*\\]//' -e 's/,"tablespace":null//' -e 's/,"tablespace":\\[[^]]*\\]//') || detail=""`,
    `if [ -n "$detail" ] && [ "\${#detail}" -le ${TERMINATION_MESSAGE_LIMIT} ]; then`,
    `  printf '%s' "$detail" > ${shellQuote(term)}`,
    "else",
    `  printf '{"label":"%s"}' "$label" > ${shellQuote(term)}`,
    "fi",
    'echo "tusk: backup $label done"',
  ].join("\n");
  return ["sh", "-c", `${script}\n`];
}

/** The expire Job's command: removes one set, retried while a backup holds the lock. */
export function expireCommand(
  cmd: { repoName: string; set: string },
  ctx: CommandContext = {},
  policy: RetryPolicy = BACKUP_RETRY,
): string[] {
  return withRetry(expireArgs(cmd, ctx), policy);
}
