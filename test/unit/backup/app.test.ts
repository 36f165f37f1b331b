import { describe, expect, it } from "vitest";
import { app } from "../../../functions/backup/app.ts";
import { syncRequest } from "./fixtures.ts";

const post = (path: string, body: string) =>
  app.request(path, { method: "POST", body, headers: { "content-type": "application/json" } });

describe("backup app", () => {
  it("serves sync, finalize and customize", async () => {
    const sync = await post("/sync", JSON.stringify(syncRequest()));
    expect(sync.status).toBe(200);
    expect(((await sync.json()) as { children: unknown[] }).children).toHaveLength(1);
    const fin = await post("/finalize", JSON.stringify(syncRequest({ finalizing: true })));
    expect(await fin.json()).toMatchObject({ finalized: true });
    const cust = await post("/customize", JSON.stringify({ parent: syncRequest().parent }));
    expect(((await cust.json()) as { relatedResources: unknown[] }).relatedResources).toHaveLength(2);
  });

  it("answers malformed bodies with 400 naming the problem", async () => {
    for (const path of ["/sync", "/finalize", "/customize"]) {
      const bad = await post(path, "{");
      expect(bad.status).toBe(400);
      const empty = await post(path, "{}");
      expect(empty.status).toBe(400);
      expect(((await empty.json()) as { error: string }).error).toContain("parent");
    }
    expect((await post("/nope", "{}")).status).toBe(404);
  });
});
