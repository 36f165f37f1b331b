/**
 * @module
 * The backup function as a Hono app (routes relative to /backup): the PostgresBackup
 * CompositeController's sync, customize and finalize hooks, thin adapters over pure cores.
 */
import { Hono } from "hono";
import { installErrorHandling, readJson } from "../../shared/http.ts";
import { CustomizeRequest, SyncRequest } from "../../shared/metacontroller.ts";
import { customizeBackup } from "./customize.ts";
import { finalizeBackup } from "./finalize.ts";
import { syncBackup } from "./sync.ts";

export const app = new Hono();
installErrorHandling(app);
app.post("/sync", async (c) => c.json(syncBackup(await readJson(c, SyncRequest))));
app.post("/finalize", async (c) => c.json(finalizeBackup(await readJson(c, SyncRequest))));
app.post("/customize", async (c) => c.json(customizeBackup(await readJson(c, CustomizeRequest))));
