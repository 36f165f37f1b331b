/**
 * @module
 * Where pgBackRest's files live in Tusk's pods and how the pods reach each other: the
 * configuration directory, TLS files, repository volumes, the instance and repo-host DNS names,
 * and the TLS client's common name. Every default comes from shared/pod-layout.ts; the
 * end-to-end suite overrides single fields to map the pod world onto temporary directories and
 * loopback ports, so the rendered configuration it runs is the one the pods get.
 */
import type { PostgresClusterSpec, Repo } from "../api/postgres-cluster.ts";
import { instanceSetName, names, shortHash } from "../names.ts";
import { PATHS, PORTS } from "../pod-layout.ts";

/** The cluster as the pgBackRest builders need it: its name, namespace and parsed spec. */
export interface PgBackRestCluster {
  name: string;
  namespace: string;
  spec: PostgresClusterSpec;
}

/**
 * Where the configuration is used:
 * - `instance`: beside Postgres (archive-push/get, the TLS server for Jobs and the repo host);
 * - `repo-host`: the repository host's TLS server, which holds the volume repositories;
 * - `job`: backup, expire and stanza-create Jobs (and CronJobs) running the pgBackRest client.
 */
export type PgBackRestRole = "instance" | "repo-host" | "job";
export const ROLES: readonly PgBackRestRole[] = ["instance", "repo-host", "job"];

/** Keys of the cluster's pgBackRest ConfigMap (`names.pgbackrestConfig(cluster)`), one per role. */
export const CONFIG_KEYS: Record<PgBackRestRole, string> = {
  instance: "pgbackrest-instance.conf",
  "repo-host": "pgbackrest-repo-host.conf",
  job: "pgbackrest-job.conf",
};

/**
 * The rendered file's name inside conf.d. pgBackRest merges every `*.conf` there with the
 * user's `configuration` files (credentials); the tilde keeps it clear of a user's key names.
 */
export const OPERATOR_CONFIG_FILE = "~tusk.conf";
/** The TLS client certificate's directory inside conf.d (not a `*.conf`, so pgBackRest skips it). */
export const CLIENT_TLS_SUBDIR = "~tusk-client";

/** Keys of the client certificate Secret (`names.pgbackrestClientSecret(cluster)`). */
export const CLIENT_TLS_KEYS = { certificate: "tls.crt", privateKey: "tls.key", ca: "ca.crt" } as const;

export type RepoKind = "volume" | "s3" | "gcs" | "azure";

export function repoKind(repo: Repo): RepoKind {
  if (repo.volume) return "volume";
  if (repo.s3) return "s3";
  if (repo.gcs) return "gcs";
  return "azure";
}

/** `repo2` => 2. */
export function repoIndex(repoName: string): number {
  return Number(repoName.replace(/^repo/, ""));
}

/** A volume repository's mount; PATHS.pgbackrestRepo is repo1's. */
export function repoVolumePath(repoName: string): string {
  return `/pgbackrest/${repoName}`;
}

/** One instance pod as pgBackRest clients see it. */
interface RemoteInstance {
  host: string;
  /** The pod's pgBackRest TLS server port. */
  port: number;
  pgPath: string;
  pgPort: number;
  socketPath: string;
}

export interface PgBackRestLayout {
  /** `--config-path`: pgBackRest reads `<configPath>/conf.d/*.conf` (and no main file exists). */
  configPath: string;
  confD: string;
  /** This instance's data directory, port and socket directory (role `instance`). */
  pgPath: string;
  pgPort: number;
  socketPath: string;
  lockPath: string;
  logPath: string;
  spoolPath: string;
  /** The TLS server's certificate (instance pods and repo host) and the CA it trusts clients from. */
  serverCertFile: string;
  serverKeyFile: string;
  serverCaFile: string;
  /** The TLS client's certificate and the CA it trusts servers from. */
  clientCertFile: string;
  clientKeyFile: string;
  clientCaFile: string;
  tlsServerAddress: string;
  tlsServerPort: number;
  repoVolumePath: (repoName: string) => string;
  /** How clients reach an instance pod by name. */
  instance: (pod: string) => RemoteInstance;
  repoHost: { host: string; port: number };
}

/** The Postgres data directory in the pods (`${PATHS.pgdata}/pg${version}`). */
function pgDataDirectory(spec: PostgresClusterSpec): string {
  return `${PATHS.pgdata}/pg${spec.postgresVersion}`;
}

/**
 * A pod's DNS name through the cluster's headless Service. The pgBackRest TLS client checks
 * the server certificate against exactly this name (docs/dataplane-notes.md B13), so server
 * certificates need it (or `*.<cluster>-pods.<namespace>.svc`) as a DNS SAN.
 */
function podDnsName(cluster: string, namespace: string, pod: string, clusterDomain?: string): string {
  const base = `${pod}.${names.podsService(cluster)}.${namespace}.svc`;
  return clusterDomain ? `${base}.${clusterDomain}` : base;
}

/** The repository host's pod (its StatefulSet's serviceName is the cluster's headless Service). */
function repoHostPod(cluster: string): string {
  return names.pod(names.repoHost(cluster));
}

/** Every instance pod the spec asks for, in instance-set then ordinal order. */
export function instancePods(cluster: PgBackRestCluster): string[] {
  return cluster.spec.instances.flatMap((set, index) => {
    const setName = instanceSetName(set.name, index);
    return Array.from({ length: set.replicas }, (_, ordinal) =>
      names.pod(names.instance(cluster.name, setName, ordinal)),
    );
  });
}

/**
 * The CN of the TLS client certificate; the TLS servers authorise exactly this name
 * (`tls-server-auth`). Per cluster, so a certificate from one cluster's CA cannot talk to
 * another cluster even when a user shares one CA between them. At most 64 characters (X.509).
 */
export function clientCommonName(cluster: string): string {
  const cn = `pgbackrest@${cluster}`;
  return cn.length <= 64 ? cn : `pgbackrest@${cluster.slice(0, 43)}-${shortHash(cluster, 8)}`;
}

export const hasVolumeRepo = (spec: PostgresClusterSpec): boolean =>
  (spec.backups?.pgbackrest?.repos ?? []).some((r) => repoKind(r) === "volume");

export interface LayoutOptions {
  /** Appended to pod DNS names (`cluster.local`); unset uses `<pod>.<svc>.<ns>.svc`. */
  clusterDomain?: string;
}

/** The pod layout: what the pods get. */
export function podLayout(cluster: PgBackRestCluster, options: LayoutOptions = {}): PgBackRestLayout {
  const pgPath = pgDataDirectory(cluster.spec);
  const pgPort = cluster.spec.port ?? PORTS.postgres;
  const client = `${PATHS.pgbackrestConfD}/${CLIENT_TLS_SUBDIR}`;
  return {
    configPath: PATHS.pgbackrestConfigDir,
    confD: PATHS.pgbackrestConfD,
    pgPath,
    pgPort,
    socketPath: PATHS.socketDir,
    lockPath: PATHS.pgbackrestLock,
    logPath: PATHS.pgbackrestLog,
    spoolPath: PATHS.pgbackrestSpool,
    serverCertFile: `${PATHS.tlsDir}/tls.crt`,
    serverKeyFile: `${PATHS.tlsDir}/tls.key`,
    serverCaFile: `${PATHS.tlsDir}/ca.crt`,
    clientCertFile: `${client}/${CLIENT_TLS_KEYS.certificate}`,
    clientKeyFile: `${client}/${CLIENT_TLS_KEYS.privateKey}`,
    clientCaFile: `${client}/${CLIENT_TLS_KEYS.ca}`,
    tlsServerAddress: "*",
    tlsServerPort: PORTS.pgbackrestTls,
    repoVolumePath,
    instance: (pod) => ({
      host: podDnsName(cluster.name, cluster.namespace, pod, options.clusterDomain),
      port: PORTS.pgbackrestTls,
      pgPath,
      pgPort,
      socketPath: PATHS.socketDir,
    }),
    repoHost: {
      host: podDnsName(cluster.name, cluster.namespace, repoHostPod(cluster.name), options.clusterDomain),
      port: PORTS.pgbackrestTls,
    },
  };
}
