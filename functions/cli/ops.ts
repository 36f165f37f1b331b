/**
 * @module
 * The commands that talk to a cluster: apply, get, status, backup, restore, switchover, scale,
 * shutdown, start and delete. Each is a few Kubernetes calls through the `Kube` interface; the
 * objects they create are judged by the admission core first, so a mistake is caught before
 * anything is sent.
 */
import { ANNOTATION, LABEL, labelValue } from "../../shared/labels.ts";
import { boundedName, instanceSetName, names } from "../../shared/names.ts";
import { boolFlag, intFlag, stringFlag } from "./args.ts";
import { type Ctx, printStructured } from "./context.ts";
import { parseManifests } from "./documents.ts";
import { CliError, UsageError } from "./errors.ts";
import { API_VERSION, isTuskKind, type Kube, type KubeObject, PLURALS, type TuskKind } from "./kube.ts";
import { age, table } from "./output.ts";
import { clusterReport, formatReport } from "./status-report.ts";
import { checkBeforeSending } from "./submit.ts";
import { judge } from "./validate.ts";
import { parseDuration, waitForPhase } from "./wait.ts";

type Obj = Record<string, unknown>;

const DEFAULT_TIMEOUT = "1h";

async function clusterOrFail(kube: Kube, namespace: string, name: string): Promise<KubeObject> {
  const cluster = await kube.get("PostgresCluster", namespace, name);
  if (!cluster) {
    throw new CliError(
      `PostgresCluster ${name} not found in namespace ${namespace}; \`tusk get clusters -n ${namespace}\` lists the clusters there`,
    );
  }
  return cluster;
}

function nameArg(ctx: Ctx): string {
  return ctx.positionals[0] as string;
}

function repos(cluster: KubeObject): string[] {
  const spec = (cluster.spec ?? {}) as { backups?: { pgbackrest?: { repos?: { name?: string }[] } } };
  return (spec.backups?.pgbackrest?.repos ?? []).map((r) => r.name ?? "").filter(Boolean);
}

function chooseRepo(ctx: Ctx, cluster: KubeObject): string {
  const name = cluster.metadata?.name ?? "";
  const known = repos(cluster);
  if (known.length === 0) {
    throw new CliError(
      `PostgresCluster ${name} has no backup repository; add one under spec.backups.pgbackrest.repos (see \`tusk create cluster --help\`, --backup-repo)`,
    );
  }
  const wanted = stringFlag(ctx.flags, "repo");
  if (wanted === undefined) return known[0] as string;
  if (!known.includes(wanted)) {
    throw new CliError(`PostgresCluster ${name} has no ${wanted}; its repos are ${known.join(", ")}`);
  }
  return wanted;
}

/* ------------------------------------------------------------------ apply */

export async function applyCommand(ctx: Ctx): Promise<number> {
  const file = ctx.positionals[0] as string;
  const manifests = parseManifests(await ctx.io.readText(file), file);
  if (manifests.length === 0) throw new CliError(`${file} has no objects to apply`);
  let refused = false;
  for (const [i, m] of manifests.entries()) {
    const kind = m.object.kind;
    if (!isTuskKind(kind) && kind !== "Secret" && kind !== "ConfigMap") {
      ctx.io.err(
        `${m.source}:${m.line}: tusk applies PostgresClusters, Backups, Restores, Secrets and ConfigMaps; use kubectl apply for a ${String(kind)}\n`,
      );
      refused = true;
      continue;
    }
    const meta = (m.object.metadata ?? {}) as { name?: string; namespace?: string };
    const flag = stringFlag(ctx.flags, "namespace");
    if (flag !== undefined && meta.namespace !== undefined && meta.namespace !== flag) {
      ctx.io.err(
        `${m.source}:${m.line}: ${String(kind)} ${meta.name} says namespace ${meta.namespace} but -n says ${flag}; drop one of them\n`,
      );
      refused = true;
    }
    if (!meta.name) {
      ctx.io.err(`${m.source}:${m.line}: ${String(kind)} has no metadata.name\n`);
      refused = true;
    }
    const verdict = judge(m, flag ?? "default", i);
    if (!verdict) continue;
    for (const p of verdict.problems)
      ctx.io.err(`${m.source}:${p.line}: ${p.field ? `${p.field}: ` : ""}${p.message}\n`);
    for (const w of verdict.warnings)
      ctx.io.err(`${m.source}:${w.line}: warning: ${w.field ? `${w.field}: ` : ""}${w.message}\n`);
    if (!verdict.allowed) refused = true;
  }
  if (refused) {
    ctx.io.err(`nothing was applied: fix ${file} first (\`tusk validate ${file}\` shows the same problems)\n`);
    return 1;
  }
  const kube = await ctx.kube();
  const applied: KubeObject[] = [];
  for (const m of manifests) {
    const object = m.object as KubeObject;
    const meta = (object.metadata ?? {}) as { name?: string; namespace?: string };
    const namespace = meta.namespace ?? kube.namespace;
    const result = await kube.apply(object, namespace);
    applied.push(result);
    if (ctx.output === "text")
      ctx.io.out(`${String(object.kind).toLowerCase()}/${meta.name} applied in namespace ${namespace}\n`);
  }
  printStructured(ctx, { apiVersion: "v1", kind: "List", items: applied });
  return 0;
}

/* ------------------------------------------------------------------ get */

const RESOURCES: Record<string, TuskKind> = {
  clusters: "PostgresCluster",
  cluster: "PostgresCluster",
  postgresclusters: "PostgresCluster",
  pgc: "PostgresCluster",
  backups: "PostgresBackup",
  backup: "PostgresBackup",
  postgresbackups: "PostgresBackup",
  pgbackup: "PostgresBackup",
  restores: "PostgresRestore",
  restore: "PostgresRestore",
  postgresrestores: "PostgresRestore",
  pgrestore: "PostgresRestore",
};

const str = (v: unknown) => (typeof v === "string" ? v : "");

function rowsFor(
  kind: TuskKind,
  items: KubeObject[],
  now: Date,
  all: boolean,
): { headers: string[]; rows: string[][] } {
  const ns = (o: KubeObject) => (all ? [o.metadata?.namespace ?? ""] : []);
  const nsHead = all ? ["NAMESPACE"] : [];
  const when = (o: KubeObject) => age(o.metadata?.creationTimestamp, now);
  if (kind === "PostgresCluster") {
    return {
      headers: [...nsHead, "NAME", "VERSION", "PHASE", "READY", "PRIMARY", "AGE"],
      rows: items.map((o) => [
        ...ns(o),
        o.metadata?.name ?? "",
        String(o.spec?.postgresVersion ?? ""),
        str(o.status?.phase),
        str(o.status?.readyInstances),
        str(o.status?.primary),
        when(o),
      ]),
    };
  }
  if (kind === "PostgresBackup") {
    return {
      headers: [...nsHead, "NAME", "CLUSTER", "REPO", "TYPE", "PHASE", "BACKUP", "AGE"],
      rows: items.map((o) => [
        ...ns(o),
        o.metadata?.name ?? "",
        str(o.spec?.cluster),
        str(o.spec?.repoName),
        str(o.spec?.type) || "full",
        str(o.status?.phase),
        str(o.status?.backupLabel),
        when(o),
      ]),
    };
  }
  return {
    headers: [...nsHead, "NAME", "CLUSTER", "REPO", "TARGET", "PHASE", "AGE"],
    rows: items.map((o) => {
      const target = (o.spec?.target ?? {}) as { type?: string; value?: string };
      return [
        ...ns(o),
        o.metadata?.name ?? "",
        str(o.spec?.cluster),
        str(o.spec?.repoName),
        str(o.status?.target) || [target.type ?? "latest", target.value].filter(Boolean).join(" "),
        str(o.status?.phase),
        when(o),
      ];
    }),
  };
}

export async function getCommand(ctx: Ctx): Promise<number> {
  const resource = ctx.positionals[0] as string;
  const kind = RESOURCES[resource.toLowerCase()];
  if (!kind)
    throw new UsageError(
      `tusk get: unknown resource ${JSON.stringify(resource)}; use clusters, backups or restores`,
      "get",
    );
  const kube = await ctx.kube();
  const all = boolFlag(ctx.flags, "all-namespaces");
  const items = await kube.list(kind, all ? undefined : kube.namespace);
  items.sort((a, b) =>
    `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`),
  );
  if (printStructured(ctx, { apiVersion: API_VERSION, kind: `${kind}List`, items })) return 0;
  if (items.length === 0) {
    ctx.io.err(`no ${PLURALS[kind]} ${all ? "in any namespace" : `in namespace ${kube.namespace}`}\n`);
    return 0;
  }
  const { headers, rows } = rowsFor(kind, items, ctx.env.deps.now(), all);
  ctx.io.out(table(headers, rows));
  return 0;
}

/* ------------------------------------------------------------------ status */

export async function statusCommand(ctx: Ctx): Promise<number> {
  const kube = await ctx.kube();
  const name = nameArg(ctx);
  const cluster = await clusterOrFail(kube, kube.namespace, name);
  const [pods, backups] = await Promise.all([
    kube.listPods(kube.namespace, `${LABEL.cluster}=${labelValue(name)}`),
    kube.list("PostgresBackup", kube.namespace),
  ]);
  const report = clusterReport(cluster, pods, backups);
  if (printStructured(ctx, report)) return 0;
  ctx.io.out(formatReport(report, ctx.env.deps.now()));
  return 0;
}

/* ------------------------------------------------------------------ backup / restore */

function timeout(ctx: Ctx): number {
  return parseDuration(stringFlag(ctx.flags, "timeout") ?? DEFAULT_TIMEOUT, ctx.command);
}

function created(ctx: Ctx, kind: TuskKind, object: KubeObject, extra: string): void {
  if (printStructured(ctx, object)) return;
  ctx.io.out(
    `${kind.toLowerCase()}/${object.metadata?.name} created in namespace ${object.metadata?.namespace}${extra}\n`,
  );
}

export async function backupCommand(ctx: Ctx): Promise<number> {
  const kube = await ctx.kube();
  const name = nameArg(ctx);
  const cluster = await clusterOrFail(kube, kube.namespace, name);
  if (cluster.spec?.shutdown === true) {
    throw new CliError(
      `PostgresCluster ${name} is shut down; start it first (\`tusk start ${name}\`), then back it up`,
    );
  }
  const repo = chooseRepo(ctx, cluster);
  const type = stringFlag(ctx.flags, "type") ?? "full";
  const wait = boolFlag(ctx.flags, "wait");
  const timeoutMs = wait ? timeout(ctx) : 0;
  const backup: KubeObject = {
    apiVersion: API_VERSION,
    kind: "PostgresBackup",
    metadata: {
      generateName: `${boundedName([name, repo, type], 57)}-`,
      namespace: kube.namespace,
      labels: { [LABEL.cluster]: labelValue(name), [LABEL.pgbackrestRepo]: repo, [LABEL.backupType]: type },
    },
    spec: { cluster: name, repoName: repo, type },
  };
  if (!checkBeforeSending(ctx, backup, kube.namespace)) return 1;
  const made = await kube.create("PostgresBackup", kube.namespace, backup);
  const backupName = made.metadata?.name ?? "";
  if (!wait) {
    created(ctx, "PostgresBackup", made, `; follow it with \`tusk get backups\` or --wait`);
    return 0;
  }
  if (ctx.output === "text") ctx.io.out(`postgresbackup/${backupName} created in namespace ${kube.namespace}\n`);
  const result = await waitForPhase(ctx, {
    kind: "PostgresBackup",
    namespace: kube.namespace,
    name: backupName,
    succeeded: "Succeeded",
    failed: "Failed",
    timeoutMs,
    describe: (o) => {
      const s = (o.status ?? {}) as Obj;
      return `backup ${str(s.backupLabel) || "(no label)"} (${str(s.backupType) || type}) in ${repo} of ${name}`;
    },
  });
  printStructured(ctx, result.object);
  return result.code;
}

async function confirm(ctx: Ctx, question: string, expected: string): Promise<boolean> {
  if (boolFlag(ctx.flags, "yes")) return true;
  if (!ctx.io.interactive) {
    throw new CliError(`${question.replace(/\?.*$/, "?")} Not without confirmation: run again with --yes`);
  }
  const answer = await ctx.io.ask(`${question} `);
  return answer?.trim() === expected;
}

export async function restoreCommand(ctx: Ctx): Promise<number> {
  const to = stringFlag(ctx.flags, "to");
  if (to === undefined) {
    throw new UsageError('tusk restore needs --to: a time such as "2026-01-15 14:30:00+00", or latest', "restore");
  }
  const kube = await ctx.kube();
  const name = nameArg(ctx);
  const cluster = await clusterOrFail(kube, kube.namespace, name);
  const repo = chooseRepo(ctx, cluster);
  const wait = boolFlag(ctx.flags, "wait");
  const timeoutMs = wait ? timeout(ctx) : 0;
  const target = to === "latest" ? { type: "latest" } : { type: "time", value: to };
  const restore: KubeObject = {
    apiVersion: API_VERSION,
    kind: "PostgresRestore",
    metadata: {
      generateName: `${boundedName([name, "restore"], 57)}-`,
      namespace: kube.namespace,
      labels: { [LABEL.cluster]: labelValue(name), [LABEL.pgbackrestRepo]: repo },
    },
    spec: { cluster: name, repoName: repo, target },
  };
  if (!checkBeforeSending(ctx, restore, kube.namespace)) return 1;
  const point = to === "latest" ? "the latest archived WAL" : to;
  const ok = await confirm(
    ctx,
    `Restore PostgresCluster ${name} in namespace ${kube.namespace} in place from ${repo} to ${point}? Its instances stop and everything written after that point is lost. Type the cluster name to confirm:`,
    name,
  );
  if (!ok) {
    ctx.io.err("not restored\n");
    return 1;
  }
  const made = await kube.create("PostgresRestore", kube.namespace, restore);
  const restoreName = made.metadata?.name ?? "";
  if (!wait) {
    created(ctx, "PostgresRestore", made, `; follow it with \`tusk get restores\` or --wait`);
    return 0;
  }
  if (ctx.output === "text") ctx.io.out(`postgresrestore/${restoreName} created in namespace ${kube.namespace}\n`);
  const result = await waitForPhase(ctx, {
    kind: "PostgresRestore",
    namespace: kube.namespace,
    name: restoreName,
    succeeded: "Succeeded",
    failed: "Failed",
    timeoutMs,
    describe: (o) => {
      const s = (o.status ?? {}) as Obj;
      return `restored ${name} from ${repo}${str(s.backupSet) ? `, backup ${str(s.backupSet)}` : ""}, target ${str(s.target) || point}`;
    },
  });
  printStructured(ctx, result.object);
  return result.code;
}

/* ------------------------------------------------------------------ switchover */

function instanceNames(cluster: KubeObject): string[] {
  const name = cluster.metadata?.name ?? "";
  const sets = ((cluster.spec ?? {}) as { instances?: { name?: string; replicas?: number }[] }).instances ?? [];
  return sets.flatMap((set, index) =>
    Array.from({ length: set.replicas ?? 1 }, (_, ordinal) =>
      names.instance(name, instanceSetName(set.name, index), ordinal),
    ),
  );
}

/** A new trigger id: the time in UTC, made unique against the current one. */
function newTriggerId(now: Date, current: string | undefined): string {
  const base = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  if (base !== current) return base;
  return `${base}-${Math.floor(now.getTime() % 1000)}`;
}

export async function switchoverCommand(ctx: Ctx): Promise<number> {
  const kube = await ctx.kube();
  const name = nameArg(ctx);
  const cluster = await clusterOrFail(kube, kube.namespace, name);
  const instances = instanceNames(cluster);
  if (instances.length < 2) {
    throw new CliError(
      `PostgresCluster ${name} has one instance; a switchover needs a replica (\`tusk scale\` adds one)`,
    );
  }
  let target = stringFlag(ctx.flags, "to");
  if (target !== undefined) {
    // Accept the pod name too (`hippo-instance1-0-0`), which is what `tusk status` shows.
    const byPod = instances.find((i) => names.pod(i) === target);
    if (byPod) target = byPod;
    if (!instances.includes(target)) {
      throw new CliError(
        `PostgresCluster ${name} has no instance ${target}; its instances are ${instances.join(", ")}`,
      );
    }
  }
  const current = cluster.metadata?.annotations?.[ANNOTATION.switchoverTrigger];
  const id = newTriggerId(ctx.env.deps.now(), current);
  const patch = {
    metadata: { annotations: { [ANNOTATION.switchoverTrigger]: id } },
    spec: { patroni: { switchover: { enabled: true, type: "Switchover", targetInstance: target ?? null } } },
  };
  const updated = await kube.mergePatch("PostgresCluster", kube.namespace, name, patch);
  if (printStructured(ctx, updated)) return 0;
  ctx.io.out(
    `switchover of ${name} requested (id ${id})${target ? `; the leader moves to ${target}` : "; Patroni picks the healthiest replica"}; follow it with \`tusk status ${name}\`\n`,
  );
  return 0;
}

/* ------------------------------------------------------------------ scale */

export async function scaleCommand(ctx: Ctx): Promise<number> {
  const set = stringFlag(ctx.flags, "instance-set");
  const replicas = intFlag(ctx.flags, "replicas", "scale", { min: 1, max: 64 });
  if (set === undefined || replicas === undefined) {
    throw new UsageError(
      "tusk scale needs --instance-set SET and --replicas N (use `tusk shutdown` to stop every instance)",
      "scale",
    );
  }
  const kube = await ctx.kube();
  const name = nameArg(ctx);
  const cluster = await clusterOrFail(kube, kube.namespace, name);
  const sets = ((cluster.spec ?? {}) as { instances?: Obj[] }).instances ?? [];
  const index = sets.findIndex((s, i) => instanceSetName(typeof s.name === "string" ? s.name : undefined, i) === set);
  if (index === -1) {
    const known = sets.map((s, i) => instanceSetName(typeof s.name === "string" ? s.name : undefined, i));
    throw new CliError(`PostgresCluster ${name} has no instance set ${set}; its sets are ${known.join(", ")}`);
  }
  const current = sets[index] as Obj;
  const before = typeof current.replicas === "number" ? current.replicas : 1;
  if (before === replicas) {
    if (!printStructured(ctx, cluster))
      ctx.io.out(`instance set ${set} of ${name} already has ${replicas} replica(s)\n`);
    return 0;
  }
  // The test makes the patch apply only to the set as read: a concurrent edit fails it cleanly.
  const updated = await kube.jsonPatch("PostgresCluster", kube.namespace, name, [
    { op: "test", path: `/spec/instances/${index}`, value: current },
    { op: "replicas" in current ? "replace" : "add", path: `/spec/instances/${index}/replicas`, value: replicas },
  ]);
  if (printStructured(ctx, updated)) return 0;
  const note = replicas < before ? " (the highest instances go; their volumes are kept)" : "";
  ctx.io.out(`instance set ${set} of ${name}: ${before} -> ${replicas} replica(s)${note}\n`);
  return 0;
}

/* ------------------------------------------------------------------ shutdown / start */

async function setShutdown(ctx: Ctx, shutdown: boolean): Promise<number> {
  const kube = await ctx.kube();
  const name = nameArg(ctx);
  const cluster = await clusterOrFail(kube, kube.namespace, name);
  if ((cluster.spec?.shutdown === true) === shutdown) {
    if (!printStructured(ctx, cluster)) ctx.io.out(`${name} is already ${shutdown ? "shut down" : "started"}\n`);
    return 0;
  }
  const updated = await kube.mergePatch("PostgresCluster", kube.namespace, name, { spec: { shutdown } });
  if (printStructured(ctx, updated)) return 0;
  ctx.io.out(
    shutdown
      ? `${name} is shutting down: every instance scales to zero, all data is kept; \`tusk start ${name}\` brings it back\n`
      : `${name} is starting; follow it with \`tusk status ${name}\`\n`,
  );
  return 0;
}

export const shutdownCommand = (ctx: Ctx) => setShutdown(ctx, true);
export const startCommand = (ctx: Ctx) => setShutdown(ctx, false);

/* ------------------------------------------------------------------ delete */

export async function deleteCommand(ctx: Ctx): Promise<number> {
  const kube = await ctx.kube();
  const name = nameArg(ctx);
  const cluster = await clusterOrFail(kube, kube.namespace, name);
  const protection = cluster.metadata?.annotations?.[ANNOTATION.deletionProtection];
  if (protection?.trim().toLowerCase() === "true") {
    throw new CliError(
      `PostgresCluster ${name} is protected from deletion (annotation ${ANNOTATION.deletionProtection}: "true"); if you really mean it, remove the annotation first: kubectl annotate postgrescluster ${name} -n ${kube.namespace} ${ANNOTATION.deletionProtection}-`,
    );
  }
  const ok = await confirm(
    ctx,
    `Delete PostgresCluster ${name} in namespace ${kube.namespace}? Its pods and services go; volumes and backup repositories are kept. Type the cluster name to confirm:`,
    name,
  );
  if (!ok) {
    ctx.io.err("not deleted\n");
    return 1;
  }
  await kube.delete("PostgresCluster", kube.namespace, name);
  if (!printStructured(ctx, { kind: "Status", status: "Success", details: { name, kind: "postgresclusters" } })) {
    ctx.io.out(`postgrescluster/${name} deleted (volumes and backup repositories are kept)\n`);
  }
  return 0;
}
