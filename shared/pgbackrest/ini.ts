/**
 * @module
 * pgBackRest's INI dialect: rendering configuration files in a stable order, and reading
 * configuration and repository info files (`backup.info`, `archive.info`), whose values are
 * JSON and whose `[backrest]` section appears twice (header and trailing checksum).
 */

/** A line break or other control character would end an INI value and start a new option. */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export type IniSections = Map<string, Map<string, string>>;

/** Splits into digit and non-digit runs so `pg10-host` sorts after `pg9-host`. */
function runs(s: string): string[] {
  return s.match(/\d+|\D+/g) ?? [];
}

/** Natural order: digit runs compare as numbers, the rest by code unit (locale-independent). */
export function naturalCompare(a: string, b: string): number {
  const ra = runs(a);
  const rb = runs(b);
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

/** Renders sections in the given order with keys in natural order; empty sections are left out. */
export function renderIni(header: string[], sections: [string, Map<string, string>][]): string {
  const out = header.map((line) => `# ${line}`);
  for (const [name, entries] of sections) {
    if (entries.size === 0) continue;
    if (out.length) out.push("");
    out.push(`[${name}]`);
    for (const key of [...entries.keys()].sort(naturalCompare)) out.push(`${key}=${entries.get(key)}`);
  }
  return `${out.join("\n")}\n`;
}

/** Reads an INI text; repeated sections merge, comments and blank lines are skipped. */
export function parseIni(text: string): IniSections {
  const sections: IniSections = new Map();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      const name = header[1]!.trim();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0 || !current) continue;
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return sections;
}

/**
 * JSON.parse that keeps integers beyond 2^53 (pgBackRest's system identifiers) as strings,
 * so `7711127497098134972` does not become `7711127497098135000`.
 */
export function parseJsonKeepingBigInts(text: string): unknown {
  const guarded = text.replace(
    /("(?:[^"\\]|\\.)*")|(?<![\w.+-])(-?\d{16,})(?=\s*[,}\]]|\s*$)/g,
    (m, str: string | undefined) => {
      if (str !== undefined) return str;
      return Number.isSafeInteger(Number(m)) ? m : `"${m}"`;
    },
  );
  return JSON.parse(guarded);
}
