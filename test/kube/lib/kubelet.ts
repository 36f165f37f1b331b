/**
 * @module
 * Starts the test kubelet (test/pods/kubelet.ts) as a daemon of the suite, with the three
 * identities the API server knows it by (control-plane.ts): its Node, the scheduler, and a volume
 * provisioner bound to Kubernetes' own `system:persistent-volume-provisioner` ClusterRole.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../../e2e/lib/wait.ts";
import type { KubeletConfig } from "../../pods/kubelet.ts";
import { type ControlPlane, NODE_NAME, PROVISIONER_USER, REPO, RUN, whileAlive } from "./control-plane.ts";
import type { mustFor } from "./install.ts";
import { BASE, type Daemon, LOGS, startDaemon, tail } from "./proc.ts";

/**
 * Pods run only in namespaces carrying this label: the older test files check what the API
 * server and the controllers do with Tusk's objects and were written for a control plane whose
 * pods stay Pending; running every cluster they create would multiply the suite's time on two
 * cores and change what their fixpoint checks see.
 */
export const PODS_LABEL = "tusk.dev/test-kubelet";

const PROVISIONER_BINDING = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tusk-kube-provisioner}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:persistent-volume-provisioner"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ${PROVISIONER_USER}}]
`;

export async function startKubelet(
  cp: ControlPlane,
  must: ReturnType<typeof mustFor>,
): Promise<{ node: string; daemon: Daemon }> {
  await must(["apply", "-f", "-"], { input: PROVISIONER_BINDING });
  const config: KubeletConfig = {
    nodeName: NODE_NAME,
    server: cp.server,
    caFile: cp.caFile,
    tokens: cp.kubeletTokens,
    stateDir: BASE,
    logDir: LOGS,
    apiHost: cp.address,
    apiPort: cp.port,
    namespaceSelector: `${PODS_LABEL}=run`,
    backoffMs: { base: 2000, max: 30_000 },
  };
  const file = join(RUN, "kubelet.json");
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  const daemon = startDaemon("kubelet", [
    join(REPO, "node_modules", ".bin", "tsx"),
    join(REPO, "test", "pods", "kubelet-main.ts"),
    file,
  ]);
  await waitFor(
    `the test kubelet to register Node ${NODE_NAME}`,
    whileAlive(daemon, async () => {
      if (!readFileSync(daemon.log, "utf8").includes(`node ${NODE_NAME} registered`)) return false;
      const node = JSON.parse(await must(["get", "node", NODE_NAME, "-o", "json"]));
      return node.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
      );
    }),
    { timeoutMs: 90_000, describe: () => tail(daemon.log) },
  );
  return { node: NODE_NAME, daemon };
}
