/**
 * @module
 * The benchmark's baseline: an echo handler mounted on the same Hono app as the hooks, so the
 * difference to a hook is the hook's own work. Never mounted by a production entry.
 */
import type { Hono } from "hono";
import * as z from "zod";
import { readJson } from "../../shared/http.ts";

export const ECHO_PATH = "/bench/echo";

/** Parses the JSON body like every hook does, and answers it back. */
export function mountEcho(app: Hono): void {
  app.post(ECHO_PATH, async (c) => c.json(await readJson(c, z.unknown())));
}
