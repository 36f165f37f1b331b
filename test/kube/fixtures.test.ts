/**
 * Every example and PGO-compatibility fixture, through real Metacontroller: the API server
 * accepts every child the cluster hook returns for it, and the StatefulSet controller creates
 * every pod under Pod Security "restricted" (Pending: no kubelet). Each in a namespace of its own.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { RETRIED_WARNINGS, refusedWrites, warningEvents } from "./lib/checks.ts";
import { REPO } from "./lib/control-plane.ts";
import { type Kube, kube, type Obj } from "./lib/env.ts";

let k: Kube;
let mark = 0;
beforeAll(() => {
  k = kube();
  mark = k.auditMark();
});

/** Files holding a PostgresCluster that `tusk validate` (and so the API server) accepts. */
function clusterFiles(): string[] {
  const dirs = [join(REPO, "manifests", "examples"), join(REPO, "test", "fixtures", "compat")];
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => join(dir, f))
      .filter((file) => {
        const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJSON() as Obj);
        // the Percona-style fixture keeps Percona's own fields, which kubectl refuses (admission.test.ts)
        return docs.some((d) => d?.kind === "PostgresCluster") && !file.endsWith("percona-large.yaml");
      }),
  );
}

describe("every example and PGO-compatibility fixture on the real control plane", () => {
  const files = clusterFiles();

  it("covers the examples and the fixtures", () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  it.each(files.map((f) => [f.slice(REPO.length + 1), f]))(
    "%s: every child accepted, every pod created",
    async (_label, file) => {
      const ns = `fx-${file
        .split("/")
        .pop()!
        .replace(/\.yaml$/, "")
        .replace(/[^a-z0-9]+/g, "-")}`.slice(0, 60);
      await k.namespace(ns);
      // only the Tusk kinds and the Secrets a file brings along (a clone's source cluster is applied too)
      await k.must(["-n", ns, "apply", "-f", file]);
      const clusters = parseAllDocuments(readFileSync(file, "utf8"))
        .map((d) => d.toJSON() as Obj)
        .filter((d) => d?.kind === "PostgresCluster");
      for (const c of clusters) {
        const name = c.metadata.name as string;
        await k.waitFor(
          `${name}: its StatefulSets and a status for its generation`,
          async () => {
            const live = await k.get("postgrescluster", name, ns);
            const sts = await k.list("statefulsets", ns, `postgres.tusk.dev/cluster=${name}`);
            return live?.status?.observedGeneration === live?.metadata.generation && sts.length > 0 ? sts : undefined;
          },
          { timeoutMs: 90_000, describe: () => k.logs() },
        );
      }
      for (const s of await k.list("statefulsets", ns)) {
        const replicas = s.spec.replicas as number;
        if (replicas === 0) continue;
        await k.waitFor(
          `the pods of ${s.metadata.name}`,
          async () => {
            const pods = (await k.list("pods", ns)).filter((p) =>
              p.metadata.ownerReferences?.some((o: Obj) => o.uid === s.metadata.uid),
            );
            return pods.length === replicas;
          },
          { timeoutMs: 90_000, describe: async () => (await warningEvents(k, ns)).join("\n") },
        );
      }
      expect(refusedWrites(k, mark, ns)).toEqual([]);
      expect(await warningEvents(k, ns, RETRIED_WARNINGS)).toEqual([]);
      await k.must(["delete", "namespace", ns, "--wait=false"]);
    },
  );
});
