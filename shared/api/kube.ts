/**
 * @module
 * Kubernetes sub-schemas embedded in Tusk's API (resources, affinity, volume claims, ...).
 *
 * They are deliberately loose: Kubernetes itself validates these shapes when the children are
 * applied, and keeping every upstream field typed here would only let the two drift apart. Each
 * one keeps unknown fields (`x-kubernetes-preserve-unknown-fields`) so nothing a user wrote is
 * pruned, and types the few fields Tusk reads.
 */
import * as z from "zod";

/**
 * How deep a value passed through untouched may nest. Real configuration nests a handful of
 * levels; a value nested a thousand deep would make every later walk over it (merging Patroni's
 * configuration, canonical JSON) overflow the stack on each sync.
 */
export const MAX_OPAQUE_DEPTH = 32;

/** The nesting depth of a JSON value, walked without recursion (user data must not set the stack's depth). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_OPAQUE_DEPTH) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** An object Tusk passes through to a child untouched. */
export const Opaque = (description: string) =>
  z
    .looseObject({})
    .refine((v) => jsonDepth(v) <= MAX_OPAQUE_DEPTH, { message: `nested deeper than ${MAX_OPAQUE_DEPTH} levels` })
    .meta({ description, "x-kubernetes-preserve-unknown-fields": true });

/** `10Gi`, `500m`, `1` ...: a Kubernetes quantity, as a string or a number. */
export const Quantity = z
  .union([z.string(), z.number()])
  .meta({ "x-kubernetes-int-or-string": true, description: "A Kubernetes quantity such as 1Gi." });

export const IntOrString = z.union([z.number().int(), z.string()]).meta({ "x-kubernetes-int-or-string": true });

export const ResourceRequirements = z
  .looseObject({
    limits: z.record(z.string(), Quantity).optional(),
    requests: z.record(z.string(), Quantity).optional(),
  })
  .meta({
    description: "Compute resources (requests and limits), as in a container spec.",
    "x-kubernetes-preserve-unknown-fields": true,
  });
export type ResourceRequirements = z.infer<typeof ResourceRequirements>;

export const VolumeClaimSpec = z
  .looseObject({
    accessModes: z.array(z.string()).optional(),
    storageClassName: z.string().optional(),
    volumeMode: z.string().optional(),
    resources: z
      .looseObject({
        requests: z.record(z.string(), Quantity).optional(),
        limits: z.record(z.string(), Quantity).optional(),
      })
      .meta({ "x-kubernetes-preserve-unknown-fields": true })
      .optional(),
  })
  .meta({
    description: "A PersistentVolumeClaim spec: access modes, storage class and requested storage.",
    "x-kubernetes-preserve-unknown-fields": true,
  });
export type VolumeClaimSpec = z.infer<typeof VolumeClaimSpec>;

export const Toleration = Opaque("A Pod toleration.");
export const TopologySpreadConstraint = Opaque("A Pod topology spread constraint.");
export const Affinity = Opaque("Pod scheduling affinity (nodeAffinity, podAffinity, podAntiAffinity).");
export const LocalObjectReference = z.object({ name: z.string() });

export const Metadata = z
  .object({
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .meta({ description: "Labels and annotations added to the generated objects." });
export type Metadata = z.infer<typeof Metadata>;

export const ServiceSpec = z
  .object({
    type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP"),
    nodePort: z.number().int().optional(),
    metadata: Metadata.optional(),
    externalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
    internalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
    ipFamilies: z.array(z.enum(["IPv4", "IPv6"])).optional(),
    ipFamilyPolicy: z.enum(["SingleStack", "PreferDualStack", "RequireDualStack"]).optional(),
  })
  .meta({ description: "How a generated Service is exposed." });
export type ServiceSpec = z.infer<typeof ServiceSpec>;

/** A projected Secret, as PGO's customTLSSecret. */
export const SecretProjection = z
  .object({
    name: z.string(),
    items: z.array(z.object({ key: z.string(), path: z.string(), mode: z.number().int().optional() })).optional(),
    optional: z.boolean().optional(),
  })
  .meta({ description: "A Secret projected into the pods." });
export type SecretProjection = z.infer<typeof SecretProjection>;

/** One projected volume source: a Secret or a ConfigMap (PGO's `configuration[]`). */
export const VolumeProjection = Opaque("A projected volume source (secret or configMap).");

export const Condition = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string().optional(),
});
export type Condition = z.infer<typeof Condition>;

export const Conditions = z
  .array(Condition)
  .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });
