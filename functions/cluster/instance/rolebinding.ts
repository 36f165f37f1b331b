/**
 * @module
 * Binds the instances' ClusterRole (instance/role.ts) to the instance ServiceAccount, in the cluster's
 * namespace only.
 */
import type { V1RoleBinding } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { INSTANCE_CLUSTER_ROLE } from "./role.ts";

export function buildInstanceRoleBinding(model: ClusterModel): V1RoleBinding {
  const name = names.instanceRbac(model.name);
  return withKind("RoleBinding", {
    metadata: childMeta(model, name, clusterLabels(model.name, "database")),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: INSTANCE_CLUSTER_ROLE },
    subjects: [{ kind: "ServiceAccount", name, namespace: model.namespace }],
  });
}

type Child = { kind?: string; metadata?: { name?: string }; roleRef?: { kind?: string; name?: string } };

/**
 * Holds back a new RoleBinding until the Role it names is observed. The API server authorizes
 * a binding by resolving its Role (its escalation check): a binding created in the same sync
 * as its Role can find it missing and is refused with 404 NotFound, which Metacontroller
 * reports as a failed sync and a Warning Event. One sync later the Role exists. (The
 * instances' binding names a ClusterRole installed with the operator, so it never waits.)
 */
export function bindingsAfterTheirRoles<T extends object>(desired: T[], observed: ObservedCluster): T[] {
  return desired.filter((c) => {
    const child = c as Child;
    if (child.kind !== "RoleBinding" || child.roleRef?.kind !== "Role") return true;
    return observed.has("RoleBinding", child.metadata?.name ?? "") || observed.has("Role", child.roleRef.name ?? "");
  });
}
