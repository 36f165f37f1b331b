/**
 * @module
 * Services for the test kubelet's pods, as kube-proxy (in its old userspace form) and cluster
 * DNS give them, read with kube-proxy's own identity (`system:kube-proxy`):
 *
 * - every cluster IP becomes a local address of the pod network's bridge (pods route the
 *   service range to the bridge, so nothing is forwarded), and each TCP port of the Service a
 *   listener on the node that connects each accepted connection to a ready endpoint from the
 *   Service's EndpointSlices, chosen per connection, or resets it when there is none;
 * - names: `<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>.svc`, `<svc>.<ns>` (and `<svc>` within
 *   the namespace) resolve to the cluster IP, or for a headless Service to its ready endpoints'
 *   addresses; `<hostname>.<svc>.<ns>.svc...` to the endpoint's address. Pods read them from
 *   their hosts file (kubelet.ts rewrites it in place when they change), not from a DNS server.
 *
 * The `kubernetes` Service in `default` has no endpoints here (the API server's endpoint
 * reconciler is off, see test/kube/lib/control-plane.ts): its endpoint is the API server's
 * own address.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Api, Obj } from "./api.ts";
import type { PodNetwork } from "./net.ts";

interface Listener {
  server: Server;
  namespace: string;
  service: string;
  portName: string;
}

export interface NameEntry {
  ip: string;
  /** fully qualified names */
  names: string[];
  namespace: string;
  /** the first label, for the short form used within the namespace */
  short?: string;
}

export class ServiceProxy {
  private readonly listeners = new Map<string, Listener>();
  private readonly addresses = new Set<string>();
  /** `<ns>/<service>` -> port name -> ready `ip:port` */
  private endpoints = new Map<string, Map<string, string[]>>();
  private counter = 0;
  /** the names pods resolve, recomputed on each sync */
  entries: NameEntry[] = [];
  /** the kubernetes Service's cluster IP and port, once seen */
  kubernetes?: { ip: string; port: number };

  constructor(
    private readonly api: Api,
    private readonly net: PodNetwork,
    private readonly apiServer: { host: string; port: number },
    private readonly log: (m: string) => void,
  ) {}

  async sync(): Promise<void> {
    const services = (await this.api.get("/api/v1/services")).items as Obj[];
    const slices = (await this.api.get("/apis/discovery.k8s.io/v1/endpointslices")).items as Obj[];
    const endpoints = new Map<string, Map<string, string[]>>();
    const hostnames: NameEntry[] = [];
    const bySvc = new Map<string, Obj[]>();
    for (const s of slices) {
      const svc = s.metadata.labels?.["kubernetes.io/service-name"];
      if (!svc) continue;
      const key = `${s.metadata.namespace}/${svc}`;
      bySvc.set(key, [...(bySvc.get(key) ?? []), s]);
    }
    const entries: NameEntry[] = [];
    for (const svc of services) {
      const ns = svc.metadata.namespace as string;
      const name = svc.metadata.name as string;
      const key = `${ns}/${name}`;
      const fq = [`${name}.${ns}.svc.cluster.local`, `${name}.${ns}.svc`, `${name}.${ns}`];
      const publishNotReady = svc.spec.publishNotReadyAddresses === true;
      const ports = new Map<string, string[]>();
      const ready: string[] = [];
      for (const s of bySvc.get(key) ?? []) {
        for (const e of (s.endpoints ?? []) as Obj[]) {
          const ok = e.conditions?.ready !== false || publishNotReady;
          if (!ok) continue;
          for (const ip of e.addresses ?? []) {
            ready.push(ip);
            if (e.hostname)
              hostnames.push({
                ip,
                namespace: ns,
                names: [`${e.hostname}.${name}.${ns}.svc.cluster.local`, `${e.hostname}.${name}.${ns}.svc`],
                short: `${e.hostname}.${name}`,
              });
            for (const p of (s.ports ?? []) as Obj[]) {
              const list = ports.get(p.name ?? "") ?? [];
              list.push(`${ip}:${p.port}`);
              ports.set(p.name ?? "", list);
            }
          }
        }
      }
      if (key === "default/kubernetes") {
        for (const p of svc.spec.ports ?? [])
          ports.set(p.name ?? "", [`${this.apiServer.host}:${this.apiServer.port}`]);
        const https = (svc.spec.ports ?? []).find((p: Obj) => p.name === "https") ?? svc.spec.ports?.[0];
        if (svc.spec.clusterIP && https) this.kubernetes = { ip: svc.spec.clusterIP, port: https.port };
      }
      endpoints.set(key, ports);
      const clusterIP = svc.spec.clusterIP as string | undefined;
      if (svc.spec.type === "ExternalName") continue;
      if (clusterIP && clusterIP !== "None") entries.push({ ip: clusterIP, names: fq, namespace: ns, short: name });
      else for (const ip of new Set(ready)) entries.push({ ip, names: fq, namespace: ns, short: name });
    }
    this.endpoints = endpoints;
    this.entries = [...entries, ...hostnames];
    await this.listen(services);
  }

  /** Addresses and listeners for the cluster IPs that exist; gone ones closed. */
  private async listen(services: Obj[]): Promise<void> {
    const wanted = new Map<string, { svc: Obj; port: Obj }>();
    for (const svc of services) {
      const ip = svc.spec.clusterIP as string | undefined;
      if (!ip || ip === "None" || !this.net.inServiceRange(ip)) continue;
      for (const port of (svc.spec.ports ?? []) as Obj[])
        if ((port.protocol ?? "TCP") === "TCP") wanted.set(`${ip}:${port.port}`, { svc, port });
    }
    for (const [key, l] of this.listeners)
      if (!wanted.has(key)) {
        l.server.close();
        this.listeners.delete(key);
      }
    const ips = new Set([...wanted.keys()].map((k) => k.split(":")[0]!));
    for (const ip of this.addresses)
      if (!ips.has(ip)) {
        await this.net.removeServiceAddress(ip).catch(() => {});
        this.addresses.delete(ip);
      }
    for (const ip of ips)
      if (!this.addresses.has(ip)) {
        await this.net.addServiceAddress(ip);
        this.addresses.add(ip);
      }
    for (const [key, { svc, port }] of wanted) {
      if (this.listeners.has(key)) continue;
      const l: Listener = {
        server: createServer((c) => this.forward(l, c)),
        namespace: svc.metadata.namespace,
        service: svc.metadata.name,
        portName: port.name ?? "",
      };
      const [ip, p] = key.split(":") as [string, string];
      await new Promise<void>((resolve) => {
        l.server.once("error", (e) => {
          this.log(`service ${l.namespace}/${l.service} ${key}: ${e.message}`);
          resolve();
        });
        l.server.listen({ host: ip, port: Number(p) }, resolve);
      });
      this.listeners.set(key, l);
    }
  }

  private forward(l: Listener, client: Socket): void {
    const targets = this.endpoints.get(`${l.namespace}/${l.service}`)?.get(l.portName) ?? [];
    if (!targets.length) {
      client.resetAndDestroy();
      return;
    }
    const target = targets[this.counter++ % targets.length]!;
    const [host, port] = target.split(":") as [string, string];
    const upstream = connect({ host, port: Number(port) });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", () => client.resetAndDestroy());
    client.on("error", close);
    upstream.on("close", () => client.end());
    client.on("close", () => upstream.end());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Hosts-file lines for a pod in `namespace`: short names only for its own namespace. */
  hostsLines(namespace: string): string[] {
    return this.entries.map((e) => {
      const names = e.namespace === namespace && e.short ? [...e.names, e.short] : e.names;
      return `${e.ip}\t${names.join(" ")}`;
    });
  }

  async close(): Promise<void> {
    for (const l of this.listeners.values()) l.server.close();
    this.listeners.clear();
  }
}
