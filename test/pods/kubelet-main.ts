/**
 * @module
 * The test kubelet as a daemon: `tsx test/pods/kubelet-main.ts <config.json>` (a KubeletConfig).
 * SIGTERM stops it and kills its pods' processes; the pods' network namespaces are removed by
 * the suite's teardown (PodNetwork.cleanup), which also catches what a killed kubelet left.
 */
import { readFileSync } from "node:fs";
import { Kubelet, type KubeletConfig } from "./kubelet.ts";

const file = process.argv[2];
if (!file) throw new Error("usage: kubelet-main.ts <config.json>");
const kubelet = new Kubelet(JSON.parse(readFileSync(file, "utf8")) as KubeletConfig);
let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const)
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    kubelet.log(`${sig}: stopping`);
    void kubelet.stop().finally(() => process.exit(0));
  });
kubelet.run().catch((e) => {
  kubelet.log(`fatal: ${(e as Error).stack}`);
  process.exit(1);
});
