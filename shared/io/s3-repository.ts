/**
 * @module
 * Reads a pgBackRest repository in an S3 bucket: `backup.info` (backup sets), `archive.info`
 * (the archive id) and the newest archived WAL segment's time, into the last backup and the
 * recoverability window. The bucket sits behind a two-method interface so the reading logic is
 * tested against any store; `s3ObjectReader` implements it with `@aws-sdk/client-s3` (custom
 * endpoint, path-style addressing, custom CA), loaded lazily so nothing pays for the SDK until a
 * repository is read. Errors come back as `{ reachable: false, error }`, never thrown.
 */

import {
  type BackupSet,
  parseArchiveInfoIni,
  parseBackupInfoIni,
  type RecoverabilityWindow,
  recoverabilityOf,
} from "../pgbackrest/info.ts";
import type { S3Credentials } from "../pgbackrest/repos.ts";
import { parseS3Endpoint } from "../pgbackrest/repos.ts";

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

function errorText(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as { name?: string; message?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const name = e.Code ?? e.name;
    const message = e.message && e.message !== "UnknownError" ? e.message : undefined;
    return [name, message, status ? `(HTTP ${status})` : undefined].filter(Boolean).join(": ").replace(": (", " (");
  }
  return String(err);
}

/** Reads the repository; never throws. */
export async function readRepoStatus(
  reader: RepoObjectReader,
  options: { repoPath: string; stanza?: string; signal?: AbortSignal },
): Promise<RepoStatus> {
  const stanza = options.stanza ?? "db";
  const root = repoKeyPrefix(options.repoPath);
  const { signal } = options;
  try {
    // pgBackRest writes a .copy of each info file; either one will do.
    const backupText =
      (await reader.getText(`${root}backup/${stanza}/backup.info`, signal)) ??
      (await reader.getText(`${root}backup/${stanza}/backup.info.copy`, signal));
    if (backupText === undefined) return { reachable: true, stanzaExists: false, backups: [] };
    const backupInfo = parseBackupInfoIni(backupText);
    const archiveText =
      (await reader.getText(`${root}archive/${stanza}/archive.info`, signal)) ??
      (await reader.getText(`${root}archive/${stanza}/archive.info.copy`, signal));
    const archiveInfo = archiveText !== undefined ? parseArchiveInfoIni(archiveText) : undefined;

    let archive: { id: string; newestSegment?: string; newestSegmentTime?: string } | undefined;
    if (archiveInfo?.archiveId) {
      archive = { id: archiveInfo.archiveId };
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

export interface S3RepoOptions {
  bucket: string;
  /** As in the spec: `host`, `host:port` or a URL. */
  endpoint: string;
  region: string;
  credentials: S3Credentials;
  /** Path-style addressing (MinIO, s3rver, Ceph); pgBackRest's `repoN-s3-uri-style=path`. */
  forcePathStyle?: boolean;
  /** PEM CA bundle to trust instead of the system's (`repoN-storage-ca-file`). */
  ca?: string;
  /** Per-request timeout; the caller's budget bounds the whole read. */
  requestTimeoutMs?: number;
}

/** An S3 implementation of RepoObjectReader (the SDK is imported on first use). */
export function s3ObjectReader(options: S3RepoOptions): RepoObjectReader {
  type S3 = typeof import("@aws-sdk/client-s3");
  let loaded: Promise<{ sdk: S3; client: InstanceType<S3["S3Client"]> }> | undefined;
  const load = () => {
    loaded ??= import("@aws-sdk/client-s3").then((sdk) => {
      const ep = parseS3Endpoint(options.endpoint);
      const url = `${ep.scheme ?? "https"}://${ep.host}${ep.port !== undefined ? `:${ep.port}` : ""}`;
      const timeout = options.requestTimeoutMs ?? 5000;
      const client = new sdk.S3Client({
        endpoint: url,
        region: options.region,
        credentials: options.credentials,
        forcePathStyle: options.forcePathStyle ?? true,
        maxAttempts: 2,
        requestHandler: {
          connectionTimeout: timeout,
          requestTimeout: timeout,
          ...(options.ca ? { httpsAgent: { ca: options.ca, keepAlive: true } } : {}),
        },
      });
      return { sdk, client };
    });
    return loaded;
  };
  return {
    async getText(key, signal) {
      const { sdk, client } = await load();
      try {
        const out = await client.send(new sdk.GetObjectCommand({ Bucket: options.bucket, Key: key }), {
          abortSignal: signal,
        });
        return (await out.Body?.transformToString("utf-8")) ?? "";
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return undefined;
        throw err;
      }
    },
    async list(prefix, signal) {
      const { sdk, client } = await load();
      const objects: ListedObject[] = [];
      const prefixes: string[] = [];
      let token: string | undefined;
      do {
        const out = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: options.bucket,
            Prefix: prefix,
            Delimiter: "/",
            ContinuationToken: token,
          }),
          { abortSignal: signal },
        );
        for (const o of out.Contents ?? [])
          if (o.Key)
            objects.push(
              o.LastModified
                ? { key: o.Key, lastModified: o.LastModified.toISOString().replace(/\.\d{3}Z$/, "Z") }
                : { key: o.Key },
            );
        for (const p of out.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return { objects, prefixes };
    },
  };
}
