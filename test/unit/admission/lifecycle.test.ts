import { describe, expect, it } from "vitest";
import { validateAdmission } from "../../../functions/admission/validate.ts";
import { backup, clone, cluster, expectWellFormed, fields, restore, review, validate, volume } from "./fixtures.ts";

type Json = Record<string, any>;

const update = (
  oldObject: Json,
  change: (o: Json) => void,
  kind?: "PostgresCluster" | "PostgresBackup" | "PostgresRestore",
) => {
  const object = clone(oldObject);
  change(object);
  return validate({ operation: "UPDATE", object, oldObject, ...(kind ? { kind } : {}) });
};

describe("UPDATE of a PostgresCluster", () => {
  const stored = () =>
    cluster({
      instances: [
        {
          name: "a",
          replicas: 2,
          dataVolumeClaimSpec: volume("10Gi", { storageClassName: "fast" }),
          walVolumeClaimSpec: volume("2Gi"),
        },
        { name: "b", dataVolumeClaimSpec: volume("10Gi") },
      ],
    });

  it("allows metadata-only changes: Metacontroller's finalizer, labels, annotations", () => {
    expect(update(stored(), (o) => (o.metadata.finalizers = ["metacontroller.io/compositecontroller-tusk"]))).toEqual({
      uid: expect.any(String),
      allowed: true,
    });
    expect(update(stored(), (o) => (o.metadata.labels = { team: "a" })).allowed).toBe(true);
  });

  it("allows anything on an object being deleted", () => {
    const response = update(stored(), (o) => {
      o.metadata.deletionTimestamp = "2026-01-02T03:04:05Z";
      o.spec.postgresVersion = 18;
      o.spec.instances[0].dataVolumeClaimSpec.resources.requests.storage = "1Gi";
    });
    expect(response.allowed).toBe(true);
  });

  it.each([
    ["grow storage", (o: Json) => (o.spec.instances[0].dataVolumeClaimSpec.resources.requests.storage = "20Gi")],
    [
      "same size in other units",
      (o: Json) => (o.spec.instances[0].dataVolumeClaimSpec.resources.requests.storage = "10240Mi"),
    ],
    ["grow the WAL volume", (o: Json) => (o.spec.instances[0].walVolumeClaimSpec.resources.requests.storage = "2.5Gi")],
    ["scale", (o: Json) => (o.spec.instances[0].replicas = 3)],
    ["add an instance set", (o: Json) => o.spec.instances.push({ name: "c", dataVolumeClaimSpec: volume("1Gi") })],
    ["remove an instance set", (o: Json) => o.spec.instances.pop()],
    ["reorder instance sets", (o: Json) => o.spec.instances.reverse()],
    [
      "grow the repo volume",
      (o: Json) => (o.spec.backups.pgbackrest.repos[0].volume.volumeClaimSpec.resources.requests.storage = "1Ti"),
    ],
  ])("allows: %s", (_what, change) => {
    const response = update(stored(), change);
    expect(response.status?.message).toBeUndefined();
    expect(response.allowed).toBe(true);
  });

  it.each([
    [
      "shrink data storage",
      (o: Json) => (o.spec.instances[0].dataVolumeClaimSpec.resources.requests.storage = "10000Mi"),
      "spec.instances[0].dataVolumeClaimSpec.resources.requests.storage",
      /cannot shrink from "10Gi" to "10000Mi": volumes can only grow/,
    ],
    [
      "shrink WAL storage of a reordered set",
      (o: Json) => {
        o.spec.instances.reverse();
        o.spec.instances[1].walVolumeClaimSpec.resources.requests.storage = "1Gi";
      },
      "spec.instances[1].walVolumeClaimSpec.resources.requests.storage",
      /cannot shrink/,
    ],
    [
      "shrink the repo volume",
      (o: Json) => (o.spec.backups.pgbackrest.repos[0].volume.volumeClaimSpec.resources.requests.storage = "5Gi"),
      "spec.backups.pgbackrest.repos[0].volume.volumeClaimSpec.resources.requests.storage",
      /cannot shrink/,
    ],
    [
      "change postgresVersion",
      (o: Json) => (o.spec.postgresVersion = 18),
      "spec.postgresVersion",
      /cannot change from 17 to 18: a major upgrade needs its own procedure, which is not available yet/,
    ],
    [
      "change the storage class",
      (o: Json) => (o.spec.instances[0].dataVolumeClaimSpec.storageClassName = "slow"),
      "spec.instances[0].dataVolumeClaimSpec.storageClassName",
      /cannot change from "fast" to "slow"/,
    ],
    [
      "drop the storage class",
      (o: Json) => delete o.spec.instances[0].dataVolumeClaimSpec.storageClassName,
      "spec.instances[0].dataVolumeClaimSpec.storageClassName",
      /"fast" to "\(default\)"/,
    ],
    [
      "remove the WAL volume",
      (o: Json) => delete o.spec.instances[0].walVolumeClaimSpec,
      "spec.instances[0].walVolumeClaimSpec",
      /cannot be removed/,
    ],
    [
      "add a WAL volume",
      (o: Json) => (o.spec.instances[1].walVolumeClaimSpec = volume("1Gi")),
      "spec.instances[1].walVolumeClaimSpec",
      /cannot be added/,
    ],
  ])("refuses: %s", (_what, change, field, message) => {
    const response = update(stored(), change);
    expect(fields(response)).toEqual([field]);
    expect(response.status!.details!.causes[0]!.reason).toBe("FieldValueForbidden");
    expect(response.status!.message).toMatch(message);
  });

  it("refuses moving an unnamed instance set (its name comes from its position) and allows naming it", () => {
    const old = cluster({ instances: [{ dataVolumeClaimSpec: volume("1Gi") }] });
    const moved = update(old, (o) => o.spec.instances.unshift({ name: "new", dataVolumeClaimSpec: volume("1Gi") }));
    expect(fields(moved)).toEqual(["spec.instances[1].name"]);
    expect(moved.status!.message).toMatch(/renames it from 00 to 01 .* name it "00" to keep them/);
    const named = update(old, (o) => {
      o.spec.instances[0].name = "00";
      o.spec.instances.unshift({ name: "new", dataVolumeClaimSpec: volume("1Gi") });
    });
    expect(named.allowed).toBe(true);
  });

  it("judges the new spec with the create rules too", () => {
    const response = update(stored(), (o) => (o.spec.config = { parameters: { port: 1 } }));
    expect(fields(response)).toEqual(["spec.config.parameters[port]"]);
  });

  it("reports problems the stored object already had as warnings, not refusals (ratcheting)", () => {
    const old = stored();
    old.spec.backups.pgbackrest.repos[0].schedules = { full: "0 0 L * *" };
    const response = update(old, (o) => (o.spec.instances[0].replicas = 3));
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual([
      expect.stringMatching(/^spec\.backups\.pgbackrest\.repos\[0\]\.schedules\.full: already invalid: "0 0 L \* \*"/),
    ]);
    // A new problem next to the old one is still refused.
    const worse = update(old, (o) => (o.spec.users = [{ name: "pgbouncer" }]));
    expect(fields(worse)).toEqual(["spec.users[0].name"]);
  });

  it("refuses starting a restore while the stored status says one is running", () => {
    const old = stored();
    old.metadata.annotations = { "postgres.tusk.dev/pgbackrest-restore": "first" };
    old.status = {
      conditions: [
        {
          type: "Restoring",
          status: "True",
          reason: "RestoreRunning",
          message: "PostgresRestore hippo-restore-1 is restoring",
        },
      ],
    };
    const response = update(old, (o) => (o.metadata.annotations["postgres.tusk.dev/pgbackrest-restore"] = "second"));
    expect(fields(response)).toEqual(["metadata.annotations[postgres.tusk.dev/pgbackrest-restore]"]);
    expect(response.status!.message).toMatch(/already running \(PostgresRestore hippo-restore-1 is restoring\)/);
  });

  it("allows a restore trigger when no restore runs, and other writes while one runs", () => {
    const old = stored();
    old.status = { conditions: [{ type: "Restoring", status: "False", reason: "Done", message: "" }] };
    expect(update(old, (o) => (o.metadata.annotations = { "postgres.tusk.dev/pgbackrest-restore": "1" })).allowed).toBe(
      true,
    );
    old.status.conditions[0].status = "True";
    old.metadata.annotations = { "postgres.tusk.dev/pgbackrest-restore": "1" };
    expect(update(old, (o) => (o.metadata.finalizers = ["x"])).allowed).toBe(true);
    expect(update(old, (o) => (o.spec.instances[0].replicas = 1)).allowed).toBe(true);
  });
});

describe("DELETE", () => {
  it("refuses deleting a protected cluster and says how to unprotect it", () => {
    const old = cluster({}, { annotations: { "postgres.tusk.dev/deletion-protection": "true" } });
    const response = validate({ operation: "DELETE", oldObject: old });
    expect(response.allowed).toBe(false);
    expect(response.status!.details!.causes).toEqual([
      {
        reason: "FieldValueForbidden",
        field: "metadata.annotations[postgres.tusk.dev/deletion-protection]",
        message: expect.stringMatching(/remove the annotation/),
      },
    ]);
  });

  it.each([
    ["no annotation", cluster()],
    ["protection off", cluster({}, { annotations: { "postgres.tusk.dev/deletion-protection": "false" } })],
    ["no stored object", null],
  ])("allows deleting a cluster with %s", (_what, old) => {
    expect(validate({ operation: "DELETE", oldObject: old }).allowed).toBe(true);
  });

  it("allows deleting backups and restores (deleting a running restore cancels it)", () => {
    expect(validate({ operation: "DELETE", kind: "PostgresBackup", oldObject: backup() }).allowed).toBe(true);
    expect(validate({ operation: "DELETE", kind: "PostgresRestore", oldObject: restore() }).allowed).toBe(true);
  });
});

describe("PostgresBackup", () => {
  it("allows a plain backup and allow-listed options", () => {
    expect(
      validate({
        kind: "PostgresBackup",
        object: backup({ type: "incr", options: ["--start-fast", "--process-max=2"] }),
      }),
    ).toEqual({
      uid: expect.any(String),
      allowed: true,
    });
  });

  it.each([
    [{ repoName: "repo5" }, "spec.repoName", "FieldValueInvalid"],
    [{ type: "weekly" }, "spec.type", "FieldValueNotSupported"],
    [{ cluster: "" }, "spec.cluster", "FieldValueInvalid"],
    [{ cluster: "Hippo_DB" }, "spec.cluster", "FieldValueInvalid"],
    [{ options: ["--type=diff"] }, "spec.options[0]", "FieldValueForbidden"],
    [{ options: ["--repo2-path=/x"] }, "spec.options[0]", "FieldValueForbidden"],
    [{ options: ["--start-fast && curl evil"] }, "spec.options[0]", "FieldValueInvalid"],
  ])("refuses %j", (spec, field, reason) => {
    const response = validate({ kind: "PostgresBackup", object: backup(spec) });
    expect(response.status!.details!.causes.map((c) => [c.field, c.reason])).toEqual([[field, reason]]);
  });

  it("refuses a spec change and allows a status or label change", () => {
    const old = backup();
    const changed = update(old, (o) => (o.spec.type = "diff"), "PostgresBackup");
    expect(fields(changed)).toEqual(["spec"]);
    expect(changed.status!.message).toMatch(/immutable once created; create a new PostgresBackup/);
    expect(update(old, (o) => (o.status = { phase: "Running" }), "PostgresBackup").allowed).toBe(true);
    expect(update(old, (o) => (o.metadata.labels = { a: "b" }), "PostgresBackup").allowed).toBe(true);
  });

  it("warns about unknown spec fields (Kubernetes drops them)", () => {
    expect(validate({ kind: "PostgresBackup", object: backup({ method: "pgbackrest" }) }).warnings).toEqual([
      "spec.method: unknown field, dropped by Kubernetes",
    ]);
  });
});

describe("PostgresRestore", () => {
  it.each([
    [{}],
    [{ target: { type: "latest" } }],
    [{ target: { type: "immediate" }, backupSet: "20260102-030405F" }],
    [{ target: { type: "time", value: "2026-01-02 15:04:05+00" } }],
    [{ target: { type: "time", value: "2026-01-02T15:04:05Z" }, options: ["--delta", "--target-exclusive"] }],
    [{ target: { type: "lsn", value: "0/3000060" } }],
    [{ target: { type: "xid", value: "123456" } }],
    [{ target: { type: "name", value: "before-migration" } }],
    [{ backupSet: "20260102-030405F_20260103-030405I" }],
  ])("allows %j", (spec) => {
    const response = validate({ kind: "PostgresRestore", object: restore(spec) });
    expect(response.status?.message).toBeUndefined();
    expect(response.allowed).toBe(true);
  });

  it.each([
    [
      { target: { type: "time", value: "2026-01-02 15:04:05" } },
      "spec.target.value",
      "FieldValueInvalid",
      /explicit time zone/,
    ],
    [{ target: { type: "time" } }, "spec.target.value", "FieldValueRequired", /required for a time target/],
    [{ target: { type: "lsn", value: "3000060" } }, "spec.target.value", "FieldValueInvalid", /LSN/],
    [{ target: { type: "xid", value: "0x10" } }, "spec.target.value", "FieldValueInvalid", /transaction ID/],
    [{ target: { type: "name", value: "" } }, "spec.target.value", "FieldValueRequired", /required/],
    [{ target: { type: "latest", value: "now" } }, "spec.target.value", "FieldValueForbidden", /must be empty/],
    [{ target: { type: "yesterday" } }, "spec.target.type", "FieldValueNotSupported", /"latest", "time"/],
    [{ backupSet: "latest" }, "spec.backupSet", "FieldValueInvalid", /backup label/],
    [{ options: ["--type=time"] }, "spec.options[0]", "FieldValueForbidden", /spec.target.type/],
    [{ options: ["--target-action=pause"] }, "spec.options[0]", "FieldValueForbidden", /always promotes/],
    [{ options: ["--set=20260102-030405F"] }, "spec.options[0]", "FieldValueForbidden", /spec.backupSet/],
    [{ options: ["--config=/x"] }, "spec.options[0]", "FieldValueForbidden", /configuration files/],
    [{ repoName: "repo0" }, "spec.repoName", "FieldValueInvalid", /repo1, repo2/],
  ])("refuses %j", (spec, field, reason, message) => {
    const response = validate({ kind: "PostgresRestore", object: restore(spec) });
    expect(response.status!.details!.causes.map((c) => [c.field, c.reason])).toEqual([[field, reason]]);
    expect(response.status!.message).toMatch(message);
  });

  it("refuses a spec change", () => {
    const response = update(restore(), (o) => (o.spec.target = { type: "immediate" }), "PostgresRestore");
    expect(fields(response)).toEqual(["spec"]);
  });
});

describe("the request itself", () => {
  it("answers dryRun requests exactly as others", () => {
    for (const object of [cluster(), cluster({ users: [{ name: "replicator" }] })]) {
      const a = validateAdmission(review({ object, uid: "same" }));
      const b = validateAdmission(review({ object, uid: "same", dryRun: true }));
      expect(b).toEqual(a);
    }
  });

  it("is deterministic: the same request gives byte-identical answers", () => {
    const r = review({ object: cluster({ crVersion: "1", users: [{ name: "pg_x" }] }) });
    expect(JSON.stringify(validateAdmission(r))).toBe(JSON.stringify(validateAdmission(clone(r))));
  });

  it("allows unknown kinds with a warning instead of blocking them", () => {
    const response = validate({ kind: { group: "apps", version: "v1", kind: "Deployment" }, object: { spec: {} } });
    expect(response).toEqual({
      uid: expect.any(String),
      allowed: true,
      warnings: ["tusk admission does not validate apps/v1 Deployment; allowed unchecked"],
    });
    expect(
      validate({ kind: { group: "postgres.tusk.dev", version: "v2", kind: "PostgresCluster" }, object: {} }).allowed,
    ).toBe(true);
  });

  it("allows status subresource writes and CONNECT without looking", () => {
    expect(
      validate({ subResource: "status", operation: "UPDATE", object: { spec: 1 }, oldObject: { spec: 2 } }).allowed,
    ).toBe(true);
    expect(validate({ operation: "CONNECT" }).allowed).toBe(true);
  });

  it("refuses a write that carries no object", () => {
    expect(fields(validate({ operation: "CREATE", object: null }))).toEqual(["object"]);
    expect(fields(validate({ operation: "UPDATE", object: cluster(), oldObject: "x" }))).toEqual(["oldObject"]);
  });

  it("refuses a cluster without a spec, naming spec", () => {
    const response = validate({ object: { metadata: { name: "hippo" } } });
    expect(response.status!.details!.causes).toEqual([
      { reason: "FieldValueRequired", field: "spec", message: "is required (object)" },
    ]);
  });

  it("puts the object's name and kind in the details", () => {
    const r = review({ object: cluster({ users: [{ name: "public" }] }) });
    const details = validateAdmission(r).response.status!.details as unknown as Json;
    expect(details).toMatchObject({ name: "hippo", group: "postgres.tusk.dev", kind: "PostgresCluster" });
  });
});

describe("fail open on an internal error", () => {
  const broken = (object: Json, operation: "CREATE" | "DELETE" = "CREATE") => {
    const r = review(operation === "DELETE" ? { operation, oldObject: object } : { object });
    // A getter that throws stands in for a bug in a rule (parsed JSON never has one).
    Object.defineProperty(r.request, "subResource", {
      get() {
        throw new Error("boom");
      },
    });
    return r;
  };

  it("answers allowed with a warning naming the error, and reports it", () => {
    const seen: unknown[] = [];
    const r = broken(cluster({ users: [{ name: "public" }] }));
    const answer = validateAdmission(r, { onInternalError: (e) => seen.push(e) });
    expectWellFormed(answer, r.request.uid);
    expect(answer.response).toEqual({
      uid: r.request.uid,
      allowed: true,
      warnings: ["tusk admission internal error, not validated: Error: boom"],
    });
    expect(seen).toHaveLength(1);
  });

  it("never waives deletion protection", () => {
    const r = broken(cluster({}, { annotations: { "postgres.tusk.dev/deletion-protection": "true" } }), "DELETE");
    const answer = validateAdmission(r);
    expect(answer.response.uid).toBe(r.request.uid);
    expect(answer.response.allowed).toBe(false);
    expect(fields(answer.response)).toEqual(["metadata.annotations[postgres.tusk.dev/deletion-protection]"]);
  });

  it("survives a reporter that throws", () => {
    const r = broken(cluster());
    const answer = validateAdmission(r, {
      onInternalError: () => {
        throw new Error("logger down");
      },
    });
    expect(answer.response.allowed).toBe(true);
  });
});
