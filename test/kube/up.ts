/**
 * @module
 * `npx tsx test/kube/up.ts`: the kube suite's installation, left running for a person to poke
 * at (prints the admin KUBECONFIG); `npx tsx test/kube/up.ts down` stops it. The suite's own
 * global setup stops a running one before it starts.
 */
import { setup, teardown } from "./global-setup.ts";
import { ENV_FILE } from "./lib/env.ts";

if (process.argv[2] === "down") await teardown();
else {
  await setup();
  const env = JSON.parse((await import("node:fs")).readFileSync(ENV_FILE, "utf8"));
  console.log(`export KUBECONFIG=${env.kubeconfig}\n# .kube/bin/kubectl get postgresclusters -A`);
}
