/**
 * @module
 * What global-setup.ts started, as the test files see it: the API server, an admin kubectl,
 * the audit log and the daemons' logs, plus helpers to read objects and wait for them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../../e2e/lib/wait.ts";
import { type AuditEvent, auditEvents, auditLineCount, RUN } from "./control-plane.ts";
import { type Kubectl, kubectlFor, mustFor } from "./install.ts";
import { PODS_LABEL } from "./kubelet.ts";
import { tail } from "./proc.ts";

export const ENV_FILE = join(RUN, "env.json");

export interface KubeEnv {
  server: string;
  caFile: string;
  kubeconfig: string;
  auditLog: string;
  overlay: string;
  /** kubectl apply -k's own lines, one per object */
  applied: string[];
  functions: { http: string; https: string; log: string };
  metacontrollerLog: string;
  /** the test kubelet's Node and pod network, or why pods do not run */
  pods: { node: string; subnet: string; gateway: string; kubeletLog: string } | { unavailable: string };
  startedAt: number;
}

/** Kubernetes objects as read back from the API server. */
export type Obj = Record<string, any>;

export interface Kube {
  env: KubeEnv;
  kubectl: Kubectl;
  must: ReturnType<typeof mustFor>;
  get(kind: string, name: string, namespace?: string): Promise<Obj | undefined>;
  list(kind: string, namespace?: string, selector?: string): Promise<Obj[]>;
  apply(manifest: Obj | string, namespace?: string): Promise<string>;
  /**
   * A fresh namespace enforcing Pod Security "restricted", as the README recommends for clusters;
   * with `pods`, the test kubelet runs its pods (lib/kubelet.ts).
   */
  namespace(name: string, opts?: { pods?: boolean }): Promise<string>;
  audit(fromLine?: number): AuditEvent[];
  auditMark(): number;
  /** Metacontroller's and the functions' log tails, for a failing wait's message. */
  logs(): string;
  waitFor: typeof waitFor;
}

export function kube(): Kube {
  const env = JSON.parse(readFileSync(ENV_FILE, "utf8")) as KubeEnv;
  const kubectl = kubectlFor(env.kubeconfig);
  const must = mustFor(kubectl);
  const ns = (namespace?: string) => (namespace ? ["-n", namespace] : []);
  return {
    env,
    kubectl,
    must,
    async get(kind, name, namespace) {
      const r = await kubectl([...ns(namespace), "get", kind, name, "-o", "json"]);
      if (r.code !== 0) {
        if (/NotFound|not found/.test(r.stderr)) return undefined;
        throw new Error(`kubectl get ${kind} ${name}: ${r.stderr.trim()}`);
      }
      return JSON.parse(r.stdout) as Obj;
    },
    async list(kind, namespace, selector) {
      const out = await must([...ns(namespace), "get", kind, ...(selector ? ["-l", selector] : []), "-o", "json"]);
      return (JSON.parse(out) as Obj).items as Obj[];
    },
    apply(manifest, namespace) {
      const input = typeof manifest === "string" ? manifest : JSON.stringify(manifest);
      return must([...ns(namespace), "apply", "-f", "-"], { input });
    },
    async namespace(name, opts = {}) {
      await must(["apply", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "v1",
          kind: "Namespace",
          metadata: {
            name,
            labels: {
              "pod-security.kubernetes.io/enforce": "restricted",
              ...(opts.pods ? { [PODS_LABEL]: "run" } : {}),
            },
          },
        }),
      });
      return name;
    },
    audit: (fromLine = 0) => auditEvents(env, fromLine),
    auditMark: () => auditLineCount(env),
    logs: () => `--- metacontroller\n${tail(env.metacontrollerLog, 30)}\n--- functions\n${tail(env.functions.log, 10)}`,
    waitFor,
  };
}
