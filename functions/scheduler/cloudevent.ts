/**
 * @module
 * The PingSource CloudEvent (CloudEvents 1.0 over HTTP) in either content mode: binary
 * (attributes in `ce-*` headers, the data as the body) or structured
 * (`application/cloudevents+json`, everything in one JSON body, data as `data` or
 * `data_base64`). Every problem is reported at once, each naming its header or field.
 */
import * as z from "zod";
import { RepoName } from "../../shared/api/postgres-cluster.ts";

const PingData = z.object({
  cluster: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a Kubernetes object name"),
  namespace: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a namespace name"),
  repoName: RepoName,
  type: z.enum(["full", "diff", "incr"]),
});
type PingData = z.infer<typeof PingData>;

export interface PingEvent {
  id: string;
  source: string;
  type: string;
  /** RFC 3339, as sent. */
  time: string;
  data: PingData;
}

interface Problem {
  field: string;
  message: string;
}

export type ParsedEvent = { ok: true; event: PingEvent } | { ok: false; problems: Problem[] };

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === "") return { ok: false, message: "the body is empty; expected JSON" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, message: "the body is not valid JSON" };
  }
}

function decodeBase64(text: string): string | undefined {
  try {
    const bin = atob(text);
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

function dataProblems(data: unknown, prefix: string, problems: Problem[]): PingData | undefined {
  const parsed = PingData.safeParse(data);
  if (parsed.success) return parsed.data;
  const fields = ["cluster", "namespace", "repoName", "type"];
  for (const issue of parsed.error.issues) {
    const field = issue.path.length ? `${prefix}${issue.path.join(".")}` : prefix.replace(/\.$/, "") || "data";
    const message = issue.code === "invalid_type" && issue.path.length ? "required (a string)" : issue.message;
    problems.push({ field, message: issue.path.length ? message : `must be an object with ${fields.join(", ")}` });
  }
  return undefined;
}

function attributes(
  get: (name: string) => unknown,
  label: (name: string) => string,
  problems: Problem[],
): Omit<PingEvent, "data"> | undefined {
  const str = (name: string) => {
    const v = get(name);
    return typeof v === "string" && v.trim() !== "" ? v : undefined;
  };
  const specversion = str("specversion");
  if (specversion === undefined) problems.push({ field: label("specversion"), message: "required" });
  else if (specversion !== "1.0")
    problems.push({ field: label("specversion"), message: `must be 1.0 (got ${specversion})` });
  const out: Partial<Omit<PingEvent, "data">> = {};
  for (const name of ["id", "source", "type", "time"] as const) {
    const v = str(name);
    if (v === undefined) problems.push({ field: label(name), message: "required" });
    else out[name] = v;
  }
  if (out.time !== undefined && (!RFC3339.test(out.time) || Number.isNaN(Date.parse(out.time)))) {
    problems.push({ field: label("time"), message: `must be an RFC 3339 timestamp (got ${out.time.slice(0, 40)})` });
    out.time = undefined;
  }
  return out.id && out.source && out.type && out.time ? (out as Omit<PingEvent, "data">) : undefined;
}

/** Parses a PingSource delivery from its headers and body text. */
export function parsePingEvent(headers: Headers, body: string): ParsedEvent {
  const problems: Problem[] = [];
  const contentType = (headers.get("content-type") ?? "").toLowerCase();
  let attrs: Omit<PingEvent, "data"> | undefined;
  let data: PingData | undefined;

  if (contentType.startsWith("application/cloudevents+json")) {
    const json = parseJson(body);
    if (!json.ok) return { ok: false, problems: [{ field: "body", message: json.message }] };
    const event = json.value;
    if (!event || typeof event !== "object" || Array.isArray(event))
      return { ok: false, problems: [{ field: "body", message: "a structured CloudEvent must be a JSON object" }] };
    const e = event as Record<string, unknown>;
    attrs = attributes(
      (n) => e[n],
      (n) => n,
      problems,
    );
    let payload: unknown = e.data;
    if (payload === undefined && typeof e.data_base64 === "string") {
      const text = decodeBase64(e.data_base64);
      const inner = text === undefined ? undefined : parseJson(text);
      if (!inner?.ok) problems.push({ field: "data_base64", message: "must be base64 of JSON" });
      else payload = inner.value;
    } else if (typeof payload === "string") {
      const inner = parseJson(payload);
      if (inner.ok) payload = inner.value;
    }
    if (payload === undefined && !problems.some((p) => p.field === "data_base64"))
      problems.push({ field: "data", message: "required: {cluster, namespace, repoName, type}" });
    else if (payload !== undefined) data = dataProblems(payload, "data.", problems);
  } else {
    attrs = attributes(
      (n) => headers.get(`ce-${n}`) ?? undefined,
      (n) => `ce-${n}`,
      problems,
    );
    const json = parseJson(body);
    if (!json.ok)
      problems.push({ field: "body", message: `${json.message} (the event data: cluster, namespace, repoName, type)` });
    else data = dataProblems(json.value, "", problems);
  }

  // A PingSource's source names its namespace; it may only ask for backups there.
  const from = attrs ? /^\/apis\/v1\/namespaces\/([^/]+)\/pingsources\/[^/]+$/.exec(attrs.source) : null;
  if (from && data && from[1] !== data.namespace)
    problems.push({
      field: "namespace",
      message: `must be the PingSource's namespace ${from[1]} (got ${data.namespace})`,
    });
  if (problems.length || !attrs || !data) return { ok: false, problems };
  return { ok: true, event: { ...attrs, data } };
}
