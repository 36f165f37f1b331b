/**
 * An in-memory BackupStore with the API server's relevant behaviour: AlreadyExists on a
 * duplicate name, label-selector lists, creation timestamps, NotFound-tolerant deletes.
 */
import type { BackupStore, ListedBackup, PostgresBackupObject } from "../../../functions/scheduler/store.ts";
import { KubeApiError } from "../../../functions/scheduler/store.ts";

export interface FakeStore extends BackupStore {
  objects: Map<string, PostgresBackupObject & { creationTimestamp: string; phase?: string }>;
  calls: string[];
  failOn?: { op: "create" | "list" | "delete"; status: number };
}

export function fakeStore(start = Date.parse("2026-09-01T00:00:00Z")): FakeStore {
  let clock = start;
  const objects: FakeStore["objects"] = new Map();
  const calls: string[] = [];
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const store: FakeStore = {
    objects,
    calls,
    async create(namespace, backup) {
      calls.push(`create ${namespace}/${backup.metadata.name}`);
      if (store.failOn?.op === "create") throw new KubeApiError(store.failOn.status, "create refused");
      if (objects.has(key(namespace, backup.metadata.name))) return "exists";
      clock += 60_000;
      objects.set(key(namespace, backup.metadata.name), {
        ...structuredClone(backup),
        creationTimestamp: new Date(clock).toISOString().replace(".000Z", "Z"),
      });
      return "created";
    },
    async list(namespace, selector) {
      calls.push(`list ${namespace} ${selector}`);
      if (store.failOn?.op === "list") throw new KubeApiError(store.failOn.status, "list refused");
      const want = selector.split(",").map((p) => p.split("=") as [string, string]);
      return [...objects.entries()]
        .filter(([k, o]) => k.startsWith(`${namespace}/`) && want.every(([l, v]) => o.metadata.labels[l] === v))
        .map(
          ([, o]): ListedBackup => ({
            name: o.metadata.name,
            creationTimestamp: o.creationTimestamp,
            ...(o.phase ? { phase: o.phase } : {}),
          }),
        );
    },
    async delete(namespace, name) {
      calls.push(`delete ${namespace}/${name}`);
      if (store.failOn?.op === "delete") throw new KubeApiError(store.failOn.status, "delete refused");
      objects.delete(key(namespace, name));
    },
  };
  return store;
}
