/**
 * @module
 * This cluster's PostgresRestores, from the related objects the customize hook asks for (every
 * one in the namespace): what the restore gate (restore/gate.ts) decides from.
 */
import * as z from "zod";
import { PostgresRestoreSpec } from "../../../shared/api/postgres-restore.ts";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import { childKey } from "../objects/kinds.ts";

const RestoreObject = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.unknown().optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      error: z.string().optional(),
      target: z.string().optional(),
      backupSet: z.string().optional(),
      startInstance: z.string().optional(),
      dataChanged: z.boolean().optional(),
    })
    .optional(),
});

export interface ClusterRestore {
  name: string;
  createdAt: string;
  phase?: string;
  deleting: boolean;
  error?: string;
  target?: string;
  backupSet?: string;
  startInstance?: string;
  dataChanged?: boolean;
}

/** This cluster's PostgresRestores (the customize hook asks for every one in the namespace), oldest first. */
export function clusterRestores(related: ObjectMap, cluster: string): ClusterRestore[] {
  return Object.values(related[childKey("PostgresRestore")] ?? {})
    .flatMap((raw) => {
      const r = RestoreObject.safeParse(raw);
      if (!r.success) return [];
      const spec = PostgresRestoreSpec.safeParse(r.data.spec ?? {});
      if (!spec.success || spec.data.cluster !== cluster) return [];
      const s = r.data.status ?? {};
      return [
        {
          name: r.data.metadata.name,
          createdAt: r.data.metadata.creationTimestamp ?? "",
          deleting: r.data.metadata.deletionTimestamp !== undefined,
          ...(s.phase ? { phase: s.phase } : {}),
          ...(s.error ? { error: s.error } : {}),
          ...(s.target ? { target: s.target } : {}),
          ...(s.backupSet ? { backupSet: s.backupSet } : {}),
          ...(s.startInstance ? { startInstance: s.startInstance } : {}),
          ...(s.dataChanged !== undefined ? { dataChanged: s.dataChanged } : {}),
        },
      ];
    })
    .sort((a, b) => (a.createdAt === b.createdAt ? a.name.localeCompare(b.name) : a.createdAt < b.createdAt ? -1 : 1));
}
