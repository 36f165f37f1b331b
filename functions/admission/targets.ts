/**
 * @module
 * Recovery targets, checked the way PostgreSQL will read them (recovery_target_time is a
 * `timestamp with time zone`, recovery_target_lsn a `pg_lsn`, recovery_target_xid an xid,
 * recovery_target_name a restore point name) so a bad target fails at admission rather than
 * after the cluster was scaled down for the restore.
 */

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z][A-Za-z0-9_+\-/]*)$/;

export const TIME_EXAMPLE = '"2026-01-02 15:04:05+00" or "2026-01-02T15:04:05Z"';

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Whether a zone name is known; ICU's zone list stands in for PostgreSQL's. */
function knownZone(zone: string): boolean {
  if (/^(UTC|GMT|Z)$/i.test(zone)) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Undefined when the text is a timestamp with an explicit zone; otherwise why it is not. */
export function timestampProblem(text: string): string | undefined {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return `must be a timestamp with an explicit time zone, e.g. ${TIME_EXAMPLE}`;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => (v === undefined ? 0 : Number(v))) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zone = m[7] ?? "";
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) {
    return `is not a real date and time (expected e.g. ${TIME_EXAMPLE})`;
  }
  if (/^[+-]/.test(zone)) {
    const [h, mm] = [Number(zone.slice(1, 3)), Number(zone.replace(":", "").slice(3) || "0")];
    if (h > 15 || mm > 59) return `has a time zone offset out of range (${zone}); use -15:59..+15:59`;
  } else if (!knownZone(zone)) {
    return `has an unknown time zone ${JSON.stringify(zone)}; use an offset such as +00 or a name such as Europe/Berlin`;
  }
  return undefined;
}

export function lsnProblem(text: string): string | undefined {
  return /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(text) ? undefined : "must be an LSN such as 0/1A2B3C4D (hex/hex)";
}

export function xidProblem(text: string): string | undefined {
  return /^\d{1,20}$/.test(text) && BigInt(text) <= 18446744073709551615n
    ? undefined
    : "must be a transaction ID (a non-negative integer)";
}

/** Restore point names are at most 63 bytes (pg_create_restore_point). */
export function nameProblem(text: string): string | undefined {
  if (text.length === 0) return "must name a restore point (not empty)";
  if (new TextEncoder().encode(text).length > 63) return "must be at most 63 bytes (a restore point name)";
  if (text.includes("\u0000")) return "must not contain NUL";
  return undefined;
}

/** The recovery types that take a target, and how each target is checked. */
export const TARGET_CHECKS: Record<string, (value: string) => string | undefined> = {
  time: timestampProblem,
  lsn: lsnProblem,
  xid: xidProblem,
  name: nameProblem,
};

/** pgBackRest backup labels: 20260102-030405F, or an incremental/differential on top of one. */
export const BACKUP_LABEL = /^\d{8}-\d{6}F(_\d{8}-\d{6}[DI])?$/;
