/**
 * @module
 * What a container runtime gives each container, reduced to what the programs here notice: a
 * mount namespace of its own in which
 * - the pod's volumes are bind-mounted at their pod-world paths (`/pgdata`, `/tmp`,
 *   `/etc/postgres/tls`, ...), read-only where the volumeMount says so, so every path in the
 *   generated configuration is used verbatim and means the same in every pod;
 * - the root filesystem is read-only when the container asks for `readOnlyRootFilesystem`;
 * - /etc/hosts is the file the caller names (cluster DNS);
 * - optionally, a UTS namespace whose hostname is the pod's.
 * Mount points missing on the machine (`/pgdata`, `/etc/postgres`, ...) are created empty, listed
 * in a record file and removed again by the suite's teardown (and by the next run's setup).
 * Used by both the end-to-end suite's pod runner (test/e2e/lib/podns.ts) and the kube suite's
 * kubelet (kubelet.ts).
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
      `pods run in a mount namespace each (unshare --mount, as root with CAP_SYS_ADMIN), which this machine refuses: ${(e as Error).message}`,
    );
  }
}

export function shq(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * Creates, on the machine, the mount points that are not inside another mount of the same pod;
 * records the top-most directory created in `record` so the teardown can remove it.
 */
function ensureHostMountPoints(mounts: Mount[], record: string): void {
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
    mkdirSync(dirname(record), { recursive: true });
    appendFileSync(record, `${top}\n`);
  }
}

/** Removes the empty mount points listed in `record` (made by ensureHostMountPoints). */
export function removeHostMountPoints(record: string): void {
  if (!existsSync(record)) return;
  const tops = [...new Set(readFileSync(record, "utf8").split("\n").filter(Boolean))];
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
  if (left.length) writeFileSync(record, `${left.join("\n")}\n`);
  else rmSync(record, { force: true });
}

export interface MountView {
  mounts: Mount[];
  readOnlyRoot: boolean;
  workingDir?: string;
  /** Bind-mounted over /etc/hosts. */
  hostsFile: string;
  /** Where created mount points are recorded (removeHostMountPoints). */
  mountpointsRecord: string;
  /** A UTS namespace with this hostname, as a pod has. */
  hostname?: string;
}

/** Wraps an argv so it runs with its pod's filesystem view (and hostname). */
export function inMountNamespace(argv: string[], view: MountView): string[] {
  requireMountNamespaces();
  // the pod's /dev/shm stays the machine's (the runtime's business); /dev/termination-log is mounted
  const list = view.mounts.filter((m) => !m.path.startsWith("/dev/shm")).sort((a, b) => a.path.length - b.path.length);
  ensureHostMountPoints(list, view.mountpointsRecord);
  const script = [
    "set -e",
    ...(view.hostname ? [`hostname ${shq(view.hostname)}`] : []),
    `mount --bind ${shq(view.hostsFile)} /etc/hosts`,
    ...list.flatMap((m) => {
      const isDir = statSync(m.source).isDirectory();
      const make = isDir
        ? `[ -d ${shq(m.path)} ] || mkdir -p ${shq(m.path)}`
        : `[ -e ${shq(m.path)} ] || { mkdir -p ${shq(dirname(m.path))}; : > ${shq(m.path)}; }`;
      return [make, `mount --bind ${shq(m.source)} ${shq(m.path)}`];
    }),
    ...list.filter((m) => m.readOnly).map((m) => `mount -o remount,bind,ro ${shq(m.path)}`),
    ...(view.readOnlyRoot ? ["mount -o remount,bind,ro /"] : []),
    `cd ${shq(view.workingDir ?? "/")}`,
    'exec "$@"',
  ].join("\n");
  const uts = view.hostname ? ["--uts"] : [];
  return ["unshare", "--mount", ...uts, "--propagation", "private", "sh", "-c", script, "pod", ...argv];
}
