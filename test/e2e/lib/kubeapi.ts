/**
 * @module
 * The slice of the Kubernetes API that generated Jobs call from inside a pod, answered the way
 * the etcd stand-in needs: `https://kubernetes.default.svc` (443 on 127.0.0.1, certificate from
 * a CA the pods get as their service account `ca.crt`). Deleting Patroni's DCS objects (Endpoints
 * or ConfigMaps by label selector) deletes the matching Patroni scope's keys in etcd, which is
 * what that call achieves on Kubernetes. Any other request is answered 404 and reported, so an
 * unmapped API use is visible instead of silently succeeding.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import type { Etcd } from "./etcd.ts";
import { request } from "./http.ts";
import { addNames } from "./podns.ts";
import { listeningPorts, RUN, run } from "./proc.ts";

export interface DcsOwner {
  namespace: string;
  scope(): string | undefined;
  /** Labels Patroni's Kubernetes DCS puts on its objects (kubernetes.labels + scope label). */
  dcsLabels(): Record<string, string> | undefined;
  finding(m: string): void;
}

export interface KubeApi {
  caPem: string;
  port: number;
  /** Requests the stand-in could not answer. */
  unanswered: string[];
  stop(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

function selectorMatches(selector: string, labels: Record<string, string>): boolean {
  return selector
    .split(",")
    .filter(Boolean)
    .every((term) => {
      const [k, v] = term.split("=");
      return k !== undefined && labels[k] === v;
    });
}

export async function startKubeApi(etcd: Etcd, owners: () => DcsOwner[]): Promise<KubeApi> {
  const dir = join(RUN, "kubeapi");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const key = join(dir, "tls.key");
  const cert = join(dir, "tls.crt");
  const r = await run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=kubernetes",
    "-addext",
    "subjectAltName=DNS:kubernetes.default.svc,DNS:kubernetes.default,DNS:kubernetes,DNS:kubernetes.default.svc.cluster.local",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  if (r.code !== 0) throw new Error(`openssl: ${r.stderr}`);
  const unanswered: string[] = [];
  const server: Server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://kubernetes.default.svc");
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/(endpoints|configmaps)$/.exec(url.pathname);
    const selector = url.searchParams.get("labelSelector") ?? "";
    void (async () => {
      if (req.method === "DELETE" && m) {
        const [, ns, kind] = m;
        const matching = owners().filter((o) => {
          const labels = o.dcsLabels();
          return o.namespace === ns && o.scope() && labels && selectorMatches(selector, labels);
        });
        for (const o of matching) {
          // Patroni keeps its leader, config, members, history... under /service/<scope>/
          const prefix = `/service/${o.scope()}/`;
          const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
          await request(`http://${etcd.endpoint}/v3/kv/deleterange`, {
            method: "POST",
            body: JSON.stringify({ key: b64(prefix), range_end: b64(end) }),
          });
          o.finding(
            `Kubernetes API stand-in: DELETE ${kind} ?labelSelector=${selector} -> etcd keys of scope ${o.scope()} deleted`,
          );
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Success" }));
        return;
      }
      unanswered.push(`${req.method} ${req.url}`);
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
    })();
  });
  if (listeningPorts().has(443)) throw new Error("port 443 is in use: the Kubernetes API stand-in needs it");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(443, "127.0.0.1", () => resolve());
  });
  addNames(["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]);
  return {
    caPem: readFileSync(cert, "utf8"),
    port: 443,
    unanswered,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
