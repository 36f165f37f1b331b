/**
 * @module
 * THE mapping from pod-world to this machine (documented as a table in test/e2e/README.md).
 * Everything the hooks generate is used as generated except for what this module rewrites:
 *
 * 1. Absolute pod paths (every volumeMount path and the roots in shared/pod-layout.ts) are
 *    prefixed with the pod's own directory: `/pgdata/pg15` -> `<pod root>/pgdata/pg15`.
 * 2. The pod IP is 127.0.0.1 and each pod gets its own host port for every container port:
 *    `<any local address>:5432` -> `127.0.0.1:<the pod's postgres port>`.
 * 3. Patroni's `kubernetes:` DCS section becomes `etcd3: {hosts: 127.0.0.1:<etcd port>}`, and
 *    the `PATRONI_KUBERNETES_*` variables, which only configure that section, are dropped
 *    after `$(VAR)` expansion has used them.
 * 4. A Service or pod DNS name resolves to 127.0.0.1 (libpq `hostaddr`, so TLS still checks the
 *    name) and its port becomes the host port of the endpoint pod the Service selects.
 * 5. The pod's UID/GID and fsGroup are the Debian `postgres` account.
 */
import { PATHS, PORTS } from "../../../shared/pod-layout.ts";

/** Pod-world roots that always map, even when a pod forgot to mount them. */
export const POD_ROOTS: string[] = [
  ...new Set(
    Object.values(PATHS)
      .filter((p) => p.startsWith("/"))
      .map((p) => {
        const parts = p.split("/").filter(Boolean);
        // /etc/x is a mount of its own; /pgdata, /tmp, /pgbackrest are roots.
        return parts[0] === "etc" ? `/etc/${parts[1]}` : `/${parts[0]}`;
      }),
  ),
];

const PATH_CHAR = "A-Za-z0-9_.\\-";

/** Rewrites every pod path in `text` (one pass, so the new prefix is never rewritten again). */
export function mapPaths(text: string, root: string, roots: string[]): string {
  const sorted = [...new Set(roots)].filter((r) => r !== "/" && r.startsWith("/")).sort((a, b) => b.length - a.length);
  if (!sorted.length) return text;
  const alt = sorted.map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\/$/, "")).join("|");
  const re = new RegExp(`(?<![${PATH_CHAR}/])(${alt})(?=$|/|[^${PATH_CHAR}])`, "g");
  return text.replace(re, (p) => `${root}${p}`);
}

/** Deep-maps every string in a JSON-like value. */
export function mapStrings<T>(value: T, f: (s: string) => string): T {
  if (typeof value === "string") return f(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f)) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)])) as T;
  return value;
}

export const LOCAL_HOSTS = new Set(["", "0.0.0.0", "*", "::", "[::]", "127.0.0.1", "localhost", "::1", "[::1]"]);

export interface PodPlace {
  pod: string;
  /** Directory standing in for the pod's filesystem root. */
  root: string;
  /** container port in pod-world -> port on 127.0.0.1 */
  ports: Map<number, number>;
  /** Every absolute mount path of the pod's containers (plus POD_ROOTS). */
  roots: string[];
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
 * The Patroni configuration file as it is written into the pod's mapped /etc/patroni:
 * DCS swapped, paths and listen/connect addresses mapped; nothing else touched.
 */
export function mapPatroniConfig(config: Record<string, any>, m: PatroniMapping): Record<string, any> {
  const { kubernetes: _k8s, ...rest } = config;
  const mapped = mapStrings(rest, (s) => mapPaths(s, m.place.root, m.place.roots));
  for (const section of ["restapi", "postgresql"]) {
    const sec = mapped[section];
    if (!sec) continue;
    for (const key of ["listen", "connect_address"])
      if (typeof sec[key] === "string") sec[key] = mapListenAddress(sec[key], m.place, m.podIP);
  }
  // Postgres' own `port` parameter, when set explicitly, is the pod-world port too.
  const params = mapped.postgresql?.parameters;
  if (params && params.port !== undefined) params.port = hostPort(m.place, Number(params.port));
  mapped.etcd3 = { hosts: [m.etcd] };
  return mapped;
}

/**
 * A container's resolved environment for this machine: paths mapped, listen/connect address
 * variables mapped, `PATRONI_KUBERNETES_*` dropped (they configure the replaced DCS section).
 */
export function mapEnv(env: Record<string, string>, place: PodPlace, podIP = "127.0.0.1"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith("PATRONI_KUBERNETES_")) continue;
    let value = mapPaths(v, place.root, place.roots);
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
 * pgBackRest configuration: a `pgN-*` option names the pod `pgN-host` points to when that is
 * set (pgBackRest hands `pgN-path`, `-port`, `-socket-path` to the remote server), so its paths
 * and ports map with THAT pod's place; `pgN-host-port`/`repoN-host-port` are the remote pod's
 * TLS server port; a volume repo's `repoN-path` is the repository host's path when
 * `repoN-host` is set; an object-store repo's `repoN-path` is a key prefix in the bucket and
 * is never mapped. `tls-server-address` listens on the pod IP. Everything else is this pod's.
 */
export function mapPgBackRestConf(
  text: string,
  place: PodPlace,
  placeOfHost: (host: string) => PodPlace | undefined,
): string {
  const lines = text.split("\n");
  const values = new Map<string, string>();
  for (const l of lines) {
    const m = /^\s*([a-z0-9-]+)\s*=\s*(.*)$/.exec(l);
    if (m) values.set(m[1]!, m[2]!.trim());
  }
  const remote = (host: string | undefined): PodPlace => {
    if (!host) return place;
    const p = placeOfHost(host);
    if (!p) throw new Error(`pgBackRest host ${host} is no pod of this run`);
    return p;
  };
  return lines
    .map((l) => {
      const m = /^(\s*)([a-z0-9-]+)(\s*=\s*)(.*)$/.exec(l);
      if (!m) return l;
      const [, indent, key, eq, raw] = m as unknown as [string, string, string, string, string];
      let value = raw;
      const pg = /^pg(\d+)-(.*)$/.exec(key!);
      const repo = /^repo(\d+)-(.*)$/.exec(key!);
      if (pg && ["path", "port", "socket-path", "host-port"].includes(pg[2]!)) {
        const target = remote(values.get(`pg${pg[1]}-host`));
        if (pg[2] === "port" || pg[2] === "host-port") value = String(hostPort(target, Number(value)));
        else value = mapPaths(value, target.root, target.roots);
      } else if (repo && repo[2] === "host-port") {
        value = String(hostPort(remote(values.get(`repo${repo[1]}-host`)), Number(value)));
      } else if (repo && repo[2] === "path") {
        const type = values.get(`repo${repo[1]}-type`) ?? "posix";
        if (type === "posix" || type === "cifs") {
          const target = remote(values.get(`repo${repo[1]}-host`));
          value = mapPaths(value, target.root, target.roots);
        }
      } else if (key === "tls-server-address") {
        value = LOCAL_HOSTS.has(value) ? "127.0.0.1" : value;
      } else if (key === "tls-server-port") {
        value = String(hostPort(place, Number(value)));
      } else if (!/^(pg|repo)\d+-host$/.test(key!)) {
        value = mapPaths(value, place.root, place.roots);
      }
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
