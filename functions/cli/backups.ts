/**
 * @module
 * `tusk backups NAME`: the backup sets in each repository of a cluster, read from the bucket
 * itself rather than from the cluster's status (which keeps only a summary). The key and CA are
 * the ones the pods use: the Secrets and ConfigMaps of `backups.pgbackrest.configuration`, read
 * with the user's kubeconfig and built into conf.d files by the same code the cluster hook runs
 * (shared/pgbackrest/repo-access.ts), so what this lists is what the pods can reach. A volume
 * repository lives in the repository host's volume, which nothing outside the cluster reads: its
 * line says how to list it. No key or secret is ever printed; errors are redacted.
 */
import { PostgresClusterSpec } from "../../shared/api/postgres-cluster.ts";
import { readS3Repo } from "../../shared/io/repo-reads.ts";
import { names } from "../../shared/names.ts";
import type { BackupSet, RecoverabilityWindow } from "../../shared/pgbackrest/info.ts";
import {
  type ConfigurationSource,
  configurationSources,
  planS3Reads,
  type StoredSource,
} from "../../shared/pgbackrest/repo-access.ts";
import { stringFlag } from "./args.ts";
import { type Ctx, printStructured } from "./context.ts";
import { CliError } from "./errors.ts";
import { KubeApiError } from "./kube.ts";
import { bytes, table } from "./output.ts";

/** A whole read of one repository may take this long (several requests). */
const READ_BUDGET_MS = 30_000;

export interface RepoBackupsReport {
  name: string;
  type: "s3" | "volume" | "other";
  /** `s3://bucket/path at endpoint` for an S3 repo. */
  location?: string;
  /** read: listed below; noStanza: nothing there yet; notReadable / failed: `message` says why. */
  state: "read" | "noStanza" | "notReadable" | "failed";
  backups: BackupSet[];
  recoverability?: RecoverabilityWindow;
  message?: string;
}

export interface BackupsReport {
  cluster: string;
  namespace: string;
  repos: RepoBackupsReport[];
}

/** Reads each Secret and ConfigMap once; a missing one is `undefined`, as the projection sees it. */
async function fetchSources(
  ctx: Ctx,
  namespace: string,
  sources: readonly ConfigurationSource[],
): Promise<Map<string, StoredSource | undefined>> {
  const kube = await ctx.kube();
  const found = new Map<string, StoredSource | undefined>();
  for (const source of sources) {
    const key = `${source.kind}/${source.name}`;
    if (found.has(key)) continue;
    try {
      found.set(key, (await kube.getConfigObject(source.kind, namespace, source.name)) as StoredSource | undefined);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 403)
        throw new CliError(
          `${error.message}: tusk backups reads the repository's key as the pods get it, from the Secrets and ConfigMaps of spec.backups.pgbackrest.configuration; your kubeconfig needs get on them`,
        );
      throw error;
    }
  }
  return found;
}

export async function backupsReport(ctx: Ctx, name: string): Promise<BackupsReport> {
  const kube = await ctx.kube();
  const namespace = kube.namespace;
  const cluster = await kube.get("PostgresCluster", namespace, name);
  if (!cluster)
    throw new CliError(
      `PostgresCluster ${name} not found in namespace ${namespace}; \`tusk get clusters -n ${namespace}\` lists the clusters there`,
    );
  const parsed = PostgresClusterSpec.safeParse(cluster.spec ?? {});
  if (!parsed.success)
    throw new CliError(`PostgresCluster ${name} has an invalid spec; \`tusk validate\` on its YAML says why`);
  const spec = parsed.data;
  const repos = spec.backups?.pgbackrest?.repos ?? [];
  const wanted = stringFlag(ctx.flags, "repo");
  if (wanted !== undefined && !repos.some((r) => r.name === wanted))
    throw new CliError(
      `PostgresCluster ${name} has no ${wanted}; its repos are ${repos.map((r) => r.name).join(", ") || "none"}`,
    );
  const chosen = repos.filter((r) => wanted === undefined || r.name === wanted);

  const needsKey = chosen.some((r) => r.s3);
  const sources = needsKey ? configurationSources(spec.backups?.pgbackrest?.configuration) : [];
  const stored = await fetchSources(ctx, namespace, sources);
  const plans = needsKey ? planS3Reads(spec, (kind, n) => stored.get(`${kind}/${n}`)) : [];

  const out: RepoBackupsReport[] = [];
  for (const repo of chosen) {
    const plan = plans.find((p) => p.repoName === repo.name);
    if (!repo.s3 || !plan) {
      out.push({
        name: repo.name,
        type: repo.volume ? "volume" : "other",
        state: "notReadable",
        backups: [],
        message: repo.volume
          ? `a volume of the repository host: \`kubectl exec -n ${namespace} ${names.repoHost(name)}-0 -- pgbackrest info\` lists it`
          : "only S3 repositories are read from outside the cluster: `pgbackrest info` in an instance pod lists it",
      });
      continue;
    }
    const t = plan.target;
    const location = `s3://${t.bucket}${t.repoPath} at ${t.endpoint}`;
    if ("problem" in plan) {
      out.push({ name: repo.name, type: "s3", location, state: "notReadable", backups: [], message: plan.problem });
      continue;
    }
    const signal = AbortSignal.timeout(READ_BUDGET_MS);
    const status = await readS3Repo(plan, {
      signal,
      wal: true,
      ...(ctx.env.openRepo ? { open: ctx.env.openRepo } : {}),
    });
    if (!status.reachable) {
      out.push({ name: repo.name, type: "s3", location, state: "failed", backups: [], message: status.error });
      continue;
    }
    out.push({
      name: repo.name,
      type: "s3",
      location,
      state: status.stanzaExists ? "read" : "noStanza",
      backups: status.backups,
      ...(status.recoverability ? { recoverability: status.recoverability } : {}),
      ...(status.stanzaExists ? {} : { message: "no stanza in the bucket yet (the cluster's stanza Job creates it)" }),
    });
  }
  return { cluster: name, namespace, repos: out };
}

const size = (n: number | undefined) => (n === undefined ? "-" : bytes(n));

export function formatBackups(report: BackupsReport): string {
  const parts: string[] = [];
  for (const repo of report.repos) {
    const where = repo.location ? ` (${repo.location})` : repo.type === "volume" ? " (volume)" : "";
    if (repo.state !== "read") {
      parts.push(`${repo.name}${where}: ${repo.message ?? repo.state}\n`);
      continue;
    }
    const count = `${repo.backups.length} backup${repo.backups.length === 1 ? "" : "s"}`;
    const w = repo.recoverability;
    const window = w
      ? `; restorable from ${w.earliest} to ${w.latest} (${w.latestFrom === "wal" ? "the newest archived WAL" : "the newest backup"})`
      : "";
    const note = repo.backups.some((b) => b.error);
    const rows = repo.backups.map((b) => [
      b.label,
      b.type,
      b.startTime,
      b.stopTime,
      size(b.size),
      size(b.repoSize),
      ...(note ? [b.error ? "page checksum errors" : ""] : []),
    ]);
    const headers = ["LABEL", "TYPE", "STARTED", "FINISHED", "SIZE", "STORED", ...(note ? ["NOTE"] : [])];
    parts.push(`${repo.name}${where}: ${count}${window}\n${rows.length ? table(headers, rows) : ""}`);
  }
  if (report.repos.length === 0)
    parts.push(`PostgresCluster ${report.cluster} has no backup repository (spec.backups.pgbackrest.repos)\n`);
  return parts.join("\n");
}

export async function backupsCommand(ctx: Ctx): Promise<number> {
  const report = await backupsReport(ctx, ctx.positionals[0] as string);
  if (!printStructured(ctx, report)) ctx.io.out(formatBackups(report));
  // A script learns that a bucket could not be read; the other repositories are still listed.
  return report.repos.some((r) => r.type === "s3" && (r.state === "failed" || r.state === "notReadable")) ? 1 : 0;
}
