/**
 * @module
 * Validates a Kubernetes object the way the API server would before storing it: against the
 * official OpenAPI definitions (built-in kinds) or the official CRD schemas (Metacontroller,
 * Knative, Prometheus Operator, cert-manager) vendored under test/k8s-schema/. Unknown fields are
 * errors (the server would prune or reject them), as are wrong types, missing required fields,
 * values outside an enum, malformed int-or-string, quantities, dates and base64, and names,
 * label keys and label values that the server's name rules reject.
 *
 * `validateObject(obj)` returns human-readable errors ("StatefulSet hippo-instance1-0:
 * spec.template.spec.containers[0].ports[0].containerPort: must be integer (got string)"), empty
 * when valid; `assertValid(obj)` throws with all of them. A kind without a vendored schema is an
 * error, so nothing slips through unvalidated.
 */
import { readdirSync, readFileSync } from "node:fs";

type Schema = { [key: string]: any };

const schemaDir = new URL("../k8s-schema/", import.meta.url);
const readJson = (url: URL): any => JSON.parse(readFileSync(url, "utf8"));

const REF_PREFIX = "#/components/schemas/";
const openapi = readJson(new URL("kubernetes.json", schemaDir));
const defs: Record<string, Schema> = openapi.components.schemas;
const enumOverlay: Record<string, Record<string, string[]>> = readJson(new URL("enums.json", schemaDir));

const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LABEL_SELECTOR = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";

interface KindEntry {
  apiVersion: string;
  kind: string;
  /** Built-in kinds: the definition name; CRD kinds: the version's openAPIV3Schema. */
  def?: string;
  crdSchema?: Schema;
  source: string;
}

const kinds = new Map<string, KindEntry>();
const kindKey = (apiVersion: string, kind: string) => `${apiVersion} ${kind}`;

for (const [name, def] of Object.entries(defs)) {
  for (const gvk of (def["x-kubernetes-group-version-kind"] ?? []) as {
    group: string;
    version: string;
    kind: string;
  }[]) {
    const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    kinds.set(kindKey(apiVersion, gvk.kind), { apiVersion, kind: gvk.kind, def: name, source: "kubernetes.json" });
  }
}

const crdDir = new URL("crds/", schemaDir);
let crdFiles: string[] = [];
try {
  crdFiles = readdirSync(crdDir).filter((f) => f.endsWith(".json"));
} catch {
  crdFiles = [];
}
function addCrd(into: Map<string, KindEntry>, crd: any, source: string): void {
  for (const version of crd.spec.versions as { name: string; schema?: { openAPIV3Schema: Schema } }[]) {
    if (!version.schema) continue;
    const apiVersion = `${crd.spec.group}/${version.name}`;
    into.set(kindKey(apiVersion, crd.spec.names.kind), {
      apiVersion,
      kind: crd.spec.names.kind,
      crdSchema: version.schema.openAPIV3Schema,
      source,
    });
  }
}

for (const file of crdFiles.sort()) addCrd(kinds, readJson(new URL(file, crdDir)), `crds/${file}`);

/** Every `apiVersion kind` pair that has a vendored schema. */
export function supportedKinds(): string[] {
  return [...kinds.keys()].sort();
}

// --- name rules (k8s.io/apimachinery/pkg/util/validation) ---

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(`must be no more than 63 characters (got ${value.length})`);
  if (!DNS1123_LABEL.test(value)) {
    errs.push("must be a lowercase RFC 1123 label: lowercase alphanumerics or '-', starting and ending alphanumeric");
  }
  return errs;
}

export function dns1035LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(`must be no more than 63 characters (got ${value.length})`);
  if (!DNS1035_LABEL.test(value)) {
    errs.push("must be an RFC 1035 label: lowercase alphanumerics or '-', starting with a letter, ending alphanumeric");
  }
  return errs;
}

function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(`must be no more than 253 characters (got ${value.length})`);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errs.push(
      "must be a lowercase RFC 1123 subdomain: lowercase alphanumerics, '-' or '.', starting and ending alphanumeric",
    );
  }
  return errs;
}

function qualifiedNameErrors(value: string): string[] {
  const parts = value.split("/");
  if (parts.length > 2) return ["a qualified name must have at most one '/'"];
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const errs: string[] = [];
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else errs.push(...dns1123SubdomainErrors(prefix).map((e) => `prefix part ${e}`));
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else {
    if (name.length > 63) errs.push(`name part must be no more than 63 characters (got ${name.length})`);
    if (!QUALIFIED_NAME.test(name)) {
      errs.push("name part must consist of alphanumerics, '-', '_' or '.', starting and ending alphanumeric");
    }
  }
  return errs;
}

function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(`must be no more than 63 characters (got ${value.length})`);
  if (!LABEL_VALUE.test(value)) {
    errs.push("must be empty or alphanumerics, '-', '_' or '.', starting and ending alphanumeric");
  }
  return errs;
}

function ianaSvcNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push(`must be no more than 15 characters (got ${value.length})`);
  if (!/^[-a-z0-9]+$/.test(value)) errs.push("must contain only lowercase alphanumerics and '-'");
  if (!/[a-z]/.test(value)) errs.push("must contain at least one letter");
  if (value.includes("--")) errs.push("must not contain consecutive hyphens");
  if (value.startsWith("-") || value.endsWith("-")) errs.push("must not begin or end with a hyphen");
  return errs;
}

function pathSegmentNameErrors(value: string): string[] {
  if (value === "." || value === "..") return [`may not be '${value}'`];
  if (value.includes("/") || value.includes("%")) return ["may not contain '/' or '%'"];
  return [];
}

type NameRule = (name: string, obj: Schema) => string[];

const subdomain: NameRule = (n) => dns1123SubdomainErrors(n);
const nameRules: Record<string, NameRule> = {
  // The API server validates Service names as RFC 1035 labels.
  "v1 Service": (n) => dns1035LabelErrors(n),
  "v1 Namespace": (n) => dns1123LabelErrors(n),
  // A Pod's name becomes its hostname, so hold it to a DNS label.
  "v1 Pod": (n) => dns1123LabelErrors(n),
  // A StatefulSet's pods are named <name>-<ordinal> and get that as hostname.
  "apps/v1 StatefulSet": (n) => dns1123LabelErrors(n),
  // The Job controller puts the Job name in the batch.kubernetes.io/job-name label of its pods.
  "batch/v1 Job": (n) => [
    ...dns1123SubdomainErrors(n),
    ...(n.length > 63 ? ["must be no more than 63 characters"] : []),
  ],
  // CronJob names get an 11-character suffix for the Jobs they create.
  "batch/v1 CronJob": (n) => [
    ...dns1123SubdomainErrors(n),
    ...(n.length > 52 ? [`must be no more than 52 characters (got ${n.length})`] : []),
  ],
  "rbac.authorization.k8s.io/v1 Role": (n) => pathSegmentNameErrors(n),
  "rbac.authorization.k8s.io/v1 RoleBinding": (n) => pathSegmentNameErrors(n),
  "rbac.authorization.k8s.io/v1 ClusterRole": (n) => pathSegmentNameErrors(n),
  "rbac.authorization.k8s.io/v1 ClusterRoleBinding": (n) => pathSegmentNameErrors(n),
  "apiextensions.k8s.io/v1 CustomResourceDefinition": (n, obj) => {
    const expected = `${obj.spec?.names?.plural}.${obj.spec?.group}`;
    return n === expected ? [] : [`must be spec.names.plural + "." + spec.group (${expected})`];
  },
};

// --- the schema walk ---

interface Ctx {
  errors: string[];
  /** CRD schemas are structural: an object schema without properties keeps no fields. */
  crd: boolean;
}

const isObject = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

const join = (path: string, key: string): string => {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
};
const at = (path: string) => path || "<root>";

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const QUANTITY_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function formatError(format: string, value: unknown): string | undefined {
  if (typeof value === "string") {
    switch (format) {
      case "date-time":
        return RFC3339.test(value) ? undefined : `must be an RFC 3339 date-time (got ${JSON.stringify(value)})`;
      case "date":
        return /^\d{4}-\d{2}-\d{2}$/.test(value) ? undefined : "must be a full-date (YYYY-MM-DD)";
      case "byte":
        return BASE64.test(value) ? undefined : "must be base64 (standard alphabet, padded)";
      case "uuid":
        return UUID_RE.test(value) ? undefined : "must be a UUID";
      case "ipv4":
        return IPV4_RE.test(value) ? undefined : "must be an IPv4 address";
      case "uri":
        return URL.canParse(value) ? undefined : "must be a URI";
      default:
        return undefined;
    }
  }
  if (typeof value === "number") {
    if (format === "int32" && (value < -2147483648 || value > 2147483647)) return "must fit in int32";
    if (format === "int64" && !Number.isSafeInteger(value))
      return "must be an int64 this validator can represent exactly";
  }
  return undefined;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    default:
      return true;
  }
}

/** Whether `value` satisfies `schema`, without reporting (for oneOf/anyOf/not). */
function matches(schema: Schema, value: unknown, ctx: Ctx): boolean {
  const probe: Ctx = { errors: [], crd: ctx.crd };
  check(schema, value, "", probe);
  return probe.errors.length === 0;
}

function err(ctx: Ctx, path: string, message: string): void {
  ctx.errors.push(`${at(path)}: ${message}`);
}

function checkDef(name: string, value: unknown, path: string, ctx: Ctx): void {
  const def = defs[name];
  if (def === undefined) {
    err(ctx, path, `schema ${name} is not vendored`);
    return;
  }
  if (name === INT_OR_STRING) {
    if (typeof value === "string") return;
    if (typeof value === "number" && Number.isInteger(value)) {
      const f = formatError("int32", value);
      if (f) err(ctx, path, f);
      return;
    }
    err(ctx, path, `must be integer or string (got ${typeName(value)})`);
    return;
  }
  if (name === QUANTITY) {
    if (typeof value === "number" && Number.isFinite(value)) return;
    if (typeof value === "string" && QUANTITY_RE.test(value)) return;
    err(ctx, path, `must be a quantity such as "1Gi", "500m" or a number (got ${JSON.stringify(value)})`);
    return;
  }
  check(def, value, path, ctx, name);
  if (isObject(value)) semanticChecks(name, value, path, ctx);
}

function check(schema: Schema, value: unknown, path: string, ctx: Ctx, defName?: string): void {
  if (typeof schema.$ref === "string") {
    if (!schema.$ref.startsWith(REF_PREFIX)) {
      err(ctx, path, `unsupported $ref ${schema.$ref}`);
      return;
    }
    checkDef(schema.$ref.slice(REF_PREFIX.length), value, path, ctx);
    return;
  }
  if (schema["x-tusk-not-vendored"] === true) {
    // The official schema has this subtree; it was pruned from the vendored copy to keep it small.
    err(ctx, path, "not vendored: this part of the official schema was pruned from test/k8s-schema (see its README)");
    return;
  }
  if (value === null) {
    if (schema.nullable === true) return;
    err(ctx, path, `must be ${schema.type ?? "a value"}, not null`);
    return;
  }
  if (schema["x-kubernetes-int-or-string"] === true) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) {
      err(ctx, path, `must be integer or string (got ${typeName(value)})`);
      return;
    }
  } else if (typeof schema.type === "string" && !typeMatches(schema.type, value)) {
    err(ctx, path, `must be ${schema.type} (got ${typeName(value)})`);
    return;
  }

  for (const sub of (schema.allOf ?? []) as Schema[]) check(sub, value, path, ctx);
  if (Array.isArray(schema.oneOf)) {
    const n = (schema.oneOf as Schema[]).filter((s) => matches(s, value, ctx)).length;
    if (n !== 1)
      err(ctx, path, n === 0 ? "must match one of the allowed forms (oneOf)" : "matches more than one form (oneOf)");
  }
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as Schema[]).some((s) => matches(s, value, ctx))) {
    err(ctx, path, "must match at least one of the allowed forms (anyOf)");
  }
  if (isObject(schema.not) && matches(schema.not, value, ctx))
    err(ctx, path, "must not match the forbidden form (not)");

  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) {
    err(
      ctx,
      path,
      `must be one of ${schema.enum.map((e: unknown) => JSON.stringify(e)).join(", ")} (got ${JSON.stringify(value)})`,
    );
  }
  if (typeof schema.format === "string") {
    const f = formatError(schema.format, value);
    if (f) err(ctx, path, f);
  }

  if (typeof value === "string") checkString(schema, value, path, ctx);
  else if (typeof value === "number") checkNumber(schema, value, path, ctx);
  else if (Array.isArray(value)) checkArray(schema, value, path, ctx, defName);
  else if (isObject(value)) checkObject(schema, value, path, ctx, defName);
}

function checkString(schema: Schema, value: string, path: string, ctx: Ctx): void {
  const length = [...value].length;
  if (typeof schema.maxLength === "number" && length > schema.maxLength) {
    err(ctx, path, `must be no more than ${schema.maxLength} characters (got ${length})`);
  }
  if (typeof schema.minLength === "number" && length < schema.minLength) {
    err(ctx, path, `must be at least ${schema.minLength} characters (got ${length})`);
  }
  if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) {
    err(ctx, path, `must match the pattern ${schema.pattern} (got ${JSON.stringify(value)})`);
  }
}

function checkNumber(schema: Schema, value: number, path: string, ctx: Ctx): void {
  if (typeof schema.minimum === "number") {
    if (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum) {
      err(
        ctx,
        path,
        `must be ${schema.exclusiveMinimum === true ? "greater than" : "at least"} ${schema.minimum} (got ${value})`,
      );
    }
  }
  if (typeof schema.maximum === "number") {
    if (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum) {
      err(
        ctx,
        path,
        `must be ${schema.exclusiveMaximum === true ? "less than" : "at most"} ${schema.maximum} (got ${value})`,
      );
    }
  }
  if (typeof schema.multipleOf === "number" && value % schema.multipleOf !== 0) {
    err(ctx, path, `must be a multiple of ${schema.multipleOf}`);
  }
}

function checkArray(schema: Schema, value: unknown[], path: string, ctx: Ctx, defName?: string): void {
  if (typeof schema.maxItems === "number" && value.length > schema.maxItems) {
    err(ctx, path, `must have at most ${schema.maxItems} items (got ${value.length})`);
  }
  if (typeof schema.minItems === "number" && value.length < schema.minItems) {
    err(ctx, path, `must have at least ${schema.minItems} items (got ${value.length})`);
  }
  const unique = schema.uniqueItems === true || schema["x-kubernetes-list-type"] === "set";
  if (unique) {
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const key = JSON.stringify(item);
      if (seen.has(key)) err(ctx, `${path}[${i}]`, "duplicate value in a set");
      seen.add(key);
    });
  }
  const mapKeys = schema["x-kubernetes-list-map-keys"];
  if (schema["x-kubernetes-list-type"] === "map" && Array.isArray(mapKeys)) {
    const seen = new Set<string>();
    value.forEach((item, i) => {
      if (!isObject(item)) return;
      const key = JSON.stringify(mapKeys.map((k: string) => item[k]));
      if (seen.has(key)) err(ctx, `${path}[${i}]`, `duplicate entry for key (${mapKeys.join(", ")})`);
      seen.add(key);
    });
  }
  if (isObject(schema.items)) {
    value.forEach((item, i) => {
      check(schema.items, item, `${path}[${i}]`, ctx);
    });
  }
  void defName;
}

function checkObject(schema: Schema, value: Schema, path: string, ctx: Ctx, defName?: string): void {
  const props: Schema | undefined = isObject(schema.properties) ? schema.properties : undefined;
  const additional = schema.additionalProperties;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = schema["x-kubernetes-embedded-resource"] === true;
  // A built-in definition with neither properties nor additionalProperties (RawExtension,
  // FieldsV1) holds arbitrary JSON; a structural CRD schema like that keeps nothing.
  const freeForm = props === undefined && additional === undefined && !ctx.crd;

  for (const [key, child] of Object.entries(value)) {
    const childPath = join(path, key);
    const propSchema = props?.[key];
    if (propSchema !== undefined) {
      check(propSchema, child, childPath, ctx);
      checkEnumOverlay(defName, key, child, childPath, ctx);
    } else if (embedded && (key === "apiVersion" || key === "kind")) {
      if (typeof child !== "string") err(ctx, childPath, `must be string (got ${typeName(child)})`);
    } else if (embedded && key === "metadata") {
      checkDef(OBJECT_META, child, childPath, ctx);
    } else if (isObject(additional)) {
      check(additional, child, childPath, ctx);
    } else if (additional === true || preserve || freeForm) {
      // kept as is by the server
    } else {
      err(ctx, childPath, "unknown field");
    }
  }
  for (const req of (schema.required ?? []) as string[]) {
    if (!(req in value)) err(ctx, join(path, req), "required field missing");
  }
  const count = Object.keys(value).length;
  if (typeof schema.maxProperties === "number" && count > schema.maxProperties) {
    err(ctx, path, `must have at most ${schema.maxProperties} properties`);
  }
  if (typeof schema.minProperties === "number" && count < schema.minProperties) {
    err(ctx, path, `must have at least ${schema.minProperties} properties`);
  }
}

function checkEnumOverlay(defName: string | undefined, key: string, value: unknown, path: string, ctx: Ctx): void {
  if (defName === undefined) return;
  const overlay = enumOverlay[defName];
  if (overlay === undefined) return;
  const allowed = overlay[key];
  if (allowed !== undefined && typeof value === "string" && !allowed.includes(value)) {
    err(ctx, path, `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")} (got ${JSON.stringify(value)})`);
  }
  const itemAllowed = overlay[`${key}[]`];
  if (itemAllowed !== undefined && Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item === "string" && !itemAllowed.includes(item)) {
        err(
          ctx,
          `${path}[${i}]`,
          `must be one of ${itemAllowed.map((v) => JSON.stringify(v)).join(", ")} (got ${JSON.stringify(item)})`,
        );
      }
    });
  }
}

// --- server-side rules the OpenAPI cannot express, for the definitions Tusk emits ---

function eachMessage(ctx: Ctx, path: string, messages: string[]): void {
  for (const m of messages) err(ctx, path, m);
}

function checkLabels(labels: unknown, path: string, ctx: Ctx): void {
  if (!isObject(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    eachMessage(
      ctx,
      join(path, k),
      qualifiedNameErrors(k).map((m) => `label key ${m}`),
    );
    if (typeof v === "string")
      eachMessage(
        ctx,
        join(path, k),
        labelValueErrors(v).map((m) => `label value ${m}`),
      );
  }
}

function checkPort(value: unknown, path: string, ctx: Ctx, allowZero = false): void {
  if (typeof value !== "number") return;
  if (value < (allowZero ? 0 : 1) || value > 65535)
    err(ctx, path, `must be a port number between ${allowZero ? 0 : 1} and 65535 (got ${value})`);
}

function checkPortRef(value: unknown, path: string, ctx: Ctx): void {
  if (typeof value === "number") checkPort(value, path, ctx);
  else if (typeof value === "string")
    eachMessage(
      ctx,
      path,
      ianaSvcNameErrors(value).map((m) => `port name ${m}`),
    );
}

const CORE = "io.k8s.api.core.v1.";

function semanticChecks(name: string, value: Schema, path: string, ctx: Ctx): void {
  switch (name) {
    case OBJECT_META: {
      checkLabels(value.labels, join(path, "labels"), ctx);
      if (isObject(value.annotations)) {
        let size = 0;
        for (const [k, v] of Object.entries(value.annotations)) {
          eachMessage(
            ctx,
            join(join(path, "annotations"), k),
            qualifiedNameErrors(k).map((m) => `annotation key ${m}`),
          );
          size += k.length + (typeof v === "string" ? v.length : 0);
        }
        if (size > 256 * 1024) err(ctx, join(path, "annotations"), "total size must be no more than 256 KiB");
      }
      if (typeof value.namespace === "string") {
        eachMessage(ctx, join(path, "namespace"), dns1123LabelErrors(value.namespace));
      }
      return;
    }
    case LABEL_SELECTOR: {
      checkLabels(value.matchLabels, join(path, "matchLabels"), ctx);
      (Array.isArray(value.matchExpressions) ? value.matchExpressions : []).forEach((req: Schema, i: number) => {
        const p = `${join(path, "matchExpressions")}[${i}]`;
        if (typeof req.key === "string") eachMessage(ctx, join(p, "key"), qualifiedNameErrors(req.key));
        const op = req.operator;
        const n = Array.isArray(req.values) ? req.values.length : 0;
        if ((op === "In" || op === "NotIn") && n === 0)
          err(ctx, join(p, "values"), "must be non-empty for In and NotIn");
        if ((op === "Exists" || op === "DoesNotExist") && n > 0)
          err(ctx, join(p, "values"), "must be empty for Exists and DoesNotExist");
      });
      return;
    }
    case `${CORE}Container`:
    case `${CORE}EphemeralContainer`: {
      if (typeof value.name === "string") eachMessage(ctx, join(path, "name"), dns1123LabelErrors(value.name));
      (Array.isArray(value.ports) ? value.ports : []).forEach((port: Schema, i: number) => {
        const p = `${join(path, "ports")}[${i}]`;
        checkPort(port.containerPort, join(p, "containerPort"), ctx);
        if (port.hostPort !== undefined) checkPort(port.hostPort, join(p, "hostPort"), ctx, true);
        if (typeof port.name === "string") eachMessage(ctx, join(p, "name"), ianaSvcNameErrors(port.name));
      });
      return;
    }
    case `${CORE}PodSpec`: {
      const names = new Map<string, string>();
      for (const list of ["initContainers", "containers", "ephemeralContainers"]) {
        (Array.isArray(value[list]) ? value[list] : []).forEach((c: Schema, i: number) => {
          const p = `${join(path, list)}[${i}].name`;
          if (typeof c.name !== "string") return;
          const prev = names.get(c.name);
          if (prev) err(ctx, p, `duplicate container name ${JSON.stringify(c.name)} (also ${prev})`);
          else names.set(c.name, p);
        });
      }
      if (!Array.isArray(value.containers) || value.containers.length === 0) {
        err(ctx, join(path, "containers"), "must have at least one container");
      }
      const volumes = new Set<string>();
      (Array.isArray(value.volumes) ? value.volumes : []).forEach((v: Schema, i: number) => {
        const p = `${join(path, "volumes")}[${i}].name`;
        if (typeof v.name !== "string") return;
        eachMessage(ctx, p, dns1123LabelErrors(v.name));
        if (volumes.has(v.name)) err(ctx, p, `duplicate volume name ${JSON.stringify(v.name)}`);
        volumes.add(v.name);
      });
      return;
    }
    case `${CORE}ServiceSpec`: {
      const portNames = new Set<string>();
      const ports = Array.isArray(value.ports) ? value.ports : [];
      ports.forEach((port: Schema, i: number) => {
        const p = `${join(path, "ports")}[${i}]`;
        checkPort(port.port, join(p, "port"), ctx);
        if (port.targetPort !== undefined) checkPortRef(port.targetPort, join(p, "targetPort"), ctx);
        if (typeof port.name === "string") {
          eachMessage(ctx, join(p, "name"), dns1123LabelErrors(port.name));
          if (portNames.has(port.name)) err(ctx, join(p, "name"), `duplicate port name ${JSON.stringify(port.name)}`);
          portNames.add(port.name);
        } else if (ports.length > 1) {
          err(ctx, join(p, "name"), "required when a Service has more than one port");
        }
      });
      checkLabels(value.selector, join(path, "selector"), ctx);
      return;
    }
    case "io.k8s.api.apps.v1.DeploymentSpec":
    case "io.k8s.api.apps.v1.StatefulSetSpec":
    case "io.k8s.api.apps.v1.DaemonSetSpec":
      checkTemplate(value, path, ctx, ["Always"]);
      return;
    case "io.k8s.api.batch.v1.JobSpec":
      // A Job's pods must not restart in place; the API server requires one of these explicitly.
      checkTemplate(value, path, ctx, ["Never", "OnFailure"], value.manualSelector !== true);
      return;
    case `${CORE}HTTPGetAction`:
    case `${CORE}TCPSocketAction`:
      checkPortRef(value.port, join(path, "port"), ctx);
      return;
    case `${CORE}ConfigMap`:
    case `${CORE}Secret`: {
      let total = 0;
      for (const field of ["data", "binaryData", "stringData"]) {
        if (!isObject(value[field])) continue;
        for (const [k, v] of Object.entries(value[field])) {
          const p = join(join(path, field), k);
          if (k.length > 253) err(ctx, p, "key must be no more than 253 characters");
          if (!CONFIG_KEY.test(k)) err(ctx, p, "key must consist of alphanumerics, '-', '_' or '.'");
          total += typeof v === "string" ? v.length : 0;
        }
      }
      if (total > 1024 * 1024) err(ctx, path, "data must be no more than 1 MiB in total");
      return;
    }
    default:
      return;
  }
}

/** Server rules tying a workload spec to its pod template. */
function checkTemplate(
  spec: Schema,
  path: string,
  ctx: Ctx,
  restartPolicies: string[],
  generatedSelector = false,
): void {
  const template = isObject(spec.template) ? spec.template : undefined;
  const podSpec = isObject(template?.spec) ? template.spec : undefined;
  const policy = podSpec?.restartPolicy;
  const policyPath = join(join(join(path, "template"), "spec"), "restartPolicy");
  if (podSpec !== undefined && policy === undefined && !restartPolicies.includes("Always")) {
    err(ctx, policyPath, `required here: one of ${restartPolicies.map((p) => JSON.stringify(p)).join(", ")}`);
  } else if (typeof policy === "string" && !restartPolicies.includes(policy)) {
    err(
      ctx,
      policyPath,
      `must be ${restartPolicies.map((p) => JSON.stringify(p)).join(" or ")} here (got ${JSON.stringify(policy)})`,
    );
  }
  // Jobs generate their selector unless manualSelector is set; other workloads must match theirs.
  if (generatedSelector) return;
  const selector = isObject(spec.selector) ? spec.selector : undefined;
  const labels: Schema = isObject(template?.metadata?.labels) ? template.metadata.labels : {};
  if (selector === undefined) return;
  const matchLabels: Schema = isObject(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) {
    err(ctx, join(path, "selector"), "must not be empty");
    return;
  }
  const mismatched = Object.entries(matchLabels).filter(([k, v]) => labels[k] !== v);
  const failing = expressions.filter((e: Schema) => !expressionMatches(e, labels));
  if (mismatched.length > 0 || failing.length > 0) {
    err(ctx, join(join(join(path, "template"), "metadata"), "labels"), "`selector` does not match template `labels`");
  }
}

function expressionMatches(e: Schema, labels: Schema): boolean {
  const has = typeof e.key === "string" && e.key in labels;
  const values: unknown[] = Array.isArray(e.values) ? e.values : [];
  switch (e.operator) {
    case "In":
      return has && values.includes(labels[e.key]);
    case "NotIn":
      return !has || !values.includes(labels[e.key]);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    default:
      return false;
  }
}

// --- entry points ---

function describe(obj: unknown): string {
  if (!isObject(obj)) return "<not an object>";
  const kind = typeof obj.kind === "string" ? obj.kind : "<no kind>";
  const name = isObject(obj.metadata) && typeof obj.metadata.name === "string" ? obj.metadata.name : "<no name>";
  return `${kind} ${name}`;
}

/** Errors for one object, each prefixed with "<Kind> <name>: "; empty when the object is valid. */
export function validateObject(obj: unknown): string[] {
  return validateWith(kinds, obj);
}

/**
 * A validateObject that also knows the kinds defined by `crds` (CustomResourceDefinition
 * objects, e.g. Tusk's own from manifests/crds/), each CRD itself validated first.
 */
export function validatorWithCrds(crds: readonly unknown[]): (obj: unknown) => string[] {
  const extended = new Map(kinds);
  for (const crd of crds) {
    assertValid(crd);
    addCrd(extended, crd, `CRD ${(crd as any).metadata.name}`);
  }
  return (obj) => validateWith(extended, obj);
}

function validateWith(kinds: Map<string, KindEntry>, obj: unknown): string[] {
  const label = describe(obj);
  if (!isObject(obj)) return [`${label}: must be a JSON object (got ${typeName(obj)})`];
  const ctx: Ctx = { errors: [], crd: false };
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return [`${label}: apiVersion and kind must be strings (got ${typeName(apiVersion)}, ${typeName(kind)})`];
  }
  const entry = kinds.get(kindKey(apiVersion, kind));
  if (entry === undefined) {
    return [`${label}: no vendored schema for apiVersion ${JSON.stringify(apiVersion)} kind ${JSON.stringify(kind)}`];
  }

  if (!isObject(obj.metadata)) {
    err(
      ctx,
      "metadata",
      obj.metadata === undefined ? "required field missing" : `must be object (got ${typeName(obj.metadata)})`,
    );
  } else if (typeof obj.metadata.name === "string") {
    const rule = nameRules[kindKey(apiVersion, kind)] ?? subdomain;
    eachMessage(ctx, "metadata.name", rule(obj.metadata.name, obj));
  } else if (typeof obj.metadata.generateName !== "string") {
    err(ctx, "metadata.name", "required field missing (name or generateName)");
  }

  if (entry.def !== undefined) {
    checkDef(entry.def, obj, "", ctx);
  } else if (entry.crdSchema !== undefined) {
    const { apiVersion: _a, kind: _k, metadata, ...rest } = obj;
    if (isObject(metadata)) checkDef(OBJECT_META, metadata, "metadata", ctx);
    const root = entry.crdSchema;
    const rootProps = { ...(root.properties ?? {}) };
    delete rootProps.apiVersion;
    delete rootProps.kind;
    delete rootProps.metadata;
    check(
      {
        ...root,
        properties: rootProps,
        required: (root.required ?? []).filter((r: string) => !["apiVersion", "kind", "metadata"].includes(r)),
      },
      rest,
      "",
      { ...ctx, crd: true },
    );
  }
  return ctx.errors.map((e) => `${label}: ${e}`);
}

/** Throws an Error listing every problem when `obj` would not be accepted as is. */
export function assertValid(obj: unknown): void {
  const errors = validateObject(obj);
  if (errors.length > 0) throw new Error(`invalid Kubernetes object:\n  ${errors.join("\n  ")}`);
}
