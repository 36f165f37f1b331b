/**
 * @module
 * How the operator reaches a cluster's S3 repositories the way its pods do: where each one's
 * info files are (bucket, endpoint, path, addressing: what pgBackRest is configured with), and
 * with which key and CA: the user's `backups.pgbackrest.configuration` projections, built into
 * the conf.d files a pod would see from the Secrets and ConfigMaps they name. Pure: the objects
 * come in as the API server stores them (the cluster hook gets them as related objects, the CLI
 * reads them with the user's kubeconfig); nothing here reads anything.
 */
import type { PostgresClusterSpec } from "../api/postgres-cluster.ts";
import { fromBase64 } from "../crypto/bytes.ts";
import { shortHash } from "../names.ts";
import { STANZA } from "../pod-layout.ts";
import { repoPath, s3PathStyle } from "./config.ts";
import { parseIni } from "./ini.ts";
import { repoCaFiles, type S3Credentials, s3CredentialsFromConfFiles } from "./repos.ts";

export interface S3RepoTarget {
  repoName: string;
  bucket: string;
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  repoPath: string;
  /** The conf.d file name of the repo's CA, when one is projected (`<repo>-ca.crt`). */
  caFile?: string;
}

/** The S3 repositories of a cluster and where their info files live. */
export function s3RepoTargets(spec: PostgresClusterSpec): S3RepoTarget[] {
  const pgbackrest = spec.backups?.pgbackrest;
  const cas = repoCaFiles(pgbackrest?.configuration);
  return (pgbackrest?.repos ?? []).flatMap((repo) => {
    if (!repo.s3) return [];
    const target: S3RepoTarget = {
      repoName: repo.name,
      bucket: repo.s3.bucket,
      endpoint: repo.s3.endpoint,
      region: repo.s3.region,
      forcePathStyle: s3PathStyle(spec, repo),
      repoPath: repoPath(spec, repo),
    };
    const ca = cas[repo.name];
    return [ca ? { ...target, caFile: ca } : target];
  });
}

export type SourceKind = "Secret" | "ConfigMap";

/** A Secret or ConfigMap that `configuration` projects into conf.d. */
export interface ConfigurationSource {
  kind: SourceKind;
  name: string;
  /** `optional: true` in the projection: a missing object is no problem. */
  optional: boolean;
  /** `items` of the projection (key => file path); every key under its own name when absent. */
  items?: { key: string; path: string }[];
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** The Secrets and ConfigMaps `configuration` names, in order (other projection kinds hold no pgBackRest files). */
export function configurationSources(configuration: readonly unknown[] | undefined): ConfigurationSource[] {
  const out: ConfigurationSource[] = [];
  for (const projection of configuration ?? []) {
    const p = record(projection);
    if (!p) continue;
    for (const [field, kind] of [
      ["secret", "Secret"],
      ["configMap", "ConfigMap"],
    ] as const) {
      const source = record(p[field]);
      if (!source || typeof source.name !== "string" || source.name === "") continue;
      const items = Array.isArray(source.items)
        ? source.items.flatMap((i) => {
            const item = record(i);
            return item && typeof item.key === "string" && typeof item.path === "string"
              ? [{ key: item.key, path: item.path }]
              : [];
          })
        : undefined;
      out.push({ kind, name: source.name, optional: source.optional === true, ...(items ? { items } : {}) });
    }
  }
  return out;
}

/** A stored Secret or ConfigMap: `data` (base64 for a Secret, text for a ConfigMap). */
export interface StoredSource {
  data?: Record<string, unknown>;
  binaryData?: Record<string, unknown>;
}

export type SourceLookup = (kind: SourceKind, name: string) => StoredSource | undefined;

const decoder = new TextDecoder();

function sourceValue(kind: SourceKind, object: StoredSource, key: string): string | undefined {
  if (kind === "Secret") {
    const raw = object.data?.[key];
    const bytes = typeof raw === "string" ? fromBase64(raw) : undefined;
    return bytes ? decoder.decode(bytes) : undefined;
  }
  const text = object.data?.[key];
  if (typeof text === "string") return text;
  const raw = object.binaryData?.[key];
  const bytes = typeof raw === "string" ? fromBase64(raw) : undefined;
  return bytes ? decoder.decode(bytes) : undefined;
}

export interface ProjectedFiles {
  /** conf.d file path => content, as the projected volume would hold them. */
  files: Record<string, string>;
  /** Sources that are not there (and not optional). */
  missing: ConfigurationSource[];
}

/** The files the user's projections put into conf.d, from the objects they name. */
export function projectedFiles(sources: readonly ConfigurationSource[], lookup: SourceLookup): ProjectedFiles {
  const files: Record<string, string> = {};
  const missing: ConfigurationSource[] = [];
  for (const source of sources) {
    const object = lookup(source.kind, source.name);
    if (!object) {
      if (!source.optional) missing.push(source);
      continue;
    }
    const keys = [...Object.keys(object.data ?? {}), ...Object.keys(object.binaryData ?? {})];
    const items = source.items ?? keys.map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = sourceValue(source.kind, object, item.key);
      if (value !== undefined) files[item.path] = value;
    }
  }
  return { files, missing };
}

/** What a read needs besides the target: the key, and how to trust the endpoint. */
export interface S3Access {
  credentials: S3Credentials;
  /** PEM of the projected `<repo>-ca.crt`. */
  ca?: string;
  /** False with `repoN-storage-verify-tls=n`. */
  verifyTls: boolean;
}

export interface ReadablePlan {
  repoName: string;
  target: S3RepoTarget;
  access: S3Access;
}

/** Not readable by the operator; `problem` says why, for the status (never a secret). */
export interface UnreadablePlan {
  repoName: string;
  target: S3RepoTarget;
  problem: string;
}

export type S3ReadPlan = ReadablePlan | UnreadablePlan;

/** A repo option as pgBackRest would see it: `global` of the spec, else the user's conf.d files. */
function repoOption(
  spec: PostgresClusterSpec,
  files: Record<string, string>,
  name: string,
  stanza = STANZA,
): string | undefined {
  const fromSpec = spec.backups?.pgbackrest?.global?.[name];
  if (fromSpec !== undefined) return fromSpec;
  let found: string | undefined;
  for (const file of Object.keys(files).sort()) {
    if (!file.endsWith(".conf")) continue;
    const ini = parseIni(files[file] ?? "");
    for (const section of ["global", stanza]) {
      const value = ini.get(section)?.get(name);
      if (value !== undefined) found = value;
    }
  }
  return found;
}

const describeSource = (s: ConfigurationSource) => `${s.kind} ${s.name}`;

/**
 * For each S3 repo: how to read it, or why the operator cannot. `lookup` finds the Secrets and
 * ConfigMaps of `configuration` (undefined when they are not there).
 */
export function planS3Reads(spec: PostgresClusterSpec, lookup: SourceLookup): S3ReadPlan[] {
  const targets = s3RepoTargets(spec);
  if (targets.length === 0) return [];
  const { files, missing } = projectedFiles(configurationSources(spec.backups?.pgbackrest?.configuration), lookup);
  return targets.map((target): S3ReadPlan => {
    const repoName = target.repoName;
    const keyType = repoOption(spec, files, `${repoName}-s3-key-type`);
    if (keyType !== undefined && keyType !== "shared")
      return {
        repoName,
        target,
        problem: `the pods authenticate with ${repoName}-s3-key-type=${keyType} (their own cloud identity), which the operator does not have`,
      };
    const credentials = s3CredentialsFromConfFiles(files, repoName);
    if (!credentials) {
      const absent = missing.length ? ` (not found: ${missing.map(describeSource).join(", ")})` : "";
      return {
        repoName,
        target,
        problem: `no ${repoName}-s3-key and ${repoName}-s3-key-secret in the files of spec.backups.pgbackrest.configuration${absent}`,
      };
    }
    const ca = target.caFile !== undefined ? files[target.caFile] : undefined;
    if (target.caFile !== undefined && ca === undefined)
      return {
        repoName,
        target,
        problem: `the CA file ${target.caFile} named in spec.backups.pgbackrest.configuration is not in its Secret or ConfigMap`,
      };
    const verify = repoOption(spec, files, `${repoName}-storage-verify-tls`);
    const access: S3Access = {
      credentials,
      verifyTls: !(verify === "n" || verify === "false" || verify === "0"),
      ...(ca !== undefined ? { ca } : {}),
    };
    return { repoName, target, access };
  });
}

/**
 * A cache key for one read: distinct per cluster, location, credentials and CA (hashed: the key
 * may be logged, the secret must not be).
 */
export function readKey(namespace: string, cluster: string, plan: ReadablePlan): string {
  const { target, access } = plan;
  const where = `${target.endpoint}/${target.bucket}/${target.repoPath}@${target.region}${target.forcePathStyle ? "/path" : ""}`;
  const secret = shortHash(
    [
      access.credentials.accessKeyId,
      access.credentials.secretAccessKey,
      access.credentials.sessionToken ?? "",
      access.ca ?? "",
      String(access.verifyTls),
    ].join("\n"),
    16,
  );
  return `${namespace}/${cluster}/${plan.repoName}@${where}#${secret}`;
}
