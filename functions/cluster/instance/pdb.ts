/**
 * @module
 * A PodDisruptionBudget per instance set: `minAvailable` from the spec, else 1 when the set
 * has more than one instance (a single instance gets none: a budget it can never meet would
 * block node drains forever).
 */
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { ClusterModel, InstanceSetModel } from "../../../shared/cluster/model.ts";
import { instanceSetLabels, LABEL, labelValue } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";

export function buildInstanceSetPdb(model: ClusterModel, set: InstanceSetModel): V1PodDisruptionBudget | undefined {
  const minAvailable = set.spec.minAvailable ?? (set.spec.replicas > 1 ? 1 : undefined);
  if (minAvailable === undefined) return undefined;
  return withKind("PodDisruptionBudget", {
    metadata: childMeta(model, names.pdb(model.name, set.name), instanceSetLabels(model.name, set.name)),
    spec: {
      minAvailable,
      selector: {
        matchLabels: { [LABEL.cluster]: labelValue(model.name), [LABEL.instanceSet]: labelValue(set.name) },
      },
    },
  });
}
