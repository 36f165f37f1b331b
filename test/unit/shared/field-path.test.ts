import { describe, expect, it } from "vitest";
import * as z from "zod";
import { PostgresClusterSpec } from "../../../shared/api/postgres-cluster.ts";
import { fieldPath, formatProblems, missing, zodProblems } from "../../../shared/field-path.ts";

const volume = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } };
const spec = (overrides: Record<string, unknown> = {}) => ({
  postgresVersion: 16,
  instances: [{ name: "pgha1", replicas: 2, dataVolumeClaimSpec: volume }],
  ...overrides,
});

/** The problems for `spec` parsed as a PostgresCluster spec, reported under `spec`. */
function problems(value: unknown) {
  const parsed = PostgresClusterSpec.safeParse(value);
  if (parsed.success) throw new Error("expected the spec to be rejected");
  return zodProblems(parsed.error, ["spec"]);
}

describe("fieldPath", () => {
  it("writes Kubernetes field paths: dots for keys, brackets for indexes", () => {
    expect(fieldPath(["spec", "instances", 0, "replicas"])).toBe("spec.instances[0].replicas");
    expect(fieldPath(["spec", "users", 12, "databases", 3])).toBe("spec.users[12].databases[3]");
    expect(fieldPath(["a", 0, 1, "b"])).toBe("a[0][1].b");
  });

  it("puts the prefix first", () => {
    expect(fieldPath(["replicas"], ["spec", "instances", 0])).toBe("spec.instances[0].replicas");
    expect(fieldPath([0, "name"], ["spec", "users"])).toBe("spec.users[0].name");
  });

  it("handles the empty path and a leading index", () => {
    expect(fieldPath([])).toBe("");
    expect(fieldPath([], ["spec"])).toBe("spec");
    expect(fieldPath([0, "name"])).toBe("[0].name");
  });
});

describe("zodProblems", () => {
  it("names the field and the bound of a number out of range", () => {
    const bad = spec({ instances: [{ name: "pgha1", replicas: 0, dataVolumeClaimSpec: volume }] });
    expect(problems(bad)).toEqual([{ field: "spec.instances[0].replicas", message: "must be >= 1" }]);
    expect(problems(spec({ postgresVersion: 19 }))).toEqual([
      { field: "spec.postgresVersion", message: "must be <= 18" },
    ]);
    expect(problems(spec({ postgresVersion: 12 }))).toEqual([
      { field: "spec.postgresVersion", message: "must be >= 13" },
    ]);
  });

  it("counts items for arrays and characters for strings", () => {
    expect(problems(spec({ instances: [] }))).toEqual([
      { field: "spec.instances", message: "must have at least 1 item(s)" },
    ]);
    const many = Array.from({ length: 17 }, (_, i) => ({ name: `s${i}`, dataVolumeClaimSpec: volume }));
    expect(problems(spec({ instances: many }))).toEqual([
      { field: "spec.instances", message: "must have at most 16 item(s)" },
    ]);
    const name = z.object({ name: z.string().min(2).max(5) });
    expect(zodProblems(name.safeParse({ name: "a" }).error!)).toEqual([
      { field: "name", message: "must be at least 2 character(s)" },
    ]);
    expect(zodProblems(name.safeParse({ name: "abcdef" }).error!)).toEqual([
      { field: "name", message: "must be at most 5 character(s)" },
    ]);
  });

  it("tells a missing field from one of the wrong type", () => {
    const { postgresVersion: _, ...missing } = spec();
    expect(problems(missing)).toEqual([{ field: "spec.postgresVersion", message: "is required (number)" }]);
    expect(problems(spec({ postgresVersion: "16" }))).toEqual([
      { field: "spec.postgresVersion", message: "must be number" },
    ]);
  });

  it("tells them apart whether or not zod was asked to report the input", () => {
    const schema = z.object({ a: z.number(), b: z.object({}), c: z.string() });
    for (const reportInput of [false, true]) {
      const issues = schema.safeParse({ b: null, c: 5 }, { reportInput }).error!.issues;
      expect(issues.map(missing), `reportInput: ${reportInput}`).toEqual([true, false, false]);
    }
    expect(missing(z.number().min(1).safeParse(0).error!.issues[0]!)).toBe(false);
  });

  it("lists the allowed values of an enum", () => {
    expect(problems(spec({ imagePullPolicy: "Sometimes" }))).toEqual([
      { field: "spec.imagePullPolicy", message: 'must be one of "Always", "Never", "IfNotPresent"' },
    ]);
  });

  it("keeps the schema's own message for other checks", () => {
    expect(problems(spec({ users: [{ name: "Bad_Name" }] }))).toEqual([
      { field: "spec.users[0].name", message: "must be lowercase letters, digits and '-'" },
    ]);
  });

  it("reports every problem, each at its own path", () => {
    const bad = spec({ postgresVersion: 99, instances: [{ name: "pgha1", replicas: -1 }] });
    expect(problems(bad).map((p) => p.field)).toEqual([
      "spec.postgresVersion",
      "spec.instances[0].replicas",
      "spec.instances[0].dataVolumeClaimSpec",
    ]);
  });

  it("reports a problem with the whole value at the prefix, or the empty path", () => {
    expect(problems("not an object")).toEqual([{ field: "spec", message: "must be object" }]);
    expect(zodProblems(z.number().safeParse("x").error!)).toEqual([{ field: "", message: "must be number" }]);
  });
});

describe("formatProblems", () => {
  it("joins problems as `field: message; ...`", () => {
    expect(
      formatProblems([
        { field: "spec.instances[0].replicas", message: "must be >= 1" },
        { field: "spec.port", message: "must be number" },
      ]),
    ).toBe("spec.instances[0].replicas: must be >= 1; spec.port: must be number");
    expect(formatProblems([])).toBe("");
  });
});
