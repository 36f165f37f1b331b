/**
 * Real AdmissionReview requests, as the API server sends them, for the admission tests.
 */
import { expect } from "vitest";
import { validateAdmission } from "../../../functions/admission/validate.ts";
import type { AdmissionReview, AdmissionReviewResponse } from "../../../shared/admission-review.ts";

export type Kind = "PostgresCluster" | "PostgresBackup" | "PostgresRestore";
type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
type Json = Record<string, any>;

const RESOURCES: Record<Kind, string> = {
  PostgresCluster: "postgresclusters",
  PostgresBackup: "postgresbackups",
  PostgresRestore: "postgresrestores",
};

export interface ReviewInput {
  kind?: Kind | { group: string; version: string; kind: string };
  operation?: Operation;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  uid?: string;
  subResource?: string;
}

let counter = 0;

export function review(input: ReviewInput): AdmissionReview {
  const kind =
    typeof input.kind === "object"
      ? input.kind
      : { group: "postgres.tusk.dev", version: "v1", kind: input.kind ?? "PostgresCluster" };
  const operation = input.operation ?? "CREATE";
  const obj = (operation === "DELETE" ? input.oldObject : input.object) as Json | undefined;
  const optionsKind = { CREATE: "CreateOptions", UPDATE: "UpdateOptions", DELETE: "DeleteOptions", CONNECT: "" };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: input.uid ?? `705ab4f5-6393-11e8-b7cc-42010a8000${String(counter++ % 100).padStart(2, "0")}`,
      kind,
      resource: { group: kind.group, version: kind.version, resource: RESOURCES[kind.kind as Kind] ?? "unknown" },
      requestKind: kind,
      ...(input.subResource ? { subResource: input.subResource } : {}),
      name: obj?.metadata?.name ?? "",
      namespace: "db",
      operation,
      userInfo: { username: "admin", uid: "014fbff9a07c", groups: ["system:authenticated"] },
      object: operation === "DELETE" ? null : (input.object ?? null),
      oldObject: input.oldObject ?? null,
      dryRun: input.dryRun ?? false,
      options: { apiVersion: "meta.k8s.io/v1", kind: optionsKind[operation] },
    },
  } as AdmissionReview;
}

/** A minimal valid cluster; `spec` entries replace the defaults. */
export function cluster(spec: Json = {}, metadata: Json = {}): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresCluster",
    metadata: { name: "hippo", namespace: "db", uid: "c0ffee", generation: 1, ...metadata },
    spec: {
      postgresVersion: 17,
      instances: [{ name: "instance1", replicas: 2, dataVolumeClaimSpec: volume("10Gi") }],
      backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: volume("10Gi") } }] } },
      ...spec,
    },
  };
}

export function volume(storage: string | number, extra: Json = {}): Json {
  return { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } }, ...extra };
}

export function backup(spec: Json = {}, metadata: Json = {}): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresBackup",
    metadata: { name: "hippo-backup-1", namespace: "db", ...metadata },
    spec: { cluster: "hippo", repoName: "repo1", type: "full", ...spec },
  };
}

export function restore(spec: Json = {}, metadata: Json = {}): Json {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresRestore",
    metadata: { name: "hippo-restore-1", namespace: "db", ...metadata },
    spec: { cluster: "hippo", repoName: "repo1", ...spec },
  };
}

export function validate(input: ReviewInput): AdmissionReviewResponse["response"] {
  const r = review(input);
  const answer = validateAdmission(r);
  expectWellFormed(answer, r.request.uid);
  return answer.response;
}

/** The shape the API server checks before it trusts an answer. */
export function expectWellFormed(answer: AdmissionReviewResponse, uid: string): void {
  expect(answer.apiVersion).toBe("admission.k8s.io/v1");
  expect(answer.kind).toBe("AdmissionReview");
  expect(answer.response.uid).toBe(uid);
  expect(typeof answer.response.allowed).toBe("boolean");
  if (!answer.response.allowed) {
    const status = answer.response.status!;
    expect(status.code).toBe(422);
    expect(status.status).toBe("Failure");
    expect(status.reason).toBe("Invalid");
    expect(status.details!.causes.length).toBeGreaterThan(0);
    for (const cause of status.details!.causes) {
      expect(cause.field).not.toBe("");
      expect(status.message).toContain(`${cause.field}: ${cause.message}`);
      expect([
        "FieldValueInvalid",
        "FieldValueRequired",
        "FieldValueNotSupported",
        "FieldValueDuplicate",
        "FieldValueForbidden",
      ]).toContain(cause.reason);
    }
  }
  for (const w of answer.response.warnings ?? []) {
    expect(w.length).toBeLessThanOrEqual(120);
    expect(w).toMatch(/^[\x20-\x7e]+$/);
  }
  expect((answer.response.warnings ?? []).length).toBeLessThanOrEqual(20);
}

/** The fields named in a refusal, in order. */
export function fields(response: AdmissionReviewResponse["response"]): string[] {
  return response.status?.details?.causes.map((c) => c.field) ?? [];
}

/** The PGO-compatibility fixtures (test/fixtures/compat/), read by one helper shared with the cluster tests. */
export { compatClusters } from "../../fixtures/compat.ts";

/** JSON round trip, as the API server would send it (no undefined, no shared references). */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
