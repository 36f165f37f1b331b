/**
 * The admission webhook's wiring: ValidatingWebhookConfiguration -> Service -> HTTPS port of the
 * functions -> certificate (cert-manager or manual-tls.sh) -> the real server, started from the
 * same bundle the image runs, answering over TLS to a client that trusts only the caBundle and
 * checks the name the API server checks (<service>.<namespace>.svc).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUNCTIONS } from "../../../functions/server.ts";
import { DENO_START_PERMISSIONS } from "../../contract/lib/server.ts";
import {
  BUILDS,
  type BuildName,
  built,
  containerEnv,
  findOne,
  ofKind,
  podTemplate,
  servedFunctions,
} from "./builds.ts";
import { type KubeDoc, REPO } from "./kustomize.ts";

const INSTALLS = Object.keys(BUILDS) as BuildName[];
const TUSK_RESOURCES = ["postgresbackups", "postgresclusters", "postgresrestores"];

function webhookTarget(docs: KubeDoc[]) {
  const vwc = findOne(docs, "ValidatingWebhookConfiguration", "tusk-validation");
  const hook = vwc.webhooks[0];
  const ref = hook.clientConfig.service;
  const service = findOne(docs, "Service", ref.name, "v1");
  const servicePort = service.spec.ports.find((p: any) => p.port === (ref.port ?? 443));
  const deployment = ofKind(docs, "Deployment").find((d) =>
    Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels?.[k] === v),
  )!;
  const container = podTemplate(deployment)!.spec.containers[0];
  const containerPort = container.ports.find((p: any) => p.name === servicePort?.targetPort);
  return { vwc, hook, ref, service, servicePort, deployment, container, containerPort, env: containerEnv(deployment) };
}

describe.each(INSTALLS)("admission webhook in %s", (build) => {
  const docs = built(build);

  it("is fail-closed, side-effect free, v1, with a short timeout, on the three kinds' main resources", () => {
    const { vwc } = webhookTarget(docs);
    expect(vwc.webhooks).toHaveLength(1);
    const hook = vwc.webhooks[0];
    expect(hook.failurePolicy).toBe("Fail");
    expect(hook.sideEffects).toBe("None");
    expect(hook.admissionReviewVersions).toEqual(["v1"]);
    expect(hook.timeoutSeconds).toBeLessThanOrEqual(10);
    expect(hook.rules).toHaveLength(1);
    expect(hook.rules[0].apiGroups).toEqual(["postgres.tusk.dev"]);
    expect([...hook.rules[0].resources].sort()).toEqual(TUSK_RESOURCES);
    // DELETE is judged (deletion protection); status writes are not sent at all.
    expect([...hook.rules[0].operations].sort()).toEqual(["CREATE", "DELETE", "UPDATE"]);
  });

  it("reaches the HTTPS port of a workload that serves admission", () => {
    const { ref, service, servicePort, deployment, containerPort, env } = webhookTarget(docs);
    expect(ref.namespace).toBe(service.metadata.namespace);
    expect(ref.path).toBe("/admission/validate");
    expect(servicePort, `Service ${service.metadata.name} port ${ref.port}`).toBeDefined();
    expect(containerPort, `container port ${servicePort.targetPort}`).toBeDefined();
    expect(String(containerPort.containerPort)).toBe(env.TLS_PORT);
    expect(env.TLS_CERT_FILE && env.TLS_KEY_FILE).toBeTruthy();
    expect(servedFunctions(deployment, Object.keys(FUNCTIONS))).toContain("admission");
  });

  it("mounts the certificate Secret where TLS_CERT_FILE and TLS_KEY_FILE point", () => {
    const { deployment, container, env } = webhookTarget(docs);
    const dir = posix.dirname(env.TLS_CERT_FILE!);
    expect(posix.dirname(env.TLS_KEY_FILE!)).toBe(dir);
    expect([posix.basename(env.TLS_CERT_FILE!), posix.basename(env.TLS_KEY_FILE!)]).toEqual(["tls.crt", "tls.key"]);
    const mount = container.volumeMounts.find((m: any) => m.mountPath === dir);
    const volume = podTemplate(deployment)!.spec.volumes.find((v: any) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe("tusk-webhook-tls");
    // The key is group-readable only; the pod's fsGroup makes the non-root user that group.
    expect(volume.secret.defaultMode & 0o007).toBe(0);
    expect(podTemplate(deployment)!.spec.securityContext.fsGroup).toBe(
      podTemplate(deployment)!.spec.securityContext.runAsGroup,
    );
  });
});

describe("certificates", () => {
  it("cert-manager issues a certificate for the name the API server checks, injected into the caBundle", () => {
    const docs = built("manifests");
    const { vwc, ref, deployment } = webhookTarget(docs);
    const [ns, certName] = (vwc.metadata.annotations?.["cert-manager.io/inject-ca-from"] ?? "").split("/");
    const cert = findOne(docs, "Certificate", certName!);
    expect(cert.metadata.namespace).toBe(ns);
    expect(cert.spec.dnsNames).toContain(`${ref.name}.${ref.namespace}.svc`);
    const issuer = findOne(docs, cert.spec.issuerRef.kind, cert.spec.issuerRef.name);
    expect(issuer.metadata.namespace).toBe(cert.metadata.namespace);
    const tls = podTemplate(deployment)!.spec.volumes.find((v: any) => v.secret)?.secret.secretName;
    expect(cert.spec.secretName).toBe(tls);
  });

  it("manual-tls.sh defaults name the same Secret, Service, namespace and webhook as the manifests", () => {
    const script = readFileSync(join(REPO, "manifests/manual-tls/manual-tls.sh"), "utf8");
    const value = (name: string) => new RegExp(`^${name}=(\\S+)$`, "m").exec(script)?.[1];
    const docs = built("manifests/manual-tls");
    const { vwc, ref, deployment } = webhookTarget(docs);
    expect(value("namespace")).toBe(ref.namespace);
    expect(value("service")).toBe(ref.name);
    expect(value("webhook")).toBe(vwc.metadata.name);
    expect(value("secret")).toBe(podTemplate(deployment)!.spec.volumes.find((v: any) => v.secret)?.secret.secretName);
  });
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createNetServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

async function waitForHttp(url: string, proc: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never answered: ${output()}`);
}

function httpsPost(
  port: number,
  path: string,
  servername: string,
  ca: Buffer,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        servername,
        ca,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("the image's server over TLS with a manual-tls.sh certificate", () => {
  const work = mkdtempSync(join(tmpdir(), "tusk-webhook-"));
  const certs = join(work, "certs");
  const docs = built("manifests/manual-tls");
  const target = webhookTarget(docs);
  const servername = `${target.ref.name}.${target.ref.namespace}.svc`;
  const running: ChildProcess[] = [];
  let caBundle = "";

  beforeAll(() => {
    const tls = spawnSync("bash", [join(REPO, "manifests/manual-tls/manual-tls.sh"), "--no-apply", "--out", certs], {
      encoding: "utf8",
    });
    expect(tls.status, tls.stderr).toBe(0);
    caBundle = /^caBundle: (\S+)$/m.exec(tls.stdout)?.[1] ?? "";
    // The image runs this bundle (manifests/image/Containerfile); node_modules sits beside it there too.
    mkdirSync(join(work, "app"));
    symlinkSync(join(REPO, "node_modules"), join(work, "app", "node_modules"));
    const bundle = spawnSync("sh", [join(REPO, "manifests/image/bundle.sh"), join(work, "app", "tusk.mjs")], {
      encoding: "utf8",
    });
    expect(bundle.status, bundle.stderr).toBe(0);
  });

  afterAll(() => {
    for (const p of running) p.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  it("manual-tls.sh prints the CA as the caBundle and signs a certificate for the webhook's name", () => {
    expect(Buffer.from(caBundle, "base64").toString("utf8")).toBe(readFileSync(join(certs, "ca.crt"), "utf8"));
    const verify = spawnSync("openssl", ["verify", "-CAfile", join(certs, "ca.crt"), join(certs, "tls.crt")], {
      encoding: "utf8",
    });
    expect(verify.stdout.trim()).toMatch(/: OK$/);
    const san = spawnSync("openssl", ["x509", "-in", join(certs, "tls.crt"), "-noout", "-ext", "subjectAltName"], {
      encoding: "utf8",
    });
    expect(san.stdout).toContain(`DNS:${servername}`);
  });

  const runtimes = [
    { name: "node (the image's CMD)", cmd: () => [process.execPath, join(work, "app", "tusk.mjs")] },
    {
      name: "deno",
      cmd: () => [
        join(REPO, "node_modules/deno/deno"),
        "run",
        ...DENO_START_PERMISSIONS,
        join(REPO, "functions/deno.ts"),
      ],
    },
  ];

  it.each(runtimes)("$name: probes on HTTP, the webhook path on HTTPS with the caBundle", async ({ cmd }) => {
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    const env = {
      ...process.env,
      ...target.env,
      PORT: String(httpPort),
      TLS_PORT: String(httpsPort),
      TLS_CERT_FILE: join(certs, "tls.crt"),
      TLS_KEY_FILE: join(certs, "tls.key"),
      HOST: "127.0.0.1",
      NODE_OPTIONS: "",
    };
    const [bin, ...args] = cmd();
    const proc = spawn(bin!, args, { env, cwd: dirname(args.at(-1)!), stdio: ["ignore", "pipe", "pipe"] });
    running.push(proc);
    let output = "";
    proc.stdout!.on("data", (d) => (output += d));
    proc.stderr!.on("data", (d) => (output += d));
    const container = target.container;
    await waitForHttp(`http://127.0.0.1:${httpPort}${container.readinessProbe.httpGet.path}`, proc, () => output);
    const live = await fetch(`http://127.0.0.1:${httpPort}${container.livenessProbe.httpGet.path}`);
    expect(live.status).toBe(200);
    for (let i = 0; i < 100 && !output.includes('"tls":true'); i++) await new Promise((r) => setTimeout(r, 50));

    const review = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "7f0c1f5e-7b6a-4d8e-9a51-3c2b1a0f9e8d",
        kind: { group: "postgres.tusk.dev", version: "v1", kind: "PostgresBackup" },
        resource: { group: "postgres.tusk.dev", version: "v1", resource: "postgresbackups" },
        name: "b1",
        namespace: "db",
        operation: "CREATE",
        userInfo: { username: "alice" },
        object: {
          apiVersion: "postgres.tusk.dev/v1",
          kind: "PostgresBackup",
          metadata: { name: "b1", namespace: "db" },
          spec: { cluster: "hippo", repoName: "repo1", type: "full" },
        },
        dryRun: false,
      },
    };
    const ca = Buffer.from(caBundle, "base64");
    const res = await httpsPost(httpsPort, target.ref.path, servername, ca, JSON.stringify(review));
    // The TLS handshake and routing are what is tested here.
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body).response.uid).toBe(review.request.uid);
    // A client that checks another name is refused: the certificate is only for the Service.
    await expect(httpsPost(httpsPort, target.ref.path, "tusk-functions.other.svc", ca, "{}")).rejects.toThrow(
      /altnames|Hostname/i,
    );
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
  });
});

describe("image", () => {
  const containerfile = readFileSync(join(REPO, "manifests/image/Containerfile"), "utf8");
  const version = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;

  it("every workload runs ghcr.io/tusk-dev/tusk at the package version, as the image's user", () => {
    const user = /^USER (\d+):(\d+)$/m.exec(containerfile);
    expect(user).not.toBeNull();
    for (const build of INSTALLS) {
      const workloads = built(build).filter((d) => podTemplate(d));
      expect(workloads.length).toBeGreaterThan(0);
      for (const w of workloads) {
        const spec = podTemplate(w)!.spec;
        for (const c of spec.containers) {
          expect(c.image, `${build}: ${w.kind} ${w.metadata.name}`).toBe(`ghcr.io/tusk-dev/tusk:${version}`);
          const runAsUser = c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
          expect(String(runAsUser), `${w.metadata.name} runs as the image's user`).toBe(user![1]);
        }
      }
    }
  });

  it("the bundle imports only Node built-ins and production dependencies (the image prunes the rest)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tusk-bundle-"));
    try {
      const out = join(dir, "tusk.mjs");
      const run = spawnSync("sh", [join(REPO, "manifests/image/bundle.sh"), out], { encoding: "utf8" });
      expect(run.status, run.stderr).toBe(0);
      const code = readFileSync(out, "utf8");
      const specifiers = new Set(
        [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)].map((m) => m[1]!),
      );
      const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
      const packageOf = (s: string) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!);
      const notShipped = [...specifiers].filter((s) => !s.startsWith("node:") && !(packageOf(s) in pkg.dependencies));
      expect(specifiers.size).toBeGreaterThan(0);
      expect(notShipped).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the Containerfile runs the bundle that bundle.sh writes", () => {
    const run = /^RUN sh manifests\/image\/bundle.sh (\S+)/m.exec(containerfile);
    expect(run).not.toBeNull();
    const copy = new RegExp(
      `^COPY --from=build ${run![1]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\./(\\S+)$`,
      "m",
    ).exec(containerfile);
    expect(copy, "the bundle is copied into the final image").not.toBeNull();
    expect(containerfile).toMatch(new RegExp(`^CMD \\["node", "${copy![1]}"\\]$`, "m"));
  });
});
