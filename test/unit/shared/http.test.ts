import { describe, expect, it } from "vitest";
import * as z from "zod";
import { createApp, createMetrics, installErrorHandling, MAX_BODY_BYTES, readJson } from "../../../shared/http.ts";
import { COMMENT_LINE, SAMPLE_LINE, samples } from "../../contract/lib/http.ts";

const SECRET = "s3cr3t-in-the-body";

const Body = z.object({
  parent: z.object({ name: z.string(), replicas: z.number().int().min(1).default(1) }),
});

function testApp() {
  const lines: string[] = [];
  const metrics = createMetrics();
  const app = createApp({ metrics, log: (l) => lines.push(l) });
  app.post("/hook", async (c) => c.json(await readJson(c, Body)));
  app.post("/boom", () => {
    throw new Error("kaput");
  });
  app.post("/parse", async (c) => c.json(JSON.parse(await c.req.text())));
  app.get("/slow/:id", (c) => c.json({ id: c.req.param("id") }));
  const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { app, lines, logs, metrics };
}

async function send(app: ReturnType<typeof testApp>["app"], path: string, body: string, headers = {}) {
  const res = await app.request(path, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe("readJson", () => {
  it("returns the parsed body, with the schema's defaults", async () => {
    const { app } = testApp();
    const res = await send(app, "/hook", JSON.stringify({ parent: { name: "hippo" } }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ parent: { name: "hippo", replicas: 1 } });
  });

  it.each([
    ["truncated JSON", '{"parent": {'],
    ["not JSON", `password=${SECRET}`],
    ["an empty body", ""],
  ])("answers %s with 400 'not valid JSON'", async (_, body) => {
    const { app } = testApp();
    const res = await send(app, "/hook", body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: "request body is not valid JSON", problems: [] });
  });

  it("answers a body of the wrong shape with 400 naming each field", async () => {
    const { app } = testApp();
    const missing = await send(app, "/hook", "{}");
    expect(missing.status).toBe(400);
    expect(missing.json.problems).toEqual([{ field: "parent", message: "is required (object)" }]);
    expect(missing.json.error).toBe("request body does not match: parent: is required (object)");

    const nested = await send(app, "/hook", JSON.stringify({ parent: { name: 7, replicas: 0 } }));
    expect(nested.status).toBe(400);
    expect(nested.json.problems).toEqual([
      { field: "parent.name", message: "must be string" },
      { field: "parent.replicas", message: "must be >= 1" },
    ]);
    expect(nested.json.error).toBe(
      "request body does not match: parent.name: must be string; parent.replicas: must be >= 1",
    );
  });

  it("calls a problem with the whole body (root)", async () => {
    const { app } = testApp();
    const res = await send(app, "/hook", "[1, 2]");
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("request body does not match: (root): must be object");
  });

  it("never echoes the body in the error", async () => {
    const { app } = testApp();
    for (const body of [
      `{"parent": "${SECRET}"}`,
      `${SECRET}{`,
      JSON.stringify({ parent: { name: SECRET, replicas: SECRET } }),
    ]) {
      const res = await send(app, "/hook", body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.json)).not.toContain(SECRET);
    }
  });
});

describe("createApp", () => {
  it("refuses a body over MAX_BODY_BYTES with 413, by Content-Length or by counting a stream", async () => {
    const { app } = testApp();
    const big = "x".repeat(MAX_BODY_BYTES + 1);
    const declared = await send(app, "/hook", big, { "content-length": String(big.length) });
    expect(declared.status).toBe(413);
    expect(declared.json.error).toBe(`request body is larger than ${MAX_BODY_BYTES} bytes`);
    expect(declared.headers.get("connection")).toBeNull();

    const streamed = await send(app, "/hook", big);
    expect(streamed.status).toBe(413);
    // A cut-off stream leaves the connection unusable.
    expect(streamed.headers.get("connection")).toBe("close");
  });

  it("accepts a body of exactly MAX_BODY_BYTES", async () => {
    const { app } = testApp();
    const pad = "x".repeat(MAX_BODY_BYTES - JSON.stringify({ parent: { name: "" } }).length);
    const body = JSON.stringify({ parent: { name: pad } });
    expect(body.length).toBe(MAX_BODY_BYTES);
    const res = await send(app, "/hook", body, { "content-length": String(body.length) });
    expect(res.status).toBe(200);
  });

  it("answers an unknown route with 404 JSON naming method and path", async () => {
    const { app } = testApp();
    const res = await app.request("/nowhere?x=1", { method: "DELETE" });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no route for DELETE /nowhere" });
  });

  it("turns a thrown error into 500 'internal error', logged without the body", async () => {
    const { app, logs } = testApp();
    const res = await send(app, "/boom", JSON.stringify({ password: SECRET }));
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: "internal error" });
    expect(logs()).toContainEqual({ level: "error", msg: "unhandled error", path: "/boom", error: "Error: kaput" });
  });

  it("withholds JSON.parse's message, which quotes the body", async () => {
    const { app, lines } = testApp();
    const res = await send(app, "/parse", `password=${SECRET}`);
    expect(res.status).toBe(500);
    expect(lines.join("\n")).toContain("SyntaxError");
    expect(lines.join("\n")).not.toContain(SECRET);
  });

  it("logs one JSON line per request, with method, path, status and time, and never the body", async () => {
    const { app, logs, lines } = testApp();
    await send(app, "/hook", JSON.stringify({ parent: { name: SECRET } }));
    await send(app, "/hook", `{"parent": "${SECRET}"`);
    await app.request(`/slow/1?token=${SECRET}`);
    await send(app, "/hook", `"${SECRET}${"y".repeat(MAX_BODY_BYTES)}"`);
    const requests = logs().filter((l) => l.msg === "request");
    expect(requests.map((l) => [l.level, l.method, l.path, l.status])).toEqual([
      ["info", "POST", "/hook", 200],
      ["info", "POST", "/hook", 400],
      ["info", "GET", "/slow/1", 200],
      ["info", "POST", "/hook", 413],
    ]);
    for (const l of requests) expect(l.ms).toBeTypeOf("number");
    expect(lines.join("\n")).not.toContain(SECRET);
  });

  it("logs server errors at level error", async () => {
    const { app, logs } = testApp();
    await send(app, "/boom", "{}");
    expect(logs().find((l) => l.msg === "request")).toMatchObject({ level: "error", status: 500 });
  });

  it("counts requests by route pattern, not by concrete path", async () => {
    const { app, metrics } = testApp();
    await app.request("/slow/1");
    await app.request("/slow/2");
    await app.request("/nowhere");
    await send(app, "/hook", "{}");
    const all = samples(metrics.render());
    expect(all.get('tusk_http_requests_total{route="/slow/:id",method="GET",status="200"}')).toBe(2);
    expect(all.get('tusk_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(all.get('tusk_http_requests_total{route="/hook",method="POST",status="400"}')).toBe(1);
    expect(all.get('tusk_http_request_duration_seconds_count{route="/slow/:id",method="GET"}')).toBe(2);
  });
});

describe("installErrorHandling", () => {
  it("gives a bare Hono app the same 400, 404 and 500 answers", async () => {
    const { Hono } = await import("hono");
    const lines: string[] = [];
    const app = new Hono();
    installErrorHandling(app, (l) => lines.push(l));
    app.post("/x", async (c) => c.json(await readJson(c, Body)));
    app.post("/boom", () => {
      throw new Error("kaput");
    });
    expect((await app.request("/x", { method: "POST", body: "{" })).status).toBe(400);
    expect((await app.request("/y")).status).toBe(404);
    expect((await app.request("/boom", { method: "POST" })).status).toBe(500);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["unhandled error"]);
  });
});

describe("createMetrics", () => {
  it("renders only the metric headers before any request", () => {
    expect(createMetrics().render()).toBe(
      [
        "# HELP tusk_http_requests_total HTTP requests by route, method and status.",
        "# TYPE tusk_http_requests_total counter",
        "# HELP tusk_http_request_duration_seconds HTTP request latency by route.",
        "# TYPE tusk_http_request_duration_seconds histogram",
        "",
      ].join("\n"),
    );
  });

  it("counts by route, method and status and keeps one latency histogram per route and method", () => {
    const m = createMetrics();
    m.observe("/cluster/sync", "POST", 200, 0.003);
    m.observe("/cluster/sync", "POST", 200, 0.004);
    m.observe("/cluster/sync", "POST", 400, 0.2);
    const all = samples(m.render());
    const labels = 'route="/cluster/sync",method="POST"';
    expect(all.get(`tusk_http_requests_total{${labels},status="200"}`)).toBe(2);
    expect(all.get(`tusk_http_requests_total{${labels},status="400"}`)).toBe(1);
    expect(all.get(`tusk_http_request_duration_seconds_bucket{${labels},le="0.001"}`)).toBe(0);
    expect(all.get(`tusk_http_request_duration_seconds_bucket{${labels},le="0.005"}`)).toBe(2);
    expect(all.get(`tusk_http_request_duration_seconds_bucket{${labels},le="0.1"}`)).toBe(2);
    expect(all.get(`tusk_http_request_duration_seconds_bucket{${labels},le="0.25"}`)).toBe(3);
    expect(all.get(`tusk_http_request_duration_seconds_bucket{${labels},le="10"}`)).toBe(3);
    expect(all.get(`tusk_http_request_duration_seconds_bucket{${labels},le="+Inf"}`)).toBe(3);
    expect(all.get(`tusk_http_request_duration_seconds_count{${labels}}`)).toBe(3);
    expect(all.get(`tusk_http_request_duration_seconds_sum{${labels}}`)).toBeCloseTo(0.207, 10);
  });

  it("treats bucket bounds as inclusive (le) and puts slower requests only in +Inf", () => {
    const m = createMetrics();
    m.observe("/r", "GET", 200, 0.005);
    m.observe("/r", "GET", 200, 11);
    const all = samples(m.render());
    expect(all.get('tusk_http_request_duration_seconds_bucket{route="/r",method="GET",le="0.001"}')).toBe(0);
    expect(all.get('tusk_http_request_duration_seconds_bucket{route="/r",method="GET",le="0.005"}')).toBe(1);
    expect(all.get('tusk_http_request_duration_seconds_bucket{route="/r",method="GET",le="10"}')).toBe(1);
    expect(all.get('tusk_http_request_duration_seconds_bucket{route="/r",method="GET",le="+Inf"}')).toBe(2);
  });

  it("writes valid exposition lines with cumulative buckets", () => {
    const m = createMetrics();
    for (const [i, s] of [0.0005, 0.02, 0.3, 3, 0.0001, 7].entries()) m.observe(`/r${i % 2}`, "POST", 200 + i, s);
    const text = m.render();
    expect(text.endsWith("\n")).toBe(true);
    for (const line of text.split("\n").slice(0, -1)) {
      expect(line.startsWith("#") ? COMMENT_LINE.test(line) : SAMPLE_LINE.test(line), line).toBe(true);
    }
    for (const route of ["/r0", "/r1"]) {
      const buckets = [...samples(text)]
        .filter(([k]) => k.startsWith(`tusk_http_request_duration_seconds_bucket{route="${route}"`))
        .map(([, v]) => v);
      expect(buckets.length).toBe(13);
      expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
      expect(buckets.at(-1)).toBe(3);
    }
  });

  it("renders the same text whatever the order of observation", () => {
    const events: [string, string, number, number][] = [
      ["/b", "POST", 200, 0.01],
      ["/a", "GET", 200, 0.5],
      ["/a", "GET", 404, 0.002],
      ["/c", "POST", 400, 2],
    ];
    const one = createMetrics();
    const two = createMetrics();
    for (const e of events) one.observe(...e);
    for (const e of [...events].reverse()) two.observe(...e);
    expect(two.render()).toBe(one.render());
  });
});
