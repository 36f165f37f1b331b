/**
 * @module
 * What a restore asks pgBackRest for: the recovery target and backup set, from a
 * PostgresRestore's fields or (for `spec.dataSource`) from PGO-style `options`
 * (`--type=time`, `--target=...`, `--set=...`), with a description for the status. And the
 * check against the recoverability window the cluster's status publishes, so an impossible
 * point-in-time restore, or one from a backup set the repository does not hold, is refused
 * before any instance is stopped.
 *
 * Options stay one argv item each and never pass through a shell; one pair of quotes around a
 * value is removed (`--target="2021-06-09 14:15:11-04"`, as PGO's examples write it), which is
 * what admission accepts.
 */
import type { PostgresRestoreSpec } from "../api/postgres-restore.ts";
import type { RestoreCommand, RestoreTargetType } from "../pgbackrest/commands.ts";

export interface RestorePlan {
  set?: string;
  target?: { type: RestoreTargetType; value?: string };
  /** The remaining options for pgbackrest restore (allow-listed again by restoreArgs). */
  options: string[];
  /** What the restore reaches, for the status: `latest`, `time 2026-01-02 03:04:05+00`, ... */
  description: string;
}

export type PlanResult = { ok: true; plan: RestorePlan } | { ok: false; message: string };

/** `--name="value"` or `--name='value'` becomes `--name=value`; anything else is unchanged. */
export function unquoteOption(option: string): string {
  const m = /^(--[a-z0-9][a-z0-9-]*=)(.*)$/s.exec(option);
  if (!m) return option;
  const value = m[2]!;
  const q = value[0];
  if (value.length >= 2 && (q === '"' || q === "'") && value.endsWith(q)) return `${m[1]}${value.slice(1, -1)}`;
  return option;
}

const optionName = (option: string) => /^--(?:no-)?([a-z0-9][a-z0-9-]*)/.exec(option)?.[1];

/** Options the restore decides itself; the console log level is raised so the backup label is printed. */
const DECIDED = new Set(["type", "target", "set", "target-action", "delta", "log-level-console"]);

function remaining(options: readonly string[]): string[] {
  return [...options.filter((o) => !DECIDED.has(optionName(o) ?? "")), "--log-level-console=info"];
}

function describe(set: string | undefined, target: RestorePlan["target"]): string {
  const what = target ? (target.value !== undefined ? `${target.type} ${target.value}` : target.type) : "latest";
  return set ? `${what} from backup set ${set}` : what;
}

const TARGET_TYPES: readonly RestoreTargetType[] = ["time", "lsn", "name", "xid", "immediate"];

/**
 * A PostgresRestore's plan. A `backupSet` without a target restores that backup to its
 * consistent point (`--type=immediate`): "restore backup X" means X, not X plus all later WAL.
 */
export function planFromRestore(spec: PostgresRestoreSpec): PlanResult {
  const options = (spec.options ?? []).map(unquoteOption);
  const set = spec.backupSet;
  const type = spec.target?.type ?? "latest";
  let target: RestorePlan["target"];
  if (type === "latest") target = set ? { type: "immediate" } : undefined;
  else if (type === "immediate") target = { type: "immediate" };
  else {
    const value = spec.target?.value;
    if (value === undefined || value === "")
      return { ok: false, message: `spec.target.value is required for a ${type} target` };
    target = { type, value };
  }
  return {
    ok: true,
    plan: {
      ...(set ? { set } : {}),
      ...(target ? { target } : {}),
      options: remaining(options),
      description: describe(set, target),
    },
  };
}

/** The value of the last `--name=value` (pgBackRest lets the last one win). */
function lastValue(options: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (const o of options) if (o.startsWith(`--${name}=`)) value = o.slice(name.length + 3);
  return value;
}

/** A data source's plan from PGO-style options; `standby` and `preserve` cannot start a new primary. */
export function planFromOptions(raw: readonly string[] | undefined): PlanResult {
  const options = (raw ?? []).map(unquoteOption);
  const type = lastValue(options, "type") ?? "default";
  const value = lastValue(options, "target");
  const set = lastValue(options, "set");
  let target: RestorePlan["target"];
  if (type === "default") {
    if (value !== undefined) return { ok: false, message: "--target needs --type=time, lsn, name or xid" };
    target = undefined;
  } else if (type === "immediate") target = { type: "immediate" };
  else if ((TARGET_TYPES as readonly string[]).includes(type)) {
    if (value === undefined || value === "") return { ok: false, message: `--type=${type} needs --target=<${type}>` };
    target = { type: type as RestoreTargetType, value };
  } else
    return {
      ok: false,
      message: `--type=${type} cannot bootstrap a new cluster (it must end as a primary); use time, lsn, name, xid, immediate or default`,
    };
  return {
    ok: true,
    plan: {
      ...(set ? { set } : {}),
      ...(target ? { target } : {}),
      options: remaining(options),
      description: describe(set, target),
    },
  };
}

/** The plan as the shared command builder's input. */
export function restoreCommandOf(
  plan: RestorePlan,
  repoName: string,
  extra: Partial<RestoreCommand> = {},
): RestoreCommand {
  return {
    repoName,
    ...(plan.set ? { set: plan.set } : {}),
    ...(plan.target ? { target: plan.target } : {}),
    targetAction: "promote",
    options: plan.options,
    ...extra,
  };
}

/* ------------------------------------------------------------------ time targets */

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z][A-Za-z0-9_+\-/]*)$/;

/** A zone's offset from UTC in minutes at a UTC instant, from the runtime's time zone data. */
function zoneOffsetMinutes(zone: string, utcMillis: number): number | undefined {
  try {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(utcMillis));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
    const local = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    return Math.round((local - Math.floor(utcMillis / 1000) * 1000) / 60000);
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds since the epoch of a PostgreSQL `timestamptz` literal as admission accepts it
 * (explicit zone: `Z`, an offset, or a zone name); undefined when it cannot be read.
 */
export function targetTimeMillis(text: string): number | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((v) => (v === undefined ? 0 : Number(v))) as number[];
  const fraction = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  const wall = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, fraction);
  if (Number.isNaN(wall)) return undefined;
  const zone = m[8]!;
  if (/^(Z|UTC|GMT)$/i.test(zone)) return wall;
  const offset = /^([+-])(\d{2})(?::?(\d{2}))?$/.exec(zone);
  if (offset) {
    const minutes = Number(offset[2]) * 60 + Number(offset[3] ?? 0);
    return wall - (offset[1] === "-" ? -minutes : minutes) * 60000;
  }
  // A zone name: the offset at the instant, refined once for a DST change in between.
  const first = zoneOffsetMinutes(zone, wall);
  if (first === undefined) return undefined;
  const second = zoneOffsetMinutes(zone, wall - first * 60000);
  return wall - (second ?? first) * 60000;
}

export interface RecoverabilityWindow {
  earliest: string;
  latest: string;
  latestFrom?: string;
}

/**
 * Why a time target cannot be reached with the published window, or undefined. Before the end
 * of the oldest backup nothing can be restored; past the newest archived WAL recovery would end
 * before the target. A window whose latest point is only the newest backup says nothing about
 * later WAL, so only its lower bound is checked.
 */
export function windowProblem(
  plan: RestorePlan,
  repoName: string,
  window: RecoverabilityWindow | undefined,
): string | undefined {
  if (!window || plan.target?.type !== "time" || plan.target.value === undefined) return undefined;
  const at = targetTimeMillis(plan.target.value);
  const earliest = Date.parse(window.earliest);
  const latest = Date.parse(window.latest);
  if (at === undefined || Number.isNaN(earliest) || Number.isNaN(latest)) return undefined;
  const range = `${repoName} can restore from ${window.earliest} to ${window.latest}`;
  if (at < earliest)
    return `spec.target.value: ${plan.target.value} is before the end of the oldest backup: ${range}; pick a later target`;
  if (window.latestFrom === "wal" && at > latest)
    return `spec.target.value: ${plan.target.value} is after the newest archived WAL: ${range}; pick an earlier target, or wait until the cluster status shows newer WAL`;
  return undefined;
}

/* ------------------------------------------------------------------ what the repository holds */

/**
 * What the cluster publishes about one repository (`status.pgbackrest.repos[]`, built by
 * shared/pgbackrest/repo-summary.ts from the bucket), as far as a restore reads it. Loose: an
 * older cluster status may have less.
 */
export interface PublishedRepoView {
  state?: string;
  backups?: {
    count?: number;
    oldest?: { label: string };
    latest?: { label: string };
    labels?: string[];
  };
  recoverability?: RecoverabilityWindow;
}

/**
 * The reasons a restore waits for a newer read of its repository with: the cluster hook reads
 * the bucket early when one of its restores says so (functions/cluster/pgbackrest/repo-status.ts).
 */
export const AWAITING_READ_REASONS: readonly string[] = ["NoBackupYet", "BackupSetNotSeen"];

export interface RepoProblem {
  reason: "NoBackupYet" | "BackupSetNotSeen" | "BackupSetNotFound" | "OutsideRecoverabilityWindow";
  message: string;
  /**
   * What a newer read of the bucket could change (a backup that finished after the cluster's
   * last read): the restore waits for the cluster's status instead of failing.
   */
  wait?: boolean;
}

/** `20260301-010000F_20260302-070000I` => `20260302-070000`: when the set itself was taken. */
function labelTime(label: string): string | undefined {
  return /(\d{8}-\d{6})[FDI]$/.exec(label)?.[1];
}

/** At most a few labels in a message, the newest last. */
function someLabels(labels: readonly string[]): string {
  const shown = labels.slice(-5);
  return `${labels.length > shown.length ? `${labels.length - shown.length} older, ` : ""}${shown.join(", ")}`;
}

/**
 * Why the repository as last read cannot serve the plan, or undefined. What it holds is judged
 * only when it was read (`Read`, `NoStanza`); one being read, unreadable or never published says
 * nothing, and pgBackRest decides.
 *
 * The cluster reads its buckets at most once a minute, so the status may miss a backup that just
 * finished: a repository without a backup, or a `backupSet` newer than its newest, is waited for
 * (`wait`). What a newer read cannot change is refused: a set older than the oldest (expired) or
 * missing from a complete list of labels, and a time target before the end of the oldest backup.
 * A label list cut to the newest sets proves nothing between the oldest and its first label.
 * `where` names the published status, for the message.
 */
export function repoProblem(
  plan: RestorePlan,
  repoName: string,
  repo: PublishedRepoView | undefined,
  where: string,
): RepoProblem | undefined {
  if (!repo) return undefined;
  const read = repo.state === "Read" || repo.state === "NoStanza";
  const backups = repo.backups ?? {};
  const labels = backups.labels ?? [];
  if (read && (repo.state === "NoStanza" || !backups.latest))
    return {
      reason: "NoBackupYet",
      message: `spec.repoName: ${repoName} holds no usable backup (${where}); waiting for one to show there (tusk backup takes one)`,
      wait: true,
    };
  if (read && backups.latest && plan.set !== undefined && !labels.includes(plan.set)) {
    const complete = backups.oldest !== undefined && labels[0] === backups.oldest.label;
    const at = labelTime(plan.set);
    const first = backups.oldest ? labelTime(backups.oldest.label) : undefined;
    const last = labelTime(backups.latest.label);
    if (at !== undefined && last !== undefined && at > last)
      return {
        reason: "BackupSetNotSeen",
        message: `spec.backupSet: ${plan.set} is newer than ${repoName}'s newest set ${backups.latest.label} (${where}); waiting for the cluster's next read of the bucket to show it: delete this PostgresRestore if that set does not exist`,
        wait: true,
      };
    const expired = at !== undefined && first !== undefined && at < first;
    if (complete || expired)
      return {
        reason: "BackupSetNotFound",
        message:
          `spec.backupSet: ${repoName} holds no backup set ${plan.set}` +
          `${expired ? " (older than its oldest set: expired by retention, or never there)" : ""}; it holds ${someLabels(labels)} (${where})`,
      };
  }
  const outside = windowProblem(plan, repoName, repo.recoverability);
  if (outside) return { reason: "OutsideRecoverabilityWindow", message: outside };
  return undefined;
}
