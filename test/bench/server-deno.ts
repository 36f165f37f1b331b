/**
 * @module
 * Benchmark-only Deno entry: functions/deno.ts plus the echo baseline route.
 */
import { createServer, serverOptionsFromEnv } from "../../functions/server.ts";
import { mountEcho } from "./echo.ts";

declare const Deno: {
  env: { get(name: string): string | undefined; toObject(): Record<string, string> };
  serve(
    options: { port: number; hostname?: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

const port = Number(Deno.env.get("PORT") ?? 8080);
const app = createServer({ ...serverOptionsFromEnv(Deno.env.toObject()), extra: mountEcho });
const server = Deno.serve(
  {
    port,
    hostname: Deno.env.get("HOST") ?? "127.0.0.1",
    onListen: (addr) =>
      console.log(JSON.stringify({ level: "info", msg: "listening", runtime: "deno", port: addr.port, bench: true })),
  },
  app.fetch,
);
const stop = () => void server.shutdown().then(() => Deno.exit(0));
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
