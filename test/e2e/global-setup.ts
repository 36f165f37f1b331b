/**
 * @module
 * Runs once per `npm run test:e2e`: installs missing programs (root), stops whatever an aborted
 * earlier run left behind, starts from an empty run directory; at the end stops leftovers again
 * (a crashed test file), checks no port is left listening and writes test/e2e/RESULTS.md.
 */
import { execFileSync } from "node:child_process";
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { removeHostMountPoints, requireMountNamespaces } from "./lib/podns.ts";
import { BASE, killLeftovers, LOGS, RUN } from "./lib/proc.ts";
import { RESULTS_DIR, writeResultsMarkdown } from "./lib/results.ts";

const here = import.meta.dirname;
let started = 0;

export async function setup(): Promise<void> {
  started = Date.now();
  execFileSync("bash", [join(here, "install.sh")], { stdio: "inherit" });
  await killLeftovers((m) => console.log(`[e2e setup] ${m}`));
  removeHostMountPoints();
  // each pod's processes run in a mount namespace of their own (lib/podns.ts)
  requireMountNamespaces();
  // the previous run's logs stay one run longer, for diagnosing a failure after a rerun
  rmSync(`${LOGS}.previous`, { recursive: true, force: true });
  if (existsSync(LOGS)) renameSync(LOGS, `${LOGS}.previous`);
  for (const d of [RUN, RESULTS_DIR]) rmSync(d, { recursive: true, force: true });
  console.log(`[e2e setup] base ${BASE}; logs in ${LOGS}`);
}

export async function teardown(): Promise<void> {
  await killLeftovers((m) => console.log(`[e2e teardown] ${m}`));
  removeHostMountPoints();
  const wall = (Date.now() - started) / 1000;
  writeResultsMarkdown(join(here, "RESULTS.md"), wall);
  console.log(`[e2e teardown] suite wall time ${wall.toFixed(1)} s; RESULTS.md written`);
}
