/**
 * @module
 * Small HTTP and Prometheus-text helpers for the contract suite.
 */

export interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", headers: res.headers, text, json };
}

export function post(url: string, body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
  return call(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
    // Needed by fetch for a streamed (chunked) body.
    ...(typeof body === "string" ? {} : { duplex: "half" }),
  } as RequestInit);
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"';
const VALUE = "[-+]?(?:\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?|NaN|\\+Inf|-Inf)";
/** One sample line of the Prometheus text exposition format (version 0.0.4). */
export const SAMPLE_LINE = new RegExp(`^${NAME}(?:\\{${LABEL}(?:,${LABEL})*\\})? ${VALUE}$`);
export const COMMENT_LINE = new RegExp(
  `^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`,
);

/** Samples by their full series text (`name{labels}`). */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** Sum of every sample of `name` whose labels include all of `labels`. */
export function sumOf(all: Map<string, number>, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const [series, value] of all) {
    if (!series.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}
