/**
 * @module
 * zod issues as Kubernetes field paths (`spec.instances[0].replicas: must be >= 1`).
 */
import type * as z from "zod";

export function fieldPath(path: readonly PropertyKey[], prefix: readonly PropertyKey[] = []): string {
  let out = "";
  for (const part of [...prefix, ...path]) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * zod keeps `input` on an issue only when parsing with `reportInput`; without it, its message
 * still says what it received ("... received undefined").
 */
export function missing(issue: z.core.$ZodIssue): boolean {
  if (issue.code !== "invalid_type") return false;
  return "input" in issue ? issue.input === undefined : issue.message.endsWith("received undefined");
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "too_small":
      return issue.origin === "array"
        ? `must have at least ${issue.minimum} item(s)`
        : issue.origin === "string"
          ? `must be at least ${issue.minimum} character(s)`
          : `must be >= ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `must have at most ${issue.maximum} item(s)`
        : issue.origin === "string"
          ? `must be at most ${issue.maximum} character(s)`
          : `must be <= ${issue.maximum}`;
    case "invalid_type":
      return missing(issue) ? `is required (${issue.expected})` : `must be ${issue.expected}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return issue.message;
  }
}

export function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldProblem[] {
  return error.issues.map((issue) => ({ field: fieldPath(issue.path, prefix), message: describe(issue) }));
}

export function formatProblems(problems: FieldProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join("; ");
}
