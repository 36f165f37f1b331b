/**
 * @module
 * The cluster's PVCs, from the related objects the customize hook asks for: what volume
 * expansion and the cleanup after a scale-down read (volumes/).
 */
import * as z from "zod";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import { childKey } from "../objects/kinds.ts";

export interface ClaimCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface ObservedClaim {
  name: string;
  uid?: string;
  labels: Record<string, string>;
  /** spec.resources.requests.storage, as the API server stores it. */
  requested?: string | number;
  /** status.capacity.storage: what the volume provides once resizing is done. */
  capacity?: string | number;
  phase?: string;
  conditions: ClaimCondition[];
  terminating: boolean;
}

const Storage = z.union([z.string(), z.number()]);

const ClaimSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    uid: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z
    .looseObject({
      resources: z.looseObject({ requests: z.looseObject({ storage: Storage.optional() }).optional() }).optional(),
    })
    .optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      capacity: z.looseObject({ storage: Storage.optional() }).optional(),
      conditions: z
        .array(
          z.looseObject({
            type: z.string(),
            status: z.string(),
            reason: z.string().optional(),
            message: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

/** Related PVCs by name (from the customize hook); anything unreadable is skipped. */
export function observedClaims(related: ObjectMap): Map<string, ObservedClaim> {
  const out = new Map<string, ObservedClaim>();
  for (const raw of Object.values(related[childKey("PersistentVolumeClaim")] ?? {})) {
    const parsed = ClaimSchema.safeParse(raw);
    if (!parsed.success) continue;
    const { metadata, spec, status } = parsed.data;
    const requested = spec?.resources?.requests?.storage;
    const capacity = status?.capacity?.storage;
    out.set(metadata.name, {
      name: metadata.name,
      ...(metadata.uid ? { uid: metadata.uid } : {}),
      labels: metadata.labels ?? {},
      ...(requested !== undefined ? { requested } : {}),
      ...(capacity !== undefined ? { capacity } : {}),
      ...(status?.phase ? { phase: status.phase } : {}),
      conditions: (status?.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.message ? { message: c.message } : {}),
      })),
      terminating: metadata.deletionTimestamp !== undefined,
    });
  }
  return out;
}
