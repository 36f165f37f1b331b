/**
 * @module
 * THE mapping from pod-world to this machine (documented as a table in test/e2e/README.md).
 * Everything the hooks generate is used as generated except for what this module rewrites:
 *
 * 1. The pod IP is 127.0.0.1 and each pod gets its own host port for every container port:
 *    `<any local address>:5432` -> `127.0.0.1:<the pod's postgres port>` in Patroni's
 *    listen/connect addresses and their env variables, and pgBackRest's port options.
 * 2. Patroni's `kubernetes:` DCS section becomes `etcd3: {hosts: 127.0.0.1:<etcd port>}`, and
 *    the `PATRONI_KUBERNETES_*` variables, which only configure that section, are dropped
 *    after `$(VAR)` expansion has used them.
 * 3. A Service or pod DNS name resolves to 127.0.0.1 and its port becomes the host port of the
 *    endpoint pod the Service selects.
 * Paths are NOT rewritten: each process runs in a mount namespace of its own in which its pod's
 * volumes are bind-mounted at the pod-world paths (podns.ts), so a path written in one pod and
 * read in another (Patroni's DCS, pgBackRest's remote options) means the same in both.
 */
import { PORTS } from "../../../shared/pod-layout.ts";

const LOCAL_HOSTS = new Set(["", "0.0.0.0", "*", "::", "[::]", "127.0.0.1", "localhost", "::1", "[::1]"]);

export interface PodPlace {
  pod: string;
  /** Host directory holding the pod's volumes (`<root>/.volumes/<volume>`). */
  root: string;
  /** container port in pod-world -> port on 127.0.0.1 */
  ports: Map<number, number>;
}

export function hostPort(place: PodPlace, podPort: number): number {
  const p = place.ports.get(podPort);
  if (p === undefined) throw new Error(`pod ${place.pod} declares no container port ${podPort}`);
  return p;
}

/** `0.0.0.0:5432`, `*:8008`, `<pod IP>:5432` -> `127.0.0.1:<host port>`; other values unchanged. */
export function mapListenAddress(value: string, place: PodPlace, podIP = "127.0.0.1"): string {
  return value
    .split(",")
    .map((part) => {
      const m = /^\s*(\[[^\]]*\]|[^:\s]*):(\d+)\s*$/.exec(part);
      if (!m) return part;
      const host = m[1]!;
      if (!LOCAL_HOSTS.has(host) && host !== podIP) return part;
      return `127.0.0.1:${hostPort(place, Number(m[2]))}`;
    })
    .join(",");
}

export interface PatroniMapping {
  etcd: string;
  place: PodPlace;
  podIP?: string;
}

/**
 * The Patroni configuration file as the pod's Patroni reads it: DCS swapped, listen/connect
 * addresses mapped; nothing else touched.
 */
export function mapPatroniConfig(config: Record<string, any>, m: PatroniMapping): Record<string, any> {
  const { kubernetes: _k8s, ...rest } = structuredClone(config);
  for (const section of ["restapi", "postgresql"]) {
    const sec = rest[section];
    if (!sec) continue;
    for (const key of ["listen", "connect_address"])
      if (typeof sec[key] === "string") sec[key] = mapListenAddress(sec[key], m.place, m.podIP);
  }
  // Postgres' own `port` parameter, when set explicitly, is the pod-world port too.
  const params = rest.postgresql?.parameters;
  if (params && params.port !== undefined) params.port = hostPort(m.place, Number(params.port));
  rest.etcd3 = { hosts: [m.etcd] };
  return rest;
}

/**
 * A container's resolved environment for this machine: listen/connect address variables mapped,
 * `PATRONI_KUBERNETES_*` dropped (they configure the replaced DCS section).
 */
export function mapEnv(env: Record<string, string>, place: PodPlace, podIP = "127.0.0.1"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith("PATRONI_KUBERNETES_")) continue;
    let value = v;
    if (/(_LISTEN|_CONNECT_ADDRESS|_PROXY_ADDRESS)$/.test(k)) value = mapListenAddress(value, place, podIP);
    if (k === "PGPORT" && place.ports.has(Number(value))) value = String(hostPort(place, Number(value)));
    out[k] = value;
  }
  return out;
}

/** The host ports every pod gets even when a container does not declare them. */
export const DEFAULT_POD_PORTS = [PORTS.postgres, PORTS.patroni];

/** Is this text a pgBackRest configuration file? */
export function isPgBackRestConf(text: string): boolean {
  return /^\s*\[(global|[A-Za-z0-9_-]+)\]\s*$/m.test(text) && /^\s*(pg\d+|repo\d+|tls-server)-[a-z-]+=/m.test(text);
}

/**
 * pgBackRest configuration: ports only. A `pgN-port` names the Postgres of the pod `pgN-host`
 * points to when that is set (pgBackRest hands it to the remote server), `pgN-host-port` and
 * `repoN-host-port` are the remote pod's TLS server port, `tls-server-port` is this pod's;
 * `tls-server-address` listens on the pod IP. Everything else stays as generated.
 */
export function mapPgBackRestConf(
  text: string,
  place: PodPlace,
  placeOfHost: (host: string) => PodPlace | undefined,
): string {
  const values = new Map<string, string>();
  for (const l of text.split("\n")) {
    const m = /^\s*([a-z0-9-]+)\s*=\s*(.*)$/.exec(l);
    if (m) values.set(m[1]!, m[2]!.trim());
  }
  const remote = (host: string | undefined): PodPlace => {
    if (!host) return place;
    const p = placeOfHost(host);
    if (!p) throw new Error(`pgBackRest host ${host} is no pod of this run`);
    return p;
  };
  return text
    .split("\n")
    .map((l) => {
      const m = /^(\s*)([a-z0-9-]+)(\s*=\s*)(.*)$/.exec(l);
      if (!m) return l;
      const [, indent, key, eq, raw] = m as unknown as [string, string, string, string, string];
      let value = raw;
      const pg = /^pg(\d+)-(port|host-port)$/.exec(key);
      const repo = /^repo(\d+)-host-port$/.exec(key);
      if (pg) value = String(hostPort(remote(values.get(`pg${pg[1]}-host`)), Number(value)));
      else if (repo) value = String(hostPort(remote(values.get(`repo${repo[1]}-host`)), Number(value)));
      else if (key === "tls-server-address") value = LOCAL_HOSTS.has(value) ? "127.0.0.1" : value;
      // a pod that runs no TLS server (a Job) does not declare the port; the value is unused there
      else if (key === "tls-server-port" && place.ports.has(Number(value)))
        value = String(hostPort(place, Number(value)));
      return `${indent}${key}${eq}${value}`;
    })
    .join("\n");
}

/** Kubernetes short and long forms of a Service or pod DNS name. */
export function parseServiceHost(host: string, namespace: string): { service?: string; pod?: string } {
  const h = host.replace(/\.$/, "");
  const suffixes = [`.${namespace}.svc.cluster.local`, `.${namespace}.svc`, `.${namespace}`, ""];
  for (const suf of suffixes) {
    if (suf && !h.endsWith(suf)) continue;
    const stem = suf ? h.slice(0, -suf.length) : h;
    const parts = stem.split(".");
    if (parts.length === 1 && parts[0]) return { service: parts[0] };
    if (parts.length === 2 && parts[0] && parts[1]) return { pod: parts[0], service: parts[1] };
    if (suf) return {};
  }
  return {};
}

/** Is this text a pgBouncer configuration file? */
export function isPgBouncerIni(text: string): boolean {
  return /^\s*\[pgbouncer\]\s*$/m.test(text) && /^\s*\[databases\]\s*$/m.test(text);
}

/**
 * pgbouncer.ini: `listen_port` is this pod's host port and a local `listen_addr` is 127.0.0.1;
 * a `[databases]` entry whose `host=` is a Service name keeps the name (it resolves to 127.0.0.1
 * in the pod) and gets the port of the suite's stand-in for that Service's cluster IP
 * (`servicePort`), which picks the endpoint at connect time as kube-proxy does, so pgBouncer
 * follows the primary. Everything else stays as generated.
 */
export function mapPgBouncerIni(
  text: string,
  place: PodPlace,
  servicePort: (host: string, port: number) => number | undefined,
): string {
  let section = "";
  return text
    .split("\n")
    .map((l) => {
      const header = /^\s*\[([^\]]+)\]\s*$/.exec(l);
      if (header) {
        section = header[1]!.toLowerCase();
        return l;
      }
      const m = /^(\s*)([^=;#\s][^=]*?)(\s*=\s*)(.*)$/.exec(l);
      if (!m) return l;
      const [, indent, key, eq, value] = m as unknown as [string, string, string, string, string];
      if (section === "pgbouncer" && key === "listen_port")
        return `${indent}${key}${eq}${hostPort(place, Number(value))}`;
      if (section === "pgbouncer" && key === "listen_addr") {
        const addrs = value.split(",").map((a) => (LOCAL_HOSTS.has(a.trim()) ? "127.0.0.1" : a.trim()));
        return `${indent}${key}${eq}${[...new Set(addrs)].join(",")}`;
      }
      if (section !== "databases") return l;
      const host = /(^|\s)host=([^\s]+)/.exec(value)?.[2];
      if (!host || LOCAL_HOSTS.has(host) || host.startsWith("/")) return l;
      const portM = /(^|\s)port=(\d+)/.exec(value);
      const port = servicePort(host, Number(portM?.[2] ?? 5432));
      if (port === undefined) throw new Error(`pgbouncer.ini: database host ${host} is no Service of this run`);
      const mapped = portM ? value.replace(/(^|\s)port=\d+/, `$1port=${port}`) : `${value} port=${port}`;
      return `${indent}${key}${eq}${mapped}`;
    })
    .join("\n");
}
