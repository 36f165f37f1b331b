import { describe, expect, it } from "vitest";
import { parsePingEvent } from "../../../functions/scheduler/cloudevent.ts";

const DATA = { cluster: "hippo", namespace: "db", repoName: "repo2", type: "full" };
const BINARY = {
  "ce-specversion": "1.0",
  "ce-id": "49f04fe2-7708-453d-ae0a-5fbaca9586a8",
  "ce-source": "/apis/v1/namespaces/db/pingsources/hippo-repo2-full",
  "ce-type": "dev.knative.sources.ping",
  "ce-time": "2026-09-06T01:00:00.412Z",
  "content-type": "application/json",
};
const STRUCTURED = {
  specversion: "1.0",
  id: "e1",
  source: "/apis/v1/namespaces/db/pingsources/hippo-repo2-full",
  type: "dev.knative.sources.ping",
  time: "2026-09-06T01:00:00Z",
  datacontenttype: "application/json",
};
const structured = { "content-type": "application/cloudevents+json; charset=utf-8" };

const parse = (headers: Record<string, string>, body: unknown) =>
  parsePingEvent(new Headers(headers), typeof body === "string" ? body : JSON.stringify(body));

describe("parsePingEvent", () => {
  it("reads a binary-mode PingSource event", () => {
    expect(parse(BINARY, DATA)).toEqual({
      ok: true,
      event: {
        id: BINARY["ce-id"],
        source: BINARY["ce-source"],
        type: BINARY["ce-type"],
        time: BINARY["ce-time"],
        data: DATA,
      },
    });
  });

  it("reads a structured-mode event with data as an object, a JSON string, or base64", () => {
    for (const data of [
      { data: DATA },
      { data: JSON.stringify(DATA) },
      { data_base64: Buffer.from(JSON.stringify(DATA)).toString("base64") },
    ]) {
      const r = parse(structured, { ...STRUCTURED, ...data });
      expect(r.ok && r.event).toMatchObject({ id: "e1", time: "2026-09-06T01:00:00Z", data: DATA });
    }
  });

  it("names every missing header and data field at once", () => {
    const r = parse({}, {});
    expect(r.ok).toBe(false);
    const fields = !r.ok ? r.problems.map((p) => p.field) : [];
    expect(fields).toEqual(
      expect.arrayContaining([
        "ce-specversion",
        "ce-id",
        "ce-source",
        "ce-type",
        "ce-time",
        "cluster",
        "namespace",
        "repoName",
        "type",
      ]),
    );
  });

  it.each([
    ["a body that is not JSON", BINARY, "{", "body"],
    ["an empty body", BINARY, "", "body"],
    ["a JSON array", BINARY, [DATA], "data"],
    ["null", BINARY, "null", "data"],
    ["an unknown backup type", BINARY, { ...DATA, type: "weekly" }, "type"],
    ["a repo outside repo1-4", BINARY, { ...DATA, repoName: "repo5" }, "repoName"],
    ["a cluster name that is not a Kubernetes name", BINARY, { ...DATA, cluster: "Hippo_DB" }, "cluster"],
    ["a time that is not RFC 3339", { ...BINARY, "ce-time": "yesterday" }, DATA, "ce-time"],
    ["another specversion", { ...BINARY, "ce-specversion": "0.3" }, DATA, "ce-specversion"],
    [
      "a PingSource asking for another namespace",
      { ...BINARY, "ce-source": "/apis/v1/namespaces/other/pingsources/x" },
      DATA,
      "namespace",
    ],
  ])("refuses %s, naming %s", (_, headers, body, field) => {
    const r = parse(headers, body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems.map((p) => p.field)).toContain(field);
  });

  it("refuses structured events that are not objects or carry no data", () => {
    for (const body of ["[]", "{", JSON.stringify(STRUCTURED), JSON.stringify({ ...STRUCTURED, data_base64: "!!!" })]) {
      expect(parse(structured, body).ok).toBe(false);
    }
  });
});
