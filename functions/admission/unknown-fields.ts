/**
 * @module
 * Warnings from walking a manifest against the JSON Schema zod writes for the API (the same
 * schema the CRD is generated from):
 * - a field the schema does not know: in a strict object Kubernetes drops it; in one of Tusk's
 *   loose objects it is kept but nothing reads it (a manifest written for PGO or Percona must
 *   still go in, so this is a warning, never a refusal);
 * - a field described "accepted, not acted on": kept for PGO compatibility, not implemented.
 * Kubernetes sub-schemas marked `x-kubernetes-preserve-unknown-fields` in zod (resources,
 * volume claims, affinity, ...) are passed to the children as written, so their extra fields
 * are not reported. The walk follows the schema, so its depth is the schema's, whatever the input.
 */
import * as z from "zod";
import { isRecord } from "./problems.ts";

type Node = Record<string, unknown>;

const NOT_ACTED_ON = "accepted, not acted on";

export function jsonSchema(schema: z.ZodType): Node {
  return z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", cycles: "throw", reused: "inline" }) as Node;
}

function describes(node: unknown): boolean {
  return isRecord(node) && typeof node.description === "string" && node.description.includes(NOT_ACTED_ON);
}

export function schemaWarnings(value: unknown, schema: Node, path: string): string[] {
  const out: string[] = [];
  walk(value, schema, path, out);
  return out;
}

function walk(value: unknown, schema: Node, path: string, out: string[]): void {
  if (value === undefined || value === null) return;
  if (describes(schema) || describes(schema.items)) {
    out.push(`${path}: accepted for PGO compatibility but not acted on yet`);
    return;
  }
  if (Array.isArray(value)) {
    if (isRecord(schema.items)) value.forEach((item, i) => walk(item, schema.items as Node, `${path}[${i}]`, out));
    return;
  }
  if (!isRecord(value)) return;
  const properties = isRecord(schema.properties) ? schema.properties : undefined;
  const extra = schema.additionalProperties;
  if (!properties) {
    if (isRecord(extra) && Object.keys(extra).length > 0) {
      for (const [k, v] of Object.entries(value)) walk(v, extra, `${path}[${k}]`, out);
    }
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const child = properties[k];
    if (isRecord(child)) {
      walk(v, child, `${path}.${k}`, out);
    } else if (schema["x-kubernetes-preserve-unknown-fields"] === true) {
      // A Kubernetes shape Tusk passes through: the field reaches the child object.
    } else if (isRecord(extra)) {
      out.push(`${path}.${k}: unknown field, kept but not used by Tusk`);
    } else {
      out.push(`${path}.${k}: unknown field, dropped by Kubernetes`);
    }
  }
}
