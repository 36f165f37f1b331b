/**
 * @module
 * `tusk render`: the children the hooks would create, computed offline by the hooks' own pure
 * cores. For each PostgresCluster/Backup/Restore in the input it builds the request
 * Metacontroller would send (the parent with its namespace, uid and generation; the observed
 * children; the related objects its customize hook asks for) and prints the answer.
 */
import { GROUP, VERSION } from "../../shared/api/crd.ts";
import {
  CustomizeRequest,
  type CustomizeResponse,
  groupKey,
  type ObjectMap,
  type RelatedResourceRule,
  SyncRequest,
  type SyncResponse,
} from "../../shared/metacontroller.ts";
import { shortHash } from "../../shared/names.ts";
import type { ClusterDeps } from "../cluster/deps.ts";
import { boolFlag, stringFlag } from "./args.ts";
import { type Ctx, namespaceFlag } from "./context.ts";
import { type Manifest, parseManifests } from "./documents.ts";
import { CliError } from "./errors.ts";
import { table, toJson, yamlDocuments } from "./output.ts";
import { purposeOf } from "./why.ts";

type Obj = Record<string, unknown>;
type Meta = { name?: string; namespace?: string; uid?: string; labels?: Record<string, string> } & Obj;

type ParentKind = "PostgresCluster" | "PostgresBackup" | "PostgresRestore";

/** A kind's hooks: the very functions its app.ts serves, so a render is what the operator does. */
interface Hooks {
  sync(request: SyncRequest, deps: ClusterDeps): Promise<SyncResponse> | SyncResponse;
  customize(request: CustomizeRequest): CustomizeResponse;
}

/** Imported on first use: commands that render nothing never load the hooks. */
const HOOKS: Record<ParentKind, () => Promise<Hooks>> = {
  async PostgresCluster() {
    const [{ syncCluster }, { customizeCluster }] = await Promise.all([
      import("../cluster/sync.ts"),
      import("../cluster/customize.ts"),
    ]);
    return { sync: syncCluster, customize: customizeCluster };
  },
  async PostgresBackup() {
    const [{ syncBackup }, { customizeBackup }] = await Promise.all([
      import("../backup/sync.ts"),
      import("../backup/customize.ts"),
    ]);
    return { sync: syncBackup, customize: customizeBackup };
  },
  async PostgresRestore() {
    const [{ syncRestore }, { customizeRestore }] = await Promise.all([
      import("../restore/sync.ts"),
      import("../restore/customize.ts"),
    ]);
    return { sync: syncRestore, customize: customizeRestore };
  },
};

const PARENT_KINDS = Object.keys(HOOKS) as ParentKind[];
const API_VERSION = `${GROUP}/${VERSION}`;

function meta(o: Obj): Meta {
  return (typeof o.metadata === "object" && o.metadata !== null ? o.metadata : {}) as Meta;
}

function isParent(o: Obj): o is Obj & { kind: ParentKind } {
  return o.apiVersion === API_VERSION && PARENT_KINDS.includes(o.kind as ParentKind);
}

/** A stable, UUID-shaped uid for a parent that has none yet, so renders are reproducible. */
export function renderUid(kind: string, namespace: string, name: string): string {
  const key = `${kind}/${namespace}/${name}`;
  const h = shortHash(key, 16) + shortHash(`uid:${key}`, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The parent as Metacontroller sends it: with a namespace, a uid and a generation. */
export function asStoredParent(object: Obj, namespace: string): Obj {
  const m = meta(object);
  const ns = m.namespace ?? namespace;
  return {
    ...object,
    metadata: {
      ...m,
      namespace: ns,
      uid: m.uid ?? renderUid(String(object.kind), ns, String(m.name ?? "")),
      generation: typeof m.generation === "number" ? m.generation : 1,
    },
  };
}

function ownedBy(child: Obj, parent: Obj): boolean {
  const pm = meta(parent);
  const refs = meta(child).ownerReferences;
  if (Array.isArray(refs) && refs.length > 0) {
    return refs.some((r) => {
      const ref = r as Obj;
      return ref.controller === true && ref.kind === parent.kind && (ref.uid === pm.uid || ref.name === pm.name);
    });
  }
  const label = meta(child).labels?.["postgres.tusk.dev/cluster"];
  if (label === undefined || parent.kind !== "PostgresCluster") return true;
  return label === pm.name;
}

function addTo(map: ObjectMap, o: Obj): void {
  const key = groupKey(String(o.kind), String(o.apiVersion));
  const name = String(meta(o).name ?? "");
  map[key] ??= {};
  map[key][name] = o;
}

/** `pods` for Pod, `postgresrestores` for PostgresRestore: the plural Metacontroller's rules name. */
function resourceOf(kind: string): string {
  const lower = kind.toLowerCase();
  return /(s|x|ch|sh)$/.test(lower) ? `${lower}es` : lower.endsWith("y") ? `${lower.slice(0, -1)}ies` : `${lower}s`;
}

function matches(rule: RelatedResourceRule, o: Obj, namespace: string): boolean {
  if (o.apiVersion !== rule.apiVersion || resourceOf(String(o.kind)) !== rule.resource) return false;
  const m = meta(o);
  if ((m.namespace ?? namespace) !== (rule.namespace ?? namespace)) return false;
  if (rule.names && !rule.names.includes(String(m.name))) return false;
  const wanted = rule.labelSelector?.matchLabels ?? {};
  return Object.entries(wanted).every(([k, v]) => m.labels?.[k] === v);
}

export interface RenderInput {
  parent: Obj & { kind: ParentKind };
  /** Objects observed in the cluster (from --observed): children and related candidates. */
  observed: Obj[];
  /** The other objects of the input, which a customize hook may ask for (a backup's cluster). */
  siblings: Obj[];
  namespace: string;
}

/** The exact request Metacontroller would send for this parent. */
export async function buildSyncRequest(input: RenderInput): Promise<SyncRequest> {
  const parent = asStoredParent(input.parent, input.namespace);
  const ns = String(meta(parent).namespace);
  const children: ObjectMap = {};
  for (const o of input.observed) {
    if (isParent(o) || o.kind === "Pod") continue;
    if ((meta(o).namespace ?? ns) !== ns || !ownedBy(o, parent)) continue;
    addTo(children, o);
  }
  const related: ObjectMap = {};
  const { customize } = await HOOKS[input.parent.kind]();
  const answer = customize(CustomizeRequest.parse({ parent }));
  const candidates = [...input.siblings, ...input.observed].filter(
    (o) => !(o.kind === parent.kind && meta(o).name === meta(parent).name),
  );
  for (const o of candidates) {
    if (answer.relatedResources.some((rule) => matches(rule, o, ns))) {
      addTo(related, asStoredParentIfTusk(o, ns));
    }
  }
  return SyncRequest.parse({ parent, children, related, finalizing: false });
}

function asStoredParentIfTusk(o: Obj, namespace: string): Obj {
  return isParent(o) ? asStoredParent(o, namespace) : { ...o, metadata: { namespace, ...meta(o) } };
}

/** The stand-in for a Secret value: fixed, so two renders of the same spec diff cleanly. */
export const REDACTED = "<redacted; --show-secrets prints it>";

/** Secret payloads replaced by a placeholder, so a render never prints a key or a password. */
export function redactSecrets(children: Obj[]): Obj[] {
  return children.map((c) => {
    if (c.kind !== "Secret") return c;
    const out: Obj = { ...c };
    for (const field of ["data", "stringData"]) {
      const data = c[field];
      if (typeof data !== "object" || data === null) continue;
      out[field] = Object.fromEntries(Object.keys(data).map((k) => [k, REDACTED]));
    }
    return out;
  });
}

async function readObserved(ctx: Ctx, dir: string): Promise<Obj[]> {
  const files = (await ctx.io.listDir(dir)).filter((f) => /\.(ya?ml|json)$/i.test(f));
  const out: Obj[] = [];
  for (const f of files) {
    const path = ctx.io.join(dir, f);
    for (const m of parseManifests(await ctx.io.readText(path), path)) out.push(m.object);
  }
  return out;
}

function conditionProblems(status: Obj): string[] {
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Obj[]) : [];
  return conditions
    .filter((c) => (c.type === "Valid" && c.status === "False") || (c.type === "Failed" && c.status === "True"))
    .map((c) => String(c.message ?? c.reason ?? ""));
}

/** Conditions whose True means trouble; for the others False does. */
const NEGATIVE = new Set(["Degraded", "Failed"]);

/**
 * Conditions worth showing for a render: the ones that report trouble, except Ready (a
 * brand-new object has no pods yet, so it is never ready) and an invalid spec (reported as
 * an error already).
 */
function notableConditions(status: Obj): string[] {
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Obj[]) : [];
  return conditions
    .filter((c) => c.type !== "Ready" && c.type !== "Progressing" && c.reason !== "InvalidSpec")
    .filter((c) => (NEGATIVE.has(String(c.type)) ? c.status === "True" : c.status === "False"))
    .map((c) => `${String(c.type)}=${String(c.status)} (${String(c.reason)}): ${String(c.message ?? "")}`);
}

interface Rendered {
  manifest: Manifest;
  parent: Obj;
  children: Obj[];
  status: Obj;
}

export async function renderCommand(ctx: Ctx): Promise<number> {
  const file = ctx.positionals[0] as string;
  const namespace = namespaceFlag(ctx) ?? "default";
  const manifests = parseManifests(await ctx.io.readText(file), file);
  const observedDir = stringFlag(ctx.flags, "observed");
  const observed = observedDir ? await readObserved(ctx, observedDir) : [];
  const parents = manifests.filter((m) => isParent(m.object));
  for (const m of manifests) {
    if (isParent(m.object)) continue;
    const hint =
      typeof m.object.apiVersion === "string" && m.object.apiVersion.startsWith("postgres-operator.crunchydata.com/")
        ? `; a PGO manifest works here once apiVersion is ${API_VERSION}`
        : "";
    ctx.io.err(`${m.source}:${m.line}: skipping ${String(m.object.kind)} (not rendered by Tusk's hooks${hint})\n`);
  }
  if (parents.length === 0) {
    throw new CliError(`${file} has no PostgresCluster, PostgresBackup or PostgresRestore (apiVersion ${API_VERSION})`);
  }

  const rendered: Rendered[] = [];
  let failed = false;
  for (const m of parents) {
    const parent = m.object as Obj & { kind: ParentKind };
    const { sync } = await HOOKS[parent.kind]();
    const request = await buildSyncRequest({
      parent,
      observed,
      siblings: manifests.map((x) => x.object).filter((o) => o !== parent),
      namespace,
    });
    const response = await sync(request, ctx.env.deps);
    const status = (response.status ?? {}) as Obj;
    const problems = conditionProblems(status);
    if (problems.length) {
      failed = true;
      for (const p of problems) ctx.io.err(`${m.source}:${m.line}: ${parent.kind} ${meta(parent).name}: ${p}\n`);
    }
    rendered.push({ manifest: m, parent: request.parent, children: response.children as Obj[], status });
  }

  const all = rendered.flatMap((r) => r.children);
  const shown = boolFlag(ctx.flags, "show-secrets") ? all : redactSecrets(all);
  if (ctx.output === "json") {
    ctx.io.out(toJson({ apiVersion: "v1", kind: "List", items: shown }));
  } else {
    ctx.io.out(yamlDocuments(shown));
  }

  for (const r of rendered) {
    const name = String(meta(r.parent).name);
    const phase = typeof r.status.phase === "string" ? `, status phase ${r.status.phase}` : "";
    ctx.io.err(
      `\n${r.parent.kind} ${name} (${r.manifest.source}:${r.manifest.line}): ${r.children.length} children${phase}\n`,
    );
    const rows = r.children.map((c) => [String(c.kind), String(meta(c).name), purposeOf(c, name)]);
    if (rows.length) ctx.io.err(table(["KIND", "NAME", "WHY"], rows));
    for (const c of notableConditions(r.status)) ctx.io.err(`condition ${c}\n`);
  }
  return failed ? 1 : 0;
}
