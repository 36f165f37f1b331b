/**
 * @module
 * Cluster DNS for programs that cannot be told an address apart from the name they verify
 * TLS against (pgBackRest checks `pgN-host`/`repoN-host` against the server certificate and
 * has no `hostaddr`, NOTES B13): every Service and pod name of the run resolves to 127.0.0.1.
 *
 * Preferred: each process the suite starts gets a private mount namespace in which a generated
 * hosts file is bind-mounted over /etc/hosts (nothing on the machine changes). Where mount
 * namespaces are not allowed, the names go into a marked block of the real /etc/hosts, removed
 * again at the end of the run and by the next run's setup.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUN } from "./proc.ts";

export const HOSTS_FILE = join(RUN, "hosts");
const BEGIN = "# BEGIN tusk-e2e (removed by the end-to-end suite)";
const END = "# END tusk-e2e";
const names = new Set<string>();
let mode: "namespace" | "etc-hosts" | undefined;

function detect(): "namespace" | "etc-hosts" {
  if (mode) return mode;
  try {
    execFileSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"], {
      stdio: "ignore",
      timeout: 10_000,
    });
    mode = "namespace";
  } catch {
    mode = "etc-hosts";
  }
  return mode;
}

export function dnsMode(): "namespace" | "etc-hosts" {
  return detect();
}

function withoutBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  return text.slice(0, start) + (end < 0 ? "" : text.slice(end + END.length + 1));
}

function render(): void {
  const lines = [...names].sort().map((n) => `127.0.0.1\t${n}`);
  const block = `${BEGIN}\n${lines.join("\n")}\n${END}\n`;
  const system = withoutBlock(readFileSync("/etc/hosts", "utf8"));
  if (detect() === "namespace") {
    mkdirSync(RUN, { recursive: true, mode: 0o755 });
    // written in place: namespaces that bind-mounted this inode see new names at once
    writeFileSync(HOSTS_FILE, `${system}${system.endsWith("\n") ? "" : "\n"}${block}`, { mode: 0o644 });
  } else {
    writeFileSync("/etc/hosts", `${system}${system.endsWith("\n") ? "" : "\n"}${block}`);
  }
}

/** Adds names that resolve to 127.0.0.1 for every process started from now on (and running ones). */
export function addNames(list: string[]): void {
  let changed = false;
  for (const n of list)
    if (!names.has(n) && /^[A-Za-z0-9.-]+$/.test(n)) {
      names.add(n);
      changed = true;
    }
  if (changed || !existsSync(HOSTS_FILE)) render();
}

/** Wraps an argv so the process sees the generated hosts file as /etc/hosts. */
export function withClusterDns(argv: string[]): string[] {
  if (detect() !== "namespace") return argv;
  if (!existsSync(HOSTS_FILE)) render();
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind "$0" /etc/hosts && exec "$@"',
    HOSTS_FILE,
    ...argv,
  ];
}

/** Removes the marked block from /etc/hosts (fallback mode, or one an aborted run left). */
export function removeEtcHostsBlock(): void {
  const text = readFileSync("/etc/hosts", "utf8");
  const clean = withoutBlock(text);
  if (clean !== text) writeFileSync("/etc/hosts", clean);
}

/** `<name>`, `<name>.<ns>`, `<name>.<ns>.svc`, `<name>.<ns>.svc.cluster.local`. */
export function serviceNames(name: string, namespace: string): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}
