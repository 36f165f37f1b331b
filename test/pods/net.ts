/**
 * @module
 * Pod networking for the test kubelet: a bridge made by the suite, one network namespace per pod
 * joined to it by a veth pair, and an address per pod from one /24. The bridge holds the first
 * address (the node's, where the API server listens); pods get the others. Pods have no default
 * route, only the /24, so every packet stays between the pods and the bridge: nothing is
 * forwarded or masqueraded to the machine's other networks.
 *
 * Everything made here is recorded under the suite's state directory (`<state>/podnet/`) before
 * it is made, so a later run's setup removes what an aborted run left (`PodNetwork.cleanup`),
 * killing the processes still inside those namespaces (found by namespace, never by name).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface PodNetworkState {
  bridge: string;
  /** the first three octets of the /24 */
  prefix: string;
  /** the bridge's (node's) address */
  gateway: string;
  /** short tag derived from the state directory; every name made here starts with it */
  tag: string;
  /**
   * Services' cluster IP range (`10.96.0.0/16`), when Services are proxied on the node: pods
   * route it to the bridge, whose local addresses the cluster IPs become (services.ts).
   */
  serviceCidr?: string;
}

export interface PodAttachment {
  netns: string;
  /** `/run/netns/<netns>`, for nsenter --net */
  path: string;
  ip: string;
  hostVeth: string;
}

function ip(args: string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** Can this process make namespaces and links (root with CAP_NET_ADMIN, `ip` installed)? */
export function podNetworkUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "pod networking needs root (ip netns, veth pairs, a bridge)";
  const path = (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":");
  if (![...path, "/usr/sbin", "/sbin"].some((d) => existsSync(join(d, "ip"))))
    return "pod networking needs iproute2 (ip)";
  return undefined;
}

/** The /24 of a run: TUSK_POD_SUBNET (`10.244.0`) or 10.244.0. */
export function defaultPrefix(): string {
  const p = process.env.TUSK_POD_SUBNET ?? "10.244.0";
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(p))
    throw new Error(`TUSK_POD_SUBNET must be three octets (10.244.0), not ${p}`);
  return p;
}

export class PodNetwork {
  private constructor(
    readonly dir: string,
    readonly state: PodNetworkState,
  ) {}

  get gateway(): string {
    return this.state.gateway;
  }

  private static dirOf(stateDir: string): string {
    return join(stateDir, "podnet");
  }

  /** The network recorded under stateDir (made by `create` in another process). */
  static open(stateDir: string): PodNetwork {
    const dir = PodNetwork.dirOf(stateDir);
    const state = JSON.parse(readFileSync(join(dir, "bridge.json"), "utf8")) as PodNetworkState;
    return new PodNetwork(dir, state);
  }

  /** Makes the bridge; refuses a /24 some other interface already routes. */
  static async create(stateDir: string, prefix = defaultPrefix(), serviceCidr?: string): Promise<PodNetwork> {
    const dir = PodNetwork.dirOf(stateDir);
    const tag = `tk${createHash("sha256").update(stateDir).digest("hex").slice(0, 6)}`;
    const state: PodNetworkState = { bridge: `${tag}br`, prefix, gateway: `${prefix}.1`, tag, serviceCidr };
    const routes = JSON.parse(await ip(["-j", "route", "show", "table", "all"])) as { dst?: string; dev?: string }[];
    const clash = routes.find((r) => r.dst?.startsWith(`${prefix}.`) && r.dev !== state.bridge);
    if (clash)
      throw new Error(
        `the pod subnet ${prefix}.0/24 is already routed on this machine (${clash.dst} dev ${clash.dev}); set TUSK_POD_SUBNET to another /24`,
      );
    mkdirSync(join(dir, "netns"), { recursive: true });
    // recorded before it exists, so a crash in between still leaves a trace for cleanup
    writeFileSync(join(dir, "bridge.json"), JSON.stringify(state));
    await ip(["link", "add", state.bridge, "type", "bridge"]);
    await ip(["addr", "add", `${state.gateway}/24`, "dev", state.bridge]);
    await ip(["link", "set", state.bridge, "up"]);
    return new PodNetwork(dir, state);
  }

  private attachments(): PodAttachment[] {
    const d = join(this.dir, "netns");
    if (!existsSync(d)) return [];
    return readdirSync(d).map((f) => JSON.parse(readFileSync(join(d, f), "utf8")) as PodAttachment);
  }

  /** A network namespace with its own address on the bridge, loopback up. */
  async addPod(): Promise<PodAttachment> {
    const used = new Set(this.attachments().map((a) => a.ip));
    let n = 2;
    while (n < 255 && used.has(`${this.state.prefix}.${n}`)) n++;
    if (n >= 255) throw new Error(`pod subnet ${this.state.prefix}.0/24 is full`);
    const a: PodAttachment = {
      netns: `${this.state.tag}-${n}`,
      path: `/run/netns/${this.state.tag}-${n}`,
      ip: `${this.state.prefix}.${n}`,
      hostVeth: `${this.state.tag}v${n}`,
    };
    writeFileSync(join(this.dir, "netns", a.netns), JSON.stringify(a));
    await ip(["netns", "add", a.netns]);
    await ip(["link", "add", a.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", a.netns]);
    await ip(["link", "set", a.hostVeth, "master", this.state.bridge, "up"]);
    await ip(["-n", a.netns, "addr", "add", `${a.ip}/24`, "dev", "eth0"]);
    await ip(["-n", a.netns, "link", "set", "eth0", "up"]);
    await ip(["-n", a.netns, "link", "set", "lo", "up"]);
    if (this.state.serviceCidr)
      await ip(["-n", a.netns, "route", "add", this.state.serviceCidr, "via", this.state.gateway]);
    return a;
  }

  /** Is this address in the Services' range? */
  inServiceRange(addr: string): boolean {
    const cidr = this.state.serviceCidr;
    if (!cidr) return false;
    const [base, bits] = cidr.split("/") as [string, string];
    const n = (a: string) => a.split(".").reduce((x, o) => x * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(bits));
    return Math.floor(n(addr) / size) === Math.floor(n(base) / size);
  }

  /** A cluster IP as a local address of the bridge (gone with the bridge). */
  async addServiceAddress(addr: string): Promise<void> {
    await ip(["addr", "replace", `${addr}/32`, "dev", this.state.bridge]);
  }

  async removeServiceAddress(addr: string): Promise<void> {
    await ip(["addr", "del", `${addr}/32`, "dev", this.state.bridge]);
  }

  /** Kills what still runs in the namespace, then removes it and its veth pair. */
  async removePod(netns: string): Promise<void> {
    await removeAttachment(this.dir, netns);
  }

  /** Every pod namespace, then the bridge. */
  async destroy(): Promise<void> {
    await PodNetwork.cleanup(join(this.dir, ".."));
  }

  /** Removes what the state under stateDir records (an aborted run's network); returns what it removed. */
  static async cleanup(stateDir: string): Promise<string[]> {
    const dir = PodNetwork.dirOf(stateDir);
    const removed: string[] = [];
    const nsDir = join(dir, "netns");
    if (existsSync(nsDir))
      for (const f of readdirSync(nsDir)) {
        await removeAttachment(dir, f);
        removed.push(f);
      }
    const file = join(dir, "bridge.json");
    if (existsSync(file)) {
      const state = JSON.parse(readFileSync(file, "utf8")) as PodNetworkState;
      if ((await linkExists(state.bridge)) && (await ip(["link", "del", state.bridge]).then(() => true)))
        removed.push(state.bridge);
      rmSync(file);
    }
    return removed;
  }
}

async function linkExists(name: string): Promise<boolean> {
  return ip(["link", "show", name]).then(
    () => true,
    () => false,
  );
}

/** Processes whose network namespace is this one. */
export async function pidsIn(netns: string): Promise<number[]> {
  const out = await ip(["netns", "pids", netns]).catch(() => "");
  return out
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((p) => p > 0 && p !== process.pid);
}

async function removeAttachment(dir: string, netns: string): Promise<void> {
  const file = join(dir, "netns", netns);
  let a: PodAttachment | undefined;
  try {
    a = JSON.parse(readFileSync(file, "utf8")) as PodAttachment;
  } catch {}
  if (existsSync(`/run/netns/${netns}`)) {
    for (let round = 0; round < 50; round++) {
      const pids = await pidsIn(netns);
      if (!pids.length) break;
      for (const pid of pids)
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    await ip(["netns", "del", netns]).catch(() => {});
  }
  // deleting the namespace deletes its end of the pair, and so the pair; this catches a half-made one
  if (a && (await linkExists(a.hostVeth))) await ip(["link", "del", a.hostVeth]).catch(() => {});
  rmSync(file, { force: true });
}
