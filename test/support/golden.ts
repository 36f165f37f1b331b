/**
 * @module
 * Golden files as YAML, written for review: a changed Patroni parameter or SQL statement must
 * read as a changed line, not as a changed escaped or base64 string.
 *
 * Format: ONE multi-document YAML file per golden, one document per object, in the order the hook
 * returns them, each introduced by `--- # <label>` (for a child: `Kind name`). One file rather
 * than a folder of one file per child because the order of the children is part of what is
 * compared (a folder would have to encode it in file names, so inserting a child would rename
 * every file after it), because a reviewer reads one scenario top to bottom in one diff, and
 * because the number of files stays what it was.
 *
 * What is shown differently from the hook's JSON, and why the comparison stays exact:
 * - Every multi-line string (Patroni YAML, pgBackRest and pgBouncer ini, SQL, scripts) is a
 *   literal block scalar (`|`), one line of the embedded file per line of the golden; asserted.
 *   No line is folded (`lineWidth: 0`); keys keep the hook's order (no sorting: the hook's
 *   order is deterministic and was compared before, so it still is), except two orders that no
 *   longer count: where `children` sat among the response's keys, and how a Secret's decoded and
 *   base64 keys interleaved in its `data`.
 * - A Secret's `data` is split: values that are UTF-8 text are shown decoded under `stringData`
 *   (marked by a comment: the hook emits them base64-encoded under `data`); credentials (keys
 *   ending in `password` or `uri`, pgBouncer's `users.txt`: they hold a password in clear) stay
 *   base64 under `data`, still compared byte for byte (the seeded passwords are deterministic;
 *   SCRAM `verifier`s are salted hashes, shown decoded as they are in the users SQL);
 *   certificates are PEM text, shown decoded like any text: the seeded test PKI
 *   (test/support/deterministic-pki.ts) makes them byte-identical from run to run, and each one
 *   holds its public key, so a changed key pair still changes the golden. Private keys
 *   (`ca.key`, `tls.key`) are redacted (`<redacted: private key>`): their bytes tell a reviewer
 *   nothing the certificate does not, and a repository full of `BEGIN PRIVATE KEY` blocks trips
 *   secret scanners.
 * - A ConfigMap or Secret value under a `*.json` key that is one line of compact JSON (Patroni's
 *   dynamic configuration) is shown pretty-printed, marked by a comment; it is only shown so when
 *   re-compacting it gives back the exact bytes, so the comparison stays exact.
 * Everything is first passed through JSON (`JSON.parse(JSON.stringify(...))`), so the content
 * is exactly what the JSON goldens compared; the YAML is parsed back and must give it again.
 *
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { expect } from "vitest";
import { Document, isMap, isScalar, parseAllDocuments, Scalar, visit } from "yaml";

type Json = Record<string, any>;

/**
 * One YAML document of a golden file: a label for the `---` line, and the value; with
 * `{ dataOf: "Secret" }` or `{ dataOf: "ConfigMap" }`, the value is (part of) such an object's
 * `data` and is shown as that object's would be.
 */
export type GoldenDocument = readonly [label: string, value: unknown, options?: { dataOf?: "Secret" | "ConfigMap" }];

export const REDACTED_KEY = "<redacted: private key>";

/** PEM private keys, redacted (see the module comment); the certificates beside them are shown. */
const PRIVATE_KEYS = new Set(["ca.key", "tls.key"]);

/** Values that hold a password in clear: compared, but kept base64 rather than shown decoded. */
const isCredential = (key: string) => /password$/.test(key) || /uri$/.test(key) || key === "users.txt";

const DECODED_NOTE = " decoded by the golden test: the hook emits these base64-encoded under data";
const ENCODED_NOTE = (data: Record<string, string>) => {
  const redacted = Object.values(data).filter((v) => v === REDACTED_KEY).length;
  const kept = Object.keys(data).length - redacted;
  const parts = [
    kept && "base64 as the hook emits it: credentials (or values that are not text)",
    redacted && "private keys redacted",
  ];
  return ` ${parts.filter(Boolean).join("; ")}`;
};
const PRETTY_NOTE = " pretty-printed by the golden test: the hook emits it as one line of compact JSON";

const OPTIONS = { lineWidth: 0, minContentWidth: 0, blockQuote: "literal" } as const;

/** Compares `documents`, rendered as YAML, with `file`; writes `file` first under UPDATE_GOLDEN. */
export function goldenYaml(file: string, documents: readonly GoldenDocument[]): void {
  const text = renderGolden(documents);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
  if (!existsSync(file)) throw new Error(`${file} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(text).toBe(readFileSync(file, "utf8"));
}

/** A sync response as documents: the response without its children, then each child in order. */
export function responseDocuments(res: unknown): GoldenDocument[] {
  const { children, ...rest } = JSON.parse(JSON.stringify(res)) as Json;
  return [
    ["the response without its children (each child follows, in the order the hook returns them)", rest],
    ...((children ?? []) as Json[]).map(childDocument),
  ];
}

/** A child as a document labelled `Kind name`. */
export const childDocument = (child: Json): GoldenDocument => [`${child.kind} ${child.metadata?.name}`, child];

const decode = (base64: string) => Buffer.from(base64, "base64").toString("utf8");

/**
 * A Secret's `data` for review, as `{ stringData, data }` (either left out when empty): private
 * keys redacted, credentials base64, the rest decoded. Throws if a decoded value would show one of the
 * Secret's own passwords or of `passwords` in clear (a credential key not listed above).
 */
export function secretData(data: Record<string, string>, passwords: readonly string[] = []): Json {
  const decoded: Record<string, string> = {};
  const encoded: Record<string, string> = {};
  const known = [...passwordsIn(data), ...passwords].filter((p) => p.length >= 8);
  for (const [key, value] of Object.entries(data)) {
    if (PRIVATE_KEYS.has(key)) {
      encoded[key] = REDACTED_KEY;
      continue;
    }
    const text = decode(value);
    // Shown decoded only if it is text that encodes back to the very same base64.
    if (isCredential(key) || Buffer.from(text, "utf8").toString("base64") !== value) {
      encoded[key] = value;
      continue;
    }
    if (known.some((p) => text.includes(p) || text.includes(encodeURIComponent(p))))
      throw new Error(`Secret key ${key} holds a password in clear: list it as a credential in test/support/golden.ts`);
    decoded[key] = text;
  }
  return {
    ...(Object.keys(decoded).length ? { stringData: decoded } : {}),
    ...(Object.keys(encoded).length ? { data: encoded } : {}),
  };
}

const passwordsIn = (data: Record<string, string>) =>
  Object.entries(data)
    .filter(([key]) => /password$/.test(key))
    .map(([, value]) => decode(value));

/** A comment to put before the key at `path` (keys from the document's root). */
interface Note {
  path: string[];
  note: string;
}

/** The YAML text of a golden file (exported for test/golden/format.test.ts). */
export function renderGolden(documents: readonly GoldenDocument[]): string {
  const values = documents.map(([, value]) => JSON.parse(JSON.stringify(value ?? null)) as unknown);
  const dataOf = (i: number) => documents[i]![2]?.dataOf;
  const secretDataOf = (v: unknown, i: number) => (dataOf(i) === "Secret" ? (v as Json) : isSecret(v) ? v.data : null);
  const passwords = values.flatMap((v, i) => passwordsIn(secretDataOf(v, i) ?? {}));
  const shown = values.map((value, i) => {
    if (dataOf(i) === "Secret") return reviewSecretData(value as Json, passwords);
    if (dataOf(i) === "ConfigMap") {
      const notes: Note[] = [];
      return { value: prettyJson(value as Json, [], notes), notes };
    }
    return forReview(value, passwords);
  });
  const text = shown
    .map(({ value, notes }, i) => {
      const doc = new Document(value, { aliasDuplicateObjects: false });
      visit(doc, {
        Scalar(_, node) {
          if (typeof node.value === "string" && node.value.includes("\n")) node.type = Scalar.BLOCK_LITERAL;
        },
      });
      for (const { path, note } of notes) {
        const map = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
        const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && p.key.value === path.at(-1)) : undefined;
        if (!pair || !isScalar(pair.key)) throw new Error(`golden YAML: no key ${path.join(".")} to annotate`);
        pair.key.commentBefore = note;
      }
      const label = documents[i]![0];
      if (label.includes("\n")) throw new Error(`golden YAML: a label must be one line: ${JSON.stringify(label)}`);
      return `--- # ${label}\n${doc.toString(OPTIONS)}`;
    })
    .join("");
  assertReadable(
    text,
    shown.map((s) => s.value),
  );
  return text;
}

const isSecret = (v: unknown): v is Json => (v as Json)?.kind === "Secret";

/** A ConfigMap's or a Secret's content as shown for review, with its notes; anything else as is. */
function forReview(value: unknown, passwords: readonly string[]): { value: unknown; notes: Note[] } {
  const obj = value as Json;
  const notes: Note[] = [];
  if (obj?.kind === "ConfigMap" && obj.data)
    return { value: { ...obj, data: prettyJson(obj.data, ["data"], notes) }, notes };
  if (!isSecret(obj) || !obj.data) return { value, notes };
  if ("stringData" in obj)
    throw new Error(`Secret ${obj.metadata?.name} has stringData: the golden format needs a new marker`);
  const out: Json = {};
  for (const [key, v] of Object.entries(obj)) {
    if (key !== "data") {
      out[key] = v;
      continue;
    }
    const shown = reviewSecretData(v, passwords);
    Object.assign(out, shown.value);
    notes.push(...shown.notes);
  }
  return { value: out, notes };
}

/** A Secret's `data` as shown for review (`stringData`, `data`), with its notes. */
function reviewSecretData(data: Record<string, string>, passwords: readonly string[]): { value: Json; notes: Note[] } {
  const notes: Note[] = [];
  const out: Json = {};
  const { stringData, data: encoded } = secretData(data, passwords);
  if (stringData) {
    out.stringData = prettyJson(stringData, ["stringData"], notes);
    notes.push({ path: ["stringData"], note: DECODED_NOTE });
  }
  if (encoded) {
    out.data = encoded;
    notes.push({ path: ["data"], note: ENCODED_NOTE(encoded) });
  }
  return { value: out, notes };
}

/** `*.json` values that are one line of compact JSON, pretty-printed, only when exactly reversible. */
function prettyJson(data: Record<string, string>, path: string[], notes: Note[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    out[key] = value;
    if (!key.endsWith(".json") || value.includes("\n")) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      continue;
    }
    if (typeof parsed !== "object" || parsed === null || JSON.stringify(parsed) !== value) continue;
    out[key] = JSON.stringify(parsed, null, 2);
    notes.push({ path: [...path, key], note: PRETTY_NOTE });
  }
  return out;
}

/** The golden must parse back to what was rendered, with every multi-line string a `|` block. */
function assertReadable(text: string, shown: unknown[]): void {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error("golden YAML: not a document stream");
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings]);
  if (problems.length) throw new Error(`golden YAML does not parse back: ${problems[0]!.message}`);
  if (
    !isDeepStrictEqual(
      docs.map((d) => d.toJS()),
      shown,
    )
  )
    throw new Error("golden YAML does not parse back to the values rendered");
  for (const doc of docs)
    visit(doc, {
      Scalar(_, node) {
        if (typeof node.value === "string" && node.value.includes("\n") && node.type !== Scalar.BLOCK_LITERAL)
          throw new Error(
            `golden YAML: a multi-line string is not a | block: ${JSON.stringify(node.value).slice(0, 80)}`,
          );
      },
    });
}
