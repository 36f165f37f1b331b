/**
 * @module
 * `tusk validate`: the admission webhook's rules, offline. Each object is judged by the
 * webhook's own core as the API server would send it (an AdmissionReview CREATE), and every
 * problem is printed as `file:line: field path: message`, the line found from the field path.
 */
import { AdmissionReview } from "../../shared/admission-review.ts";
import { GROUP, VERSION } from "../../shared/api/crd.ts";
import { validateAdmission } from "../admission/validate.ts";
import { type Ctx, namespaceFlag } from "./context.ts";
import { type Manifest, parseManifests } from "./documents.ts";
import { PLURALS, type TuskKind } from "./kube.ts";
import { toJson, toYaml } from "./output.ts";

type Obj = Record<string, unknown>;

interface Finding {
  line: number;
  field: string;
  message: string;
}

export interface Verdict {
  file: string;
  line: number;
  kind: string;
  name: string;
  allowed: boolean;
  problems: Finding[];
  warnings: Finding[];
}

const API_VERSION = `${GROUP}/${VERSION}`;
/** The webhook's word for a field the CRD schema does not have (admission/unknown-fields.ts). */
const DROPPED = "unknown field, dropped by Kubernetes";
const UNKNOWN_FIELD =
  "unknown field: kubectl create/apply refuse it (strict field validation, their default); with --validate=false Kubernetes drops it";
const PGO_GROUP = "postgres-operator.crunchydata.com";

function nameOf(o: Obj): string {
  const m = (o.metadata ?? {}) as Obj;
  return typeof m.name === "string" ? m.name : typeof m.generateName === "string" ? `${m.generateName}*` : "";
}

/** The AdmissionReview the API server sends for `kubectl create` of this object. */
export function createReview(object: Obj, namespace: string, uid: string): AdmissionReview {
  const kind = String(object.kind ?? "");
  const [group, version] = String(object.apiVersion ?? "").includes("/")
    ? (String(object.apiVersion).split("/") as [string, string])
    : ["", String(object.apiVersion ?? "")];
  const meta = (typeof object.metadata === "object" && object.metadata !== null ? object.metadata : {}) as Obj;
  const ns = typeof meta.namespace === "string" ? meta.namespace : namespace;
  const plural = PLURALS[kind as TuskKind] ?? `${kind.toLowerCase()}s`;
  return AdmissionReview.parse({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group, version, kind },
      resource: { group, version, resource: plural },
      requestKind: { group, version, kind },
      name: nameOf(object),
      namespace: ns,
      operation: "CREATE",
      userInfo: { username: "tusk-cli" },
      object: { ...object, metadata: { ...meta, namespace: ns } },
      dryRun: true,
    },
  });
}

/** `spec.x: message` → the field and the message; a warning without a field path keeps it whole. */
function splitWarning(text: string): { field: string; message: string } {
  const m = /^((?:spec|metadata|apiVersion|kind)(?:[.[][^:\s]*)?): (.*)$/s.exec(text);
  return m ? { field: m[1] as string, message: m[2] as string } : { field: "", message: text };
}

export function judge(m: Manifest, namespace: string, index: number): Verdict | undefined {
  const o = m.object;
  const kind = String(o.kind ?? "");
  const base = { file: m.source, line: m.line, kind, name: nameOf(o) };
  const apiVersion = typeof o.apiVersion === "string" ? o.apiVersion : "";
  if (apiVersion.startsWith(`${PGO_GROUP}/`)) {
    return {
      ...base,
      allowed: false,
      problems: [
        {
          line: m.lineOf("apiVersion"),
          field: "apiVersion",
          message: `is ${apiVersion}; change it to ${API_VERSION} (the spec can stay as it is)`,
        },
      ],
      warnings: [],
    };
  }
  if (!apiVersion.startsWith(`${GROUP}/`)) return undefined;
  if (apiVersion !== API_VERSION || !(kind in PLURALS)) {
    const field = apiVersion !== API_VERSION ? "apiVersion" : "kind";
    const message =
      field === "apiVersion"
        ? `is ${apiVersion}; Tusk serves ${API_VERSION}`
        : `${JSON.stringify(kind)} is not a Tusk kind; use ${Object.keys(PLURALS).join(", ")}`;
    return { ...base, allowed: false, problems: [{ line: m.lineOf(field), field, message }], warnings: [] };
  }
  const review = createReview(o, namespace, `tusk-cli-${index}`);
  const response = validateAdmission(review).response;
  const causes = response.status?.details?.causes ?? [];
  const problems: Finding[] = response.allowed
    ? []
    : causes.length
      ? causes.map((c) => ({ line: m.lineOf(c.field), field: c.field, message: c.message }))
      : [{ line: m.line, field: "", message: response.status?.message ?? "refused" }];
  const all = (response.warnings ?? []).map((w) => {
    const { field, message } = splitWarning(w);
    return { line: field ? m.lineOf(field) : m.line, field, message };
  });
  // kubectl create/apply ask the API server for strict field validation by default: an unknown
  // field is refused before admission runs (checked against kube-apiserver in test/kube).
  const unknown = all.filter((w) => w.message === DROPPED);
  const warnings = all.filter((w) => w.message !== DROPPED);
  for (const u of unknown) problems.push({ ...u, message: UNKNOWN_FIELD });
  return { ...base, allowed: response.allowed && unknown.length === 0, problems, warnings };
}

function format(file: string, f: Finding, warning: boolean): string {
  return `${file}:${f.line}: ${warning ? "warning: " : ""}${f.field ? `${f.field}: ` : ""}${f.message}\n`;
}

export async function validateCommand(ctx: Ctx): Promise<number> {
  const file = ctx.positionals[0] as string;
  const namespace = namespaceFlag(ctx) ?? "default";
  const manifests = parseManifests(await ctx.io.readText(file), file);
  const verdicts: Verdict[] = [];
  manifests.forEach((m, i) => {
    const v = judge(m, namespace, i);
    if (v) verdicts.push(v);
  });
  const refused = verdicts.filter((v) => !v.allowed);

  if (ctx.output === "json" || ctx.output === "yaml") {
    const report = { file, allowed: refused.length === 0, objects: verdicts };
    ctx.io.out(ctx.output === "json" ? toJson(report) : toYaml(report));
  } else {
    for (const v of verdicts) {
      for (const p of v.problems) ctx.io.out(format(v.file, p, false));
      for (const w of v.warnings) ctx.io.out(format(v.file, w, true));
    }
    const skipped = manifests.length - verdicts.length;
    const summary =
      verdicts.length === 0
        ? `${file}: no PostgresCluster, PostgresBackup or PostgresRestore to check`
        : `${file}: ${verdicts.length} object(s) checked, ${refused.length} refused, ${verdicts.reduce((n, v) => n + v.warnings.length, 0)} warning(s)${skipped ? `, ${skipped} other object(s) not checked` : ""}`;
    ctx.io.err(`${summary}\n`);
  }
  // Nothing checked is a failure too, as for render: a wrong file must not pass a CI gate.
  return refused.length || verdicts.length === 0 ? 1 : 0;
}
