/**
 * Process-level contract on Node and Deno: PORT, the FUNCTIONS subset, refusing an unknown
 * function at start-up, and a clean stop on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST_ROUTES } from "./lib/fixtures.ts";
import { call, post } from "./lib/http.ts";
import {
  eventually,
  freePort,
  groupAlive,
  portClosed,
  RUNTIMES,
  type RunningServer,
  spawnServer,
  startServer,
} from "./lib/server.ts";

describe.each(RUNTIMES)("server process on %s", (runtime) => {
  describe("PORT", () => {
    let server: RunningServer;
    let port: number;
    beforeAll(async () => {
      port = await freePort();
      server = await startServer(runtime, { port });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("listens on PORT and says so in its start-up line", async () => {
      expect((await call(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const listening = server
        .stdout()
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === "listening");
      expect(listening).toMatchObject({ port, runtime });
    });
  });

  describe("FUNCTIONS=cluster", () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startServer(runtime, { env: { FUNCTIONS: "cluster" } });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("serves /cluster/*", async () => {
      for (const route of POST_ROUTES.filter((r) => r.path.startsWith("/cluster/"))) {
        const answer = await post(server.url + route.path, JSON.stringify(route.request("s").body));
        expect(answer.status, route.path).not.toBe(404);
      }
    });

    it("answers 404 for every other function's routes", async () => {
      for (const route of POST_ROUTES.filter((r) => !r.path.startsWith("/cluster/"))) {
        const answer = await post(server.url + route.path, JSON.stringify(route.request("s").body));
        expect(answer.status, route.path).toBe(404);
        expect(answer.contentType).toMatch(/^application\/json/);
      }
    });

    it("still serves health, readiness (naming the function) and metrics", async () => {
      expect((await call(`${server.url}/healthz`)).status).toBe(200);
      const ready = await call(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.json).toMatchObject({ functions: ["cluster"] });
      expect((await call(`${server.url}/metrics`)).status).toBe(200);
    });
  });

  it("refuses to start with an unknown name in FUNCTIONS, naming it", async () => {
    const port = await freePort();
    const proc = spawnServer(runtime, { port, env: { FUNCTIONS: "cluster,clutser" } });
    const exit = await proc.exited();
    expect(exit.code).not.toBe(0);
    expect(exit.code === null && exit.signal === null).toBe(false);
    expect(proc.stdout() + proc.stderr()).toContain("clutser");
    expect(await portClosed(port)).toBe(true);
  });

  it("stops cleanly on SIGTERM: exit code 0, port closed, no process left", async () => {
    const server = await startServer(runtime);
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
    process.kill(server.pid, "SIGTERM");
    const exit = await server.exited();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await portClosed(server.port)).toBe(true);
    // tsx runs the server in a child process; it must not outlive the wrapper. A busy machine
    // may take a moment to reap it, so this waits (5 s at most) instead of sampling once.
    await eventually(() => !groupAlive(server.pid), "no process left in the server's group");
    await server.stop();
  });
});
