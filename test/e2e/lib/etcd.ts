/**
 * @module
 * A single-node etcd 3.4 on 127.0.0.1: the DCS that stands in for the Kubernetes API (Patroni's
 * `etcd3:` section, docs/dataplane-notes.md P2), plus a reader for Patroni's keys so the suite can
 * label pods exactly as Patroni's Kubernetes DCS would.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { request, status } from "./http.ts";
import { type Daemon, forgetDaemon, freePort, RUN, startDaemon, stopPid } from "./proc.ts";
import { waitFor } from "./wait.ts";

export interface Etcd {
  endpoint: string;
  daemon: Daemon;
  stop(): Promise<void>;
  /** Patroni keys under /service/<scope>/ (key suffix -> value). */
  scopeKeys(scope: string, namespace?: string): Promise<Record<string, string>>;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

export async function startEtcd(): Promise<Etcd> {
  const client = await freePort();
  const peer = await freePort();
  // etcd would create the run directory 0700, which the postgres user could not traverse
  mkdirSync(RUN, { recursive: true, mode: 0o755 });
  chmodSync(RUN, 0o755);
  const dataDir = join(RUN, "etcd");
  const daemon = startDaemon("etcd", [
    "etcd",
    "--name",
    "e2e",
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    `http://127.0.0.1:${client}`,
    "--advertise-client-urls",
    `http://127.0.0.1:${client}`,
    "--listen-peer-urls",
    `http://127.0.0.1:${peer}`,
    "--initial-advertise-peer-urls",
    `http://127.0.0.1:${peer}`,
    "--initial-cluster",
    `e2e=http://127.0.0.1:${peer}`,
    "--initial-cluster-state",
    "new",
  ]);
  const endpoint = `127.0.0.1:${client}`;
  await waitFor("etcd to be healthy", async () => (await status(`http://${endpoint}/health`)) === 200, {
    timeoutMs: 60_000,
  });
  return {
    endpoint,
    daemon,
    async stop() {
      await stopPid(daemon.pid, "SIGTERM", 20_000);
      forgetDaemon("etcd");
      rmSync(dataDir, { recursive: true, force: true });
    },
    async scopeKeys(scope, namespace = "/service/") {
      const prefix = `${namespace.replace(/\/?$/, "/")}${scope}/`;
      const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
      const r = await request(`http://${endpoint}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: b64(prefix), range_end: b64(end) }),
      });
      const kvs = (JSON.parse(r.body).kvs ?? []) as { key: string; value?: string }[];
      return Object.fromEntries(
        kvs.map((kv) => [
          Buffer.from(kv.key, "base64").toString().slice(prefix.length),
          Buffer.from(kv.value ?? "", "base64").toString(),
        ]),
      );
    },
  };
}
