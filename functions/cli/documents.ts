/**
 * @module
 * Manifests as the user wrote them: multi-document YAML (or JSON) parsed with positions, so a
 * problem at `spec.instances[0].replicas` can be reported as `file:line`. A `kind: List`
 * (what `kubectl get -o yaml` prints) counts as its items.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import { CliError } from "./errors.ts";

export type PathSegment = string | number;

/** One Kubernetes object from a file. */
export interface Manifest {
  /** The file name as given (`-` for stdin). */
  source: string;
  /** The object as plain JSON. */
  object: Record<string, unknown>;
  /** The line the object starts on (1-based). */
  line: number;
  /** Line of the node at a field path of this object (`spec.instances[0]`), or of its nearest parent. */
  lineOf(field: string): number;
}

/** `spec.config.parameters[ssl_ciphers]` → ["spec", "config", "parameters", "ssl_ciphers"]; `[0]` → 0. */
export function splitFieldPath(field: string): PathSegment[] {
  const out: PathSegment[] = [];
  let i = 0;
  while (i < field.length) {
    const c = field[i];
    if (c === ".") {
      i++;
      continue;
    }
    if (c === "[") {
      const end = field.indexOf("]", i);
      const inner = end === -1 ? field.slice(i + 1) : field.slice(i + 1, end);
      out.push(/^\d+$/.test(inner) ? Number(inner) : inner);
      i = end === -1 ? field.length : end + 1;
      continue;
    }
    let j = i;
    while (j < field.length && field[j] !== "." && field[j] !== "[") j++;
    out.push(field.slice(i, j));
    i = j;
  }
  return out;
}

function lineAt(lines: LineCounter, offset: number | undefined): number | undefined {
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** The line of the deepest node along `path` that exists, starting at `node`. */
function locate(node: Node | null, path: readonly PathSegment[], lines: LineCounter, fallback: number): number {
  let line = lineAt(lines, node?.range?.[0]) ?? fallback;
  let current: unknown = node;
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      line = lineAt(lines, (pair.key as Node).range?.[0]) ?? line;
      current = pair.value;
    } else if (isSeq(current) && typeof segment === "number") {
      const item = current.items[segment] as Node | undefined;
      if (!item) break;
      line = lineAt(lines, item.range?.[0]) ?? line;
      current = item;
    } else break;
  }
  return line;
}

function syntaxError(source: string, doc: Document.Parsed, lines: LineCounter): CliError {
  const first = doc.errors[0]!;
  const line = lineAt(lines, first.pos[0]) ?? 1;
  const message = (first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  return new CliError(`${source}:${line}: not valid YAML: ${message}`);
}

/** Aliases a document may expand; a manifest needs few, an exponential expansion needs many. */
const MAX_ALIAS_COUNT = 100;

/**
 * Every object in `text`. Empty documents are skipped; a document that is not a mapping, or a
 * YAML syntax error, is a CliError naming the file and line.
 */
export function parseManifests(text: string, source: string): Manifest[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true });
  const out: Manifest[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) throw syntaxError(source, doc as Document.Parsed, lines);
    if (doc.contents === null) continue;
    const start = lineAt(lines, doc.contents.range?.[0]) ?? 1;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // The yaml library refuses a document whose aliases expand without bound ("billion laughs").
      throw new CliError(`${source}:${start}: not expanded: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new CliError(`${source}:${start}: expected a Kubernetes object (a mapping with apiVersion and kind)`);
    }
    const object = value as Record<string, unknown>;
    const root = doc.contents as Node;
    if (object.kind === "List" && Array.isArray(object.items)) {
      object.items.forEach((item, i) => {
        const itemLine = locate(root, ["items", i], lines, start);
        if (typeof item !== "object" || item === null || Array.isArray(item)) {
          throw new CliError(`${source}:${itemLine}: items[${i}] is not a Kubernetes object`);
        }
        out.push({
          source,
          object: item as Record<string, unknown>,
          line: itemLine,
          lineOf: (field) => locate(root, ["items", i, ...splitFieldPath(field)], lines, itemLine),
        });
      });
      continue;
    }
    out.push({ source, object, line: start, lineOf: (field) => locate(root, splitFieldPath(field), lines, start) });
  }
  return out;
}
