/**
 * @module
 * What "no error" means on the real control plane: no write of Metacontroller's refused by the
 * API server (409, 422, 403, ...), no Warning Event from a controller about our objects, no sync
 * error in Metacontroller's log. Each returns the offending lines, so a failing assertion shows
 * them.
 */
import { readFileSync } from "node:fs";
import type { AuditEvent } from "./control-plane.ts";
import type { Kube, Obj } from "./env.ts";
import { METACONTROLLER_USER } from "./install.ts";

const target = (e: AuditEvent) =>
  `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ""} ${e.objectRef?.namespace}/${e.objectRef?.name}`;

/**
 * Metacontroller's writes the API server refused since an audit mark, in one namespace. A 409
 * Conflict that the same write retried successfully is optimistic concurrency at work (the
 * parent changed under Metacontroller, for instance by the user's own apply), not a refusal;
 * a 409 never followed by success is one.
 */
export function refusedWrites(k: Kube, mark: number, namespace?: string): string[] {
  const events = k
    .audit(mark)
    .filter((e) => e.user.username === METACONTROLLER_USER)
    .filter((e) => !namespace || e.objectRef?.namespace === namespace);
  const retried = (e: AuditEvent, i: number) =>
    e.responseStatus?.code === 409 &&
    events.slice(i + 1).some((later) => target(later) === target(e) && (later.responseStatus?.code ?? 200) < 400);
  return events
    .filter((e, i) => (e.responseStatus?.code ?? 200) >= 400 && !retried(e, i))
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

/** Warning Events in a namespace, except those a cluster without a kubelet always has. */
export async function warningEvents(k: Kube, namespace: string, allow: RegExp[] = []): Promise<string[]> {
  const events = await k.list("events", namespace);
  return events
    .filter((e: Obj) => e.type === "Warning")
    .map((e: Obj) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`)
    .filter((line) => !allow.some((re) => re.test(line)));
}

/** Lines of Metacontroller's log (klog) at error level, or mentioning a failed sync, from a byte offset. */
export function metacontrollerErrors(k: Kube, fromByte = 0): string[] {
  const text = readFileSync(k.env.metacontrollerLog, "utf8").slice(fromByte);
  return text
    .split("\n")
    .filter((l) => /^E\d{4}|failed to sync|can't (sync|reconcile|update|create|delete)/.test(l))
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
