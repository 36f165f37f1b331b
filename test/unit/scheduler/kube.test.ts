/**
 * The real @kubernetes/client-node implementation against a local HTTP server that speaks the
 * Kubernetes API paths the scheduler uses. Every request the client makes is recorded and
 * checked.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSchedulerApp } from "../../../functions/scheduler/app.ts";
import { loadKubeBackupStore } from "../../../functions/scheduler/kube.ts";
import { type FakeKubeApi, startFakeKubeApi } from "./fake-kube-api.ts";

const BASE = "/apis/postgres.tusk.dev/v1/namespaces/db/postgresbackups";

describe("scheduler on a Kubernetes API (client-node against a local API server)", () => {
  let api: FakeKubeApi;
  beforeAll(async () => {
    api = await startFakeKubeApi();
  });
  afterAll(async () => {
    await api.stop();
  });

  const ping = (app: ReturnType<typeof createSchedulerApp>, time: string, namespace = "db") =>
    app.request("/ping", {
      method: "POST",
      headers: {
        "ce-specversion": "1.0",
        "ce-id": `id-${time}`,
        "ce-source": `/apis/v1/namespaces/${namespace}/pingsources/hippo-repo2-full`,
        "ce-type": "dev.knative.sources.ping",
        "ce-time": time,
        "content-type": "application/json",
      },
      body: JSON.stringify({ cluster: "hippo", namespace, repoName: "repo2", type: "full" }),
    });

  it("creates, lists by label and prunes PostgresBackups through the API paths, with the token", async () => {
    const app = createSchedulerApp({ store: () => loadKubeBackupStore({ KUBECONFIG: api.kubeconfig }), keep: 2 });
    for (const t of ["2026-09-06T01:00:00Z", "2026-09-06T02:00:00Z", "2026-09-06T03:00:00Z"]) {
      const res = await ping(app, t);
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const selector =
      "postgres.tusk.dev/cluster=hippo,postgres.tusk.dev/pgbackrest-repo=repo2,postgres.tusk.dev/scheduled=true";
    expect(
      api.requests.map((r) => `${r.method} ${r.path}${r.query.labelSelector ? `?${r.query.labelSelector}` : ""}`),
    ).toEqual([
      `POST ${BASE}`,
      `GET ${BASE}?${selector}`,
      `POST ${BASE}`,
      `GET ${BASE}?${selector}`,
      `POST ${BASE}`,
      `GET ${BASE}?${selector}`,
      `DELETE ${BASE}/hippo-repo2-full-202609060100`,
    ]);
    for (const r of api.requests) expect(r.authorization).toBe("Bearer test-token");
    const post = api.requests[0]!;
    expect(post.contentType).toMatch(/^application\/json/);
    expect(post.body).toMatchObject({
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresBackup",
      metadata: { name: "hippo-repo2-full-202609060100", namespace: "db" },
      spec: { cluster: "hippo", repoName: "repo2", type: "full" },
    });
    expect([...api.objects.keys()].sort()).toEqual([
      "db/hippo-repo2-full-202609060200",
      "db/hippo-repo2-full-202609060300",
    ]);
  });

  it("treats 409 AlreadyExists as success and 404 on delete as done", async () => {
    const loaded = await loadKubeBackupStore({ KUBECONFIG: api.kubeconfig });
    if (!loaded.ok) throw new Error(loaded.reason);
    const existing = api.objects.get("db/hippo-repo2-full-202609060300");
    expect(await loaded.store.create("db", existing)).toBe("exists");
    await expect(loaded.store.delete("db", "no-such-backup")).resolves.toBeUndefined();
    const listed = await loaded.store.list("db", "postgres.tusk.dev/scheduled=true");
    expect(listed.map((b) => b.name).sort()).toEqual([
      "hippo-repo2-full-202609060200",
      "hippo-repo2-full-202609060300",
    ]);
    expect(listed.every((b) => typeof b.creationTimestamp === "string")).toBe(true);
  });

  it("answers 502 with the API server's message when a call fails", async () => {
    const app = createSchedulerApp({ store: () => loadKubeBackupStore({ KUBECONFIG: api.kubeconfig }) });
    const res = await ping(app, "2026-09-06T05:00:00Z", "nowhere");
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toMatch(/create PostgresBackup nowhere\/.*HTTP 404/);
  });

  it("answers 503 when the API server cannot be reached", async () => {
    const gone = await startFakeKubeApi();
    const dir = mkdtempSync(join(tmpdir(), "tusk-kc-"));
    const copy = join(dir, "config");
    writeFileSync(copy, readFileSync(gone.kubeconfig, "utf8"));
    await gone.stop();
    const app = createSchedulerApp({ store: () => loadKubeBackupStore({ KUBECONFIG: copy }) });
    const res = await ping(app, "2026-09-06T06:00:00Z");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/create PostgresBackup db\//);
    rmSync(dir, { recursive: true, force: true });
  });
});
