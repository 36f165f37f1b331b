/**
 * @module
 * Canonical JSON (object keys sorted, recursively) and content hashes over it, so generated
 * names, annotations and configuration never depend on the order fields were written in.
 */
import { shortHash } from "../../../shared/names.ts";

/** A deep copy with object keys sorted; arrays keep their order; undefined fields dropped. */
export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out as T;
  }
  return value;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** 16 hex digits of a non-cryptographic hash of the canonical JSON; for names and change detection. */
export function contentHash(value: unknown, length = 16): string {
  return shortHash(canonicalJson(value), length);
}
