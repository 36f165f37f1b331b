import { describe, expect, it } from "vitest";
import { createSchedulerApp, keepFromEnv } from "../../../functions/scheduler/app.ts";
import { loadKubeBackupStore } from "../../../functions/scheduler/kube.ts";
import { fakeStore } from "./fake-store.ts";

const HEADERS = {
  "ce-specversion": "1.0",
  "ce-id": "49f04fe2-7708-453d-ae0a-5fbaca9586a8",
  "ce-source": "/apis/v1/namespaces/db/pingsources/hippo-repo2-full",
  "ce-type": "dev.knative.sources.ping",
  "ce-time": "2026-09-06T01:00:00.412Z",
  "content-type": "application/json",
};
const DATA = JSON.stringify({ cluster: "hippo", namespace: "db", repoName: "repo2", type: "full" });

describe("scheduler app", () => {
  it("creates the PostgresBackup and answers what it did; a duplicate is a success too", async () => {
    const store = fakeStore();
    const app = createSchedulerApp({ store: async () => ({ ok: true, store }), keep: 5 });
    const send = () => app.request("/ping", { method: "POST", headers: HEADERS, body: DATA });
    const first = await send();
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      name: "hippo-repo2-full-202609060100",
      namespace: "db",
      created: true,
      pruned: [],
    });
    const dup = await send();
    expect(dup.status).toBe(200);
    expect(await dup.json()).toMatchObject({ created: false });
  });

  it("answers a bad event with 400 naming the field, before touching Kubernetes", async () => {
    let loads = 0;
    const app = createSchedulerApp({
      store: async () => {
        loads++;
        return { ok: true, store: fakeStore() };
      },
    });
    const res = await app.request("/ping", {
      method: "POST",
      headers: { ...HEADERS, "ce-time": "soon" },
      body: JSON.stringify({ cluster: "hippo", namespace: "db", repoName: "repo7", type: "full" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; problems: { field: string }[] };
    expect(body.error).toMatch(/ce-time/);
    expect(body.error).toMatch(/repoName/);
    expect(body.problems.map((p) => p.field)).toEqual(["ce-time", "repoName"]);
    expect(loads).toBe(0);
  });

  it("answers 503 with the reason when there is no Kubernetes API, and tries again next time", async () => {
    let loads = 0;
    const app = createSchedulerApp({
      store: async () => {
        loads++;
        return loadKubeBackupStore({});
      },
    });
    for (let i = 0; i < 2; i++) {
      const res = await app.request("/ping", { method: "POST", headers: HEADERS, body: DATA });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toMatch(/no Kubernetes API configured.*KUBECONFIG unset/);
    }
    expect(loads).toBe(2);
  });

  it("answers 502 when the API server refuses the create", async () => {
    const store = fakeStore();
    store.failOn = { op: "create", status: 403 };
    const app = createSchedulerApp({ store: async () => ({ ok: true, store }) });
    const res = await app.request("/ping", { method: "POST", headers: HEADERS, body: DATA });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toMatch(/create refused/);
  });

  it("reads how many scheduled backups to keep from the environment", () => {
    expect(keepFromEnv({})).toBe(10);
    expect(keepFromEnv({ SCHEDULED_BACKUPS_KEEP: "3" })).toBe(3);
    expect(keepFromEnv({ SCHEDULED_BACKUPS_KEEP: "0" })).toBe(10);
    expect(keepFromEnv({ SCHEDULED_BACKUPS_KEEP: "many" })).toBe(10);
  });
});
