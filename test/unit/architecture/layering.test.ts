/**
 * The layering, enforced: functions never import each other, shared/ never imports functions/,
 * runtime APIs (`node:` modules, `Deno.`) stay in the entries, the I/O adapters and the CLI, only
 * the entries read the environment, and no file reaches itself through its imports. Every source
 * file under functions/ and shared/ is parsed with TypeScript's own parser, so multi-line,
 * type-only, re-exported and dynamic imports all count, and comments or strings that merely
 * mention `Deno.` do not.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..", "..");

/** Files that may use `node:` modules or `Deno.` although no general rule lets them, and why. */
const RUNTIME_ALLOWED: Record<string, string> = {
  "shared/api/generate.ts": "the `npm run gen` script: writes manifests/crds/ to disk (the pure part is crd-files.ts)",
};

/** Entries that assemble every function and so may import any of them. */
const ASSEMBLERS = new Set(["functions/server.ts", "functions/node.ts", "functions/deno.ts"]);

interface SourceFile {
  /** Repository-relative path with forward slashes. */
  path: string;
  /** Module specifiers as written, with the line they are on. */
  imports: { specifier: string; line: number }[];
  /** Lines on which `Deno` is used as a value (`Deno.serve`, `Deno.env` ...). */
  denoUses: number[];
  /** Lines that read the environment: `process.env` or `Deno.env`. */
  envReads: number[];
}

function listSources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return listSources(path);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

function parse(path: string): SourceFile {
  const text = readFileSync(join(root, path), "utf8");
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const imports: SourceFile["imports"] = [];
  const denoUses: number[] = [];
  const envReads: number[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      imports.push({ specifier: node.moduleSpecifier.text, line: lineOf(node) });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      imports.push({ specifier: node.arguments[0].text, line: lineOf(node) });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      imports.push({ specifier: node.argument.literal.text, line: lineOf(node) });
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      if (node.expression.text === "Deno") denoUses.push(lineOf(node));
    }
    // `process.env`, `Deno.env`, and the same reached through `globalThis`.
    if (ts.isPropertyAccessExpression(node) && node.name.text === "env") {
      const owner = node.expression;
      const name = ts.isIdentifier(owner) ? owner.text : ts.isPropertyAccessExpression(owner) ? owner.name.text : "";
      if (name === "process" || name === "Deno") envReads.push(lineOf(node));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { path, imports, denoUses, envReads };
}

/** The repository-relative file a relative specifier names; undefined for packages and `node:`. */
function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return normalize(join(dirname(from), specifier))
    .split("\\")
    .join("/");
}

/** `cluster` for functions/cluster/sync.ts; undefined for functions/server.ts and shared/. */
function functionOf(path: string): string | undefined {
  const parts = path.split("/");
  return parts[0] === "functions" && parts.length > 2 ? parts[1] : undefined;
}

const files = [...listSources("functions"), ...listSources("shared")].sort().map(parse);
const known = new Set(files.map((f) => f.path));
const edges = files.flatMap((file) =>
  file.imports.map(({ specifier, line }) => ({ from: file.path, line, specifier, to: resolve(file.path, specifier) })),
);

describe("layering", () => {
  it("finds the sources and resolves every relative import to one of them or to a file outside both trees", () => {
    expect(files.length).toBeGreaterThan(100);
    const dangling = edges.filter(
      (e) => e.to && (e.to.startsWith("functions/") || e.to.startsWith("shared/")) && !known.has(e.to),
    );
    expect(dangling.map((e) => `${e.from}:${e.line} -> ${e.specifier}`)).toEqual([]);
  });

  it("no function imports a sibling function (only the combined server, its entries and the CLI assemble them)", () => {
    const offending = edges
      .filter((e) => {
        const from = functionOf(e.from);
        const to = e.to && functionOf(e.to);
        if (!from || !to || from === to) return false;
        return from !== "cli" && !ASSEMBLERS.has(e.from);
      })
      .map((e) => `${e.from}:${e.line} imports ${e.to}`);
    expect(offending).toEqual([]);
  });

  it("shared/ never imports functions/", () => {
    const offending = edges
      .filter((e) => e.from.startsWith("shared/") && e.to?.startsWith("functions/"))
      .map((e) => `${e.from}:${e.line} imports ${e.to}`);
    expect(offending).toEqual([]);
  });

  it("`node:` modules and `Deno.` only in the entries, the CLI, io/ folders and the files allowed by name", () => {
    const allowed = (path: string) =>
      ASSEMBLERS.has(path) ||
      path.startsWith("functions/cli/") ||
      path.split("/").includes("io") ||
      Object.hasOwn(RUNTIME_ALLOWED, path);
    const offending = files
      .filter((f) => !allowed(f.path))
      .flatMap((f) => [
        ...f.imports.filter((i) => i.specifier.startsWith("node:")).map((i) => `${f.path}:${i.line} ${i.specifier}`),
        ...f.denoUses.map((line) => `${f.path}:${line} Deno.`),
      ]);
    expect(offending).toEqual([]);
    // The allow-list names only files that still need it.
    const stale = Object.keys(RUNTIME_ALLOWED).filter((path) => {
      const file = files.find((f) => f.path === path);
      return !file || (!file.denoUses.length && !file.imports.some((i) => i.specifier.startsWith("node:")));
    });
    expect(stale).toEqual([]);
  });

  it("only the server entries read the environment; the functions get options", () => {
    const readers = new Set(["functions/node.ts", "functions/deno.ts"]);
    const offending = files
      .filter((f) => !readers.has(f.path))
      .flatMap((f) => f.envReads.map((line) => `${f.path}:${line}`));
    expect(offending).toEqual([]);
  });

  it("has no import cycles in functions/ and shared/", () => {
    const graph = new Map<string, string[]>(files.map((f) => [f.path, []]));
    for (const e of edges) if (e.to && known.has(e.to)) graph.get(e.from)!.push(e.to);
    const state = new Map<string, "active" | "done">();
    const stack: string[] = [];
    const cycles: string[] = [];
    const visit = (node: string): void => {
      state.set(node, "active");
      stack.push(node);
      for (const next of graph.get(node)!) {
        if (state.get(next) === "active") cycles.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(node, "done");
    };
    for (const node of graph.keys()) if (!state.has(node)) visit(node);
    expect(cycles).toEqual([]);
  });
});
