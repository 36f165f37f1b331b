/**
 * @module
 * The admission core: one AdmissionReview in, one AdmissionReview out, pure.
 *
 * - CREATE and UPDATE are parsed with the same zod schemas the CRDs are generated from, then
 *   checked with the rules in cluster.ts and backup-restore.ts. Every problem is listed as
 *   `<field path>: <what is wrong and what is allowed>` with a matching `details.causes[]`.
 * - UPDATE judges only `spec`: metadata-only writes (Metacontroller's finalizers, labels) and
 *   objects being deleted always pass. Problems the stored object already had are reported as
 *   warnings, not refusals (ratcheting, as Kubernetes does for CRD schemas), so a rule added
 *   later never locks an existing cluster; the rules about changes (volumes only grow, ...)
 *   always apply.
 * - Restores run one at a time per cluster. The webhook keeps no state, so it can only use what
 *   the request carries: a PostgresCluster update that sets a new restore trigger annotation is
 *   refused while the stored cluster's status has the condition `Restoring=True` (published by
 *   the cluster hook while a PostgresRestore or an annotation-triggered restore runs). A new
 *   PostgresRestore object carries nothing about its siblings, so its ordering is left to the
 *   restore hook.
 * - DELETE of a PostgresCluster annotated `postgres.tusk.dev/deletion-protection: "true"` is refused.
 * - Unknown kinds are allowed with a warning; dryRun is answered the same way (there are no
 *   side effects to skip).
 * - Fail open: an exception in a rule answers allowed with a warning naming the error, because
 *   with failurePolicy Fail a bug would otherwise block every write (including finalizer
 *   removal) until a release; the API server still enforces the CRD schema and its CEL rules.
 *   The one exception is deletion protection, which a bug never waives.
 */
import type * as z from "zod";
import {
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  type AdmissionReviewResponse,
  reviewResponse,
} from "../../shared/admission-review.ts";
import { GROUP, VERSION } from "../../shared/api/crd.ts";
import { PostgresBackupSpec } from "../../shared/api/postgres-backup.ts";
import { PostgresClusterSpec, SUPPORTED_POSTGRES_VERSIONS } from "../../shared/api/postgres-cluster.ts";
import { PostgresRestoreSpec } from "../../shared/api/postgres-restore.ts";
import { zodProblems } from "../../shared/field-path.ts";
import { ANNOTATION } from "../../shared/labels.ts";
import { checkBackup, checkRestore } from "./backup-restore.ts";
import { checkCluster, checkClusterUpdate, clusterUpdateWarnings, type Findings } from "./cluster.ts";
import { type CauseReason, forbidden, isRecord, key, type Problem, required } from "./problems.ts";
import { jsonSchema, schemaWarnings } from "./unknown-fields.ts";

export interface AdmissionDeps {
  /** PostgreSQL majors the configured images provide; the default images provide 13-18. */
  supportedVersions?: readonly number[];
  /** Told about an exception a rule threw (the answer is still an allowed review). */
  onInternalError?: (error: unknown) => void;
}

/** The cluster status condition that marks a running restore. */
export const RESTORING_CONDITION = "Restoring";

export const MAX_CAUSES = 100;
export const MAX_WARNINGS = 20;
export const MAX_WARNING_LENGTH = 120;

type Verdict = Omit<AdmissionResponse, "uid">;

type KindName = "PostgresCluster" | "PostgresBackup" | "PostgresRestore";

interface KindRules {
  schema: z.ZodType;
  json: Record<string, unknown>;
}

const KINDS: Record<KindName, KindRules> = {
  PostgresCluster: { schema: PostgresClusterSpec, json: jsonSchema(PostgresClusterSpec) },
  PostgresBackup: { schema: PostgresBackupSpec, json: jsonSchema(PostgresBackupSpec) },
  PostgresRestore: { schema: PostgresRestoreSpec, json: jsonSchema(PostgresRestoreSpec) },
};

export function validateAdmission(review: AdmissionReview, deps: AdmissionDeps = {}): AdmissionReviewResponse {
  const request = review.request;
  try {
    return reviewResponse({ uid: request.uid, ...judge(request, deps) });
  } catch (error) {
    try {
      deps.onInternalError?.(error);
    } catch {
      // Reporting must not turn a fail-open answer into an exception.
    }
    return reviewResponse({ uid: request.uid, ...failOpen(request, error) });
  }
}

function failOpen(request: AdmissionRequest, error: unknown): Verdict {
  const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const protectedDelete = attempt(
    () =>
      request.operation === "DELETE" &&
      request.kind.group === GROUP &&
      request.kind.kind === "PostgresCluster" &&
      deletionProtected(request.oldObject),
  );
  if (protectedDelete) {
    return {
      allowed: false,
      status: {
        code: 422,
        status: "Failure",
        reason: "Invalid",
        message: formatProblem(protectedProblem()),
        details: { causes: [protectedProblem()] },
      },
    };
  }
  return { allowed: true, warnings: cleanWarnings([`tusk admission internal error, not validated: ${why}`]) };
}

function attempt(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

const formatProblem = (p: Problem) => `${p.field}: ${p.message}`;

function judge(request: AdmissionRequest, deps: AdmissionDeps): Verdict {
  const { group, version, kind } = request.kind;
  if (group !== GROUP || version !== VERSION || !(kind in KINDS)) {
    return allow([`tusk admission does not validate ${group || "core"}/${version} ${kind}; allowed unchecked`]);
  }
  const name = kind as KindName;
  if (request.subResource) return allow([]);
  switch (request.operation) {
    case "CONNECT":
      return allow([]);
    case "DELETE":
      return name === "PostgresCluster" && deletionProtected(request.oldObject)
        ? deny([protectedProblem()], [], request)
        : allow([]);
    case "CREATE":
      return judgeWrite(name, request, undefined, deps);
    case "UPDATE":
      // Without the stored object every rule about changes would be skipped: refuse, do not judge it as a create.
      if (request.oldObject === undefined || request.oldObject === null)
        return deny([required("oldObject", "an update must carry the stored object")], [], request);
      return judgeWrite(name, request, request.oldObject, deps);
  }
}

function judgeWrite(kind: KindName, request: AdmissionRequest, old: unknown, deps: AdmissionDeps): Verdict {
  const object = request.object;
  if (!isRecord(object)) return deny([required("object", "the request carries no object to validate")], [], request);
  if (old !== undefined && old !== null) {
    if (!isRecord(old)) return deny([required("oldObject", "an update must carry the stored object")], [], request);
    if (metadataOf(object).deletionTimestamp !== undefined || metadataOf(old).deletionTimestamp !== undefined) {
      return allow([]);
    }
    if (kind === "PostgresCluster") {
      const busy = restoreConflict(object, old);
      if (busy) return deny([busy], [], request);
    }
    if (sameJson(object.spec, old.spec)) return allow([]);
    if (kind !== "PostgresCluster") {
      return deny(
        [forbidden("spec", `a ${kind} spec is immutable once created; create a new ${kind} instead`)],
        [],
        request,
      );
    }
  }
  const next = evaluate(kind, object, deps);
  if (!isRecord(old)) return verdict(next.problems, next.warnings, request);

  const prev = evaluate(kind, old, deps);
  const known = new Set(prev.problems.map(problemKey));
  const problems = next.problems.filter((p) => !known.has(problemKey(p)));
  const warnings = [
    ...next.problems.filter((p) => known.has(problemKey(p))).map((p) => `${p.field}: already invalid: ${p.message}`),
    ...next.warnings,
  ];
  if (next.spec && prev.spec) {
    problems.push(...checkClusterUpdate(next.spec, prev.spec));
    warnings.push(...clusterUpdateWarnings(next.spec, prev.spec, stringRecord(metadataOf(object).annotations)));
  }
  return verdict(problems, warnings, request);
}

interface Evaluation extends Findings {
  /** The parsed cluster spec, when it is a cluster and it parsed. */
  spec?: PostgresClusterSpec;
}

function evaluate(kind: KindName, object: Record<string, unknown>, deps: AdmissionDeps): Evaluation {
  const rules = KINDS[kind];
  const warnings = schemaWarnings(object.spec, rules.json, "spec");
  const parsed = rules.schema.safeParse(object.spec);
  if (!parsed.success) return { problems: schemaProblems(parsed.error), warnings };
  if (kind === "PostgresBackup") return merge(checkBackup(parsed.data as PostgresBackupSpec), warnings);
  if (kind === "PostgresRestore") return merge(checkRestore(parsed.data as PostgresRestoreSpec), warnings);

  const spec = parsed.data as PostgresClusterSpec;
  const meta = metadataOf(object);
  const named = typeof meta.name === "string" && meta.name !== "";
  const generate = typeof meta.generateName === "string" ? meta.generateName : "";
  const found = checkCluster(spec, {
    // The API server appends 5 characters to generateName; they are lowercase letters and digits.
    name: named ? (meta.name as string) : `${generate}bbbbb`,
    nameField: named || generate === "" ? "metadata.name" : "metadata.generateName",
    annotations: stringRecord(meta.annotations),
    supportedVersions: deps.supportedVersions ?? SUPPORTED_POSTGRES_VERSIONS,
  });
  return { ...merge(found, warnings), spec };
}

function merge(found: Findings, warnings: string[]): Findings {
  return { problems: found.problems, warnings: [...found.warnings, ...warnings] };
}

function schemaProblems(error: z.ZodError): Problem[] {
  const described = zodProblems(error, ["spec"]);
  return error.issues.map((issue, i) => {
    const reason: CauseReason =
      issue.code === "invalid_type" && issue.input === undefined
        ? "FieldValueRequired"
        : issue.code === "invalid_value"
          ? "FieldValueNotSupported"
          : "FieldValueInvalid";
    return { field: described[i]?.field ?? "spec", reason, message: described[i]?.message ?? issue.message };
  });
}

const problemKey = (p: Problem) => `${p.field}\u0000${p.message}`;

/* --------------------------------------------------------------- restores */

function restoreConflict(object: Record<string, unknown>, old: Record<string, unknown>): Problem | undefined {
  const trigger = ANNOTATION.restoreTrigger;
  const next = stringRecord(metadataOf(object).annotations)[trigger];
  const prev = stringRecord(metadataOf(old).annotations)[trigger];
  if (next === undefined || next === prev) return undefined;
  const status = isRecord(old.status) ? old.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const running = conditions.find((c) => isRecord(c) && c.type === RESTORING_CONDITION && c.status === "True");
  if (!isRecord(running)) return undefined;
  const detail = typeof running.message === "string" && running.message ? ` (${running.message.slice(0, 200)})` : "";
  return forbidden(
    key("metadata.annotations", trigger),
    `a restore of this cluster is already running${detail}; wait until it finishes or delete its PostgresRestore, then trigger another`,
  );
}

/* --------------------------------------------------------------- deletion */

function deletionProtected(old: unknown): boolean {
  const value = isRecord(old) ? stringRecord(metadataOf(old).annotations)[ANNOTATION.deletionProtection] : undefined;
  return typeof value === "string" && value.trim().toLowerCase() === "true";
}

function protectedProblem(): Problem {
  return forbidden(
    key("metadata.annotations", ANNOTATION.deletionProtection),
    'is "true": this cluster is protected; remove the annotation (or set it to "false") before deleting it',
  );
}

/* --------------------------------------------------------------- answers */

function allow(warnings: string[]): Verdict {
  const cleaned = cleanWarnings(warnings);
  return cleaned.length ? { allowed: true, warnings: cleaned } : { allowed: true };
}

function verdict(problems: Problem[], warnings: string[], request: AdmissionRequest): Verdict {
  return problems.length ? deny(problems, warnings, request) : allow(warnings);
}

function deny(problems: Problem[], warnings: string[], request: AdmissionRequest): Verdict {
  const shown = problems.slice(0, MAX_CAUSES);
  const more = problems.length - shown.length;
  const message = shown.map(formatProblem).join("; ") + (more > 0 ? `; and ${more} more problem(s)` : "");
  const details = {
    name: request.name || stringOr(metadataOf(isRecord(request.object) ? request.object : {}).name),
    group: request.kind.group,
    kind: request.kind.kind,
    causes: shown.map((p) => ({ reason: p.reason, field: p.field, message: p.message })),
  };
  const cleaned = cleanWarnings(warnings);
  return {
    allowed: false,
    status: { code: 422, status: "Failure", reason: "Invalid", message, details },
    ...(cleaned.length ? { warnings: cleaned } : {}),
  };
}

/**
 * Warnings become HTTP Warning headers: printable ASCII, at most 120 characters each (longer
 * ones may be cut by the API server), and few enough to stay far below its 4 KiB total.
 */
export function cleanWarnings(warnings: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const w of warnings) {
    let text = w.replace(/[^\x20-\x7e]/g, "?");
    if (text.length > MAX_WARNING_LENGTH) text = `${text.slice(0, MAX_WARNING_LENGTH - 3)}...`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push(text);
  }
  if (out.length <= MAX_WARNINGS) return out;
  return [...out.slice(0, MAX_WARNINGS - 1), `... and ${out.length - MAX_WARNINGS + 1} more warnings`];
}

/* --------------------------------------------------------------- helpers */

function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  return isRecord(object.metadata) ? object.metadata : {};
}

function stringRecord(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

function stringOr(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Deep equality of JSON values, iterative so a deeply nested manifest cannot exhaust the stack. */
export function sameJson(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  while (stack.length) {
    const [x, y] = stack.pop() as [unknown, unknown];
    if (x === y) continue;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], y[i]]);
      continue;
    }
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const xk = Object.keys(xo);
    if (xk.length !== Object.keys(yo).length) return false;
    for (const k of xk) {
      if (!Object.hasOwn(yo, k)) return false;
      stack.push([xo[k], yo[k]]);
    }
  }
  return true;
}
