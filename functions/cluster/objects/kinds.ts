/**
 * @module
 * The kinds the cluster hook emits or reads, picked from shared/kinds.ts, where the
 * PostgresCluster controller's children (and so its `childResources`) are listed.
 */
import { KINDS as ALL, CHILDREN, kindKey, pickKinds } from "../../../shared/kinds.ts";

export const KINDS = pickKinds(...CHILDREN.cluster.map(([kind]) => kind));

export type ChildKind = keyof typeof KINDS;

/** Objects the hook reads but does not own (asked for by the customize hook). */
export const RELATED = pickKinds("Pod", "PostgresRestore", "PersistentVolumeClaim");

/** Children only overlays declare (shared/kinds.ts OPTIONAL_CHILDREN). */
export const OPTIONAL_KINDS = pickKinds("PingSource", "PodMonitor");

/** The kinds a CompositeController for PostgresCluster must declare as `childResources`. */
export const CHILD_KINDS: readonly ChildKind[] = Object.keys(KINDS) as ChildKind[];

/** Sets apiVersion/kind; builders never write them by hand. */
export function withKind<T extends object>(
  kind: ChildKind | keyof typeof OPTIONAL_KINDS,
  body: T,
): T & { apiVersion: string; kind: string } {
  const { apiVersion, kind: k } = ALL[kind];
  return { apiVersion, kind: k, ...body };
}

/** The Metacontroller map key of a kind (`StatefulSet.apps/v1`, `Secret.v1`). */
export function childKey(kind: ChildKind | keyof typeof RELATED): string {
  return kindKey(kind);
}
