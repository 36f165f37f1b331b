/**
 * Admission, for real: the API server (CRD schema, CEL rules, defaults) plus the webhook it
 * calls over HTTPS accept or refuse each manifest exactly as `tusk validate` says, naming the
 * same fields; deletion protection holds; Metacontroller's own writes pass the webhook.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseManifests } from "../../functions/cli/documents.ts";
import { judge } from "../../functions/cli/validate.ts";
import { REPO } from "./lib/control-plane.ts";
import { type Kube, kube, type Obj } from "./lib/env.ts";
import { METACONTROLLER_USER } from "./lib/install.ts";

const NS = "kube-admission";
let k: Kube;
beforeAll(async () => {
  k = kube();
  await k.namespace(NS);
});

const TUSK = "postgres.tusk.dev/v1";

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(dir, f));
}

const instance = {
  name: "i1",
  dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
};
const cluster = (name: string, spec: Obj): Obj => ({
  apiVersion: TUSK,
  kind: "PostgresCluster",
  metadata: { name },
  spec: { postgresVersion: 16, instances: [instance], ...spec },
});

/** Manifests each layer must refuse: the schema, a CEL rule, the webhook's own rules. */
const REFUSED: Obj[] = [
  cluster("bad-version", { postgresVersion: 9 }),
  cluster("bad-replicas", { instances: [{ ...instance, replicas: 0 }] }),
  cluster("dup-sets", { instances: [instance, instance] }),
  cluster("bad-user", { users: [{ name: "tusk-admin", databases: ["x"] }] }),
  cluster("bad-repo", {
    backups: { pgbackrest: { repos: [{ name: "repo7", volume: { volumeClaimSpec: instance.dataVolumeClaimSpec } }] } },
  }),
  cluster("bad-port", { port: 80 }),
  {
    apiVersion: TUSK,
    kind: "PostgresBackup",
    metadata: { name: "bad-backup" },
    spec: { cluster: "x", repoName: "nope" },
  },
  {
    apiVersion: TUSK,
    kind: "PostgresRestore",
    metadata: { name: "bad-restore" },
    spec: { cluster: "x", repoName: "repo1", target: { type: "time", value: "yesterday" } },
  },
];

/**
 * A field and its ancestors below `spec`: a CEL rule about a list reports the list
 * (`spec.users`, through its fieldPath) and a duplicate list-map key the item
 * (`spec.instances[1]`), where tusk validate names the item's field.
 */
function pathAndAncestors(field: string): string[] {
  const out = [field];
  for (let p = field; /[.[]/.test(p); ) {
    p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
    if (p === "spec" || p === field) break;
    out.push(p);
  }
  return out;
}

interface Case {
  label: string;
  object: Obj;
  allowed: boolean;
  fields: string[];
}

function cases(): Case[] {
  const out: Case[] = [];
  const files = [
    ...yamlFiles(join(REPO, "manifests", "examples")),
    ...yamlFiles(join(REPO, "test", "fixtures", "compat")),
  ];
  for (const file of files) {
    parseManifests(readFileSync(file, "utf8"), file).forEach((m, i) => {
      const v = judge(m, NS, i);
      if (!v) return;
      out.push({
        label: `${file.slice(REPO.length + 1)} ${v.kind}/${v.name}`,
        object: m.object,
        allowed: v.allowed,
        fields: v.problems.map((p) => p.field),
      });
    });
  }
  const text = REFUSED.map((o) => JSON.stringify(o)).join("\n---\n");
  parseManifests(text, "refused").forEach((m, i) => {
    const v = judge(m, NS, i)!;
    out.push({
      label: `refused ${v.kind}/${v.name}`,
      object: m.object,
      allowed: v.allowed,
      fields: v.problems.map((p) => p.field),
    });
  });
  return out;
}

describe("admission through the API server", () => {
  it("accepts or refuses every example, PGO fixture and bad manifest as tusk validate does, naming the same fields", async () => {
    const all = cases();
    expect(all.filter((c) => c.label.startsWith("manifests/examples")).length).toBeGreaterThanOrEqual(6);
    expect(all.filter((c) => c.label.startsWith("refused") && c.allowed).map((c) => c.label)).toEqual([]);
    const disagreements: string[] = [];
    for (const c of all) {
      const r = await k.kubectl(["-n", NS, "create", "--dry-run=server", "-f", "-"], {
        input: JSON.stringify(c.object),
      });
      const allowed = r.code === 0;
      if (allowed !== c.allowed) {
        disagreements.push(
          `${c.label}: tusk validate ${c.allowed ? "allows" : "refuses"} it, the API server ${allowed ? "allows" : `refuses: ${r.stderr.trim()}`}`,
        );
        continue;
      }
      for (const field of c.fields) {
        if (!pathAndAncestors(field).some((p) => r.stderr.includes(p)))
          disagreements.push(`${c.label}: the API server's refusal does not name ${field}: ${r.stderr.trim()}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("applies the CRD's defaults on the way in", async () => {
    await k.apply(
      {
        apiVersion: TUSK,
        kind: "PostgresCluster",
        metadata: { name: "defaults", annotations: { "postgres.tusk.dev/deletion-protection": "true" } },
        spec: { postgresVersion: 16, instances: [{ dataVolumeClaimSpec: instance.dataVolumeClaimSpec }] },
      },
      NS,
    );
    const c = (await k.get("postgrescluster", "defaults", NS))!;
    expect(c.spec.port).toBe(5432);
    expect(c.spec.instances[0].replicas).toBe(1);
    expect(c.spec.instances[0].name).toBe("");
  });

  it("deletion protection: the webhook refuses to delete an annotated cluster", async () => {
    const r = await k.kubectl(["-n", NS, "delete", "postgrescluster", "defaults", "--wait=false"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/deletion-protection/);
    expect(await k.get("postgrescluster", "defaults", NS)).toBeDefined();
    await k.must(["-n", NS, "annotate", "postgrescluster", "defaults", "postgres.tusk.dev/deletion-protection-"]);
    await k.must(["-n", NS, "delete", "postgrescluster", "defaults", "--wait=false"]);
    await k.waitFor(
      "the unprotected cluster to be gone",
      async () => (await k.get("postgrescluster", "defaults", NS)) === undefined,
      {
        timeoutMs: 120_000,
        describe: () => k.logs(),
      },
    );
  });

  it("Metacontroller's own writes (finalizer, status) pass, the webhook being skipped for them", () => {
    const writes = k
      .audit()
      .filter(
        (e) =>
          e.user.username === METACONTROLLER_USER &&
          e.objectRef?.resource === "postgresclusters" &&
          e.objectRef.namespace === NS,
      );
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((e) => (e.responseStatus?.code ?? 0) >= 400).map((e) => e.requestURI)).toEqual([]);
  });
});
