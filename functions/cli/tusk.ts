/**
 * @module
 * The `tusk` command line's entry: the runtime edge that wires the real I/O, clock, CSPRNG
 * and Kubernetes client into the runtime-neutral CLI core. Runs on Node (`npx tusk`, through
 * bin.mjs) and on Deno (`deno task tusk`).
 */
import { webCryptoPki } from "../../shared/crypto/x509.ts";
import { currentRuntime } from "./io.ts";
import { connectKube } from "./kube.ts";
import { run } from "./main.ts";

const runtime = await currentRuntime();
const code = await run(runtime.args, {
  io: runtime.io,
  deps: {
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    now: () => new Date(),
    pki: webCryptoPki,
  },
  connect: connectKube,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  pollIntervalMs: 2000,
});
runtime.exit(code);
