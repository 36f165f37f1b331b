/**
 * The HTTP contract of issue 2, against a real server process: once on Node (`npm start`'s
 * command) and once on Deno (`deno task start`'s).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../shared/http.ts";
import { type FakeKubeApi, startFakeKubeApi } from "../unit/scheduler/fake-kube-api.ts";
import { GET_ROUTES, POST_ROUTES } from "./lib/fixtures.ts";
import { type Answer, COMMENT_LINE, call, post, SAMPLE_LINE, samples, sumOf } from "./lib/http.ts";
import { eventually, RUNTIMES, type RunningServer, startServer } from "./lib/server.ts";

const SECRET = `tusk-contract-secret-${randomBytes(8).toString("hex")}`;

/** Bodies that are not a valid request, each with what the error should talk about. */
const MALFORMED: { name: string; body: string; mentions: RegExp | "required" }[] = [
  { name: "truncated JSON", body: `{"parent": {"metadata": {"name": "${SECRET}"`, mentions: /json/i },
  { name: "not JSON at all", body: `password=${SECRET}&user=app`, mentions: /json/i },
  { name: "an empty body", body: "", mentions: /json|body|empty/i },
  { name: "an empty object", body: "{}", mentions: "required" },
  { name: "a JSON array", body: `["${SECRET}"]`, mentions: /./ },
  { name: "a JSON string", body: JSON.stringify(SECRET), mentions: /./ },
  { name: "null", body: "null", mentions: /./ },
];

function errorText(answer: Answer): string {
  const json = answer.json as { error?: unknown; problems?: unknown } | undefined;
  return `${typeof json?.error === "string" ? json.error : ""} ${JSON.stringify(json?.problems ?? "")}`;
}

function requestLines(output: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === "request");
}

describe.each(RUNTIMES)("HTTP contract on %s", (runtime) => {
  let server: RunningServer;
  let kubeApi: FakeKubeApi;

  beforeAll(async () => {
    // The scheduler creates PostgresBackups through the Kubernetes API: give it one to talk to.
    kubeApi = await startFakeKubeApi();
    server = await startServer(runtime, { env: { KUBECONFIG: kubeApi.kubeconfig } });
  });
  afterAll(async () => {
    await server?.stop();
    await kubeApi?.stop();
  });

  it("answers GET /healthz and GET /readyz with 200 JSON", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const answer = await call(server.url + path);
      expect(answer.status, path).toBe(200);
      expect(answer.contentType, path).toMatch(/^application\/json/);
      expect(answer.json, path).toBeTypeOf("object");
    }
  });

  it.each(POST_ROUTES.map((r) => r.path))("serves POST %s", async (path) => {
    const route = POST_ROUTES.find((r) => r.path === path)!;
    const { body, headers } = route.request(SECRET);
    const answer = await post(server.url + path, JSON.stringify(body), headers);
    expect(answer.status).not.toBe(404);
    expect(answer.status).not.toBe(405);
    expect(answer.status, answer.text.slice(0, 500)).toBeLessThan(500);
  });

  it.for(POST_ROUTES.map((r) => r.path))("accepts a realistic request on POST %s", async (path) => {
    const route = POST_ROUTES.find((r) => r.path === path)!;
    const { body, headers } = route.request(SECRET);
    const answer = await post(server.url + path, JSON.stringify(body), headers);
    expect(answer.status, answer.text.slice(0, 500)).toBeGreaterThanOrEqual(200);
    expect(answer.status, answer.text.slice(0, 500)).toBeLessThan(300);
    if (answer.status !== 204) expect(answer.contentType).toMatch(/^application\/json/);
  });

  it("serves each route only with its method", async () => {
    for (const { path } of POST_ROUTES) {
      const answer = await call(server.url + path);
      expect(answer.status, `GET ${path}`).toBe(405);
      expect(answer.headers?.get("allow"), `GET ${path}`).toBe("POST");
    }
    for (const path of GET_ROUTES) {
      const answer = await post(server.url + path, "{}");
      expect(answer.status, `POST ${path}`).toBe(405);
      expect(answer.headers?.get("allow"), `POST ${path}`).toBe("GET");
    }
  });

  it("answers an unknown route with 404 JSON naming it", async () => {
    for (const [method, path] of [
      ["GET", "/no-such-route"],
      ["POST", "/no-such-function/sync"],
      ["GET", "/"],
    ] as const) {
      const answer = await call(server.url + path, { method, body: method === "POST" ? "{}" : undefined });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.contentType).toMatch(/^application\/json/);
      expect((answer.json as { error: string }).error).toContain(path);
    }
  });

  it.for(["/cluster", "/backup", "/restore", "/admission", "/scheduler"])(
    "answers an unknown POST route under %s with 404",
    async (prefix) => {
      const answer = await post(`${server.url}${prefix}/no-such-hook`, "{}");
      expect(answer.status).toBe(404);
      expect(answer.contentType).toMatch(/^application\/json/);
    },
  );

  describe.each(POST_ROUTES.map((r) => r.path))("a malformed body to POST %s", (path) => {
    const route = POST_ROUTES.find((r) => r.path === path)!;
    it.for(MALFORMED)("is a 400 JSON error naming the problem: $name", async ({ body, mentions }) => {
      const answer = await post(server.url + path, body);
      expect(answer.status, answer.text.slice(0, 500)).toBe(400);
      expect(answer.contentType).toMatch(/^application\/json/);
      const text = errorText(answer);
      expect((answer.json as { error?: unknown }).error).toBeTypeOf("string");
      if (mentions === "required") {
        expect(
          route.required.some((field) => text.includes(field)),
          `${text} names one of ${route.required}`,
        ).toBe(true);
      } else {
        expect(text).toMatch(mentions);
      }
    });

    it("is never a 500, whatever the body", async () => {
      for (const { body } of MALFORMED) {
        const answer = await post(server.url + path, body);
        expect(answer.status, `${JSON.stringify(body)} -> ${answer.text.slice(0, 200)}`).toBeLessThan(500);
      }
    });
  });

  describe("request size limit", () => {
    const over = () => `{"pad":"${"x".repeat(MAX_BODY_BYTES)}"}`;

    it.each(POST_ROUTES.map((r) => r.path))("refuses a body over MAX_BODY_BYTES on %s with 413", async (path) => {
      const answer = await post(server.url + path, over());
      expect(answer.status).toBe(413);
      expect(answer.contentType).toMatch(/^application\/json/);
      expect((answer.json as { error: string }).error).toMatch(/large|limit|size/i);
    });

    it("refuses an over-limit body sent without Content-Length (chunked)", async () => {
      const chunk = new TextEncoder().encode("x".repeat(1024 * 1024));
      const chunks = Math.ceil(MAX_BODY_BYTES / chunk.length) + 1;
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < chunks) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const answer = await post(`${server.url}/cluster/sync`, stream);
      expect(answer.status).toBe(413);
      // The cut-off stream makes the connection unusable; a client must not be invited to reuse it.
      expect(answer.headers.get("connection")).toMatch(/close/i);
    });

    it("does not refuse a body of exactly MAX_BODY_BYTES", async () => {
      const body = JSON.stringify({ pad: "" });
      const exact = `{"pad":"${"x".repeat(MAX_BODY_BYTES - body.length)}"}`;
      expect(Buffer.byteLength(exact)).toBe(MAX_BODY_BYTES);
      const answer = await post(`${server.url}/cluster/sync`, exact);
      expect(answer.status).not.toBe(413);
      expect(answer.status).not.toBe(500);
    });

    it("keeps serving after refusing large bodies, on a reused client pool", async () => {
      expect((await call(`${server.url}/healthz`)).status).toBe(200);
    });
  });

  describe("GET /metrics", () => {
    it("is Prometheus text exposition", async () => {
      const answer = await call(`${server.url}/metrics`);
      expect(answer.status).toBe(200);
      expect(answer.contentType).toMatch(/^text\/plain/);
      expect(answer.text.endsWith("\n")).toBe(true);
      const lines = answer.text.split("\n").slice(0, -1);
      for (const line of lines)
        expect(line.startsWith("#") ? COMMENT_LINE.test(line) : SAMPLE_LINE.test(line), line).toBe(true);
      expect(answer.text).toContain("# TYPE tusk_http_requests_total counter");
      expect(answer.text).toContain("# TYPE tusk_http_request_duration_seconds histogram");
    });

    it("counts a request to /cluster/sync and its latency under its route label", async () => {
      const route = "/cluster/sync";
      const before = samples((await call(`${server.url}/metrics`)).text);
      const { body } = POST_ROUTES[0]!.request(SECRET);
      const answer = await post(`${server.url}/cluster/sync`, JSON.stringify(body));
      const after = samples((await call(`${server.url}/metrics`)).text);
      const labels = { route, method: "POST" };
      expect(sumOf(after, "tusk_http_requests_total", { ...labels, status: String(answer.status) })).toBe(
        sumOf(before, "tusk_http_requests_total", { ...labels, status: String(answer.status) }) + 1,
      );
      expect(sumOf(after, "tusk_http_request_duration_seconds_count", labels)).toBe(
        sumOf(before, "tusk_http_request_duration_seconds_count", labels) + 1,
      );
      expect(sumOf(after, "tusk_http_request_duration_seconds_sum", labels)).toBeGreaterThan(
        sumOf(before, "tusk_http_request_duration_seconds_sum", labels),
      );
      expect(sumOf(after, "tusk_http_request_duration_seconds_bucket", { ...labels, le: "+Inf" })).toBe(
        sumOf(after, "tusk_http_request_duration_seconds_count", labels),
      );
    });

    it("has cumulative latency buckets for every route", async () => {
      const all = samples((await call(`${server.url}/metrics`)).text);
      const series = new Map<string, number[]>();
      for (const [name, value] of all) {
        const m = /^tusk_http_request_duration_seconds_bucket\{(.*),le="[^"]+"\}$/.exec(name);
        if (m) series.set(m[1]!, [...(series.get(m[1]!) ?? []), value]);
      }
      expect(series.size).toBeGreaterThan(0);
      for (const [labels, values] of series) {
        for (let i = 1; i < values.length; i++) expect(values[i]!, labels).toBeGreaterThanOrEqual(values[i - 1]!);
      }
    });
  });

  describe("logs", () => {
    it("writes one JSON line per request on stdout, and only JSON lines", async () => {
      const marker = `/no-such-route-${randomBytes(4).toString("hex")}`;
      const requests: [string, string][] = [
        ["GET", marker],
        ["GET", "/healthz"],
        ["POST", "/cluster/sync"],
        ["POST", "/admission/validate"],
        ["GET", marker],
      ];
      const from = server.stdout().length;
      for (const [method, path] of requests) {
        await call(server.url + path, { method, body: method === "POST" ? "{}" : undefined });
      }
      // The previous test's last request may log after `from` was taken (Deno writes its stdout
      // asynchronously), so this test's lines start at its own first marker.
      const mine = () => {
        const lines = requestLines(server.stdout().slice(from));
        const first = lines.findIndex((l) => l.path === marker);
        return first < 0 ? [] : lines.slice(first);
      };
      await eventually(() => mine().length >= requests.length, "a log line for each request");
      await new Promise((r) => setTimeout(r, 200));
      for (const line of server
        .stdout()
        .split("\n")
        .filter((l) => l.trim() !== "")) {
        expect(() => JSON.parse(line), line).not.toThrow();
      }
      const lines = mine();
      expect(lines.map((l) => [l.method, l.path])).toEqual(requests);
      for (const line of lines) {
        expect(line.status).toBeTypeOf("number");
        expect(line.level).toBeTypeOf("string");
      }
    });

    it("never contains request bodies, even of malformed, refused or failed requests", async () => {
      const plain = SECRET;
      const encoded = Buffer.from(SECRET).toString("base64");
      for (const route of POST_ROUTES) {
        const { body, headers } = route.request(SECRET);
        await post(server.url + route.path, JSON.stringify(body), headers);
        for (const { body: bad } of MALFORMED) await post(server.url + route.path, bad);
      }
      await post(`${server.url}/cluster/sync`, `{"password":"${SECRET}","pad":"${"x".repeat(MAX_BODY_BYTES)}"}`);
      await post(`${server.url}/no-such-route`, `{"password":"${SECRET}"}`);
      await new Promise((r) => setTimeout(r, 200));
      const output = server.stdout() + server.stderr();
      expect(output).toContain('"msg":"request"');
      expect(output).not.toContain(plain);
      expect(output).not.toContain(encoded);
    });
  });
});
