/**
 * @module
 * Runs once per `npm run test:kube`: builds the control plane if its pins changed
 * (tools/build-control-plane.sh), stops what an aborted earlier run left, starts etcd,
 * kube-apiserver, kube-controller-manager and the functions, installs Tusk as the README says
 * and starts Metacontroller. As root it first makes the pod network (test/pods/net.ts), puts
 * the API server on the bridge's address and, last, starts the test kubelet
 * (test/pods/kubelet.ts), so pods run. The test files share that installation; each works in
 * namespaces of its own. Teardown stops every process, removes the pod network and the run
 * directory (logs stay in /var/tmp/tusk-kube/logs until the next run).
 */
import { execFileSync } from "node:child_process";
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeHostMountPoints } from "../pods/mountns.ts";
import { PodNetwork, podNetworkUnavailable } from "../pods/net.ts";
import { REPO, RUN, startControlPlane } from "./lib/control-plane.ts";
import { ENV_FILE, type KubeEnv } from "./lib/env.ts";
import {
  functionsEndpoints,
  installMetacontrollerObjects,
  kubectlFor,
  mustFor,
  startFunctions,
  startMetacontroller,
  writeOverlay,
} from "./lib/install.ts";
import { startKubelet } from "./lib/kubelet.ts";
import { BASE, LOGS, stopAll } from "./lib/proc.ts";

let started = 0;
const say = (m: string) => console.log(`[kube setup] ${m}`);
// dependants first, etcd last
const ORDER = ["kubelet", "metacontroller", "functions", "kube-controller-manager", "kube-apiserver", "etcd"];
const order = (file: string) => ORDER.findIndex((n) => file.startsWith(`${n}.`));

export async function setup(): Promise<void> {
  started = Date.now();
  execFileSync("bash", [join(REPO, "tools", "build-control-plane.sh")], { stdio: "inherit" });
  for (const name of await stopAll(order)) say(`stopped ${name} left by an earlier run`);
  await removePods();
  rmSync(`${LOGS}.previous`, { recursive: true, force: true });
  if (existsSync(LOGS)) renameSync(LOGS, `${LOGS}.previous`);

  const noPods = podNetworkUnavailable();
  if (noPods) say(`no pods will run: ${noPods}`);
  // a run beside another (TUSK_KUBE_BASE) needs its own pod /24 and service range as well
  const serviceCidr = process.env.TUSK_SERVICE_CIDR ?? "10.96.0.0/16";
  const net = noPods ? undefined : await PodNetwork.create(BASE, undefined, serviceCidr);
  const cp = await startControlPlane({ address: net?.gateway, serviceCidr });
  say(`kube-apiserver at ${cp.server} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  const must = mustFor(kubectlFor(cp.kubeconfig));
  await installMetacontrollerObjects(must);
  const endpoints = await functionsEndpoints();
  const overlay = writeOverlay(endpoints);
  const applied = await must(["apply", "-k", overlay], { timeoutMs: 120_000 });
  await must(["wait", "--for=condition=Established", "--timeout=60s", "crd", "-l", "app.kubernetes.io/part-of=tusk"]);
  const fn = await startFunctions(cp, must, endpoints);
  const mc = await startMetacontroller(cp, must);
  const kubelet = net ? await startKubelet(cp, must) : undefined;
  const env: KubeEnv = {
    server: cp.server,
    caFile: cp.caFile,
    kubeconfig: cp.kubeconfig,
    auditLog: cp.auditLog,
    overlay,
    applied: applied.split("\n").filter(Boolean),
    functions: { http: fn.http, https: fn.https, log: fn.daemon.log },
    metacontrollerLog: mc.log,
    pods: kubelet
      ? {
          node: kubelet.node,
          subnet: `${net!.state.prefix}.0/24`,
          gateway: net!.gateway,
          kubeletLog: kubelet.daemon.log,
        }
      : { unavailable: noPods ?? "no pod network" },
    startedAt: started,
  };
  writeFileSync(ENV_FILE, JSON.stringify(env, null, 2));
  say(`installed; Metacontroller running (${((Date.now() - started) / 1000).toFixed(1)} s); logs in ${LOGS}`);
}

/** The pod network and whatever still runs in it, the pods' directories and their mount points. */
async function removePods(): Promise<void> {
  const removed = await PodNetwork.cleanup(BASE);
  if (removed.length) say(`removed pod network ${removed.join(", ")}`);
  removeHostMountPoints(join(BASE, "kubelet-mountpoints.txt"));
  for (const d of ["pods", "volumes"]) rmSync(join(BASE, d), { recursive: true, force: true });
}

export async function teardown(): Promise<void> {
  const stopped = await stopAll(order);
  await removePods();
  rmSync(RUN, { recursive: true, force: true });
  say(`stopped ${stopped.join(", ")}; suite wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
