/**
 * @module
 * A PodDisruptionBudget for pgBouncer when it runs more than one pod (or `minAvailable` is
 * set): a node drain then never takes every pgBouncer at once. A single pod gets none, since a
 * budget it can never meet would block drains forever.
 */
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { pgbouncerSpec } from "./configmap.ts";
import { pgbouncerSelector } from "./deployment.ts";

export function buildPgBouncerPdb(model: ClusterModel): V1PodDisruptionBudget | undefined {
  const bouncer = pgbouncerSpec(model);
  if (!bouncer || bouncer.replicas < 1) return undefined;
  const minAvailable = bouncer.minAvailable ?? (bouncer.replicas > 1 ? 1 : undefined);
  if (minAvailable === undefined) return undefined;
  return withKind("PodDisruptionBudget", {
    metadata: childMeta(model, names.pgbouncer(model.name), clusterLabels(model.name, "pgbouncer"), {
      user: [bouncer.metadata],
    }),
    spec: { minAvailable, selector: { matchLabels: pgbouncerSelector(model) } },
  });
}
