/**
 * Pods on the real control plane, run by the test kubelet (test/pods/kubelet.ts): its Node is
 * Ready and its Lease renewed; the real Job, Deployment (ReplicaSet) and StatefulSet controllers
 * create pods that the kubelet binds, runs as processes on the pod network and reports on;
 * Services reach their pods by name and cluster IP;
 * claims get local PersistentVolumes; a pod's token (TokenRequest) authenticates it to the API
 * server; restarts back off; deletion waits for the grace period, no longer.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Kube, kube, type Obj } from "./lib/env.ts";

const NS = "kube-pods";
let k: Kube;
let subnet = "";
let unavailable: string | undefined;

beforeAll(async () => {
  k = kube();
  if ("unavailable" in k.env.pods) unavailable = k.env.pods.unavailable;
  else {
    subnet = k.env.pods.subnet.replace(/\.0\/24$/, ".");
    await k.namespace(NS, { pods: true });
  }
});

// the kubelet stops the pods (grace periods of a few seconds) as the namespace controller deletes them
afterAll(async () => {
  if (!unavailable)
    await k.kubectl(["delete", "namespace", NS, "--wait=true", "--timeout=120s"], { timeoutMs: 150_000 });
});

/** What "restricted" Pod Security asks of every pod and container. */
const restricted = { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } };
const containerSc = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

function containerLog(pod: string, container: string): string {
  if ("unavailable" in k.env.pods) return "";
  try {
    return readFileSync(join(dirname(k.env.pods.kubeletLog), "pods", `${NS}_${pod}_${container}.log`), "utf8");
  } catch {
    return "";
  }
}

const kubeletLog = () =>
  "unavailable" in k.env.pods ? "" : readFileSync(k.env.pods.kubeletLog, "utf8").split("\n").slice(-40).join("\n");

async function podsOf(selector: string): Promise<Obj[]> {
  return k.list("pods", NS, selector);
}

const ready = (p: Obj) => p.status?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True");

describe("pods", () => {
  it("the Node is Ready and its Lease is renewed", async ({ skip }) => {
    if (unavailable) skip(unavailable);
    const node = await k.get("node", "tusk-kube-node");
    expect(node?.status.conditions.find((c: Obj) => c.type === "Ready").status).toBe("True");
    expect(node?.status.addresses).toContainEqual({ type: "InternalIP", address: `${subnet}1` });
    const first = (await k.get("lease", "tusk-kube-node", "kube-node-lease"))?.spec.renewTime;
    await k.waitFor(
      "the Lease to be renewed",
      async () => (await k.get("lease", "tusk-kube-node", "kube-node-lease"))?.spec.renewTime !== first,
      { timeoutMs: 60_000 },
    );
  });

  it("a Job's pod runs to completion with its env, token and termination message; the Job completes", async ({
    skip,
  }) => {
    if (unavailable) skip(unavailable);
    const review = `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`;
    const script = [
      "echo pod=$(POD_NAME) ip=$POD_IP node=$NODE ns=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)",
      // the token the kubelet asked for authenticates this pod's ServiceAccount, bound to this pod
      `curl -sS --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)" -d '${review}' https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews | tr -d ' \\n'`,
      "echo; echo all done > /dev/termination-log",
    ].join("; ");
    await k.apply(
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "hello" },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: "Never",
              securityContext: restricted,
              containers: [
                {
                  name: "hello",
                  image: "busybox",
                  command: ["sh", "-c", script],
                  env: [
                    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                    { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                  ],
                  securityContext: containerSc,
                },
              ],
            },
          },
        },
      },
      NS,
    );
    const job = await k.waitFor(
      "Job hello to complete",
      async () => {
        const j = await k.get("job", "hello", NS);
        if (j?.status?.failed) throw new Error(`Job failed: ${JSON.stringify(j.status)}`);
        return j?.status?.conditions?.some((c: Obj) => c.type === "Complete" && c.status === "True") && j;
      },
      { timeoutMs: 120_000, describe: kubeletLog },
    );
    expect(job.status.succeeded).toBe(1);
    const [pod] = await podsOf("batch.kubernetes.io/job-name=hello");
    expect(pod?.spec.nodeName).toBe("tusk-kube-node");
    expect(pod?.status.phase).toBe("Succeeded");
    expect(pod?.status.podIP.startsWith(subnet)).toBe(true);
    const term = pod?.status.containerStatuses[0].state.terminated;
    expect(term).toMatchObject({ exitCode: 0, reason: "Completed", message: "all done\n" });
    const log = containerLog(pod!.metadata.name, "hello");
    expect(log).toContain(`pod=${pod!.metadata.name} ip=${pod!.status.podIP} node=tusk-kube-node ns=${NS}`);
    expect(log).toContain(`"username":"system:serviceaccount:${NS}:default"`);
    expect(log).toContain(`"authentication.kubernetes.io/pod-name":["${pod!.metadata.name}"]`);
  });

  it("a Deployment's pod becomes Ready through its probes, with an address from the pod range", async ({ skip }) => {
    if (unavailable) skip(unavailable);
    await k.apply(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              securityContext: restricted,
              terminationGracePeriodSeconds: 5,
              containers: [
                {
                  name: "web",
                  image: "python",
                  command: [
                    "sh",
                    "-c",
                    "echo up > /data/index.html; exec python3 -m http.server 8080 --bind $(POD_IP) --directory /data",
                  ],
                  env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
                  ports: [{ name: "http", containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 2 },
                  livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 },
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                  securityContext: containerSc,
                },
              ],
              volumes: [{ name: "data", emptyDir: {} }],
            },
          },
        },
      },
      NS,
    );
    await k.waitFor(
      "Deployment web to be available",
      async () => (await k.get("deployment", "web", NS))?.status?.availableReplicas === 1,
      { timeoutMs: 120_000, describe: kubeletLog },
    );
    const [pod] = await podsOf("app=web");
    expect(ready(pod!)).toBe(true);
    expect(pod!.status.podIP.startsWith(subnet)).toBe(true);
    expect(pod!.status.containerStatuses[0]).toMatchObject({ ready: true, started: true, restartCount: 0 });
    expect(pod!.status.containerStatuses[0].state.running).toBeDefined();
    const body = await fetch(`http://${pod!.status.podIP}:8080/`).then((r) => r.text());
    expect(body).toBe("up\n");

    // deleted: SIGTERM, then the Pod object goes; the ReplicaSet makes a new one that runs
    await k.must(["-n", NS, "delete", "pod", pod!.metadata.name, "--wait=true", "--timeout=60s"]);
    await k.waitFor(
      "a replacement pod to be Ready",
      async () => (await podsOf("app=web")).find((p) => p.metadata.uid !== pod!.metadata.uid && ready(p)),
      { timeoutMs: 120_000, describe: kubeletLog },
    );
  });

  it("a Service's name and cluster IP reach its ready pod from another pod", async ({ skip }) => {
    if (unavailable) skip(unavailable);
    await k.apply(
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      },
      NS,
    );
    const svc = await k.get("service", "web", NS);
    const names = ["web", `web.${NS}`, `web.${NS}.svc`, `web.${NS}.svc.cluster.local`];
    const script = [
      ...names.map((n) => `curl -sS --retry 10 --retry-delay 1 --retry-all-errors -m 5 http://${n}/`),
      "getent hosts web",
    ].join(" && ");
    await k.apply(
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "client" },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: "Never",
              securityContext: restricted,
              containers: [
                { name: "client", image: "curl", command: ["sh", "-c", script], securityContext: containerSc },
              ],
            },
          },
        },
      },
      NS,
    );
    await k.waitFor(
      "Job client to complete",
      async () => {
        const j = await k.get("job", "client", NS);
        if (j?.status?.failed) throw new Error(`Job failed: ${JSON.stringify(j.status)}`);
        return j?.status?.succeeded === 1;
      },
      { timeoutMs: 120_000, describe: kubeletLog },
    );
    const [pod] = await podsOf("batch.kubernetes.io/job-name=client");
    const log = containerLog(pod!.metadata.name, "client");
    expect(log.match(/^up$/gm)).toHaveLength(names.length);
    // the name is the Service's cluster IP, which the node proxies to the pod
    expect(log).toMatch(new RegExp(`^${svc!.spec.clusterIP.replace(/\./g, "\\.")}\\s+web`, "m"));
  });

  it("a StatefulSet's pod gets a local PersistentVolume for its claim, runs its init container, keeps its data", async ({
    skip,
  }) => {
    if (unavailable) skip(unavailable);
    await k.apply(
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "db" },
        spec: {
          replicas: 1,
          serviceName: "db",
          selector: { matchLabels: { app: "db" } },
          template: {
            metadata: { labels: { app: "db" } },
            spec: {
              securityContext: { ...restricted, fsGroup: 65534 },
              terminationGracePeriodSeconds: 5,
              initContainers: [
                {
                  name: "init",
                  image: "busybox",
                  command: ["sh", "-c", "echo $(POD_UID) >> /data/uids"],
                  env: [{ name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } }],
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                  securityContext: containerSc,
                },
              ],
              containers: [
                {
                  name: "db",
                  image: "busybox",
                  command: ["sh", "-c", "exec sleep 100000"],
                  readinessProbe: { exec: { command: ["grep", "-q", "-", "/data/uids"] }, periodSeconds: 2 },
                  volumeMounts: [{ name: "data", mountPath: "/data" }],
                  securityContext: containerSc,
                },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: "data" },
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          ],
        },
      },
      NS,
    );
    const readyPod = async (notUid?: string) =>
      k.waitFor(
        "pod db-0 to be Ready",
        async () => {
          const p = await k.get("pod", "db-0", NS);
          return p && p.metadata.uid !== notUid && ready(p) && p;
        },
        { timeoutMs: 120_000, describe: kubeletLog },
      );
    const first = await readyPod();
    const claim = await k.get("pvc", "data-db-0", NS);
    expect(claim?.status.phase).toBe("Bound");
    const pv = await k.get("pv", claim!.spec.volumeName);
    expect(pv?.spec.local.path).toBeTruthy();
    expect(pv?.spec.claimRef.uid).toBe(claim!.metadata.uid);
    expect(first.status.initContainerStatuses[0].state.terminated).toMatchObject({ exitCode: 0 });

    await k.must(["-n", NS, "delete", "pod", "db-0", "--wait=true", "--timeout=60s"]);
    await readyPod(first.metadata.uid);
    const uids = readFileSync(join(pv!.spec.local.path, "uids"), "utf8").trim().split("\n");
    expect(uids[0]).toBe(first.metadata.uid);
    expect(uids).toHaveLength(2);
  });

  it("a crashing container is restarted with back-off; a pod ignoring SIGTERM is killed after its grace period", async ({
    skip,
  }) => {
    if (unavailable) skip(unavailable);
    const pod = (name: string, script: string, grace: number) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: {
        securityContext: restricted,
        terminationGracePeriodSeconds: grace,
        containers: [{ name: "main", image: "busybox", command: ["sh", "-c", script], securityContext: containerSc }],
      },
    });
    await k.apply(pod("crash", "echo crashing; exit 3", 1), NS);
    await k.apply(pod("stubborn", "trap '' TERM; while :; do sleep 1; done", 4), NS);
    const crashed = await k.waitFor(
      "pod crash to be restarted twice",
      async () => {
        const p = await k.get("pod", "crash", NS);
        const s = p?.status?.containerStatuses?.[0];
        return s?.restartCount >= 2 && s;
      },
      { timeoutMs: 120_000, describe: kubeletLog },
    );
    expect(crashed.lastState.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    await k.waitFor(
      "pod crash to be in CrashLoopBackOff",
      async () =>
        (await k.get("pod", "crash", NS))?.status?.containerStatuses?.[0]?.state?.waiting?.reason ===
        "CrashLoopBackOff",
      { timeoutMs: 60_000 },
    );

    await k.waitFor(
      "pod stubborn to run",
      async () => (await k.get("pod", "stubborn", NS))?.status?.phase === "Running",
      {
        timeoutMs: 120_000,
        describe: kubeletLog,
      },
    );
    const t0 = Date.now();
    await k.must(["-n", NS, "delete", "pod", "stubborn", "--wait=true", "--timeout=90s"]);
    const took = (Date.now() - t0) / 1000;
    expect(took).toBeGreaterThanOrEqual(3.5);
    expect(took).toBeLessThan(60);
    await k.must(["-n", NS, "delete", "pod", "crash", "--wait=true", "--timeout=60s"]);
  });
});
