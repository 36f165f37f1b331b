/**
 * @module
 * Turns Tusk's zod schemas into CustomResourceDefinitions. Kubernetes wants a *structural*
 * OpenAPI v3 schema, so the JSON Schema zod writes is normalised: no `$ref`, no `anyOf` holding
 * types (int-or-string becomes `x-kubernetes-int-or-string`), no `additionalProperties` beside
 * `properties` (loose objects keep unknown fields with `x-kubernetes-preserve-unknown-fields`).
 */
import * as z from "zod";

type Json = Record<string, unknown>;

const SAFE_INT = 9007199254740991;

/** Rewrites zod's JSON Schema into a Kubernetes structural schema, recursively. */
export function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== "object") return node;
  const src = node as Json;
  const out: Json = {};
  for (const [key, value] of Object.entries(src)) {
    if (key === "$schema" || key === "id" || key === "$id") continue;
    out[key] = structural(value);
  }
  if (out["x-kubernetes-int-or-string"] === true) {
    delete out.anyOf;
    delete out.type;
  }
  if (out.maximum === SAFE_INT) delete out.maximum;
  if (out.minimum === -SAFE_INT) delete out.minimum;
  if (out.properties && "additionalProperties" in out) {
    delete out.additionalProperties;
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  if (out.type === "object" && !out.properties && isEmptySchema(out.additionalProperties)) {
    delete out.additionalProperties;
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  if (out["x-kubernetes-preserve-unknown-fields"] === true && !out.type) out.type = "object";
  return out;
}

function isEmptySchema(v: unknown): boolean {
  return v !== undefined && typeof v === "object" && v !== null && Object.keys(v).length === 0;
}

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "boolean" | "number";
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: z.ZodType;
  status: z.ZodType;
  description: string;
  printerColumns: PrinterColumn[];
  /** CEL rules on `spec` the API server enforces even when the webhook is down. */
  /** fieldPath: where the API server reports a failure (e.g. `.users`), instead of `spec`. */
  specValidations?: { rule: string; message: string; messageExpression?: string; fieldPath?: string }[];
}

export const GROUP = "postgres.tusk.dev";
export const VERSION = "v1";

export function toOpenApi(schema: z.ZodType): Json {
  return structural(
    z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", cycles: "throw", reused: "inline" }),
  ) as Json;
}

export function buildCrd(input: CrdInput): Json {
  const spec = toOpenApi(input.spec);
  if (input.specValidations?.length) spec["x-kubernetes-validations"] = input.specValidations;
  const status = toOpenApi(input.status);
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${input.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "tusk", "app.kubernetes.io/part-of": "tusk" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        shortNames: input.shortNames,
        categories: ["tusk", "postgres"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: input.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}
