/**
 * @module
 * Metacontroller CompositeController hook payloads (hook `version: v1`).
 * Children arrive as a map `{"<Kind>.<apiVersion>": {"<name>": object}}` and leave as a list.
 */
import * as z from "zod";

export const KubeObject = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
    creationTimestamp: z.string().optional(),
  }),
});
export type KubeObject = z.infer<typeof KubeObject>;

/** `{"StatefulSet.apps/v1": {"hippo-instance1-0": {...}}}` */
export const ObjectMap = z.record(z.string(), z.record(z.string(), z.looseObject({})));
export type ObjectMap = Record<string, Record<string, Record<string, unknown>>>;

/** The parent is parsed loosely here; each hook parses its spec with the API schema. */
export const Parent = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.unknown().optional(),
  status: z.unknown().optional(),
});
export type Parent = z.infer<typeof Parent>;

export const SyncRequest = z.looseObject({
  controller: z.looseObject({}).optional(),
  parent: Parent,
  children: ObjectMap.default({}),
  related: ObjectMap.default({}),
  finalizing: z.boolean().default(false),
});
export type SyncRequest = z.infer<typeof SyncRequest>;

export interface SyncResponse {
  status: Record<string, unknown>;
  children: Record<string, unknown>[];
  resyncAfterSeconds?: number;
  finalized?: boolean;
}

export const CustomizeRequest = z.looseObject({
  controller: z.looseObject({}).optional(),
  parent: Parent,
});
export type CustomizeRequest = z.infer<typeof CustomizeRequest>;

export interface RelatedResourceRule {
  apiVersion: string;
  resource: string;
  labelSelector?: { matchLabels?: Record<string, string> };
  namespace?: string;
  names?: string[];
}
export interface CustomizeResponse {
  relatedResources: RelatedResourceRule[];
}

/** The key Metacontroller uses for a child group: `Secret.v1`, `StatefulSet.apps/v1`. */
export function groupKey(kind: string, apiVersion: string): string {
  return `${kind}.${apiVersion}`;
}

/** The observed objects of one kind, by name (empty when Metacontroller sent none). */
export function observedOf<T = Record<string, unknown>>(
  map: ObjectMap,
  kind: string,
  apiVersion: string,
): Record<string, T> {
  return (map[groupKey(kind, apiVersion)] ?? {}) as Record<string, T>;
}

const SERVER_METADATA = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
  "ownerReferences",
];

/**
 * An observed child turned back into a desired one: without status, server-written metadata,
 * Metacontroller's annotations (returning its last-applied one would nest it into itself on
 * every sync) and its controller-uid label (Metacontroller adds that itself). Every hook keeps an
 * observed child this way, a running Job as much as an instance StatefulSet it must not touch.
 */
export function asDesired(observed: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = observed;
  const meta = { ...((metadata ?? {}) as Record<string, unknown>) };
  for (const key of SERVER_METADATA) delete meta[key];
  const annotations = { ...((meta.annotations ?? {}) as Record<string, string>) };
  for (const key of Object.keys(annotations)) if (key.startsWith("metacontroller.k8s.io/")) delete annotations[key];
  if (Object.keys(annotations).length) meta.annotations = annotations;
  else delete meta.annotations;
  const labels = { ...((meta.labels ?? {}) as Record<string, string>) };
  delete labels["controller-uid"];
  if (Object.keys(labels).length) meta.labels = labels;
  else delete meta.labels;
  // In the observed order: keeps golden files and diffs of the response stable.
  return Object.fromEntries(
    Object.keys(observed).flatMap((k) => (k === "status" ? [] : [[k, k === "metadata" ? meta : rest[k]]])),
  );
}
