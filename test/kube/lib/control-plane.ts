/**
 * @module
 * The real control plane on 127.0.0.1: etcd, kube-apiserver (token authentication, RBAC, the
 * default admission plugins, an audit log of every write) and kube-controller-manager (every
 * default controller, each with its own ServiceAccount credentials), built by
 * tools/build-control-plane.sh. Keys, tokens and certificates are made here for each run.
 * With the pod network (test/pods/net.ts) the API server listens on the bridge's address, which
 * the host and the pods both reach; without it, on 127.0.0.1 and pods stay Pending.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Fatal, waitFor } from "../../e2e/lib/wait.ts";
import { alive, BASE, type Daemon, freePort, run, startDaemon, tail } from "./proc.ts";

export const REPO = join(import.meta.dirname, "..", "..", "..");
export const BIN = join(REPO, ".kube", "bin");
export const RUN = join(BASE, "run");

/** Identities of the test kubelet (test/pods/kubelet.ts), each judged by the API server as its role. */
export const NODE_NAME = "tusk-kube-node";
export const PROVISIONER_USER = "tusk-kube-provisioner";

export interface ControlPlane {
  server: string;
  /** the address the API server listens on (and advertises) */
  address: string;
  port: number;
  /** bearer tokens for the test kubelet: its Node, the scheduler it plays, the volume provisioner */
  kubeletTokens: { node: string; scheduler: string; provisioner: string; proxy: string };
  serviceCidr: string;
  /** the API server's self-signed serving certificate, which clients trust */
  caFile: string;
  adminToken: string;
  /** kubeconfig of the admin (system:masters) */
  kubeconfig: string;
  auditLog: string;
  daemons: Daemon[];
}

export function kubeconfigFor(server: string, caFile: string, user: string, token: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "tusk-kube", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "tusk-kube", context: { cluster: "tusk-kube", user } }],
    "current-context": "tusk-kube",
  });
}

/**
 * Writes are what the fixpoint and "no 409/422" checks count; reads would drown them. Events
 * are left out: they record, they do not change desired state.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    resources: [{group: "", resources: ["events"]}, {group: "events.k8s.io", resources: ["events"]}, {group: "coordination.k8s.io", resources: ["leases"]}]
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: None
`;

/** A probe that gives up at once, with the log's tail, when the daemon has exited. */
export function whileAlive<T>(d: Daemon, probe: () => Promise<T>): () => Promise<T> {
  return async () => {
    if (!alive(d.pid)) throw new Fatal(`${d.name} exited:\n${tail(d.log)}`);
    return probe();
  };
}

async function httpsReady(url: string, caFile: string, token: string): Promise<boolean> {
  const r = await run([
    "curl",
    "-sf",
    "--max-time",
    "5",
    "--cacert",
    caFile,
    "-H",
    `Authorization: Bearer ${token}`,
    url,
  ]);
  return r.code === 0 && r.stdout.trim() === "ok";
}

export async function startControlPlane(opts: { address?: string; serviceCidr?: string } = {}): Promise<ControlPlane> {
  const address = opts.address ?? "127.0.0.1";
  const serviceCidr = opts.serviceCidr ?? "10.96.0.0/16";
  rmSync(RUN, { recursive: true, force: true });
  const pki = join(RUN, "pki");
  mkdirSync(pki, { recursive: true });
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(pki, "sa.key"), sa.privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
  writeFileSync(join(pki, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
  const adminToken = randomBytes(24).toString("hex");
  const kubeletTokens = {
    node: randomBytes(24).toString("hex"),
    scheduler: randomBytes(24).toString("hex"),
    provisioner: randomBytes(24).toString("hex"),
    proxy: randomBytes(24).toString("hex"),
  };
  // the Node authorizer and NodeRestriction know a node by this user name and group
  const tokens = [
    `${adminToken},tusk-kube-admin,tusk-kube-admin,"system:masters"`,
    `${kubeletTokens.node},system:node:${NODE_NAME},${NODE_NAME},"system:nodes"`,
    `${kubeletTokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
    `${kubeletTokens.provisioner},${PROVISIONER_USER},${PROVISIONER_USER}`,
    // bound to system:node-proxier by Kubernetes' default policy
    `${kubeletTokens.proxy},system:kube-proxy,system:kube-proxy`,
  ];
  writeFileSync(join(pki, "tokens.csv"), `${tokens.join("\n")}\n`, { mode: 0o600 });
  writeFileSync(join(RUN, "audit-policy.yaml"), AUDIT_POLICY);
  const auditLog = join(RUN, "audit.log");

  const daemons: Daemon[] = [];
  const etcdPort = await freePort();
  const etcdPeer = await freePort();
  daemons.push(
    startDaemon("etcd", [
      join(BIN, "etcd"),
      "--name=tusk-kube",
      `--data-dir=${join(RUN, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=tusk-kube=http://127.0.0.1:${etcdPeer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]),
  );
  await waitFor(
    "etcd health",
    whileAlive(daemons[0]!, async () =>
      (await run(["curl", "-sf", `http://127.0.0.1:${etcdPort}/health`])).stdout.includes('"true"'),
    ),
    { timeoutMs: 60_000, describe: () => tail(daemons[0]!.log) },
  );

  const port = await freePort();
  const server = `https://${address}:${port}`;
  const certDir = join(RUN, "apiserver");
  const apiserver = startDaemon("kube-apiserver", [
    join(BIN, "kube-apiserver"),
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    // the self-signed serving certificate names the bind address (and the advertised one)
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    // the endpoint reconciler refuses a loopback address for the kubernetes Service's endpoints;
    // pods are given the API server's address directly (no Service proxy yet)
    "--endpoint-reconciler-type=none",
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${join(pki, "sa.pub")}`,
    `--service-account-signing-key-file=${join(pki, "sa.key")}`,
    `--token-auth-file=${join(pki, "tokens.csv")}`,
    "--authorization-mode=Node,RBAC",
    "--allow-privileged=false",
    `--audit-policy-file=${join(RUN, "audit-policy.yaml")}`,
    `--audit-log-path=${auditLog}`,
    "--audit-log-format=json",
    "--audit-log-mode=blocking",
  ]);
  daemons.push(apiserver);
  // --cert-dir: the API server writes its self-signed serving pair there on start
  const caFile = join(certDir, "apiserver.crt");
  await waitFor(
    "kube-apiserver /readyz",
    whileAlive(apiserver, () => httpsReady(`${server}/readyz`, caFile, adminToken)),
    {
      timeoutMs: 180_000,
      intervalMs: 500,
      describe: () => tail(apiserver.log),
    },
  );
  const kubeconfig = join(RUN, "admin.kubeconfig");
  writeFileSync(kubeconfig, kubeconfigFor(server, caFile, "tusk-kube-admin", adminToken), { mode: 0o600 });

  const kcmPort = await freePort();
  const kcm = startDaemon("kube-controller-manager", [
    join(BIN, "kube-controller-manager"),
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${kcmPort}`,
    `--service-account-private-key-file=${join(pki, "sa.key")}`,
    `--root-ca-file=${caFile}`,
    "--use-service-account-credentials=true",
    "--leader-elect=false",
    "--controllers=*",
  ]);
  daemons.push(kcm);
  await waitFor(
    "kube-controller-manager /healthz",
    whileAlive(
      kcm,
      async () => (await run(["curl", "-sfk", `https://127.0.0.1:${kcmPort}/healthz`])).stdout.trim() === "ok",
    ),
    { timeoutMs: 120_000, intervalMs: 500, describe: () => tail(kcm.log) },
  );
  return { server, address, port, kubeletTokens, serviceCidr, caFile, adminToken, kubeconfig, auditLog, daemons };
}

/** The audit log's events (JSON lines), optionally only those after a line count. */
export function auditEvents(cp: Pick<ControlPlane, "auditLog">, fromLine = 0): AuditEvent[] {
  let text = "";
  try {
    text = readFileSync(cp.auditLog, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .slice(fromLine)
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent);
}

export function auditLineCount(cp: Pick<ControlPlane, "auditLog">): number {
  try {
    return readFileSync(cp.auditLog, "utf8")
      .split("\n")
      .filter((l) => l.trim()).length;
  } catch {
    return 0;
  }
}

export interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number; message?: string; reason?: string };
  requestURI: string;
  stage: string;
}
