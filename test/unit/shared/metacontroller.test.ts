import { describe, expect, it } from "vitest";
import { zodProblems } from "../../../shared/field-path.ts";
import {
  CustomizeRequest,
  groupKey,
  KubeObject,
  type ObjectMap,
  observedOf,
  SyncRequest,
} from "../../../shared/metacontroller.ts";
import { backupSyncRequest, clusterSyncRequest } from "../../contract/lib/fixtures.ts";

const parent = { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresCluster", metadata: { name: "hippo" } };

function problems(schema: typeof SyncRequest | typeof CustomizeRequest, value: unknown) {
  const parsed = schema.safeParse(value);
  return parsed.success ? [] : zodProblems(parsed.error);
}

describe("SyncRequest", () => {
  it("fills Metacontroller's optional parts: no children, no related, not finalizing", () => {
    expect(SyncRequest.parse({ parent })).toEqual({ parent, children: {}, related: {}, finalizing: false });
  });

  it("parses a full steady-state request and keeps every field it does not name", () => {
    const request = clusterSyncRequest("x");
    const parsed = SyncRequest.parse(request);
    expect(parsed).toEqual(request);
    expect((parsed.parent.metadata as Record<string, unknown>).resourceVersion).toBe("48211");
    expect(parsed.children["StatefulSet.apps/v1"]?.["hippo-ha-pgha1-0"]).toMatchObject({ kind: "StatefulSet" });
    expect(SyncRequest.parse(backupSyncRequest("x")).related).toEqual(backupSyncRequest("x").related);
  });

  it("reads the finalize flag", () => {
    expect(SyncRequest.parse(clusterSyncRequest("x", true)).finalizing).toBe(true);
  });

  it("names what is missing or malformed", () => {
    expect(problems(SyncRequest, {})).toEqual([{ field: "parent", message: "is required (object)" }]);
    expect(problems(SyncRequest, { parent: { ...parent, metadata: {} } })).toEqual([
      { field: "parent.metadata.name", message: "is required (string)" },
    ]);
    expect(problems(SyncRequest, { parent, finalizing: "yes" })).toEqual([
      { field: "finalizing", message: "must be boolean" },
    ]);
    expect(problems(SyncRequest, { parent, children: { "Secret.v1": { a: 5 } } })).toEqual([
      { field: "children.Secret.v1.a", message: "must be object" },
    ]);
  });
});

describe("CustomizeRequest", () => {
  it("needs only the parent", () => {
    expect(CustomizeRequest.parse({ controller: {}, parent })).toEqual({ controller: {}, parent });
    expect(problems(CustomizeRequest, { controller: {} })).toEqual([
      { field: "parent", message: "is required (object)" },
    ]);
  });
});

describe("KubeObject", () => {
  it("requires apiVersion, kind and metadata.name and keeps the rest", () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", uid: "u" }, data: { a: "Yg==" } };
    expect(KubeObject.parse(secret)).toEqual(secret);
    expect(KubeObject.safeParse({ kind: "Secret", metadata: { name: "s" } }).success).toBe(false);
  });
});

describe("groupKey and observedOf", () => {
  it("key a child group by Kind.apiVersion, bare version for the core group", () => {
    expect(groupKey("Secret", "v1")).toBe("Secret.v1");
    expect(groupKey("StatefulSet", "apps/v1")).toBe("StatefulSet.apps/v1");
    expect(groupKey("PingSource", "sources.knative.dev/v1")).toBe("PingSource.sources.knative.dev/v1");
  });

  it("return the observed objects of one kind by name, or none", () => {
    const map: ObjectMap = { "Secret.v1": { a: { kind: "Secret" } }, "Service.v1": {} };
    expect(observedOf(map, "Secret", "v1")).toEqual({ a: { kind: "Secret" } });
    expect(observedOf(map, "Service", "v1")).toEqual({});
    expect(observedOf(map, "Job", "batch/v1")).toEqual({});
    expect(observedOf(map, "Secret", "apps/v1")).toEqual({});
  });
});
