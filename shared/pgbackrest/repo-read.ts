/**
 * @module
 * Reading a pgBackRest repository in object storage, independent of the store: `backup.info`
 * (backup sets), `archive.info` (the archive id) and, when asked, the newest archived WAL
 * segment's time, into the backup sets and the recoverability window. The store sits behind a
 * two-method interface (`RepoObjectReader`), so this logic is pure and runs against a bucket in
 * memory in tests; `shared/io/s3-repository.ts` implements the interface with the S3 SDK.
 * Errors come back as `{ reachable: false, error }`, never thrown.
 */
import {
  type BackupSet,
  parseArchiveInfoIni,
  parseBackupInfoIni,
  type RecoverabilityWindow,
  recoverabilityOf,
} from "./info.ts";

export interface ListedObject {
  key: string;
  /** RFC 3339. */
  lastModified?: string;
}

export interface RepoObjectReader {
  /** An object's text, or undefined when it does not exist. */
  getText(key: string, signal?: AbortSignal): Promise<string | undefined>;
  /** One level below a prefix: the objects there and the sub-prefixes ("directories"). */
  list(prefix: string, signal?: AbortSignal): Promise<{ objects: ListedObject[]; prefixes: string[] }>;
}

export type RepoStatus =
  | {
      reachable: true;
      /** False when the stanza has not been created in this repository yet. */
      stanzaExists: boolean;
      /** Oldest first. */
      backups: BackupSet[];
      lastBackup?: BackupSet;
      recoverability?: RecoverabilityWindow;
      archive?: { id: string; newestSegment?: string; newestSegmentTime?: string };
      systemId?: string;
      pgVersion?: string;
    }
  | { reachable: false; error: string };

/** `/pgbackrest/repo1` => `pgbackrest/repo1/`: pgBackRest drops the leading slash in object keys. */
export function repoKeyPrefix(repoPath: string): string {
  const trimmed = repoPath.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "" : `${trimmed}/`;
}

const WAL_SEGMENT = /^([0-9A-F]{24})-[0-9a-f]{40}(\.[a-z0-9]+)?$/;

/** A readable sentence from whatever a store threw (the S3 SDK's errors carry a name and an HTTP status). */
export function errorText(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { name?: string; message?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const name = e.Code ?? e.name;
    const message = e.message && e.message !== "UnknownError" ? e.message : undefined;
    return [name, message, status ? `(HTTP ${status})` : undefined].filter(Boolean).join(": ").replace(": (", " (");
  }
  return String(err);
}

/** pgBackRest encrypts its info files with `repoN-cipher-pass` when `repoN-cipher-type` is set (OpenSSL's format). */
const ENCRYPTED = /^Salted__/;

export class EncryptedRepoError extends Error {
  constructor() {
    super(
      "the repository is encrypted (repoN-cipher-type): its backup.info cannot be read without the cipher passphrase",
    );
    this.name = "EncryptedRepository";
  }
}

async function infoText(reader: RepoObjectReader, key: string, signal?: AbortSignal): Promise<string | undefined> {
  // pgBackRest writes a .copy of each info file; either one will do.
  const text = (await reader.getText(key, signal)) ?? (await reader.getText(`${key}.copy`, signal));
  if (text !== undefined && ENCRYPTED.test(text)) throw new EncryptedRepoError();
  return text;
}

export interface ReadRepoOptions {
  repoPath: string;
  stanza?: string;
  signal?: AbortSignal;
  /**
   * List the archive to find the newest WAL segment and its time (two more requests; default
   * true). The cluster status leaves it out: it changes with every archived segment.
   */
  wal?: boolean;
}

/** Reads the repository; never throws. */
export async function readRepoStatus(reader: RepoObjectReader, options: ReadRepoOptions): Promise<RepoStatus> {
  const stanza = options.stanza ?? "db";
  const root = repoKeyPrefix(options.repoPath);
  const { signal } = options;
  try {
    const backupText = await infoText(reader, `${root}backup/${stanza}/backup.info`, signal);
    if (backupText === undefined) return { reachable: true, stanzaExists: false, backups: [] };
    const backupInfo = parseBackupInfoIni(backupText);
    const archiveText = await infoText(reader, `${root}archive/${stanza}/archive.info`, signal);
    const archiveInfo = archiveText !== undefined ? parseArchiveInfoIni(archiveText) : undefined;

    let archive: { id: string; newestSegment?: string; newestSegmentTime?: string } | undefined;
    if (archiveInfo?.archiveId) {
      archive = { id: archiveInfo.archiveId };
      if (options.wal !== false) {
        // Timeline and log id sort as hex text: the last directory holds the newest segments.
        const idPrefix = `${root}archive/${stanza}/${archiveInfo.archiveId}/`;
        const dirs = (await reader.list(idPrefix, signal)).prefixes.filter((p) => /\/[0-9A-F]{16}\/$/.test(p)).sort();
        const newestDir = dirs[dirs.length - 1];
        if (newestDir) {
          const segments = (await reader.list(newestDir, signal)).objects
            .map((o) => ({ o, m: WAL_SEGMENT.exec(o.key.slice(newestDir.length)) }))
            .filter((x) => x.m)
            .sort((a, b) => (a.m![1]! < b.m![1]! ? -1 : 1));
          const newest = segments[segments.length - 1];
          if (newest) {
            archive.newestSegment = newest.m![1]!;
            if (newest.o.lastModified) archive.newestSegmentTime = newest.o.lastModified;
          }
        }
      }
    }

    const backups = backupInfo.backups;
    const usable = backups.filter((b) => !b.error);
    const status: RepoStatus = { reachable: true, stanzaExists: true, backups };
    const last = usable[usable.length - 1];
    if (last) status.lastBackup = last;
    const window = recoverabilityOf(backups, archive?.newestSegmentTime);
    if (window) status.recoverability = window;
    if (archive) status.archive = archive;
    if (backupInfo.db.systemId) status.systemId = backupInfo.db.systemId;
    if (backupInfo.db.version) status.pgVersion = backupInfo.db.version;
    return status;
  } catch (err) {
    return { reachable: false, error: errorText(err) };
  }
}
