/**
 * The CLI as users start it, in real processes: `npx tusk` (package.json bin, through tsx) and
 * `deno task tusk` (deno.json), with real exit codes, stdin and stdout.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { crds } from "../../../shared/api/crds.ts";
import { FakeApiServer } from "./fake-apiserver.ts";

const ROOT = join(import.meta.dirname, "../../..");
const DENO = join(ROOT, "node_modules/deno/deno");
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const TIMEOUT = 120_000;

/** Like run, without blocking the event loop (the fake API server lives in this process). */
function runAsync(command: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", CI: "true" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

function run(command: string, args: string[], input?: string) {
  const r = spawnSync(command, args, {
    cwd: ROOT,
    input,
    encoding: "utf8",
    timeout: TIMEOUT,
    env: { ...process.env, NO_COLOR: "1", CI: "true" },
  });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("npx tusk", () => {
  it(
    "prints the version from package.json",
    () => {
      const r = run("npx", ["--no-install", "tusk", "version"]);
      expect(r.err).not.toMatch(/error/i);
      expect(r.out).toBe(`tusk ${version}\n`);
      expect(r.code).toBe(0);
    },
    TIMEOUT,
  );

  it(
    "exits 1 on a refused manifest read from stdin, and 2 on an unknown command",
    () => {
      const manifest = readFileSync(join(import.meta.dirname, "fixtures/invalid.yaml"), "utf8");
      const refused = run("node", ["functions/cli/bin.mjs", "validate", "-"], manifest);
      expect(refused.code).toBe(1);
      expect(refused.out).toMatch(/^-:17: spec\.config\.parameters\[ssl\]: /m);
      const unknown = run("node", ["functions/cli/bin.mjs", "frobnicate"]);
      expect(unknown.code).toBe(2);
      expect(unknown.err).toBe('tusk: unknown command "frobnicate" (`tusk --help` lists the commands)\n');
    },
    TIMEOUT,
  );
});

describe("deno task tusk", () => {
  it(
    "prints the CRDs (the task in deno.json runs functions/cli/tusk.ts on Deno)",
    () => {
      const r = run(DENO, ["task", "tusk", "crd"]);
      expect(r.code).toBe(0);
      expect(parseAllDocuments(r.out).map((d) => d.toJS())).toEqual(JSON.parse(JSON.stringify(crds())));
    },
    TIMEOUT,
  );

  it(
    "renders from stdin and exits with the CLI's code",
    () => {
      const manifest = readFileSync(join(import.meta.dirname, "fixtures/hippo.yaml"), "utf8");
      const rendered = run(
        DENO,
        ["run", "--allow-read", "--allow-env", "--allow-net", "--allow-write", "functions/cli/tusk.ts", "render", "-"],
        manifest,
      );
      expect(rendered.code, rendered.err).toBe(0);
      const kinds = parseAllDocuments(rendered.out).map((d) => `${d.get("kind")}/${d.getIn(["metadata", "name"])}`);
      expect(kinds).toContain("Service/hippo-primary");
      expect(kinds).toContain("StatefulSet/hippo-instance1-0");
      const usage = run(DENO, ["run", "--allow-read", "--allow-env", "functions/cli/tusk.ts", "render"]);
      expect(usage.code).toBe(2);
      expect(usage.err).toBe("tusk: tusk render needs FILE|-\nusage: tusk render FILE|- [flags]\n");
    },
    TIMEOUT,
  );

  it(
    "talks to a Kubernetes API server through client-node on Deno too",
    async () => {
      const api = new FakeApiServer();
      await api.start();
      try {
        api.put("postgresclusters", "db", {
          apiVersion: "postgres.tusk.dev/v1",
          kind: "PostgresCluster",
          metadata: { name: "hippo" },
          spec: { postgresVersion: 16 },
          status: { phase: "Running", readyInstances: "1/1", primary: "hippo-instance1-0-0" },
        });
        const r = await runAsync(DENO, ["task", "tusk", "shutdown", "hippo", "--kubeconfig", api.kubeconfig]);
        expect(r.code, r.err).toBe(0);
        expect(r.out).toContain("hippo is shutting down");
        expect(api.writes()).toMatchObject([
          { method: "PATCH", contentType: "application/merge-patch+json", body: { spec: { shutdown: true } } },
        ]);
      } finally {
        await api.stop();
      }
    },
    TIMEOUT,
  );
});
