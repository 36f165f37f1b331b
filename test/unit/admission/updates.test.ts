/**
 * What admission says about an update that would lose something: refused when it cannot be
 * right (a data source added to an existing cluster), warned when a person should know before
 * the hook acts (a renamed instance set, a backup repository removed without confirmation).
 */
import { describe, expect, it } from "vitest";
import { cluster, fields, validate, volume } from "./fixtures.ts";

const update = (object: Record<string, unknown>, oldObject: Record<string, unknown>) =>
  validate({ operation: "UPDATE", object, oldObject });

describe("cluster updates", () => {
  it("refuses a data source added to an existing cluster, naming the field", () => {
    const was = cluster();
    const now = cluster({ dataSource: { postgresCluster: { clusterName: "other", repoName: "repo1" } } });
    const response = update(now, was);
    expect(response.allowed).toBe(false);
    expect(fields(response)).toContain("spec.dataSource");
  });

  it("warns that renaming an instance set replaces its instances", () => {
    const was = cluster();
    const now = cluster({ instances: [{ name: "renamed", replicas: 2, dataVolumeClaimSpec: volume("10Gi") }] });
    const response = update(now, was);
    expect(response.allowed).toBe(true);
    expect(response.warnings?.join("\n")).toContain("instance set(s) instance1 go and renamed come");
  });

  it("warns that a removed repository holds the cluster until confirmed, and not once confirmed", () => {
    const was = cluster();
    const now = cluster({ backups: undefined });
    const unconfirmed = update(now, was);
    expect(unconfirmed.allowed).toBe(true);
    expect(unconfirmed.warnings?.join("\n")).toContain("spec.backups: removes repo1");
    const confirmed = update(
      cluster(
        { backups: undefined },
        { annotations: { "postgres-operator.crunchydata.com/authorizeBackupRemoval": "true" } },
      ),
      was,
    );
    expect(confirmed.warnings?.join("\n") ?? "").not.toContain("removes repo1");
    // PGO's annotation is honoured, so it is not reported as one Tusk ignores.
    expect(confirmed.warnings?.join("\n") ?? "").not.toContain("authorizeBackupRemoval is PGO's");
  });

  it("refuses an UPDATE that carries no stored object instead of judging it as a create", () => {
    const response = validate({ operation: "UPDATE", object: cluster() });
    expect(response.allowed).toBe(false);
    expect(fields(response)).toContain("oldObject");
  });
});

describe("volume claim specs", () => {
  it("refuses an access mode Kubernetes does not know, naming its index", () => {
    const bad = { accessModes: ["ReadWriteOnse"], resources: { requests: { storage: "1Gi" } } };
    const response = validate({
      object: cluster({ instances: [{ name: "a", replicas: 1, dataVolumeClaimSpec: bad }] }),
    });
    expect(response.allowed).toBe(false);
    expect(fields(response)).toContain("spec.instances[0].dataVolumeClaimSpec.accessModes[0]");
  });

  it("refuses a negative size", () => {
    const response = validate({
      object: cluster({ instances: [{ name: "a", replicas: 1, dataVolumeClaimSpec: volume("-1Gi") }] }),
    });
    expect(response.allowed).toBe(false);
    expect(fields(response)).toContain("spec.instances[0].dataVolumeClaimSpec.resources.requests.storage");
  });
});
