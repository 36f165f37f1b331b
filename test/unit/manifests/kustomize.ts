/**
 * @module
 * A small kustomize for tests: builds manifests/ and knative/ the way `kubectl kustomize` does
 * for the features those kustomizations use (resources, components, inline JSON 6902 patches
 * with a target), so the checks run where kubectl is not installed. Any other kustomize feature
 * is an error here rather than silently ignored; where kubectl is installed, a test compares
 * this build with the real one.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export type KubeDoc = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [key: string]: any;
};

export const REPO = resolve(dirname(new URL(import.meta.url).pathname), "../../..");

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const SUPPORTED_FIELDS = new Set(["apiVersion", "kind", "resources", "components", "patches"]);

export interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  components?: string[];
  patches?: { target?: PatchTarget; patch?: string; path?: string }[];
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

type JsonPatchOp =
  | { op: "add" | "replace" | "test"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "move" | "copy"; from: string; path: string };

function kustomizationFile(dir: string): string | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

export function readKustomization(dir: string): Kustomization {
  const file = kustomizationFile(dir);
  if (!file) throw new Error(`${dir}: no kustomization.yaml`);
  const k = parseYamlDocs(readFileSync(file, "utf8"), file)[0] as Kustomization | undefined;
  if (!k) throw new Error(`${file}: empty`);
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED_FIELDS.has(key));
  if (unsupported.length)
    throw new Error(`${file}: field(s) ${unsupported.join(", ")} are not supported by the test build; keep it simple`);
  return k;
}

/**
 * Parses like the Kubernetes tools do (go-yaml, YAML 1.1): `0440` is octal, `on`/`yes` are
 * booleans. A YAML 1.2 parser would read `defaultMode: 0440` as 440.
 */
export function parseYamlDocs(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text, { version: "1.1" });
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Builds the kustomization in `dir` (relative to the repository or absolute). */
export function build(dir: string): KubeDoc[] {
  const abs = resolve(REPO, dir);
  return buildFrom(readKustomization(abs), abs);
}

/** Builds an in-memory kustomization whose relative paths are resolved against `base`. */
function buildFrom(k: Kustomization, base: string): KubeDoc[] {
  if (k.kind === "Component") throw new Error(`${base}: a Component is only usable from components:`);
  let docs: KubeDoc[] = [];
  for (const entry of k.resources ?? []) docs.push(...loadResource(resolve(base, entry)));
  for (const entry of k.components ?? []) docs = applyComponent(docs, resolve(base, entry));
  docs = applyPatches(docs, k, base);
  assertUniqueIds(docs, base);
  return docs;
}

function loadResource(path: string): KubeDoc[] {
  if (!existsSync(path)) throw new Error(`resource ${path} does not exist`);
  if (statSync(path).isDirectory()) return build(path);
  return parseYamlDocs(readFileSync(path, "utf8"), path) as KubeDoc[];
}

function applyComponent(docs: KubeDoc[], dir: string): KubeDoc[] {
  const k = readKustomization(dir);
  if (k.kind !== "Component") throw new Error(`${dir}: components: entries must be kind Component`);
  let out = [...docs];
  for (const entry of k.resources ?? []) out.push(...loadResource(resolve(dir, entry)));
  for (const entry of k.components ?? []) out = applyComponent(out, resolve(dir, entry));
  return applyPatches(out, k, dir);
}

function applyPatches(docs: KubeDoc[], k: Kustomization, base: string): KubeDoc[] {
  let out = docs;
  for (const [i, p] of (k.patches ?? []).entries()) {
    const where = `${base} patches[${i}]`;
    if (!p.target) throw new Error(`${where}: only patches with a target are supported`);
    const text = p.patch ?? (p.path ? readFileSync(resolve(base, p.path), "utf8") : undefined);
    if (text === undefined) throw new Error(`${where}: needs patch or path`);
    const ops = parseYamlDocs(text, where)[0];
    if (!Array.isArray(ops)) throw new Error(`${where}: only JSON 6902 patches (a list of ops) are supported`);
    const matched = out.filter((d) => matchesTarget(d, p.target!));
    if (matched.length === 0) throw new Error(`${where}: target ${JSON.stringify(p.target)} matches nothing`);
    out = out.map((d) => (matched.includes(d) ? applyJsonPatch(d, ops as JsonPatchOp[], where) : d));
  }
  return out;
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** kustomize matches target fields as anchored regular expressions. */
function matchesField(pattern: string | undefined, value: string): boolean {
  if (pattern === undefined) return true;
  return new RegExp(`^(?:${pattern})$`).test(value);
}

function matchesTarget(doc: KubeDoc, target: PatchTarget): boolean {
  const { group, version } = splitApiVersion(doc.apiVersion);
  return (
    matchesField(target.group, group) &&
    matchesField(target.version, version) &&
    matchesField(target.kind, doc.kind) &&
    matchesField(target.name, doc.metadata?.name ?? "") &&
    matchesField(target.namespace, doc.metadata?.namespace ?? "")
  );
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new Error(`JSON pointer ${path} must start with /`);
  return path
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function applyJsonPatch<T>(doc: T, ops: JsonPatchOp[], where = "patch"): T {
  const root = structuredClone(doc) as any;
  for (const op of ops) {
    const tokens = pointer(op.path);
    const last = tokens.pop();
    if (last === undefined) throw new Error(`${where}: cannot ${op.op} the whole document`);
    let parent = root;
    for (const t of tokens) {
      parent = Array.isArray(parent) ? parent[Number(t)] : parent?.[t];
      if (parent === undefined || parent === null) throw new Error(`${where}: ${op.path}: no such path`);
    }
    switch (op.op) {
      case "add":
        if (Array.isArray(parent)) {
          const index = last === "-" ? parent.length : Number(last);
          if (!(index >= 0 && index <= parent.length)) throw new Error(`${where}: ${op.path}: bad index`);
          parent.splice(index, 0, structuredClone(op.value));
        } else parent[last] = structuredClone(op.value);
        break;
      case "replace":
        if (Array.isArray(parent) ? !(Number(last) < parent.length) : !(last in parent))
          throw new Error(`${where}: ${op.path}: replace needs an existing value`);
        parent[Array.isArray(parent) ? Number(last) : last] = structuredClone(op.value);
        break;
      case "remove":
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (last in parent) delete parent[last];
        else throw new Error(`${where}: ${op.path}: remove needs an existing value`);
        break;
      default:
        throw new Error(`${where}: op ${op.op} is not supported by the test build`);
    }
  }
  return root as T;
}

export function objectId(d: KubeDoc): string {
  return `${d.apiVersion} ${d.kind} ${d.metadata?.namespace ?? ""}/${d.metadata?.name}`;
}

function assertUniqueIds(docs: KubeDoc[], base: string): void {
  const seen = new Set<string>();
  for (const d of docs) {
    const id = objectId(d);
    if (seen.has(id)) throw new Error(`${base}: ${id} appears twice`);
    seen.add(id);
  }
}

/** Every file under `dir` (relative to the repository) whose name ends with one of `exts`. */
export function filesUnder(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (exts.some((e) => entry.name.endsWith(e))) out.push(path);
    }
  };
  walk(resolve(REPO, dir));
  return out;
}

/** Every directory under manifests/ and knative/ that holds a kustomization. */
export function kustomizationDirs(): string[] {
  return [...filesUnder("manifests", KUSTOMIZATION_FILES), ...filesUnder("knative", KUSTOMIZATION_FILES)].map((f) =>
    dirname(f),
  );
}
