/**
 * @module
 * StatefulSet specs as the API server keeps them, for the instance StatefulSets and the
 * repository host: claim templates in their stored form, immutable fields left as observed.
 */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";

/**
 * A claim template as the API server stores it (kind, default volumeMode, a Pending status).
 * Metacontroller replaces a list whose items have no merge key wholesale, so a template sent in
 * any other form differs from the stored one: the sync after a create then updates the
 * StatefulSet once to record what it sent (seen against kube-apiserver racing the StatefulSet
 * controller, 409).
 */
export function storedClaimTemplate(template: V1PersistentVolumeClaim): V1PersistentVolumeClaim {
  const spec = { ...template.spec } as NonNullable<V1PersistentVolumeClaim["spec"]>;
  spec.volumeMode ??= "Filesystem";
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", ...template, spec, status: { phase: "Pending" } };
}

/** Kubernetes refuses changes to these: a changed spec must not make every sync fail. */
export function keepImmutable(
  spec: Record<string, unknown>,
  observed: Record<string, unknown> | undefined,
  keys: readonly string[],
): void {
  const observedSpec = (observed?.spec ?? {}) as Record<string, unknown>;
  for (const key of keys) if (observedSpec[key] !== undefined) spec[key] = observedSpec[key];
}
