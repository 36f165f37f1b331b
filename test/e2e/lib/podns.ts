/**
 * @module
 * The end-to-end suite's side of the pods' mount namespaces (test/pods/mountns.ts does the
 * mounting): /etc/hosts resolves every Service and pod name of the run to 127.0.0.1 (cluster DNS;
 * the per-pod port is in the mapping, podworld.ts). pgBackRest needs this: it checks the server
 * certificate against the very name it connects to and has no `hostaddr` (docs/dataplane-notes.md B13).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  inMountNamespace,
  type Mount,
  removeHostMountPoints as removeRecorded,
  requireMountNamespaces,
} from "../../pods/mountns.ts";
import { BASE, RUN } from "./proc.ts";

export { type Mount, requireMountNamespaces };

const HOSTS_FILE = join(RUN, "hosts");
const MOUNTPOINTS = join(BASE, "mountpoints.txt");
const names = new Set<string>();

function renderHosts(): void {
  const system = readFileSync("/etc/hosts", "utf8");
  const lines = [...names].sort().map((n) => `127.0.0.1\t${n}`);
  mkdirSync(RUN, { recursive: true, mode: 0o755 });
  // written in place: namespaces that bind-mounted this inode see new names at once
  writeFileSync(
    HOSTS_FILE,
    `${system}${system.endsWith("\n") ? "" : "\n"}# tusk e2e: cluster DNS\n${lines.join("\n")}\n`,
    { mode: 0o644 },
  );
}

/** Adds names that resolve to 127.0.0.1 in every pod (running ones included). */
export function addNames(list: string[]): void {
  let changed = false;
  for (const n of list)
    if (!names.has(n) && /^[A-Za-z0-9.-]+$/.test(n)) {
      names.add(n);
      changed = true;
    }
  if (changed || !existsSync(HOSTS_FILE)) renderHosts();
}

/** `<name>`, `<name>.<ns>`, `<name>.<ns>.svc`, `<name>.<ns>.svc.cluster.local`. */
export function serviceNames(name: string, namespace: string): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

/** Removes the empty mount points this suite created on the machine. */
export function removeHostMountPoints(): void {
  removeRecorded(MOUNTPOINTS);
}

/** Wraps an argv so it runs with its pod's filesystem view and cluster DNS. */
export function inPod(argv: string[], mounts: Mount[], readOnlyRoot: boolean, workingDir?: string): string[] {
  if (!existsSync(HOSTS_FILE)) renderHosts();
  return inMountNamespace(argv, {
    mounts,
    readOnlyRoot,
    workingDir,
    hostsFile: HOSTS_FILE,
    mountpointsRecord: MOUNTPOINTS,
  });
}
