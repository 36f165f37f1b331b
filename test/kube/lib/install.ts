/**
 * @module
 * Installs Tusk on the control plane the way the README tells a user: `kubectl apply -k` of
 * manifests/manual-tls/ (no cert-manager here), through an overlay of the suite's own whose only
 * changes are where the hooks and the webhook are reached (the functions served on this
 * machine, over HTTP and over HTTPS with a CA made here), and a shorter resync period so the
 * fixpoint check can wait out two of them. Metacontroller runs as a process under its own
 * ServiceAccount's token, with only the permissions Tusk documents for it
 * (manifests/rbac/metacontroller.yaml) plus what it needs for its own objects.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { stringify } from "yaml";
import { waitFor } from "../../e2e/lib/wait.ts";
import { BIN, type ControlPlane, kubeconfigFor, REPO, RUN, whileAlive } from "./control-plane.ts";
import { type Daemon, freePort, run, startDaemon, tail } from "./proc.ts";

export const RESYNC_SECONDS = 15;
export const METACONTROLLER_USER = "system:serviceaccount:metacontroller:metacontroller";
export const FUNCTIONS_USER = "system:serviceaccount:tusk-system:tusk-functions";

export type Kubectl = (
  args: string[],
  opts?: { input?: string; timeoutMs?: number; as?: string },
) => Promise<{
  code: number;
  stdout: string;
  stderr: string;
}>;

export function kubectlFor(kubeconfig: string): Kubectl {
  return (args, opts = {}) =>
    run([join(BIN, "kubectl"), `--kubeconfig=${kubeconfig}`, ...(opts.as ? [`--as=${opts.as}`] : []), ...args], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: RUN },
    });
}

/** kubectl that throws with its stderr on a non-zero exit; returns stdout. */
export function mustFor(kubectl: Kubectl) {
  return async (args: string[], opts?: { input?: string; timeoutMs?: number; as?: string }): Promise<string> => {
    const r = await kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
}

interface WebhookTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A CA and a serving certificate for 127.0.0.1, as manual-tls.sh makes for the Service name. */
async function webhookTls(): Promise<WebhookTls> {
  const dir = join(RUN, "webhook-tls");
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const steps = [
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tusk-kube-test-ca"]
      .concat(["-keyout", f("ca.key"), "-out", f("ca.crt")])
      .concat(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]),
    ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f("tls.key")].concat([
      "-out",
      f("tls.csr"),
    ]),
  ];
  for (const argv of steps) {
    const r = await run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  }
  writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  const sign = await run(
    [
      "openssl",
      "x509",
      "-req",
      "-in",
      f("tls.csr"),
      "-CA",
      f("ca.crt"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
    ].concat(["-days", "2", "-extfile", f("ext.cnf"), "-out", f("tls.crt")]),
  );
  if (sign.code !== 0) throw new Error(`openssl x509: ${sign.stderr}`);
  return { caFile: f("ca.crt"), certFile: f("tls.crt"), keyFile: f("tls.key") };
}

export interface Functions {
  daemon: Daemon;
  http: string;
  https: string;
  tls: WebhookTls;
}

/** Ports and the webhook's certificate, known before the install that names them. */
export async function functionsEndpoints(): Promise<Omit<Functions, "daemon">> {
  const tls = await webhookTls();
  return { http: `http://127.0.0.1:${await freePort()}`, https: `https://127.0.0.1:${await freePort()}`, tls };
}

/**
 * `npm start`'s entry (functions/node.ts), as the Deployment runs it, on this machine, with the
 * token of its ServiceAccount tusk-functions (the scheduler writes PostgresBackups with it).
 */
export async function startFunctions(
  cp: ControlPlane,
  must: ReturnType<typeof mustFor>,
  at: Omit<Functions, "daemon">,
): Promise<Functions> {
  const token = (await must(["-n", "tusk-system", "create", "token", "tusk-functions", "--duration=12h"])).trim();
  const kubeconfig = join(RUN, "functions.kubeconfig");
  writeFileSync(kubeconfig, kubeconfigFor(cp.server, cp.caFile, "tusk-functions", token), { mode: 0o600 });
  const { tls } = at;
  const port = Number(new URL(at.http).port);
  const tlsPort = Number(new URL(at.https).port);
  const daemon = startDaemon(
    "functions",
    [join(REPO, "node_modules", ".bin", "tsx"), join(REPO, "functions", "node.ts")],
    {
      cwd: REPO,
      env: {
        PORT: String(port),
        HOST: "127.0.0.1",
        TLS_PORT: String(tlsPort),
        TLS_CERT_FILE: tls.certFile,
        TLS_KEY_FILE: tls.keyFile,
        KUBECONFIG: kubeconfig,
      },
    },
  );
  await waitFor(
    "the functions' /readyz",
    async () => (await run(["curl", "-sf", `http://127.0.0.1:${port}/readyz`])).code === 0,
    { timeoutMs: 60_000, describe: () => tail(daemon.log) },
  );
  return { daemon, ...at };
}

const CONTROLLERS = {
  "tusk-postgrescluster": "cluster",
  "tusk-postgresbackup": "backup",
  "tusk-postgresrestore": "restore",
};

/** The suite's overlay of manifests/manual-tls/: where the hooks and the webhook are reached. */
export function writeOverlay(fn: Omit<Functions, "daemon">): string {
  const dir = join(RUN, "overlay");
  mkdirSync(dir, { recursive: true });
  const caBundle = readFileSync(fn.tls.caFile).toString("base64");
  const patches: unknown[] = Object.entries(CONTROLLERS).map(([name, path]) => ({
    target: { group: "metacontroller.k8s.io", version: "v1alpha1", kind: "CompositeController", name },
    patch: stringify([
      ...["sync", "customize", "finalize"].map((hook) => ({
        op: "replace",
        path: `/spec/hooks/${hook}/webhook/url`,
        value: `${fn.http}/${path}/${hook}`,
      })),
      { op: "replace", path: "/spec/resyncPeriodSeconds", value: RESYNC_SECONDS },
    ]),
  }));
  patches.push({
    target: { group: "admissionregistration.k8s.io", version: "v1", kind: "ValidatingWebhookConfiguration" },
    patch: stringify([
      {
        op: "replace",
        path: "/webhooks/0/clientConfig",
        value: { url: `${fn.https}/admission/validate`, caBundle },
      },
    ]),
  });
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [relative(dir, join(REPO, "manifests", "manual-tls"))],
    patches,
  };
  writeFileSync(join(dir, "kustomization.yaml"), stringify(kustomization));
  return dir;
}

/**
 * What Metacontroller needs for itself (its controllers, their revisions, Events), beside
 * Tusk's ClusterRole tusk-metacontroller; its release manifests grant `*` on everything instead,
 * which would hide a permission Tusk forgot to document.
 */
const METACONTROLLER_SELF = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: tusk-kube-metacontroller-self}
rules:
  - apiGroups: [metacontroller.k8s.io]
    resources: [compositecontrollers, decoratorcontrollers]
    verbs: [get, list, watch]
  - apiGroups: [metacontroller.k8s.io]
    resources: [controllerrevisions]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: ["", events.k8s.io]
    resources: [events]
    verbs: [create, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tusk-kube-metacontroller-self}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: tusk-kube-metacontroller-self}
subjects: [{kind: ServiceAccount, name: metacontroller, namespace: metacontroller}]
`;

const MC_MANIFESTS = join(REPO, ".kube", "metacontroller");

/** Metacontroller's namespace, ServiceAccount and CRDs from its release manifests (not its `*` role). */
export async function installMetacontrollerObjects(must: ReturnType<typeof mustFor>): Promise<void> {
  await must(["apply", "-f", join(MC_MANIFESTS, "metacontroller-namespace.yaml")]);
  await must(["apply", "-f", join(MC_MANIFESTS, "metacontroller-crds-v1.yaml")]);
  const serviceAccount = readFileSync(join(MC_MANIFESTS, "metacontroller-rbac.yaml"), "utf8")
    .split(/^---$/m)
    .find((doc) => /kind:\s*ServiceAccount/.test(doc));
  if (!serviceAccount) throw new Error("no ServiceAccount in Metacontroller's metacontroller-rbac.yaml");
  await must(["apply", "-f", "-"], { input: serviceAccount });
  await must(["apply", "-f", "-"], { input: METACONTROLLER_SELF });
  await must([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/compositecontrollers.metacontroller.k8s.io",
  ]);
}

export async function startMetacontroller(cp: ControlPlane, must: ReturnType<typeof mustFor>): Promise<Daemon> {
  const token = (await must(["-n", "metacontroller", "create", "token", "metacontroller", "--duration=12h"])).trim();
  const kubeconfig = join(RUN, "metacontroller.kubeconfig");
  writeFileSync(kubeconfig, kubeconfigFor(cp.server, cp.caFile, "metacontroller", token), { mode: 0o600 });
  const metricsPort = await freePort();
  const daemon = startDaemon("metacontroller", [
    join(BIN, "metacontroller"),
    // not --kubeconfig: v1.5.20 overwrites that flag with this one's value, empty by default
    `--client-config-path=${kubeconfig}`,
    `--debug-addr=127.0.0.1:${metricsPort}`,
    // the README's arguments for large fleets; the defaults (5 QPS) spend seconds on each discovery
    "--discovery-interval=10s",
    "--client-go-qps=50",
    "--client-go-burst=100",
    // Events on every sync error, not one per five minutes: the suite reads them.
    "--events-qps=10",
    "--workers=5",
    "-v=4",
  ]);
  // ready once discovery has found the three parents and their informers run
  await waitFor(
    "Metacontroller to watch the three Tusk kinds",
    whileAlive(daemon, async () => {
      const log = readFileSync(daemon.log, "utf8");
      return ["postgresclusters", "postgresbackups", "postgresrestores"].every((r) =>
        log.includes(`"Starting shared informer" resource="${r}"`),
      );
    }),
    { timeoutMs: 90_000, describe: () => tail(daemon.log) },
  );
  return daemon;
}
