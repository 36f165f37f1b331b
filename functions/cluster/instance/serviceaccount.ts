/**
 * @module
 * The identity Patroni runs as in instance pods (Role and RoleBinding in instance/role.ts and
 * instance/rolebinding.ts).
 */
import type { V1ServiceAccount } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";

export function buildInstanceServiceAccount(model: ClusterModel): V1ServiceAccount {
  return withKind("ServiceAccount", {
    metadata: childMeta(model, names.instanceRbac(model.name), clusterLabels(model.name, "database")),
    automountServiceAccountToken: true,
  });
}
