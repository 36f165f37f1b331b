/**
 * @module
 * A local HTTP server speaking the Kubernetes API paths the scheduler uses (create, list by
 * label selector, delete PostgresBackups), with the API server's answers for a duplicate create
 * (409 AlreadyExists) and a missing object (404), plus a kubeconfig file pointing at it. Every
 * request is recorded. Used by the scheduler's client-node test, and usable by any suite that
 * runs the server with `KUBECONFIG=<kubeconfig>` so `POST /scheduler/ping` reaches an API.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body?: any;
}

export interface FakeKubeApi {
  url: string;
  /** A kubeconfig file (token `test-token`) for KUBECONFIG. */
  kubeconfig: string;
  requests: RecordedRequest[];
  /** Stored PostgresBackups by `namespace/name`. */
  objects: Map<string, any>;
  stop(): Promise<void>;
}

const PATH = /^\/apis\/postgres\.tusk\.dev\/v1\/namespaces\/([^/]+)\/postgresbackups(?:\/([^/]+))?$/;

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  status: code < 300 ? "Success" : "Failure",
  message,
  reason,
  code,
});

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts the server on 127.0.0.1. `namespaces` lists the namespaces that exist (others answer
 * 404 like a real API server); creation timestamps advance one hour per object from `start`.
 */
export async function startFakeKubeApi(options: { namespaces?: string[]; start?: string } = {}): Promise<FakeKubeApi> {
  const namespaces = new Set(options.namespaces ?? ["db"]);
  let clock = Date.parse(options.start ?? "2026-09-06T00:00:00Z");
  const requests: RecordedRequest[] = [];
  const objects = new Map<string, any>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const text = await read(req);
    requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers["content-type"] ? { contentType: String(req.headers["content-type"]) } : {}),
      ...(text ? { body: JSON.parse(text) } : {}),
    });
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const m = PATH.exec(url.pathname);
    if (!m || !namespaces.has(m[1]!))
      return reply(404, status(404, "NotFound", "the server could not find the requested resource"));
    const [, ns, name] = m;
    if (req.method === "POST" && !name) {
      const obj = JSON.parse(text);
      const key = `${ns}/${obj.metadata.name}`;
      if (objects.has(key))
        return reply(
          409,
          status(409, "AlreadyExists", `postgresbackups.postgres.tusk.dev "${obj.metadata.name}" already exists`),
        );
      clock += 3_600_000;
      obj.metadata.creationTimestamp = new Date(clock).toISOString().replace(".000Z", "Z");
      obj.metadata.uid = `uid-${objects.size + 1}`;
      objects.set(key, obj);
      return reply(201, obj);
    }
    if (req.method === "GET" && !name) {
      const selector = (url.searchParams.get("labelSelector") ?? "").split(",").filter(Boolean);
      const items = [...objects.entries()]
        .filter(([k]) => k.startsWith(`${ns}/`))
        .map(([, o]) => o)
        .filter((o) =>
          selector.every((s) => {
            const [k, v] = s.split("=");
            return o.metadata.labels?.[k!] === v;
          }),
        );
      return reply(200, { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresBackupList", metadata: {}, items });
    }
    if (req.method === "DELETE" && name) {
      if (!objects.delete(`${ns}/${name}`))
        return reply(404, status(404, "NotFound", `postgresbackups.postgres.tusk.dev "${name}" not found`));
      return reply(200, status(200, "", "deleted"));
    }
    reply(405, status(405, "MethodNotAllowed", `${req.method} is not supported here`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), "tusk-fake-kube-"));
  const kubeconfig = join(dir, "config");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      // client-node refuses plain HTTP unless TLS verification is explicitly off.
      `- name: local\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      "users:",
      "- name: scheduler\n  user:\n    token: test-token",
      "contexts:",
      "- name: local\n  context:\n    cluster: local\n    user: scheduler",
      "current-context: local",
      "",
    ].join("\n"),
  );
  return {
    url,
    kubeconfig,
    requests,
    objects,
    async stop() {
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
