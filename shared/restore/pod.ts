/**
 * @module
 * The restore container every restore runs (an in-place PostgresRestore and a new cluster's
 * `spec.dataSource`): one container, one POSIX sh script, the `pgbackrest restore` argv from
 * shared/pgbackrest as its arguments, paths from the environment (pod-layout.ts PATHS), so the
 * end-to-end suite can run exactly this command with its paths mapped.
 *
 * What the script does, and why:
 * 1. It works in `<PGDATA>_restore`, never in `<PGDATA>` itself: a half-restored or half-recovered
 *    directory is never where Patroni looks. In-place, the instance's current data directory is
 *    moved there first, so `--delta` rewrites only what differs; a directory left by an earlier
 *    attempt is resumed the same way. With `TUSK_RESTORE_MODE=bootstrap` (a new cluster) an
 *    existing data directory is never touched: the script reports "skipped" and exits 0.
 * 2. `pgbackrest restore` (the argv), streamed to the log and kept for the backup label it names.
 * 3. Recovery runs here, not under Patroni: Patroni removes pgBackRest's `recovery_target*`
 *    settings from postgresql.auto.conf when it starts a node, so a PITR target would be lost.
 *    PostgreSQL starts on the restored directory with a throwaway configuration file (not the
 *    restored postgresql.conf, whose hba/ident paths and archive_command belong to the source:
 *    docs/dataplane-notes.md B7), a Unix socket in a private directory, no TCP, and
 *    `archive_mode=on` + `archive_command=false`: nothing is pushed anywhere (the source's
 *    repository is never written), yet the new timeline's segments and history file stay
 *    `.ready` and are archived later by this cluster's own Patroni into its own repository.
 *    `max_connections` and the other settings a hot standby must not lower come from
 *    pg_controldata; PostgreSQL stops when the WAL raises them, and the loop starts it again.
 *    Patroni's cached dynamic configuration (`patroni.dynamic.json`) of the source is removed.
 * 4. Stopped cleanly after promotion, the directory is renamed to `<PGDATA>_bootstrap` (one
 *    atomic rename) and the result is written to the termination message and to
 *    `<PGDATA>.restore.json`. Patroni's custom bootstrap method (`bootstrapMethod`) moves that
 *    directory into place when the DCS is empty; nothing else ever does.
 *
 * A failure writes `tusk-restore failed during <stage>: ...` and the tail of the failing
 * program's log (pgBackRest's `ERROR:` lines, PostgreSQL's `FATAL:`) to the termination message.
 * Stage `check` means nothing was changed yet.
 */
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { PATHS, ROLES } from "../pod-layout.ts";
import { restrictedContainerSecurity } from "../pod-security.ts";

const RESTORE_CONTAINER = "restore";

/** Suffixes of the directories the script uses next to PGDATA (on the same volume, so renames are atomic). */
export const WORK_SUFFIX = "_restore";
export const READY_SUFFIX = "_bootstrap";
export const RESULT_SUFFIX = ".restore.json";

type RestoreMode = "in-place" | "bootstrap";

/** Stages named in a failure message; `check` is the only one that leaves the data as it was. */
const STAGES = ["check", "restore", "recovery", "finish"] as const;
type RestoreStage = (typeof STAGES)[number];

export const RESTORE_SCRIPT = `set -u
pgdata="$PGDATA"
bin="$PG_BIN"
work="\${pgdata}${WORK_SUFFIX}"
ready="\${pgdata}${READY_SUFFIX}"
result="\${pgdata}${RESULT_SUFFIX}"
mode="\${TUSK_RESTORE_MODE:-in-place}"
waldir="\${TUSK_WAL_DIR:-}"
tmp="\${TUSK_RESTORE_TMP:-/tmp/tusk-restore}"
term="\${TUSK_TERMINATION_LOG:-/dev/termination-log}"
superuser="\${TUSK_SUPERUSER:-postgres}"
stage=check

# The failure message: the stage, what failed, and the lines of the log that say why.
fail() {
  {
    printf 'tusk-restore failed during %s: %s\\n' "$stage" "$1"
    if [ -n "\${2:-}" ] && [ -f "$2" ]; then
      if grep -qE '(ERROR|FATAL|PANIC):' "$2"; then grep -E '(ERROR|FATAL|PANIC):' "$2" | tail -n 8
      else tail -n 8 "$2"; fi
    fi
  } > "$tmp/failure" 2>/dev/null || printf 'tusk-restore failed during %s: %s\\n' "$stage" "$1" > "$tmp/failure"
  cat "$tmp/failure" >&2
  dd if="$tmp/failure" of="$term" bs=4000 count=1 2>/dev/null || true
  if [ "$stage" = recovery ]; then "$bin/pg_ctl" -D "$work" -m immediate -w stop >/dev/null 2>&1 || true; fi
  exit 1
}

finish() {
  printf '%s\\n' "$1"
  printf '%s' "$1" > "$term" 2>/dev/null || true
  exit 0
}

mkdir -p "$tmp" || { echo "tusk-restore: cannot create $tmp" >&2; exit 1; }
chmod 0700 "$tmp"
[ "$#" -gt 0 ] || fail "no pgbackrest command given"
for tool in pg_ctl pg_controldata psql; do [ -x "$bin/$tool" ] || fail "$bin/$tool is missing"; done
command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed"

if [ "$mode" = bootstrap ]; then
  if [ -d "$pgdata" ] && [ -n "$(ls -A "$pgdata" 2>/dev/null)" ]; then
    finish "{\\"skipped\\":\\"the data directory exists\\",\\"mode\\":\\"bootstrap\\"}"
  fi
  if [ -d "$ready" ]; then
    if [ -s "$result" ]; then finish "$(cat "$result")"; fi
    finish "{\\"skipped\\":\\"already restored\\",\\"mode\\":\\"bootstrap\\"}"
  fi
  stage=restore
  mkdir -p -m 0700 "$work" || fail "cannot create $work"
else
  stage=restore
  if [ ! -d "$work" ]; then
    if [ -d "$ready" ]; then mv "$ready" "$work" || fail "cannot move $ready to $work"
    elif [ -d "$pgdata" ]; then mv "$pgdata" "$work" || fail "cannot move $pgdata to $work"
    else mkdir -p -m 0700 "$work" || fail "cannot create $work"; fi
  fi
  rm -rf "$pgdata" "$ready" "$result" || fail "cannot remove the previous data directory"
fi
if [ -n "$waldir" ]; then mkdir -p -m 0700 "$waldir" || fail "cannot create $waldir"; fi
# A PostgreSQL killed during an earlier attempt's recovery leaves its pid file; nothing runs here now.
rm -f "$work/postmaster.pid"

log="$tmp/pgbackrest.log"
rm -f "$tmp/pgbackrest.pipe" && mkfifo "$tmp/pgbackrest.pipe" || fail "cannot create a pipe in $tmp"
tee "$log" < "$tmp/pgbackrest.pipe" &
teepid=$!
"$@" > "$tmp/pgbackrest.pipe" 2>&1
rc=$?
wait "$teepid"
[ "$rc" -eq 0 ] || fail "pgbackrest restore exited with code $rc" "$log"
label=$(sed -n 's/.*restore backup set \\([0-9A-Za-z_-]*\\).*/\\1/p' "$log" | tail -n 1)
rm -f "$work/patroni.dynamic.json"

stage=recovery
printf 'local all all trust\\n' > "$tmp/pg_hba.conf" && : > "$tmp/pg_ident.conf" && : > "$tmp/postgres.log" \\
  || fail "cannot write to $tmp"
setting() { printf '%s\\n' "$control" | sed -n "s/^$1 setting: *//p"; }
options="-c listen_addresses= -c port=5432 -c unix_socket_directories=$tmp -c unix_socket_permissions=0700"
options="$options -c hba_file=$tmp/pg_hba.conf -c ident_file=$tmp/pg_ident.conf -c ssl=off"
options="$options -c archive_mode=on -c archive_command=false"
query="SELECT CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN false WHEN NOT pg_catalog.pg_is_wal_replay_paused() THEN true ELSE pg_catalog.pg_wal_replay_resume()::text = '' END"
starts=0
recovering=
until [ "$recovering" = f ]; do
  if ! "$bin/pg_ctl" -D "$work" status >/dev/null 2>&1; then
    starts=$((starts + 1))
    [ "$starts" -le 10 ] || fail "PostgreSQL stopped $((starts - 1)) times during recovery" "$tmp/postgres.log"
    control=$("$bin/pg_controldata" "$work") || fail "pg_controldata cannot read the restored directory"
    cat > "$tmp/postgresql.conf" <<EOF || fail "cannot write to $tmp"
hot_standby = on
max_connections = '$(setting max_connections)'
max_worker_processes = '$(setting max_worker_processes)'
max_wal_senders = '$(setting max_wal_senders)'
max_prepared_transactions = '$(setting max_prepared_xacts)'
max_locks_per_transaction = '$(setting max_locks_per_xact)'
EOF
    echo "tusk-restore: starting PostgreSQL to recover the restored data (start $starts)"
    # On the command line, these win over a postgresql.auto.conf restored from the source.
    "$bin/pg_ctl" -D "$work" -l "$tmp/postgres.log" -w -t 31536000 -o "--config-file=$tmp/postgresql.conf $options" start \\
      >/dev/null 2>&1 || fail "PostgreSQL did not start on the restored data" "$tmp/postgres.log"
  fi
  recovering=$("$bin/psql" -X -h "$tmp" -p 5432 -U "$superuser" -d postgres -Atc "$query" 2>/dev/null) || recovering=
  [ "$recovering" = f ] || sleep 2
done
"$bin/pg_ctl" -D "$work" -m fast -w -t 31536000 stop >/dev/null 2>&1 || fail "PostgreSQL did not stop" "$tmp/postgres.log"

stage=finish
control=$("$bin/pg_controldata" "$work") || fail "pg_controldata cannot read the recovered directory"
timeline=$(printf '%s\\n' "$control" | sed -n "s/^Latest checkpoint's TimeLineID: *//p")
lsn=$(printf '%s\\n' "$control" | sed -n "s/^Latest checkpoint location: *//p")
mv "$work" "$ready" || fail "cannot move $work to $ready"
json="{\\"backupSet\\":\\"$label\\",\\"timeline\\":\\"$timeline\\",\\"lsn\\":\\"$lsn\\",\\"mode\\":\\"$mode\\"}"
printf '%s' "$json" > "$result" || fail "cannot write $result"
echo "tusk-restore: restored $label, recovered to timeline $timeline at $lsn; ready in $ready"
finish "$json"
`;

/** The container's command: the script, then the pgbackrest argv as its arguments. */
function restoreCommand(pgbackrestArgv: readonly string[]): string[] {
  return ["sh", "-c", RESTORE_SCRIPT, "tusk-restore", ...pgbackrestArgv];
}

interface RestoreDirectories {
  /** Patroni's data directory (`/pgdata/pg16`). */
  dataDirectory: string;
  /** PostgreSQL's binaries (`/usr/lib/postgresql/16/bin`). */
  binDirectory: string;
  /** The WAL directory on a separate volume, when the instance set has one. */
  walDirectory?: string;
}

export const workDirectory = (dataDirectory: string) => `${dataDirectory}${WORK_SUFFIX}`;
const readyDirectory = (dataDirectory: string) => `${dataDirectory}${READY_SUFFIX}`;

/** The script's environment: every path it touches, so a test can map each one. */
function restoreEnv(mode: RestoreMode, dirs: RestoreDirectories): V1EnvVar[] {
  return [
    { name: "PGDATA", value: dirs.dataDirectory },
    { name: "PG_BIN", value: dirs.binDirectory },
    { name: "TUSK_RESTORE_MODE", value: mode },
    ...(dirs.walDirectory ? [{ name: "TUSK_WAL_DIR", value: dirs.walDirectory }] : []),
    { name: "TUSK_RESTORE_TMP", value: `${PATHS.tmp}/tusk-restore` },
    { name: "TUSK_SUPERUSER", value: ROLES.superuser },
    { name: "HOME", value: PATHS.tmp },
  ];
}

export interface RestoreContainerInput {
  image: string;
  imagePullPolicy?: string;
  mode: RestoreMode;
  dirs: RestoreDirectories;
  pgbackrestArgv: readonly string[];
  volumeMounts: V1VolumeMount[];
  resources?: unknown;
}

export function restoreContainer(input: RestoreContainerInput): V1Container {
  return {
    name: RESTORE_CONTAINER,
    image: input.image,
    ...(input.imagePullPolicy ? { imagePullPolicy: input.imagePullPolicy } : {}),
    command: restoreCommand(input.pgbackrestArgv),
    env: restoreEnv(input.mode, input.dirs),
    securityContext: restrictedContainerSecurity,
    volumeMounts: input.volumeMounts,
    // The script writes its own message; without one the log's tail is used.
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...(input.resources ? { resources: input.resources as V1Container["resources"] } : {}),
  };
}

/** Volume names inside restore pods (the data and WAL claims, scratch space). */
const RESTORE_VOLUMES = { pgdata: "pgdata", pgwal: "pgwal", tmp: "tmp" } as const;

/** The instance's claims mounted where its pod mounts them, and an emptyDir for /tmp. */
export function dataVolumes(claims: { data: string; wal?: string }): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  return {
    volumes: [
      { name: RESTORE_VOLUMES.pgdata, persistentVolumeClaim: { claimName: claims.data } },
      ...(claims.wal ? [{ name: RESTORE_VOLUMES.pgwal, persistentVolumeClaim: { claimName: claims.wal } }] : []),
      { name: RESTORE_VOLUMES.tmp, emptyDir: {} },
    ],
    mounts: [
      { name: RESTORE_VOLUMES.pgdata, mountPath: PATHS.pgdata },
      ...(claims.wal ? [{ name: RESTORE_VOLUMES.pgwal, mountPath: PATHS.pgwal }] : []),
      { name: RESTORE_VOLUMES.tmp, mountPath: PATHS.tmp },
    ],
  };
}

/**
 * Patroni's custom bootstrap method for a cluster whose first data directory comes from a
 * restore: move `<PGDATA>_bootstrap` into place. It fails (and Patroni exits, to be restarted)
 * when there is nothing restored to move, so a node never falls back to initdb and never starts
 * an empty cluster in place of the restored one. `rmdir` only removes an empty directory.
 */
const BOOTSTRAP_METHOD = "tusk_restored";

export function bootstrapMethod(dataDirectory: string): Record<string, unknown> {
  const ready = readyDirectory(dataDirectory);
  const script = `if [ ! -d "$1" ]; then echo "tusk: no restored data directory $1 on this volume" >&2; exit 1; fi; if [ -d "$2" ]; then rmdir "$2" || exit 1; fi; mv "$1" "$2"`;
  return {
    method: BOOTSTRAP_METHOD,
    [BOOTSTRAP_METHOD]: {
      command: `sh -c '${script}' tusk-bootstrap ${ready} ${dataDirectory}`,
      no_params: true,
    },
  };
}

export interface RestoreResult {
  backupSet?: string;
  timeline?: number;
  lsn?: string;
  skipped?: string;
}

export interface RestoreFailure {
  stage?: RestoreStage;
  /** Whether the data directory may have been changed (every stage after `check`). */
  dataChanged: boolean;
  message: string;
}

/** The success message the script writes; undefined when it is not one. */
export function parseRestoreResult(message: string | undefined): RestoreResult | undefined {
  if (!message?.trim().startsWith("{")) return undefined;
  try {
    const raw = JSON.parse(message) as Record<string, unknown>;
    const out: RestoreResult = {};
    if (typeof raw.backupSet === "string" && raw.backupSet !== "") out.backupSet = raw.backupSet;
    const timeline = Number(raw.timeline);
    if (typeof raw.timeline === "string" && raw.timeline !== "" && Number.isInteger(timeline)) out.timeline = timeline;
    if (typeof raw.lsn === "string" && /^[0-9A-F]+\/[0-9A-F]+$/i.test(raw.lsn)) out.lsn = raw.lsn;
    if (typeof raw.skipped === "string") out.skipped = raw.skipped;
    return out;
  } catch {
    return undefined;
  }
}

/** A failure message: the script's own (with its stage) or a log tail (stage unknown: assume changed). */
export function parseRestoreFailure(message: string | undefined, fallback: string): RestoreFailure {
  const text = (message ?? "").trim();
  const m = /^tusk-restore failed during (\w+): /.exec(text);
  const stage = m && (STAGES as readonly string[]).includes(m[1]!) ? (m[1] as RestoreStage) : undefined;
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l, i) => i === 0 || /\b(ERROR|FATAL|PANIC):/.test(l));
  const body = (stage ? errors : errors.length > 1 ? errors.slice(1) : lines.slice(-3)).join("\n") || fallback;
  const bounded = body.length > 1000 ? `${body.slice(0, 997)}...` : body;
  return { ...(stage ? { stage } : {}), dataChanged: stage !== "check", message: bounded };
}
