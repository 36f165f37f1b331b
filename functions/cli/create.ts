/**
 * @module
 * `tusk create cluster`: a PostgresCluster manifest from a few flags, in the spirit of PGO's
 * `pgo create cluster`. The manifest is plain PGO-shaped YAML that passes the API schema and
 * the admission rules; it is printed (`--dry-run`, or when no cluster is reachable) or applied.
 */
import { type PostgresClusterSpec, SUPPORTED_POSTGRES_VERSIONS } from "../../shared/api/postgres-cluster.ts";
import { parseQuantity } from "../../shared/quantity.ts";
import { boolFlag, intFlag, listFlag, stringFlag } from "./args.ts";
import { type Ctx, namespaceFlag, printStructured } from "./context.ts";
import { CliError, UsageError } from "./errors.ts";
import { API_VERSION, type KubeObject, KubeUnreachable } from "./kube.ts";
import { toYaml } from "./output.ts";
import { checkBeforeSending } from "./submit.ts";

const COMMAND = "create cluster";
export const DEFAULT_POSTGRES_VERSION = 16;
export const DEFAULT_STORAGE = "1Gi";
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface ClusterOptions {
  name: string;
  namespace?: string;
  replicas?: number;
  postgresVersion?: number;
  storage?: string;
  /** `volume:SIZE` or `s3:BUCKET@ENDPOINT/REGION`, in repo order. */
  backupRepos?: string[];
  /** Cron schedule of full backups on every repo. */
  schedule?: string;
  /** pgBouncer replicas; undefined for no pgBouncer. */
  pgbouncer?: number;
  metrics?: boolean;
  tlsSecret?: string;
}

function quantity(text: string, flag: string): string {
  const q = parseQuantity(text);
  if (!q || q.num <= 0n)
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a size such as 10Gi or 500Mi`, COMMAND);
  return text;
}

type Repo = NonNullable<NonNullable<PostgresClusterSpec["backups"]>["pgbackrest"]>["repos"][number];

function parseRepo(text: string, index: number): Repo {
  const name = `repo${index + 1}`;
  const [type, ...rest] = text.split(":");
  const value = rest.join(":");
  if (type === "volume") {
    const storage = quantity(value, `--backup-repo ${text}`);
    return {
      name,
      volume: { volumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } } },
    };
  }
  if (type === "s3") {
    const m = /^([^@/]+)@([^/]+)\/([^/]+)$/.exec(value);
    if (!m) {
      throw new UsageError(
        `--backup-repo ${text}: an S3 repo is s3:BUCKET@ENDPOINT/REGION, e.g. s3:backups@s3.eu-west-1.amazonaws.com/eu-west-1`,
        COMMAND,
      );
    }
    return { name, s3: { bucket: m[1] as string, endpoint: m[2] as string, region: m[3] as string } };
  }
  throw new UsageError(
    `--backup-repo ${text}: use volume:SIZE (a PersistentVolumeClaim) or s3:BUCKET@ENDPOINT/REGION`,
    COMMAND,
  );
}

/** The name of the Secret an S3 repo's credentials are expected in. */
function s3CredentialsSecret(cluster: string): string {
  return `${cluster}-pgbackrest-s3`;
}

/** The manifest for `options`; throws a UsageError naming the flag when one is wrong. */
export function clusterManifest(options: ClusterOptions): KubeObject {
  const { name } = options;
  if (!DNS_LABEL.test(name) || name.length > 63) {
    throw new UsageError(
      `cluster name ${JSON.stringify(name)} must be a lowercase DNS label: a-z, 0-9 and '-', at most 63 characters`,
      COMMAND,
    );
  }
  const version = options.postgresVersion ?? DEFAULT_POSTGRES_VERSION;
  if (!(SUPPORTED_POSTGRES_VERSIONS as readonly number[]).includes(version)) {
    throw new UsageError(`--postgres-version must be one of ${SUPPORTED_POSTGRES_VERSIONS.join(", ")}`, COMMAND);
  }
  const storage = quantity(options.storage ?? DEFAULT_STORAGE, "--storage");
  const repoSpecs = options.backupRepos ?? [];
  if (repoSpecs.length > 4) throw new UsageError("--backup-repo: at most 4 repos (repo1..repo4)", COMMAND);
  const repos = repoSpecs.map(parseRepo);
  if (options.schedule !== undefined) {
    if (repos.length === 0) throw new UsageError("--schedule needs a --backup-repo to back up to", COMMAND);
    if (options.schedule.trim().split(/\s+/).length < 5) {
      throw new UsageError(
        `--schedule ${JSON.stringify(options.schedule)}: use a cron expression such as "0 1 * * *"`,
        COMMAND,
      );
    }
    for (const r of repos) r.schedules = { full: options.schedule };
  }

  const spec: Record<string, unknown> = {
    postgresVersion: version,
    instances: [
      {
        name: "instance1",
        replicas: options.replicas ?? 1,
        dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
      },
    ],
  };
  if (repos.length) {
    const global: Record<string, string> = {};
    for (const r of repos) {
      global[`${r.name}-retention-full`] = "2";
      if (r.s3) global[`${r.name}-path`] = `/pgbackrest/${name}/${r.name}`;
    }
    spec.backups = {
      pgbackrest: {
        ...(repos.some((r) => r.s3) ? { configuration: [{ secret: { name: s3CredentialsSecret(name) } }] } : {}),
        global,
        repos,
      },
    };
  }
  if (options.pgbouncer !== undefined) spec.proxy = { pgBouncer: { replicas: options.pgbouncer } };
  if (options.metrics) spec.monitoring = { pgmonitor: { exporter: {} } };
  if (options.tlsSecret !== undefined) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(options.tlsSecret)) {
      throw new UsageError(`--tls-secret ${JSON.stringify(options.tlsSecret)} is not a valid Secret name`, COMMAND);
    }
    spec.customTLSSecret = { name: options.tlsSecret };
  }
  return {
    apiVersion: API_VERSION,
    kind: "PostgresCluster",
    metadata: { name, ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec,
  };
}

function optionsFromFlags(ctx: Ctx): ClusterOptions {
  const f = ctx.flags;
  const pgbouncer = stringFlag(f, "pgbouncer");
  if (pgbouncer !== undefined && !/^\d+$/.test(pgbouncer)) {
    throw new UsageError(`--pgbouncer=N takes a number of replicas (got ${JSON.stringify(pgbouncer)})`, COMMAND);
  }
  const replicas = intFlag(f, "replicas", COMMAND, { min: 1, max: 16 });
  const postgresVersion = intFlag(f, "postgres-version", COMMAND, { min: 1 });
  const namespace = namespaceFlag(ctx);
  const storage = stringFlag(f, "storage");
  const schedule = stringFlag(f, "schedule");
  const tlsSecret = stringFlag(f, "tls-secret");
  return {
    name: ctx.positionals[0] as string,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(replicas !== undefined ? { replicas } : {}),
    ...(postgresVersion !== undefined ? { postgresVersion } : {}),
    ...(storage !== undefined ? { storage } : {}),
    backupRepos: listFlag(f, "backup-repo"),
    ...(schedule !== undefined ? { schedule } : {}),
    ...(pgbouncer !== undefined ? { pgbouncer: Number(pgbouncer) } : {}),
    metrics: boolFlag(f, "metrics"),
    ...(tlsSecret !== undefined ? { tlsSecret } : {}),
  };
}

function printManifest(ctx: Ctx, manifest: KubeObject): void {
  if (!printStructured(ctx, manifest)) ctx.io.out(toYaml(manifest));
}

export async function createClusterCommand(ctx: Ctx): Promise<number> {
  const manifest = clusterManifest(optionsFromFlags(ctx));
  const name = ctx.positionals[0] as string;
  const hasS3 = JSON.stringify(manifest.spec).includes('"s3"');
  const credentialsNote = hasS3
    ? `note: put the S3 credentials (repoN-s3-key, repoN-s3-key-secret) in Secret ${s3CredentialsSecret(name)}, key s3.conf, before the first backup\n`
    : "";
  // The admission rules decide, exactly as the webhook will; warnings are shown, not fatal.
  const verdict = checkBeforeSending(ctx, manifest);
  if (!verdict) return 1;

  if (boolFlag(ctx.flags, "dry-run")) {
    printManifest(ctx, manifest);
    ctx.io.err(credentialsNote);
    return 0;
  }
  let kube: Awaited<ReturnType<Ctx["kube"]>>;
  try {
    kube = await ctx.kube();
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    ctx.io.err(`no cluster reachable (${error.message}); printing the manifest instead\n`);
    printManifest(ctx, manifest);
    ctx.io.err(credentialsNote);
    return 0;
  }
  const namespace = manifest.metadata?.namespace ?? kube.namespace;
  try {
    if (await kube.get("PostgresCluster", namespace, name)) {
      throw new CliError(
        `PostgresCluster ${name} already exists in namespace ${namespace}; change it with \`tusk apply\`, \`tusk scale\` or kubectl edit`,
      );
    }
    const created = await kube.create("PostgresCluster", namespace, {
      ...manifest,
      metadata: { ...manifest.metadata, namespace },
    });
    if (!printStructured(ctx, created)) {
      ctx.io.out(`postgrescluster/${name} created in namespace ${namespace}; follow it with \`tusk status ${name}\`\n`);
    }
    ctx.io.err(credentialsNote);
    return 0;
  } catch (error) {
    if (!(error instanceof KubeUnreachable)) throw error;
    ctx.io.err(`no cluster reachable (${error.message}); printing the manifest instead\n`);
    printManifest(ctx, manifest);
    ctx.io.err(credentialsNote);
    return 0;
  }
}
