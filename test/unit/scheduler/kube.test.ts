/**
 * The real @kubernetes/client-node implementation against a local HTTP server that speaks the
 * Kubernetes API paths the scheduler uses (create, list by label, delete PostgresBackups), with
 * the API server's answers for a duplicate create (409 AlreadyExists) and a missing object
 * (404). Every request the client makes is recorded and checked.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSchedulerApp } from "../../../functions/scheduler/app.ts";
import { loadKubeBackupStore } from "../../../functions/scheduler/kube.ts";

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body?: any;
}

const BASE = "/apis/postgres.tusk.dev/v1/namespaces/db/postgresbackups";

describe("scheduler on a Kubernetes API (client-node against a local API server)", () => {
  const requests: Recorded[] = [];
  const objects = new Map<string, any>();
  let server: Server;
  let dir = "";
  let kubeconfig = "";
  let created = 0;

  const status = (code: number, reason: string, message: string) => ({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    message,
    reason,
    code,
  });

  async function read(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  beforeAll(async () => {
    server = createServer(async (req, res) => {
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
      if (req.method === "POST" && url.pathname === BASE) {
        const obj = JSON.parse(text);
        if (objects.has(obj.metadata.name))
          return reply(
            409,
            status(409, "AlreadyExists", `postgresbackups.postgres.tusk.dev "${obj.metadata.name}" already exists`),
          );
        created++;
        obj.metadata.creationTimestamp = `2026-09-06T0${created}:00:00Z`;
        obj.metadata.uid = `uid-${created}`;
        objects.set(obj.metadata.name, obj);
        return reply(201, obj);
      }
      if (req.method === "GET" && url.pathname === BASE) {
        const selector = (url.searchParams.get("labelSelector") ?? "").split(",").filter(Boolean);
        const items = [...objects.values()].filter((o) =>
          selector.every((s) => {
            const [k, v] = s.split("=");
            return o.metadata.labels?.[k!] === v;
          }),
        );
        return reply(200, { apiVersion: "postgres.tusk.dev/v1", kind: "PostgresBackupList", metadata: {}, items });
      }
      if (req.method === "DELETE" && url.pathname.startsWith(`${BASE}/`)) {
        const name = url.pathname.slice(BASE.length + 1);
        if (!objects.delete(name)) return reply(404, status(404, "NotFound", `postgresbackups "${name}" not found`));
        return reply(200, status(200, "", "deleted"));
      }
      reply(404, status(404, "NotFound", "the server could not find the requested resource"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), "tusk-kubeconfig-"));
    kubeconfig = join(dir, "config");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        // client-node refuses plain HTTP unless TLS verification is explicitly off.
        `- name: local\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
        "users:",
        "- name: scheduler\n  user:\n    token: test-token",
        "contexts:",
        "- name: local\n  context:\n    cluster: local\n    user: scheduler",
        "current-context: local",
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const ping = (app: ReturnType<typeof createSchedulerApp>, time: string) =>
    app.request("/ping", {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": `id-${time}`,
        "ce-source": "/apis/v1/namespaces/db/pingsources/hippo-repo2-full",
        "ce-type": "dev.knative.sources.ping",
        "ce-time": time,
        "content-type": "application/json",
      },
      body: JSON.stringify({ cluster: "hippo", namespace: "db", repoName: "repo2", type: "full" }),
    });

  it("creates, lists by label and prunes PostgresBackups through the API paths, with the token", async () => {
    const app = createSchedulerApp({ store: () => loadKubeBackupStore({ KUBECONFIG: kubeconfig }), keep: 2 });
    for (const t of ["2026-09-06T01:00:00Z", "2026-09-06T02:00:00Z", "2026-09-06T03:00:00Z"]) {
      const res = await ping(app, t);
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const selector =
      "postgres.tusk.dev/cluster=hippo,postgres.tusk.dev/pgbackrest-repo=repo2,postgres.tusk.dev/scheduled=true";
    expect(
      requests.map((r) => `${r.method} ${r.path}${r.query.labelSelector ? `?${r.query.labelSelector}` : ""}`),
    ).toEqual([
      `POST ${BASE}`,
      `GET ${BASE}?${selector}`,
      `POST ${BASE}`,
      `GET ${BASE}?${selector}`,
      `POST ${BASE}`,
      `GET ${BASE}?${selector}`,
      `DELETE ${BASE}/hippo-repo2-full-202609060100`,
    ]);
    for (const r of requests) expect(r.authorization).toBe("Bearer test-token");
    const post = requests[0]!;
    expect(post.contentType).toMatch(/^application\/json/);
    expect(post.body).toMatchObject({
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresBackup",
      metadata: { name: "hippo-repo2-full-202609060100", namespace: "db" },
      spec: { cluster: "hippo", repoName: "repo2", type: "full" },
    });
    expect([...objects.keys()].sort()).toEqual(["hippo-repo2-full-202609060200", "hippo-repo2-full-202609060300"]);
  });

  it("treats 409 AlreadyExists as success and 404 on delete as done", async () => {
    const { ok, ...rest } = await loadKubeBackupStore({ KUBECONFIG: kubeconfig });
    if (!ok) throw new Error(JSON.stringify(rest));
    const store = (rest as { store: import("../../../functions/scheduler/store.ts").BackupStore }).store;
    const existing = objects.get("hippo-repo2-full-202609060300");
    expect(await store.create("db", existing)).toBe("exists");
    await expect(store.delete("db", "no-such-backup")).resolves.toBeUndefined();
    const listed = await store.list("db", "postgres.tusk.dev/scheduled=true");
    expect(listed.map((b) => b.name).sort()).toEqual([
      "hippo-repo2-full-202609060200",
      "hippo-repo2-full-202609060300",
    ]);
    expect(listed.every((b) => typeof b.creationTimestamp === "string")).toBe(true);
  });

  it("answers 502 with the API server's message when a call fails", async () => {
    const app = createSchedulerApp({ store: () => loadKubeBackupStore({ KUBECONFIG: kubeconfig }) });
    const res = await app.request("/ping", {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": "x",
        "ce-source": "/apis/v1/namespaces/nowhere/pingsources/p",
        "ce-type": "dev.knative.sources.ping",
        "ce-time": "2026-09-06T05:00:00Z",
        "content-type": "application/json",
      },
      body: JSON.stringify({ cluster: "hippo", namespace: "nowhere", repoName: "repo2", type: "full" }),
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toMatch(/create PostgresBackup nowhere\/.*HTTP 404/);
  });
});
