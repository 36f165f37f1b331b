/**
 * @module
 * The S3 side of reading a pgBackRest repository: `s3ObjectReader` implements the store
 * interface of `shared/pgbackrest/repo-read.ts` with `@aws-sdk/client-s3` (custom endpoint,
 * path-style addressing, a custom CA), loaded lazily so nothing pays for the SDK until a
 * repository is read. This folder is the only place the SDK is imported from
 * (test/unit/architecture/layering.test.ts).
 */
import type { RepoObjectReader } from "../pgbackrest/repo-read.ts";
import { parseS3Endpoint, type S3Credentials } from "../pgbackrest/repos.ts";

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
  /** False skips the certificate check, as `repoN-storage-verify-tls=n` does for pgBackRest. */
  verifyTls?: boolean;
  /** Per-request timeout; the caller's budget bounds the whole read. */
  requestTimeoutMs?: number;
}

export interface ClosableRepoObjectReader extends RepoObjectReader {
  /** Closes the client's connections (a reader is made per read, so no socket outlives it). */
  close(): void;
}

/** An S3 implementation of RepoObjectReader (the SDK is imported on first use). */
export function s3ObjectReader(options: S3RepoOptions): ClosableRepoObjectReader {
  type S3 = typeof import("@aws-sdk/client-s3");
  let loaded: Promise<{ sdk: S3; client: InstanceType<S3["S3Client"]> }> | undefined;
  let closed = false;
  const load = () => {
    loaded ??= import("@aws-sdk/client-s3").then((sdk) => {
      const ep = parseS3Endpoint(options.endpoint);
      const url = `${ep.scheme ?? "https"}://${ep.host}${ep.port !== undefined ? `:${ep.port}` : ""}`;
      const timeout = options.requestTimeoutMs ?? 5000;
      const tls = {
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.verifyTls === false ? { rejectUnauthorized: false } : {}),
      };
      const client = new sdk.S3Client({
        endpoint: url,
        region: options.region,
        credentials: options.credentials,
        forcePathStyle: options.forcePathStyle ?? true,
        maxAttempts: 2,
        requestHandler: {
          connectionTimeout: timeout,
          requestTimeout: timeout,
          ...(Object.keys(tls).length ? { httpsAgent: { ...tls, keepAlive: true } } : {}),
        },
      });
      if (closed) client.destroy();
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
      const objects: { key: string; lastModified?: string }[] = [];
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
    close() {
      closed = true;
      void loaded?.then(({ client }) => client.destroy()).catch(() => {});
    },
  };
}
