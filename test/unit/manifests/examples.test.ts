/**
 * Each example in manifests/examples/ is admitted by the real admission webhook (CREATE in the
 * namespace the README uses), without a warning that it holds a field Tusk drops or ignores.
 */
import { describe, expect, it } from "vitest";
import { EXAMPLE_NAMESPACE, examples, post, resourceOfKind } from "./hooks.ts";

const all = examples();

describe("manifests/examples/", () => {
  it("has the documented examples", () => {
    const shapes = all.map((e) => e.kind);
    expect(shapes.filter((k) => k === "PostgresCluster").length).toBeGreaterThanOrEqual(4);
    const clusters = all.filter((e) => e.kind === "PostgresCluster");
    const ha = clusters.find((c) => c.spec.instances.some((i: any) => i.replicas === 2));
    expect(ha, "an HA cluster: primary + one replica").toBeDefined();
    const repos = ha!.spec.backups.pgbackrest.repos;
    expect(repos.some((r: any) => r.volume) && repos.some((r: any) => r.s3), "backups to a volume and to S3").toBe(
      true,
    );
    expect(ha!.spec.proxy.pgBouncer).toBeDefined();
    expect(ha!.spec.monitoring.pgmonitor.exporter).toBeDefined();
    expect(
      clusters.some((c) => c.spec.dataSource?.postgresCluster),
      "a clone",
    ).toBe(true);
    expect(
      clusters.some((c) => c.spec.standby?.enabled),
      "a standby",
    ).toBe(true);
    expect(all.some((e) => e.kind === "PostgresBackup")).toBe(true);
    expect(
      all.some((e) => e.kind === "PostgresRestore" && e.spec.target?.type === "time"),
      "a PITR restore",
    ).toBe(true);
  });

  it.each(all.map((e) => [`${e.kind} ${e.metadata.name}`, e]))(
    "%s passes the admission webhook",
    async (_name, example) => {
      const uid = `uid-${example.metadata.name}`;
      const { metadata } = example;
      const object = {
        ...example,
        metadata: { name: metadata.name, namespace: EXAMPLE_NAMESPACE, annotations: metadata.annotations },
      };
      const res = await post("/admission/validate", {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid,
          kind: { group: "postgres.tusk.dev", version: "v1", kind: example.kind },
          resource: { group: "postgres.tusk.dev", version: "v1", resource: resourceOfKind(example.kind) },
          requestKind: { group: "postgres.tusk.dev", version: "v1", kind: example.kind },
          name: metadata.name,
          namespace: EXAMPLE_NAMESPACE,
          operation: "CREATE",
          userInfo: { username: "alice", groups: ["system:authenticated"] },
          object,
          oldObject: null,
          dryRun: false,
          options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
        },
      });
      expect(res.status).toBe(200);
      expect(res.body.response.uid).toBe(uid);
      expect(res.body.response.status?.message, "refusal").toBeUndefined();
      expect(res.body.response.allowed).toBe(true);
      const ignored = (res.body.response.warnings ?? []).filter((w: string) =>
        /unknown field|not acted on|dropped/i.test(w),
      );
      expect(ignored).toEqual([]);
    },
  );
});
