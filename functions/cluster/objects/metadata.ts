/**
 * @module
 * Metadata of every child: the name, the cluster's labels, and the user's `spec.metadata`
 * (and per-object metadata) underneath them, so a user label can never replace one Tusk
 * selects on. `controller-uid` is Metacontroller's (generateSelector) and is never emitted.
 */
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { Metadata } from "../../../shared/api/kube.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";

const FOREIGN_LABELS = ["controller-uid"];

function userLabels(...layers: (Metadata | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const layer of layers) Object.assign(out, layer?.labels ?? {});
  for (const key of FOREIGN_LABELS) delete out[key];
  return out;
}

function userAnnotations(...layers: (Metadata | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const layer of layers) Object.assign(out, layer?.annotations ?? {});
  // Metacontroller's own bookkeeping must not be overwritten from the spec.
  for (const key of Object.keys(out)) if (key.startsWith("metacontroller.k8s.io/")) delete out[key];
  return out;
}

export interface MetaOptions {
  /** Extra user metadata (an instance set's, a Service's), over the cluster-wide one. */
  user?: (Metadata | undefined)[];
  annotations?: Record<string, string>;
}

export function mergedLabels(
  model: ClusterModel,
  labels: Record<string, string>,
  user: (Metadata | undefined)[] = [],
): Record<string, string> {
  return { ...userLabels(model.spec.metadata, ...user), ...labels };
}

export function mergedAnnotations(
  model: ClusterModel,
  annotations: Record<string, string> = {},
  user: (Metadata | undefined)[] = [],
): Record<string, string> | undefined {
  const out = { ...userAnnotations(model.spec.metadata, ...user), ...annotations };
  return Object.keys(out).length ? out : undefined;
}

export function childMeta(
  model: ClusterModel,
  name: string,
  labels: Record<string, string>,
  options: MetaOptions = {},
): V1ObjectMeta {
  const annotations = mergedAnnotations(model, options.annotations, options.user);
  return {
    name,
    namespace: model.namespace,
    labels: mergedLabels(model, labels, options.user),
    ...(annotations ? { annotations } : {}),
  };
}
