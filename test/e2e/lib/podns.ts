/**
 * @module
 * What a container runtime gives each pod, reduced to what the programs here notice: a mount
 * namespace per process in which
 * - the pod's volumes are bind-mounted at their pod-world paths (`/pgdata`, `/tmp`,
 *   `/etc/postgres/tls`, ...), read-only where the volumeMount says so, so every path in the
 *   generated configuration is used verbatim and means the same in every pod;
 * - the root filesystem is read-only when the container asks for `readOnlyRootFilesystem`;
 * - /etc/hosts resolves every Service and pod name of the run to 127.0.0.1 (cluster DNS; the
 *   per-pod port is in the mapping, podworld.ts). pgBackRest needs this: it checks the server
 *   certificate against the very name it connects to and has no `hostaddr` (docs/dataplane-notes.md B13).
 * Mount points missing on the machine (`/pgdata`, `/etc/postgres`, ...) are created empty, listed
 * in `mountpoints.txt` and removed again by the teardown (and by the next run's setup).
 */
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { BASE, RUN } from "./proc.ts";

const HOSTS_FILE = join(RUN, "hosts");
const MOUNTPOINTS = join(BASE, "mountpoints.txt");
const names = new Set<string>();

export interface Mount {
  /** Pod-world path. */
  path: string;
  /** Host file or directory. */
  source: string;
  readOnly?: boolean;
}

let checked = false;
/** Mount namespaces are required; say so clearly when the machine does not allow them. */
export function requireMountNamespaces(): void {
  if (checked) return;
  try {
    execFileSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"], {
      stdio: "pipe",
      timeout: 10_000,
    });
    checked = true;
  } catch (e) {
    throw new Error(
      `the end-to-end suite runs each pod in a mount namespace (unshare --mount, as root with CAP_SYS_ADMIN), which this machine refuses: ${(e as Error).message}`,
    );
  }
}

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

function shq(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * Creates, on the machine, the mount points that are not inside another mount of the same pod;
 * records the top-most directory created so the teardown can remove it.
 */
function ensureHostMountPoints(mounts: Mount[]): void {
  const paths = mounts.map((m) => m.path);
  for (const m of mounts) {
    const covered = paths.some((p) => p !== m.path && m.path.startsWith(`${p}/`));
    if (covered || existsSync(m.path)) continue;
    let top = m.path;
    while (!existsSync(dirname(top))) top = dirname(top);
    if (statSync(m.source).isDirectory()) mkdirSync(m.path, { recursive: true, mode: 0o755 });
    else {
      mkdirSync(dirname(m.path), { recursive: true, mode: 0o755 });
      writeFileSync(m.path, "");
    }
    mkdirSync(BASE, { recursive: true });
    appendFileSync(MOUNTPOINTS, `${top}\n`);
  }
}

/** Removes the empty mount points this suite created on the machine. */
export function removeHostMountPoints(): void {
  if (!existsSync(MOUNTPOINTS)) return;
  const tops = [...new Set(readFileSync(MOUNTPOINTS, "utf8").split("\n").filter(Boolean))];
  const removeEmpty = (p: string): boolean => {
    try {
      const st = statSync(p);
      if (!st.isDirectory()) {
        if (st.size === 0) rmSync(p);
        return st.size === 0;
      }
      const empty = readdirSync(p)
        .map((e) => removeEmpty(join(p, e)))
        .every(Boolean);
      if (empty) rmdirSync(p);
      return empty;
    } catch {
      return true;
    }
  };
  const left = tops.filter((t) => !removeEmpty(t));
  if (left.length) writeFileSync(MOUNTPOINTS, `${left.join("\n")}\n`);
  else rmSync(MOUNTPOINTS, { force: true });
}

/** Wraps an argv so it runs with its pod's filesystem view and cluster DNS. */
export function inPod(argv: string[], mounts: Mount[], readOnlyRoot: boolean, workingDir?: string): string[] {
  requireMountNamespaces();
  if (!existsSync(HOSTS_FILE)) renderHosts();
  // the pod's /dev/shm stays the machine's (the runtime's business); /dev/termination-log is mounted
  const list = mounts.filter((m) => !m.path.startsWith("/dev/shm")).sort((a, b) => a.path.length - b.path.length);
  ensureHostMountPoints(list);
  const script = [
    "set -e",
    `mount --bind ${shq(HOSTS_FILE)} /etc/hosts`,
    ...list.flatMap((m) => {
      const isDir = statSync(m.source).isDirectory();
      const make = isDir
        ? `[ -d ${shq(m.path)} ] || mkdir -p ${shq(m.path)}`
        : `[ -e ${shq(m.path)} ] || { mkdir -p ${shq(dirname(m.path))}; : > ${shq(m.path)}; }`;
      return [make, `mount --bind ${shq(m.source)} ${shq(m.path)}`];
    }),
    ...list.filter((m) => m.readOnly).map((m) => `mount -o remount,bind,ro ${shq(m.path)}`),
    ...(readOnlyRoot ? ["mount -o remount,bind,ro /"] : []),
    `cd ${shq(workingDir ?? "/")}`,
    'exec "$@"',
  ].join("\n");
  return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "pod", ...argv];
}
