import { describe, expect, it } from "vitest";
import { app } from "../../../functions/admission/app.ts";
import { createServer } from "../../../functions/server.ts";
import { cluster, compatClusters, review } from "./fixtures.ts";

const post = (target: { request: typeof app.request }, path: string, body: unknown) =>
  target.request(path, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });

describe("POST /admission/validate", () => {
  it("answers an AdmissionReview with the same uid, through the combined server", async () => {
    const server = createServer({ functions: ["admission"], log: () => {} });
    const res = await post(server, "/admission/validate", review({ object: cluster(), uid: "abc-123" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.json()).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "abc-123", allowed: true },
    });
  });

  it("answers a refusal with status 200 and allowed false (the API server reads the review, not the HTTP status)", async () => {
    const res = await post(app, "/validate", review({ object: cluster({ users: [{ name: "rewinder" }] }), uid: "u" }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toMatch(/^spec\.users\[0\]\.name: "rewinder" is reserved/);
  });

  it("allows every compat manifest over HTTP", async () => {
    for (const { object } of compatClusters()) {
      const res = await post(app, "/validate", review({ object }));
      expect(((await res.json()) as any).response.allowed).toBe(true);
    }
  });

  it.each([
    ["not JSON", "{", /not valid JSON/],
    ["not a review", { hello: "world" }, /apiVersion.*kind.*request/],
    [
      "an old review version",
      { apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", request: {} },
      /apiVersion/,
    ],
    [
      "a review without uid",
      { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { kind: {}, operation: "CREATE" } },
      /request\.uid/,
    ],
    [
      "an unknown operation",
      {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: { uid: "u", kind: { group: "", version: "v1", kind: "X" }, operation: "PATCH" },
      },
      /request\.operation/,
    ],
  ])("answers %s with 400 naming what is wrong", async (_what, body, message) => {
    const res = await post(app, "/validate", body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatch(message);
  });
});
