/**
 * @module
 * Binds the instance Role to the instance ServiceAccount.
 */
import type { V1RoleBinding } from "@kubernetes/client-node";
import { clusterLabels } from "../../shared/labels.ts";
import { names } from "../../shared/names.ts";
import { withKind } from "./kinds.ts";
import { childMeta } from "./metadata.ts";
import type { ClusterModel } from "./model.ts";

export function buildInstanceRoleBinding(model: ClusterModel): V1RoleBinding {
  const name = names.instanceRbac(model.name);
  return withKind("RoleBinding", {
    metadata: childMeta(model, name, clusterLabels(model.name, "database")),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace: model.namespace }],
  });
}
