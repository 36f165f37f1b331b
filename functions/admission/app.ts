/**
 * @module
 * The admission function as a Hono app (routes relative to /admission).
 */
import { Hono } from "hono";
import { installErrorHandling } from "../../shared/http.ts";

export const app = new Hono();
installErrorHandling(app);
app.post("/*", (c) => c.json({ error: "not implemented yet" }, 501));
