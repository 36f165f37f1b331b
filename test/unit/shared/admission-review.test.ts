import { describe, expect, it } from "vitest";
import { AdmissionReview, reviewResponse } from "../../../shared/admission-review.ts";
import { zodProblems } from "../../../shared/field-path.ts";
import { admissionReview } from "../../contract/lib/fixtures.ts";

function problems(value: unknown) {
  const parsed = AdmissionReview.safeParse(value);
  return parsed.success ? [] : zodProblems(parsed.error);
}

const review = () => admissionReview("x");

describe("AdmissionReview", () => {
  it("parses what the API server sends, keeping fields it does not name", () => {
    const parsed = AdmissionReview.parse(review());
    expect(parsed).toEqual(review());
    expect((parsed.request as Record<string, unknown>).requestKind).toEqual(review().request.requestKind);
  });

  it("accepts a DELETE, whose object is null", () => {
    const r = review();
    const del = { ...r, request: { ...r.request, operation: "DELETE", object: null, oldObject: r.request.object } };
    expect(problems(del)).toEqual([]);
  });

  it("accepts only admission.k8s.io/v1", () => {
    expect(problems({ ...review(), apiVersion: "admission.k8s.io/v1beta1" })).toEqual([
      { field: "apiVersion", message: 'must be one of "admission.k8s.io/v1"' },
    ]);
  });

  it("needs a non-empty uid to echo back and a known operation", () => {
    const r = review();
    expect(problems({ ...r, request: { ...r.request, uid: "" } })).toEqual([
      { field: "request.uid", message: "must be at least 1 character(s)" },
    ]);
    expect(problems({ ...r, request: { ...r.request, operation: "PATCH" } })).toEqual([
      { field: "request.operation", message: 'must be one of "CREATE", "UPDATE", "DELETE", "CONNECT"' },
    ]);
  });

  it("names the missing request", () => {
    expect(problems({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" })).toEqual([
      { field: "request", message: "is required (object)" },
    ]);
  });
});

describe("reviewResponse", () => {
  it("wraps a response in an admission.k8s.io/v1 AdmissionReview", () => {
    const response = { uid: "705ab4f5", allowed: false, status: { code: 422, message: "no" }, warnings: ["w"] };
    expect(reviewResponse(response)).toEqual({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
  });
});
