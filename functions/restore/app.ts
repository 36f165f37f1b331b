/**
 * @module
 * The restore function as a Hono app (routes relative to /restore): the PostgresRestore
 * CompositeController's sync, customize and finalize hooks, thin adapters over pure cores.
 */
import { Hono } from "hono";
import { installErrorHandling, readJson } from "../../shared/http.ts";
import { CustomizeRequest, SyncRequest } from "../../shared/metacontroller.ts";
import { customizeRestore } from "./customize.ts";
import { finalizeRestore } from "./finalize.ts";
import { syncRestore } from "./sync.ts";

export const app = new Hono();
installErrorHandling(app);
app.post("/sync", async (c) => c.json(syncRestore(await readJson(c, SyncRequest))));
app.post("/finalize", async (c) => c.json(finalizeRestore(await readJson(c, SyncRequest))));
app.post("/customize", async (c) => c.json(customizeRestore(await readJson(c, CustomizeRequest))));
