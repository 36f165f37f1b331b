/**
 * @module
 * Deno entry: `deno task start`. PORT defaults to 8080 (Knative's), not Deno's 8000.
 * With TLS_CERT_FILE and TLS_KEY_FILE set, the same app is also served over HTTPS on TLS_PORT
 * (default 8443) for the admission webhook. Unlike the Node entry it does not reload a renewed
 * certificate: restart the process (roll the Deployment) after a renewal.
 */
import { createServer, serverOptionsFromEnv } from "./server.ts";

declare const Deno: {
  env: { toObject(): Record<string, string> };
  readTextFileSync(path: string): string;
  serve(
    options: {
      port: number;
      hostname?: string;
      cert?: string;
      key?: string;
      onListen?: (addr: { port: number }) => void;
    },
    handler: (req: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

// Read once, here: the functions are handed options and never read the environment themselves.
const env: Record<string, string | undefined> = Deno.env.toObject();
const port = Number(env.PORT ?? 8080);
const hostname = env.HOST ?? "0.0.0.0";
const options = serverOptionsFromEnv(env);
const functions = options.functions ?? [];
const app = createServer(options);
const server = Deno.serve(
  {
    port,
    hostname,
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
const certFile = env.TLS_CERT_FILE;
const keyFile = env.TLS_KEY_FILE;
const tlsServer =
  certFile && keyFile
    ? Deno.serve(
        {
          port: Number(env.TLS_PORT ?? 8443),
          hostname,
          cert: Deno.readTextFileSync(certFile),
          key: Deno.readTextFileSync(keyFile),
          onListen: (addr) =>
            console.log(
              JSON.stringify({ level: "info", msg: "listening", runtime: "deno", tls: true, port: addr.port }),
            ),
        },
        app.fetch,
      )
    : undefined;
// Without a listener Deno dies from the signal (no exit code 0) and cuts in-flight requests.
const stop = () => void Promise.all([server.shutdown(), tlsServer?.shutdown()]).then(() => Deno.exit(0));
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
