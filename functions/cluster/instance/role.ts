/**
 * @module
 * The least Patroni's Kubernetes DCS needs (patroni/dcs/kubernetes.py): read and label its
 * own pods, keep the leader lock and configuration in Endpoints (or ConfigMaps when
 * use_endpoints is off), create the `<scope>-config` Service, and delete its objects for
 * `patronictl remove`.
 *
 * Every cluster needs the same rules, so they live in one ClusterRole installed with the
 * operator (manifests/rbac/instance.yaml, kept equal to INSTANCE_RULES by a test) and each
 * cluster gets only a RoleBinding, which grants them in its own namespace. A per-cluster Role
 * created in the same sync as its RoleBinding raced the API server's escalation check (it
 * resolves the Role to authorize the binding and answered 404 while the Role was new).
 */
import type { V1PolicyRule } from "@kubernetes/client-node";

/** The ClusterRole manifests/rbac/instance.yaml installs. */
export const INSTANCE_CLUSTER_ROLE = "tusk-instance";

const DCS_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export const INSTANCE_RULES: V1PolicyRule[] = [
  { apiGroups: [""], resources: ["configmaps"], verbs: DCS_VERBS },
  { apiGroups: [""], resources: ["endpoints"], verbs: DCS_VERBS },
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "patch", "update", "watch"] },
  { apiGroups: [""], resources: ["services"], verbs: ["create", "get", "list"] },
];
