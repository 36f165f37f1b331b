/**
 * @module
 * The least Patroni's Kubernetes DCS needs (patroni/dcs/kubernetes.py): read and label its
 * own pods, keep the leader lock and configuration in Endpoints (or ConfigMaps when
 * use_endpoints is off), create the `<scope>-config` Service, and delete its objects for
 * `patronictl remove`.
 */
import type { V1Role } from "@kubernetes/client-node";
import { clusterLabels } from "../../shared/labels.ts";
import { names } from "../../shared/names.ts";
import { withKind } from "./kinds.ts";
import { childMeta } from "./metadata.ts";
import type { ClusterModel } from "./model.ts";

const DCS_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export function buildInstanceRole(model: ClusterModel): V1Role {
  return withKind("Role", {
    metadata: childMeta(model, names.instanceRbac(model.name), clusterLabels(model.name, "database")),
    rules: [
      { apiGroups: [""], resources: ["configmaps"], verbs: DCS_VERBS },
      { apiGroups: [""], resources: ["endpoints"], verbs: DCS_VERBS },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "patch", "update", "watch"] },
      { apiGroups: [""], resources: ["services"], verbs: ["create", "get", "list"] },
    ],
  });
}
