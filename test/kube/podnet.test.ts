/**
 * The pod network on its own (test/pods/net.ts): two namespaces on a bridge of their own reach
 * each other and the bridge's address, and nothing else; removing the network through its
 * state files (as the next run's setup does after an aborted run) kills what runs inside and
 * leaves no namespace, link or state behind. Uses its own state directory and /24, apart from
 * the suite's pod network.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../e2e/lib/wait.ts";
import { PodNetwork, pidsIn, podNetworkUnavailable } from "../pods/net.ts";

const execFileAsync = promisify(execFile);
const unavailable = podNetworkUnavailable();
const state = mkdtempSync("/var/tmp/tusk-podnet-test-");
const PREFIX = "10.244.253";
const children: ChildProcess[] = [];
let host: Server | undefined;

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  host?.close();
  await PodNetwork.cleanup(state);
  rmSync(state, { recursive: true, force: true });
});

/** curl from inside a namespace; the body, or the error curl printed. */
function curlFrom(path: string, url: string): string {
  try {
    return execFileSync("nsenter", [`--net=${path}`, "curl", "-sS", "-m", "5", url], {
      encoding: "utf8",
      stdio: "pipe",
    });
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
}

describe.skipIf(unavailable)(`pod network${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("two pods reach each other and the node's address, and have no route anywhere else", async () => {
    const net = await PodNetwork.create(state, PREFIX);
    expect(net.gateway).toBe(`${PREFIX}.1`);
    const a = await net.addPod();
    const b = await net.addPod();
    expect([a.ip, b.ip]).toEqual([`${PREFIX}.2`, `${PREFIX}.3`]);

    // a server in b, on b's address only
    const server = spawn(
      "nsenter",
      [
        `--net=${b.path}`,
        process.execPath,
        "-e",
        `require("node:http").createServer((q, s) => s.end("pod b")).listen(8080, "${b.ip}")`,
      ],
      { stdio: "ignore" },
    );
    children.push(server);
    await waitFor("the server in pod b", () => curlFrom(a.path, `http://${b.ip}:8080/`) === "pod b", {
      timeoutMs: 30_000,
    });
    // the node (host side of the bridge) reaches the pod, and the pod reaches the node's address
    expect(execFileSync("curl", ["-sS", "-m", "5", `http://${b.ip}:8080/`], { encoding: "utf8" })).toBe("pod b");
    host = createServer((_q, s) => s.end("node\n"));
    await new Promise<void>((r) => host!.listen(0, net.gateway, r));
    const port = (host.address() as { port: number }).port;
    // asynchronously: the server answering is in this very process
    const fromPod = (
      await execFileAsync("nsenter", [`--net=${a.path}`, "curl", "-sS", "-m", "10", `http://${net.gateway}:${port}/`], {
        encoding: "utf8",
      })
    ).stdout;
    expect(fromPod).toBe("node\n");

    // no default route: the machine's own network and the world are unreachable from a pod
    const routes = execFileSync("nsenter", [`--net=${a.path}`, "ip", "route"], { encoding: "utf8" }).trim();
    expect(routes).toBe(`${PREFIX}.0/24 dev eth0 proto kernel scope link src ${a.ip}`);
    for (const dest of ["1.1.1.1", "192.0.2.1", "10.96.0.1"]) {
      const r = (() => {
        try {
          return execFileSync("nsenter", [`--net=${a.path}`, "ip", "route", "get", dest], { stdio: "pipe" }).toString();
        } catch (e) {
          return String((e as { stderr?: Buffer }).stderr);
        }
      })();
      expect(r, dest).toMatch(/unreachable/i);
    }

    // a third pod takes the next free address; removing it frees that address again
    const c = await net.addPod();
    expect(c.ip).toBe(`${PREFIX}.4`);
    await net.removePod(c.netns);
    expect(existsSync(c.path)).toBe(false);
    expect((await net.addPod()).ip).toBe(`${PREFIX}.4`);

    // cleanup from the state files alone, as after an aborted run: the server in b is killed
    expect(await pidsIn(b.netns)).toContain(server.pid);
    const removed = await PodNetwork.cleanup(state);
    expect(removed.sort()).toEqual([a.netns, b.netns, c.netns, `${net.state.tag}br`].sort());
    await waitFor("the server in pod b to be killed", () => server.exitCode !== null || server.signalCode !== null, {
      timeoutMs: 10_000,
    });
    for (const n of [a, b]) expect(existsSync(n.path)).toBe(false);
    expect(execFileSync("ip", ["-br", "link"], { encoding: "utf8" })).not.toContain(net.state.tag);
    expect(readdirSync(join(state, "podnet", "netns"))).toEqual([]);
    expect(await PodNetwork.cleanup(state)).toEqual([]);
  });
});
