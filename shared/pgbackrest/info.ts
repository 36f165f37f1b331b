/**
 * @module
 * Reading what pgBackRest knows about its backups: `pgbackrest info --output=json` (what the
 * backup Jobs write to their termination message) and a repository's own `backup.info` and
 * `archive.info` files (what the S3 reader fetches), into per-repo backup sets and the
 * recoverability window. Pure: text in, plain objects out; timestamps become RFC 3339 strings.
 */
import * as z from "zod";
import { type IniSections, parseIni, parseJsonKeepingBigInts } from "./ini.ts";

export type BackupSetType = "full" | "diff" | "incr";

export interface BackupSet {
  label: string;
  type: BackupSetType;
  /** pgBackRest's repo index (`repo-key`), when known. */
  repoKey?: number;
  startTime: string;
  stopTime: string;
  /** Database size at backup time (bytes). */
  size?: number;
  /** Bytes in the repository for this set (compressed). */
  repoSize?: number;
  /** Bytes this set added (incremental sets reference the rest). */
  delta?: number;
  repoDelta?: number;
  walStart?: string;
  walStop?: string;
  lsnStart?: string;
  lsnStop?: string;
  prior?: string;
  /** pgBackRest found page checksum errors (`error: true`). */
  error?: boolean;
  databaseId?: number;
}

export interface RecoverabilityWindow {
  /** The first point a restore reaches: the end of the oldest backup. */
  earliest: string;
  /**
   * The last known restorable point: the end of the newest backup, or a newer archived WAL
   * segment's time when the reader saw one (`latestFrom`).
   */
  latest: string;
  latestFrom: "backup" | "wal";
}

export interface RepoBackups {
  repoKey: number;
  repoName: string;
  status?: { code: number; message: string };
  /** Oldest first. */
  backups: BackupSet[];
  archive?: { id: string; min?: string; max?: string };
  recoverability?: RecoverabilityWindow;
}

export interface StanzaInfo {
  name: string;
  status: { code: number; message: string };
  /** As a string: pgBackRest's system identifiers exceed 2^53. */
  systemId?: string;
  pgVersion?: string;
  repos: RepoBackups[];
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

const Status = z.looseObject({ code: z.number(), message: z.string() });
const InfoBackup = z.looseObject({
  label: z.string(),
  type: z.enum(["full", "diff", "incr"]),
  archive: z.looseObject({ start: z.string().nullish(), stop: z.string().nullish() }).nullish(),
  database: z.looseObject({ id: z.number().optional(), "repo-key": z.number().optional() }).optional(),
  error: z.boolean().optional(),
  info: z
    .looseObject({
      size: z.number().optional(),
      delta: z.number().optional(),
      repository: z.looseObject({ size: z.number().optional(), delta: z.number().optional() }).optional(),
    })
    .optional(),
  lsn: z.looseObject({ start: z.string().nullish(), stop: z.string().nullish() }).nullish(),
  prior: z.string().nullish(),
  timestamp: z.looseObject({ start: z.number(), stop: z.number() }),
});
const InfoStanza = z.looseObject({
  name: z.string(),
  status: Status,
  archive: z
    .array(
      z.looseObject({
        database: z.looseObject({ id: z.number().optional(), "repo-key": z.number().optional() }).optional(),
        id: z.string(),
        min: z.string().nullish(),
        max: z.string().nullish(),
      }),
    )
    .default([]),
  backup: z.array(InfoBackup).default([]),
  db: z
    .array(
      z.looseObject({
        id: z.number().optional(),
        "repo-key": z.number().optional(),
        "system-id": z.union([z.string(), z.number()]).optional(),
        version: z.string().optional(),
      }),
    )
    .default([]),
  repo: z.array(z.looseObject({ key: z.number(), status: Status.optional() })).default([]),
});
const InfoOutput = z.array(InfoStanza);

export class InfoParseError extends Error {}

function setFromInfo(b: z.infer<typeof InfoBackup>): BackupSet {
  const set: BackupSet = {
    label: b.label,
    type: b.type,
    startTime: iso(b.timestamp.start),
    stopTime: iso(b.timestamp.stop),
  };
  const repoKey = b.database?.["repo-key"];
  if (repoKey !== undefined) set.repoKey = repoKey;
  if (b.database?.id !== undefined) set.databaseId = b.database.id;
  if (b.info?.size !== undefined) set.size = b.info.size;
  if (b.info?.delta !== undefined) set.delta = b.info.delta;
  if (b.info?.repository?.size !== undefined) set.repoSize = b.info.repository.size;
  if (b.info?.repository?.delta !== undefined) set.repoDelta = b.info.repository.delta;
  if (b.archive?.start) set.walStart = b.archive.start;
  if (b.archive?.stop) set.walStop = b.archive.stop;
  if (b.lsn?.start) set.lsnStart = b.lsn.start;
  if (b.lsn?.stop) set.lsnStop = b.lsn.stop;
  if (b.prior) set.prior = b.prior;
  if (b.error) set.error = true;
  return set;
}

const byStop = (a: BackupSet, b: BackupSet) =>
  a.stopTime < b.stopTime ? -1 : a.stopTime > b.stopTime ? 1 : a.label < b.label ? -1 : a.label > b.label ? 1 : 0;

/**
 * The window a restore from these backups can reach, without WAL details: from the end of the
 * oldest usable backup to the end of the newest (a lower bound of the real latest point).
 */
export function recoverabilityOf(backups: BackupSet[], newestWalTime?: string): RecoverabilityWindow | undefined {
  const usable = backups.filter((b) => !b.error).sort(byStop);
  const oldest = usable[0];
  const newest = usable[usable.length - 1];
  if (!oldest || !newest) return undefined;
  if (newestWalTime !== undefined && newestWalTime > newest.stopTime)
    return { earliest: oldest.stopTime, latest: newestWalTime, latestFrom: "wal" };
  return { earliest: oldest.stopTime, latest: newest.stopTime, latestFrom: "backup" };
}

/** Parses `pgbackrest info --output=json`; throws InfoParseError naming what does not fit. */
export function parsePgBackRestInfo(text: string): StanzaInfo[] {
  let raw: unknown;
  try {
    raw = parseJsonKeepingBigInts(text);
  } catch (err) {
    throw new InfoParseError(`pgbackrest info output is not JSON: ${(err as Error).message}`);
  }
  const parsed = InfoOutput.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InfoParseError(
      `pgbackrest info output does not fit: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "unknown"}`,
    );
  }
  return parsed.data.map((stanza) => {
    const sets = stanza.backup.map(setFromInfo);
    const keys = new Set<number>([
      ...stanza.repo.map((r) => r.key),
      ...sets.flatMap((s) => (s.repoKey !== undefined ? [s.repoKey] : [])),
    ]);
    const repos: RepoBackups[] = [...keys]
      .sort((a, b) => a - b)
      .map((key) => {
        const backups = sets.filter((s) => s.repoKey === key).sort(byStop);
        const repo: RepoBackups = { repoKey: key, repoName: `repo${key}`, backups };
        const status = stanza.repo.find((r) => r.key === key)?.status;
        if (status) repo.status = { code: status.code, message: status.message };
        const archives = stanza.archive.filter((a) => a.database?.["repo-key"] === key);
        const current = archives[archives.length - 1];
        if (current) {
          repo.archive = { id: current.id };
          if (current.min) repo.archive.min = current.min;
          if (current.max) repo.archive.max = current.max;
        }
        const window = recoverabilityOf(backups);
        if (window) repo.recoverability = window;
        return repo;
      });
    const db = stanza.db[stanza.db.length - 1];
    const out: StanzaInfo = {
      name: stanza.name,
      status: { code: stanza.status.code, message: stanza.status.message },
      repos,
    };
    if (db?.["system-id"] !== undefined) out.systemId = String(db["system-id"]);
    if (db?.version !== undefined) out.pgVersion = db.version;
    return out;
  });
}

/** The backup set with this label, from parsed info (any stanza, any repo). */
export function findBackupSet(stanzas: StanzaInfo[], label: string): BackupSet | undefined {
  for (const s of stanzas) for (const r of s.repos) for (const b of r.backups) if (b.label === label) return b;
  return undefined;
}

const BackupInfoEntry = z.looseObject({
  "backup-type": z.enum(["full", "diff", "incr"]),
  "backup-timestamp-start": z.number(),
  "backup-timestamp-stop": z.number(),
  "backup-archive-start": z.string().nullish(),
  "backup-archive-stop": z.string().nullish(),
  "backup-lsn-start": z.string().nullish(),
  "backup-lsn-stop": z.string().nullish(),
  "backup-info-size": z.number().optional(),
  "backup-info-size-delta": z.number().optional(),
  "backup-info-repo-size": z.number().optional(),
  "backup-info-repo-size-delta": z.number().optional(),
  "backup-prior": z.string().nullish(),
  "backup-error": z.boolean().optional(),
  "db-id": z.number().optional(),
});

function jsonValue(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return parseJsonKeepingBigInts(raw);
  } catch {
    return raw;
  }
}

function dbSection(ini: IniSections): { id?: number; systemId?: string; version?: string } {
  const db = ini.get("db");
  const out: { id?: number; systemId?: string; version?: string } = {};
  const id = jsonValue(db?.get("db-id"));
  const sys = db?.get("db-system-id");
  const version = jsonValue(db?.get("db-version"));
  if (typeof id === "number") out.id = id;
  if (sys !== undefined) out.systemId = sys.replace(/^"|"$/g, "");
  if (typeof version === "string") out.version = version;
  return out;
}

export interface BackupInfoFile {
  format?: number;
  version?: string;
  db: { id?: number; systemId?: string; version?: string };
  /** Oldest first. */
  backups: BackupSet[];
}

/** A repository's `backup/<stanza>/backup.info`; throws InfoParseError when it is not one. */
export function parseBackupInfoIni(text: string): BackupInfoFile {
  const ini = parseIni(text);
  if (!ini.has("backrest") || !ini.has("db"))
    throw new InfoParseError("not a pgBackRest backup.info file (no [backrest] or [db] section)");
  const backups: BackupSet[] = [];
  for (const [label, raw] of ini.get("backup:current") ?? []) {
    const parsed = BackupInfoEntry.safeParse(jsonValue(raw));
    if (!parsed.success) throw new InfoParseError(`backup.info entry ${label} does not fit: ${parsed.error.message}`);
    const e = parsed.data;
    const set: BackupSet = {
      label,
      type: e["backup-type"],
      startTime: iso(e["backup-timestamp-start"]),
      stopTime: iso(e["backup-timestamp-stop"]),
    };
    if (e["backup-info-size"] !== undefined) set.size = e["backup-info-size"];
    if (e["backup-info-size-delta"] !== undefined) set.delta = e["backup-info-size-delta"];
    if (e["backup-info-repo-size"] !== undefined) set.repoSize = e["backup-info-repo-size"];
    if (e["backup-info-repo-size-delta"] !== undefined) set.repoDelta = e["backup-info-repo-size-delta"];
    if (e["backup-archive-start"]) set.walStart = e["backup-archive-start"];
    if (e["backup-archive-stop"]) set.walStop = e["backup-archive-stop"];
    if (e["backup-lsn-start"]) set.lsnStart = e["backup-lsn-start"];
    if (e["backup-lsn-stop"]) set.lsnStop = e["backup-lsn-stop"];
    if (e["backup-prior"]) set.prior = e["backup-prior"];
    if (e["backup-error"]) set.error = true;
    if (e["db-id"] !== undefined) set.databaseId = e["db-id"];
    backups.push(set);
  }
  const backrest = ini.get("backrest");
  const out: BackupInfoFile = { db: dbSection(ini), backups: backups.sort(byStop) };
  const format = jsonValue(backrest?.get("backrest-format"));
  const version = jsonValue(backrest?.get("backrest-version"));
  if (typeof format === "number") out.format = format;
  if (typeof version === "string") out.version = version;
  return out;
}

export interface ArchiveInfoFile {
  db: { id?: number; systemId?: string; version?: string };
  /** The current archive id, e.g. `15-1`: the directory under `archive/<stanza>/` holding WAL. */
  archiveId?: string;
}

/** A repository's `archive/<stanza>/archive.info`. */
export function parseArchiveInfoIni(text: string): ArchiveInfoFile {
  const ini = parseIni(text);
  if (!ini.has("backrest") || !ini.has("db"))
    throw new InfoParseError("not a pgBackRest archive.info file (no [backrest] or [db] section)");
  const db = dbSection(ini);
  const out: ArchiveInfoFile = { db };
  if (db.version !== undefined && db.id !== undefined) out.archiveId = `${db.version}-${db.id}`;
  return out;
}
