/**
 * @module
 * Deno entry: `deno task start`. PORT defaults to 8080 (Knative's), not Deno's 8000.
 */
import { createServer, parseFunctionList } from "./server.ts";

declare const Deno: {
  env: { get(name: string): string | undefined };
  serve(
    options: { port: number; hostname?: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

const port = Number(Deno.env.get("PORT") ?? 8080);
const functions = parseFunctionList(Deno.env.get("FUNCTIONS"));
const app = createServer({ functions });
const server = Deno.serve(
  {
    port,
    hostname: Deno.env.get("HOST") ?? "0.0.0.0",
    onListen: (addr) =>
      console.log(
        JSON.stringify({
          level: "info",
          msg: "listening",
          runtime: "deno",
          port: addr.port,
          functions: functions.length ? functions : "all",
        }),
      ),
  },
  app.fetch,
);
// Without a listener Deno dies from the signal (no exit code 0) and cuts in-flight requests.
const stop = () => void server.shutdown().then(() => Deno.exit(0));
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
