import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseManifests, splitFieldPath } from "../../../functions/cli/documents.ts";
import { createReview } from "../../../functions/cli/validate.ts";
import { AdmissionReview } from "../../../shared/admission-review.ts";
import { tusk } from "./harness.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const EXAMPLES = join(import.meta.dirname, "../../../manifests/examples");
const tmp = mkdtempSync(join(tmpdir(), "tusk-validate-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The 1-based line of the first line of `file` that contains `text`. */
function lineOf(file: string, text: string): number {
  const index = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(text));
  if (index === -1) throw new Error(`${text} not in ${file}`);
  return index + 1;
}

describe("field paths to lines", () => {
  it("splits Kubernetes field paths, keys in brackets kept whole", () => {
    expect(splitFieldPath("spec.instances[0].replicas")).toEqual(["spec", "instances", 0, "replicas"]);
    expect(splitFieldPath("metadata.annotations[postgres.tusk.dev/deletion-protection]")).toEqual([
      "metadata",
      "annotations",
      "postgres.tusk.dev/deletion-protection",
    ]);
    expect(splitFieldPath("spec.config.parameters[ssl]")).toEqual(["spec", "config", "parameters", "ssl"]);
  });

  it("finds the line of a field, or of its nearest parent when the field is missing", () => {
    const text =
      "# c\napiVersion: v1\nkind: X\nspec:\n  instances:\n    - name: a\n      replicas: 0\n---\nkind: Y\nspec: {}\n";
    const [first, second] = parseManifests(text, "f.yaml");
    expect(first?.line).toBe(2);
    expect(first?.lineOf("spec.instances[0].replicas")).toBe(7);
    expect(first?.lineOf("spec.instances[0]")).toBe(6);
    expect(first?.lineOf("spec.instances[0].dataVolumeClaimSpec")).toBe(6);
    expect(first?.lineOf("spec.instances[3].replicas")).toBe(5);
    expect(second?.line).toBe(9);
    expect(second?.lineOf("spec.postgresVersion")).toBe(10);
  });

  it("counts the items of a kind: List as objects, with their own lines", () => {
    const text =
      "apiVersion: v1\nkind: List\nitems:\n  - kind: A\n    metadata: {name: a}\n  - kind: B\n    spec:\n      x: 1\n";
    const ms = parseManifests(text, "l.yaml");
    expect(ms.map((m) => m.object.kind)).toEqual(["A", "B"]);
    expect(ms[1]?.line).toBe(6);
    expect(ms[1]?.lineOf("spec.x")).toBe(8);
  });
});

describe("the AdmissionReview tusk validate builds", () => {
  it("is a CREATE the webhook accepts, with the namespace defaulted", () => {
    const object = { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresCluster", metadata: { name: "h" }, spec: {} };
    const review = createReview(object, "default", "uid-1");
    expect(AdmissionReview.safeParse(review).success).toBe(true);
    expect(review.request).toMatchObject({
      uid: "uid-1",
      operation: "CREATE",
      kind: { group: "postgres.tusk.dev", version: "v1", kind: "PostgresCluster" },
      resource: { group: "postgres.tusk.dev", version: "v1", resource: "postgresclusters" },
      name: "h",
      namespace: "default",
      object: { metadata: { name: "h", namespace: "default" } },
    });
  });
});

describe("tusk validate", () => {
  const invalid = join(FIXTURES, "invalid.yaml");

  it("prints every problem as file:line: field path: message and exits 1", async () => {
    const r = await tusk(["validate", invalid]);
    expect(r.code).toBe(1);
    const lines = r.out.trimEnd().split("\n");
    expect(lines).toContain(
      `${invalid}:${lineOf(invalid, "ssl:")}: spec.config.parameters[ssl]: cannot be set: TLS is always enabled and managed by the operator (ssl_ecdh_curve, and ssl_groups on 18+, may be set)`,
    );
    expect(
      lines.some((l) =>
        l.startsWith(`${invalid}:${lineOf(invalid, "every night")}: spec.backups.pgbackrest.repos[0].schedules.full: `),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.startsWith(`${invalid}:${lineOf(invalid, "repo7")}: spec.repoName: `))).toBe(true);
    // work_mem is allowed, and the ConfigMap is not judged.
    expect(r.out).not.toContain("work_mem");
    expect(r.out).not.toContain("not-checked");
    expect(r.err).toContain("2 object(s) checked, 2 refused");
    expect(r.err).toContain("1 other object(s) not checked");
  });

  it("exits 0 on a file the webhook allows, printing its warnings with lines", async () => {
    const file = join(tmp, "warn.yaml");
    writeFileSync(
      file,
      [
        "apiVersion: postgres.tusk.dev/v1",
        "kind: PostgresCluster",
        "metadata:",
        "  name: warned",
        "spec:",
        "  postgresVersion: 16",
        "  instances:",
        "    - name: one",
        "      dataVolumeClaimSpec:",
        "        resources: {requests: {storage: 1Gi}}",
        "",
      ].join("\n"),
    );
    const r = await tusk(["validate", file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`${file}:5: warning: spec: one instance and no backups`);
  });

  it("refuses an unknown field, as kubectl's default strict field validation does", async () => {
    const file = join(tmp, "unknown.yaml");
    writeFileSync(
      file,
      [
        "apiVersion: postgres.tusk.dev/v1",
        "kind: PostgresCluster",
        "metadata:",
        "  name: coloured",
        "spec:",
        "  postgresVersion: 16",
        "  colour: blue",
        "  instances:",
        "    - name: one",
        "      dataVolumeClaimSpec:",
        "        resources: {requests: {storage: 1Gi}}",
        "",
      ].join("\n"),
    );
    const r = await tusk(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${file}:7: spec.colour: unknown field: kubectl create/apply refuse it`);
  });

  it("allows every example in manifests/examples", async () => {
    for (const name of [
      "postgrescluster-minimal.yaml",
      "postgrescluster-ha.yaml",
      "postgresbackup.yaml",
      "postgresrestore-pitr.yaml",
    ]) {
      const r = await tusk(["validate", join(EXAMPLES, name)]);
      expect(r.code, `${name}: ${r.out}${r.err}`).toBe(0);
    }
  });

  it("allows what tusk create cluster --dry-run generated", async () => {
    for (const name of ["hippo.yaml", "hacluster.yaml"]) {
      const r = await tusk(["validate", join(FIXTURES, name)]);
      expect(r.code, r.out).toBe(0);
    }
  });

  it("names a PGO apiVersion as the problem and says what to change", async () => {
    const file = join(tmp, "pgo.yaml");
    writeFileSync(
      file,
      "apiVersion: postgres-operator.crunchydata.com/v1beta1\nkind: PostgresCluster\nmetadata:\n  name: h\nspec: {}\n",
    );
    const r = await tusk(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.out).toBe(
      `${file}:1: apiVersion: is postgres-operator.crunchydata.com/v1beta1; change it to postgres.tusk.dev/v1 (the spec can stay as it is)\n`,
    );
  });

  it("reads stdin and reports it as -", async () => {
    const r = await tusk(["validate", "-"], { stdin: readFileSync(invalid, "utf8") });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^-:\d+: spec\./m);
  });

  it("-o json gives each object's verdict with lines", async () => {
    const r = await tusk(["validate", invalid, "-o", "json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    expect(report.allowed).toBe(false);
    expect(report.objects.map((o: any) => [o.kind, o.name, o.allowed])).toEqual([
      ["PostgresCluster", "broken", false],
      ["PostgresBackup", "broken-backup", false],
    ]);
    expect(report.objects[1].problems).toEqual([
      { line: lineOf(invalid, "repo7"), field: "spec.repoName", message: "must be repo1, repo2, repo3 or repo4" },
    ]);
  });

  it("a YAML syntax error: file and line, exit 1", async () => {
    const file = join(tmp, "broken.yaml");
    writeFileSync(file, "kind: PostgresCluster\nspec:\n  a: [1, 2\n");
    const r = await tusk(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^tusk: ${file.replace(/[.]/g, "\\.")}:\\d+: not valid YAML: `));
  });

  it("an empty file, or one with nothing to check, exits 1 as render does", async () => {
    const empty = join(tmp, "empty.yaml");
    writeFileSync(empty, "");
    const r = await tusk(["validate", empty]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("no PostgresCluster, PostgresBackup or PostgresRestore to check");
  });

  it("refuses a document whose aliases expand without bound (billion laughs), naming the file and line", async () => {
    const file = join(tmp, "laughs.yaml");
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    writeFileSync(file, `${levels.join("\n")}\n`);
    const r = await tusk(["validate", file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^tusk: ${file.replace(/[.]/g, "\\.")}:1: not expanded: `));
    expect(r.err).not.toContain("bug in tusk");
  });
});
