/**
 * @module
 * How the CLI prints: YAML the way kubectl does (one document per object, `---` between),
 * JSON for scripts, and aligned tables for people.
 */
import { stringify } from "yaml";

export type OutputFormat = "text" | "json" | "yaml";

export const OUTPUT_FORMATS = ["json", "yaml"] as const;

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Objects as a multi-document YAML stream. */
export function yamlDocuments(objects: readonly unknown[]): string {
  return objects.map((o) => toYaml(o)).join("---\n");
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Columns padded to the widest cell, two spaces apart, like `kubectl get`. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** `42s`, `5m`, `3h`, `12d`, as kubectl shows ages; `<unknown>` without a timestamp. */
export function age(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return "<unknown>";
  const then = Date.parse(timestamp);
  if (Number.isNaN(then)) return "<unknown>";
  const s = Math.max(0, Math.floor((now.getTime() - then) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A byte count for people: `0 B`, `512 KiB`, `1.5 GiB`. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 100 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, "");
  return `${text} ${units[unit]}`;
}
