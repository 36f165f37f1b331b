import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { asStoredParent, buildSyncRequest, REDACTED, redactSecrets, renderUid } from "../../../functions/cli/render.ts";
import { PURPOSES, purposeOf } from "../../../functions/cli/why.ts";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { SyncRequest } from "../../../shared/metacontroller.ts";
import { deterministicPki } from "../../support/deterministic-pki.ts";
import { FIXED_NOW, seededBytes, tusk } from "./harness.ts";

const ROOT = join(import.meta.dirname, "../../..");
const FIXTURES = join(import.meta.dirname, "fixtures");
const EXAMPLES = join(ROOT, "manifests/examples");

/** A flow sequence never closed: the parser reports it on line 8. */
const SYNTAX_ERROR =
  "apiVersion: postgres.tusk.dev/v1\nkind: PostgresCluster\nmetadata:\n  name: x\nspec:\n  postgresVersion: 16\n  instances: [\n";

const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Record<string, any>);
const tmp = mkdtempSync(join(tmpdir(), "tusk-render-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the request tusk render builds", () => {
  it("is Metacontroller's: namespace defaults to default, a uid, generation 1, nothing observed", async () => {
    const parent = parseYaml(await readFile(join(FIXTURES, "hippo.yaml"), "utf8"));
    const request = await buildSyncRequest({ parent, observed: [], siblings: [], namespace: "default" });
    expect(SyncRequest.safeParse(request).success).toBe(true);
    expect(request.parent.metadata).toMatchObject({ name: "hippo", namespace: "default", generation: 1 });
    expect(request.parent.metadata.uid).toBe(renderUid("PostgresCluster", "default", "hippo"));
    expect(request.parent.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(request.children).toEqual({});
    expect(request.finalizing).toBe(false);
  });

  it("keeps a namespace, uid and generation the manifest already has", () => {
    const parent = {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster",
      metadata: { name: "a", namespace: "prod", uid: "u-1", generation: 7 },
    };
    expect(asStoredParent(parent, "default").metadata).toEqual({
      name: "a",
      namespace: "prod",
      uid: "u-1",
      generation: 7,
    });
    expect(renderUid("PostgresCluster", "ns", "a")).not.toBe(renderUid("PostgresCluster", "ns", "b"));
  });

  it("gives observed children keyed Kind.apiVersion, only those of this parent, and Pods as related", async () => {
    const parent = {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster" as const,
      metadata: { name: "hippo" },
      spec: {},
    };
    const observed = [
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "hippo-ca", labels: { "postgres.tusk.dev/cluster": "hippo" } },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "other-ca", labels: { "postgres.tusk.dev/cluster": "other" } },
      },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "elsewhere", namespace: "prod" } },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "hippo-instance1-0-0", labels: { "postgres.tusk.dev/cluster": "hippo" } },
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "other-0", labels: { "postgres.tusk.dev/cluster": "other" } },
      },
    ];
    const request = await buildSyncRequest({ parent, observed, siblings: [], namespace: "default" });
    expect(Object.keys(request.children["Secret.v1"] ?? {})).toEqual(["hippo-ca"]);
    expect(request.children["Pod.v1"]).toBeUndefined();
    // The cluster's customize hook asks for its Pods by label: only hippo's arrive.
    expect(Object.keys(request.related["Pod.v1"] ?? {})).toEqual(["hippo-instance1-0-0"]);
  });

  it("redacts Secret payloads but keeps their keys", () => {
    const [secret] = redactSecrets([{ kind: "Secret", metadata: { name: "s" }, data: { password: "c2VjcmV0" } }]);
    expect(secret).toEqual({
      kind: "Secret",
      metadata: { name: "s" },
      data: { password: "<redacted; --show-secrets prints it>" },
    });
  });
});

describe("tusk render of a PostgresCluster", () => {
  it("prints the hook's children as YAML, the same as calling the core directly", async () => {
    const file = join(FIXTURES, "hacluster.yaml");
    const r = await tusk(["render", file, "--show-secrets"]);
    expect(r.code).toBe(0);
    const printed = docs(r.out);
    const parent = parseYaml(await readFile(file, "utf8"));
    const request = await buildSyncRequest({ parent, observed: [], siblings: [], namespace: "default" });
    const direct = await syncCluster(request, {
      randomBytes: seededBytes(1),
      now: () => FIXED_NOW,
      pki: deterministicPki(1),
    });
    // The same seed and the same test PKI: byte for byte, certificates and keys included.
    expect(printed).toEqual(JSON.parse(JSON.stringify(direct.children)));
    const statefulSets = printed.filter((c) => c.kind === "StatefulSet" && /-instance1-\d$/.test(c.metadata.name));
    expect(statefulSets.map((s) => s.metadata.name)).toEqual(["hacluster-instance1-0", "hacluster-instance1-1"]);
  });

  it("summarises kind, name and purpose of every child on stderr, each with a known purpose", async () => {
    const r = await tusk(["render", join(EXAMPLES, "postgrescluster-ha.yaml")]);
    expect(r.code).toBe(0);
    const children = docs(r.out);
    expect(r.err).toMatch(/^KIND\s+NAME\s+WHY$/m);
    for (const c of children) {
      const why = purposeOf(c, "hippo-ha");
      expect(r.err).toMatch(
        new RegExp(`^${c.kind}\\s+${c.metadata.name}\\s+${why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"),
      );
      // A purpose from the table, not the fallback (which is the component label or the kind).
      expect(PURPOSES.some((p) => p.kind === c.kind)).toBe(true);
      expect(why).not.toBe(c.kind);
      expect(why.endsWith(`(${c.kind})`)).toBe(false);
    }
    // The Secret in the example is not a Tusk object: it is named as skipped.
    expect(r.err).toContain("postgrescluster-ha.yaml:7: skipping Secret");
  });

  it("never prints Secret payloads unless asked", async () => {
    const r = await tusk(["render", join(FIXTURES, "hippo.yaml")]);
    const secrets = docs(r.out).filter((c) => c.kind === "Secret");
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) for (const v of Object.values(s.data ?? {})) expect(v).toBe(REDACTED);
  });

  it("is reproducible apart from generated secrets; redacted output is byte-identical", async () => {
    const a = await tusk(["render", join(FIXTURES, "hippo.yaml"), "--show-secrets"], { seed: 7 });
    const b = await tusk(["render", join(FIXTURES, "hippo.yaml"), "--show-secrets"], { seed: 8 });
    expect(a.out).not.toBe(b.out);
    const nonSecret = (t: string) => docs(t).filter((o) => o.kind !== "Secret");
    expect(nonSecret(a.out).length).toBeGreaterThan(0);
    expect(nonSecret(a.out)).toEqual(nonSecret(b.out));
    const redactedA = await tusk(["render", join(FIXTURES, "hippo.yaml")], { seed: 7 });
    const redactedB = await tusk(["render", join(FIXTURES, "hippo.yaml")], { seed: 8 });
    expect(redactedA.out).toBe(redactedB.out);
  });

  it("renders against --observed children: its own output fed back changes nothing", async () => {
    const file = join(FIXTURES, "hippo.yaml");
    const first = await tusk(["render", file, "--show-secrets"], { seed: 3 });
    const dir = join(tmp, "observed");
    rmSync(dir, { recursive: true, force: true });
    await import("node:fs").then((fs) => fs.mkdirSync(dir));
    writeFileSync(join(dir, "children.yaml"), first.out);
    writeFileSync(join(dir, "notes.txt"), "not YAML, ignored");
    // Different random bytes: the Secrets must come from the observed children, not be new.
    const again = await tusk(["render", file, "--show-secrets", "--observed", dir], { seed: 99 });
    expect(again.code).toBe(0);
    expect(again.out).toBe(first.out);
  });

  it("reads stdin with -, and -n sets the namespace of objects without one", async () => {
    const text = await readFile(join(FIXTURES, "hippo.yaml"), "utf8");
    const r = await tusk(["render", "-", "-n", "prod", "-o", "json"], { stdin: text });
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out);
    expect(list.kind).toBe("List");
    const primary = list.items.find((c: any) => c.kind === "Service" && c.metadata.name === "hippo-primary");
    expect(primary).toBeDefined();
    const user = list.items.find((c: any) => c.kind === "Secret" && c.metadata.name === "hippo-pguser-hippo");
    expect(user).toBeDefined();
    expect(r.err).toContain("PostgresCluster hippo (-:");
  });

  it("renders every PostgresCluster of a multi-document file", async () => {
    const two = join(tmp, "two.yaml");
    const hippo = await readFile(join(FIXTURES, "hippo.yaml"), "utf8");
    writeFileSync(two, `${hippo}---\n${hippo.replace(/name: hippo/, "name: zebra")}`);
    const r = await tusk(["render", two]);
    expect(r.code).toBe(0);
    const names = docs(r.out).map((c) => c.metadata.name);
    expect(names).toContain("hippo-primary");
    expect(names).toContain("zebra-primary");
    expect(r.err).toMatch(/PostgresCluster hippo \(.*two\.yaml:1\)/);
    expect(r.err).toMatch(/PostgresCluster zebra \(.*two\.yaml:\d+\)/);
  });

  it("says what the hook refuses, naming the file and line, and exits 1", async () => {
    const bad = join(tmp, "bad.yaml");
    writeFileSync(
      bad,
      "# x\napiVersion: postgres.tusk.dev/v1\nkind: PostgresCluster\nmetadata:\n  name: bad\nspec:\n  postgresVersion: 16\n  instances: []\n",
    );
    const r = await tusk(["render", bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.yaml:2: PostgresCluster bad: .*spec\.instances/);
  });
});

describe("tusk render errors", () => {
  it("a missing file", async () => {
    const r = await tusk(["render", join(FIXTURES, "nothing.yaml")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tusk: cannot read .*nothing\.yaml: no such file or directory\n$/);
  });

  it("a file without Tusk objects", async () => {
    const cm = join(tmp, "cm.yaml");
    writeFileSync(cm, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n");
    const r2 = await tusk(["render", cm]);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain("has no PostgresCluster, PostgresBackup or PostgresRestore");
  });

  it("a PGO manifest is pointed at the apiVersion to change", async () => {
    const pgo = join(tmp, "pgo.yaml");
    writeFileSync(
      pgo,
      "apiVersion: postgres-operator.crunchydata.com/v1beta1\nkind: PostgresCluster\nmetadata:\n  name: h\n",
    );
    const r = await tusk(["render", pgo]);
    expect(r.err).toContain("a PGO manifest works here once apiVersion is postgres.tusk.dev/v1");
  });

  it("a YAML syntax error names the file and line, with no stack trace", async () => {
    const broken = join(tmp, "syntax-error.yaml");
    writeFileSync(broken, SYNTAX_ERROR);
    const r = await tusk(["render", broken]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tusk: .*syntax-error\.yaml:8: not valid YAML: /);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe("tusk render of a PostgresBackup", () => {
  const file = join(EXAMPLES, "postgresbackup.yaml");

  it("runs the backup hook: its status says what it waits for", async () => {
    const r = await tusk(["render", file]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("PostgresBackup hippo-ha-manual");
  });

  it("with its cluster in the same file, the backup hook emits the backup Job", async () => {
    const both = join(tmp, "cluster-and-backup.yaml");
    const cluster = await readFile(join(EXAMPLES, "postgrescluster-ha.yaml"), "utf8");
    writeFileSync(both, `${cluster}\n---\n${await readFile(file, "utf8")}`);
    const r = await tusk(["render", both]);
    expect(r.code).toBe(0);
    expect(docs(r.out).some((c) => c.kind === "Job" && c.metadata.name === "hippo-ha-manual-backup")).toBe(true);
  });
});

describe("tusk render of a PostgresRestore", () => {
  const file = join(EXAMPLES, "postgresrestore-pitr.yaml");

  it("runs the restore hook", async () => {
    const r = await tusk(["render", file]);
    expect([0, 1]).toContain(r.code);
    expect(r.err).toContain("PostgresRestore hippo-ha-pitr");
  });
});
