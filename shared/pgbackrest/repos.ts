/**
 * @module
 * Repository details that are not configuration text: the parts of an S3 endpoint, the CA
 * files a user projects through `configuration`, and the S3 credentials in the user's conf.d
 * files (which the repository reader needs to read `backup.info` from a bucket).
 */
import { parseIni } from "./ini.ts";

export interface S3Endpoint {
  /** Host name pgBackRest connects to and checks the certificate against (docs/dataplane-notes.md B1). */
  host: string;
  port?: number;
  /** `http` when the user wrote http:// (pgBackRest 2.45 only speaks HTTPS to S3, docs/dataplane-notes.md B2). */
  scheme?: "http" | "https";
}

/** `https://minio.example:9000/` => { host: "minio.example", port: 9000, scheme: "https" }. */
export function parseS3Endpoint(endpoint: string): S3Endpoint {
  let rest = endpoint.trim();
  let scheme: S3Endpoint["scheme"];
  const m = /^(https?):\/\//i.exec(rest);
  if (m) {
    scheme = m[1]!.toLowerCase() as "http" | "https";
    rest = rest.slice(m[0].length);
  }
  rest = rest.replace(/[/?#].*$/, "");
  const hostPort = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(rest);
  const out: S3Endpoint = { host: hostPort ? hostPort[1]! : rest };
  if (hostPort?.[2]) out.port = Number(hostPort[2]);
  if (scheme) out.scheme = scheme;
  return out;
}

interface ProjectionItem {
  key?: unknown;
  path?: unknown;
}

/**
 * CA certificates for repository TLS, by convention: a `configuration` item projected as
 * `<repo>-ca.crt` (or `.pem`), e.g. `{secret: {name: minio-ca, items: [{key: ca.crt, path:
 * repo2-ca.crt}]}}`, becomes `repo2-storage-ca-file`. Returns repo name => file path in conf.d.
 */
export function repoCaFiles(configuration: unknown[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const projection of configuration ?? []) {
    if (!projection || typeof projection !== "object") continue;
    for (const source of Object.values(projection as Record<string, unknown>)) {
      const items = (source as { items?: unknown } | undefined)?.items;
      if (!Array.isArray(items)) continue;
      for (const item of items as ProjectionItem[]) {
        const path = typeof item?.path === "string" ? item.path : undefined;
        const m = path ? /^(repo[1-4])-ca\.(crt|pem)$/.exec(path) : null;
        if (m && out[m[1]!] === undefined) out[m[1]!] = path!;
      }
    }
  }
  return out;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * The S3 key of a repo from the user's conf.d files (file name => text), as pgBackRest would
 * read them: `repoN-s3-key` / `repoN-s3-key-secret` / `repoN-s3-token` in `[global]` or the
 * stanza's section (the stanza's wins).
 */
export function s3CredentialsFromConfFiles(
  files: Record<string, string>,
  repoName: string,
  stanza = "db",
): S3Credentials | undefined {
  const found: Record<string, string> = {};
  for (const name of Object.keys(files).sort()) {
    if (!name.endsWith(".conf")) continue;
    const ini = parseIni(files[name] ?? "");
    for (const section of ["global", stanza]) {
      for (const [k, v] of ini.get(section) ?? []) if (k.startsWith(`${repoName}-s3-`)) found[k] = v;
    }
  }
  const key = found[`${repoName}-s3-key`];
  const secret = found[`${repoName}-s3-key-secret`];
  if (!key || !secret) return undefined;
  const out: S3Credentials = { accessKeyId: key, secretAccessKey: secret };
  const token = found[`${repoName}-s3-token`];
  if (token) out.sessionToken = token;
  return out;
}
