/**
 * @module
 * What the cluster's status says about one S3 repository, from a read of its info files: a
 * bounded summary (counts, the latest, the latest full and the oldest backup, the recoverability
 * window), never the list of backups, and only what changes when a backup is taken or expired
 * (not the newest WAL segment, which changes all the time: a status that changes on every read
 * would make the hook's replicas rewrite it in turn). Pure; the cluster hook publishes it under
 * `status.pgbackrest.repos[]`, the restore hook and `tusk status` read it back.
 */
import type { BackupSet, BackupSetType, RecoverabilityWindow } from "./info.ts";
import { recoverabilityOf } from "./info.ts";
import type { RepoStatus } from "./repo-read.ts";

/** What a hook's adapter hands its core per repo: the last finished read, and whether one is running. */
export interface RepoRead {
  /** Undefined until a read has finished. */
  status?: RepoStatus;
  /** A read is still running (the core asks to be called again soon). */
  pending: boolean;
}

/** By repo name. */
export type RepoReads = Record<string, RepoRead>;

export interface BackupRef {
  label: string;
  type: BackupSetType;
  startTime: string;
  stopTime: string;
}

export interface RepoBackupsSummary {
  /** Backup sets in the repository (usable or not). */
  count: number;
  full: number;
  differential: number;
  incremental: number;
  /** The newest usable backup. */
  latest?: BackupRef;
  /** The newest usable full backup. */
  latestFull?: BackupRef;
  /** The oldest usable backup: the earliest point a restore reaches is its stopTime. */
  oldest?: BackupRef;
  /**
   * The usable sets' labels, oldest first, at most `MAX_LABELS` (the newest): what lets the
   * restore hook refuse a `backupSet` the repository does not hold. The list is complete when
   * it starts with `oldest.label`.
   */
  labels?: string[];
}

/** Labels kept in the status: a repository with a long retention would otherwise grow it without end. */
export const MAX_LABELS = 50;

/**
 * - `Read`: the repository was read; `backups` and `recoverability` describe it.
 * - `NoStanza`: the bucket answered but holds no stanza yet (before the stanza Job ran).
 * - `Reading`: no read has finished yet.
 * - `NotReadable`: the operator cannot read it (no key in the configuration, a cloud identity).
 * - `ReadFailed`: the read failed; `message` has the storage's error.
 */
export type RepoReadState = "Read" | "NoStanza" | "Reading" | "NotReadable" | "ReadFailed";

export interface PublishedRepo {
  name: string;
  state: RepoReadState;
  backups?: RepoBackupsSummary;
  recoverability?: RecoverabilityWindow;
  message?: string;
}

/** Longest message kept in the status (a storage error can be long). */
export const MAX_MESSAGE = 300;

export function boundedMessage(text: string): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > MAX_MESSAGE ? `${one.slice(0, MAX_MESSAGE - 1)}…` : one;
}

const ref = (b: BackupSet): BackupRef => ({
  label: b.label,
  type: b.type,
  startTime: b.startTime,
  stopTime: b.stopTime,
});

/** Counts and the notable backups; `backups` oldest first, as the reader returns them. */
export function summarizeBackups(backups: readonly BackupSet[]): RepoBackupsSummary {
  const usable = backups.filter((b) => !b.error);
  const latest = usable[usable.length - 1];
  const fulls = usable.filter((b) => b.type === "full");
  const latestFull = fulls[fulls.length - 1];
  const oldest = usable[0];
  return {
    count: backups.length,
    full: backups.filter((b) => b.type === "full").length,
    differential: backups.filter((b) => b.type === "diff").length,
    incremental: backups.filter((b) => b.type === "incr").length,
    ...(latest ? { latest: ref(latest) } : {}),
    ...(latestFull ? { latestFull: ref(latestFull) } : {}),
    ...(oldest ? { oldest: ref(oldest) } : {}),
    ...(usable.length ? { labels: usable.slice(-MAX_LABELS).map((b) => b.label) } : {}),
  };
}

/** The published entry for a repo from a read (`undefined`: none finished yet). */
export function publishedRepo(name: string, read: RepoStatus | undefined): PublishedRepo {
  if (!read) return { name, state: "Reading", message: "reading the repository's backup.info" };
  if (!read.reachable) return { name, state: "ReadFailed", message: boundedMessage(read.error) };
  if (!read.stanzaExists)
    return {
      name,
      state: "NoStanza",
      backups: summarizeBackups([]),
      message: "the bucket holds no stanza yet (the stanza Job creates it)",
    };
  const window = recoverabilityOf(read.backups);
  return {
    name,
    state: "Read",
    backups: summarizeBackups(read.backups),
    ...(window ? { recoverability: window } : {}),
  };
}

/** A repo the operator cannot read, with the reason. */
export function unreadableRepo(name: string, problem: string): PublishedRepo {
  return { name, state: "NotReadable", message: boundedMessage(problem) };
}

/** JSON with object keys sorted: the API server hands a status back with its keys in its own order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
