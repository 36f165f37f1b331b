/**
 * @module
 * What "no error" means on the real control plane: no write of Metacontroller's refused by the
 * API server (409, 422, 403, ...), no Warning Event from a controller about our objects, no sync
 * error in Metacontroller's log. Each returns the offending lines, so a failing assertion shows
 * them.
 */
import { readFileSync } from "node:fs";
import type { Kube, Obj } from "./env.ts";
import { METACONTROLLER_USER } from "./install.ts";

/**
 * Metacontroller's writes the API server refused since an audit mark, in one namespace. A 409
 * Conflict ("the object has been modified") is optimistic concurrency at work: the write was
 * computed from a cache older than the object (the StatefulSet controller wrote its status, or
 * Metacontroller's own previous write had not reached its informer yet), and the next sync
 * starts from the newer object. Whether that converges is what the fixpoint test checks; every
 * other refusal is a bug.
 */
export function refusedWrites(k: Kube, mark: number, namespace?: string): string[] {
  return k
    .audit(mark)
    .filter((e) => e.user.username === METACONTROLLER_USER)
    .filter((e) => !namespace || e.objectRef?.namespace === namespace)
    .filter((e) => (e.responseStatus?.code ?? 200) >= 400)
    .filter(
      (e) => !(e.responseStatus?.code === 409 && /the object has been modified/.test(e.responseStatus.message ?? "")),
    )
    .map(
      (e) =>
        `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ` +
        `${e.objectRef?.namespace}/${e.objectRef?.name}: ${e.responseStatus?.code} ${(e.responseStatus?.message ?? "").slice(0, 240)}`,
    );
}

/** Metacontroller's writes since a mark (in a namespace, or cluster-wide). */
export function writesSince(k: Kube, mark: number, namespace?: string): string[] {
  return k
    .audit(mark)
    .filter((e) => e.user.username === METACONTROLLER_USER)
    .filter((e) => !namespace || e.objectRef?.namespace === namespace)
    .map(
      (e) =>
        `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ` +
        `${e.objectRef?.namespace}/${e.objectRef?.name} -> ${e.responseStatus?.code}`,
    );
}

/**
 * Warnings that come from Kubernetes' and Metacontroller's own eventual consistency, each
 * retried to success, not from a hook:
 * - without a scheduler or kubelet, pods wait;
 * - a write Metacontroller lost to a concurrent one (409, "the object has been modified": the
 *   StatefulSet controller updated the same object) is retried on the next sync (its
 *   convergence is what the fixpoint test checks);
 * - the StatefulSet controller can try to create a pod before the ServiceAccount created in the
 *   same sync exists, and retries (the tests then wait for every pod);
 * - the API server's ClusterIP allocator repairs an address it allocated while its repair loop
 *   was scanning.
 */
export const RETRIED_WARNINGS = [
  /FailedScheduling/,
  /SyncError: .*the object has been modified; please apply your changes/,
  /FailedCreate: .*error looking up service account/,
  /ClusterIPNotAllocated: Cluster IP .* is not allocated; repairing/,
];

/** Warning Events in a namespace, except those allowed. */
export async function warningEvents(k: Kube, namespace: string, allow: RegExp[] = []): Promise<string[]> {
  const events = await k.list("events", namespace);
  return events
    .filter((e: Obj) => e.type === "Warning")
    .map((e: Obj) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`)
    .filter((line) => !allow.some((re) => re.test(line)));
}

/**
 * Lines of Metacontroller's log (klog) at error level, or mentioning a failed sync, from a byte
 * offset, about one namespace's objects (other test files' namespaces may still be going away).
 */
export function metacontrollerErrors(k: Kube, fromByte: number, namespace: string): string[] {
  const text = readFileSync(k.env.metacontrollerLog, "utf8").slice(fromByte);
  return text
    .split("\n")
    .filter((l) => /^E\d{4}|failed to sync|can't (sync|reconcile|update|create|delete)/.test(l))
    .filter((l) => l.includes(`${namespace}/`))
    .filter((l) => !RETRIED.some((re) => re.test(l)));
}

/** Sync errors Metacontroller retries to success (see the Events allowed in cluster.test.ts). */
const RETRIED = [
  /the object has been modified; please apply your changes to the latest version/,
  /can't update status for Postgres(Backup|Restore) .*: .* not found/,
];

export function logSize(file: string): number {
  try {
    return readFileSync(file).length;
  } catch {
    return 0;
  }
}
