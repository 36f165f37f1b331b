/**
 * @module
 * The customize hook: the related objects the sync hook reads. The cluster's Pods (Patroni's
 * role label says which is the leader; readiness and config hash drive the rolling update),
 * the PostgresRestores in its namespace (for restores), and its PVCs (volume expansion and the
 * cleanup after a scale-down, volumes/work.ts), and the Secrets and ConfigMaps of
 * `backups.pgbackrest.configuration` when it has an S3 repository (its key and CA,
 * pgbackrest/repo-status.ts). Metacontroller caches this answer per parent generation, so it may
 * depend only on the parent's name and spec.
 */
import { PostgresClusterSpec } from "../../shared/api/postgres-cluster.ts";
import { LABEL, labelValue } from "../../shared/labels.ts";
import type { CustomizeRequest, CustomizeResponse } from "../../shared/metacontroller.ts";
import { RELATED } from "./objects/kinds.ts";
import { configurationRules } from "./pgbackrest/repo-status.ts";
import { SOURCE_CLUSTER } from "./restore/data-source.ts";

export function customizeCluster(request: CustomizeRequest): CustomizeResponse {
  return {
    relatedResources: [
      {
        apiVersion: RELATED.Pod.apiVersion,
        resource: RELATED.Pod.resource,
        labelSelector: { matchLabels: { [LABEL.cluster]: labelValue(request.parent.metadata.name) } },
      },
      {
        apiVersion: RELATED.PostgresRestore.apiVersion,
        resource: RELATED.PostgresRestore.resource,
        labelSelector: {},
      },
      // Its instance PVCs carry the cluster label of the StatefulSets' claim templates.
      {
        apiVersion: RELATED.PersistentVolumeClaim.apiVersion,
        resource: RELATED.PersistentVolumeClaim.resource,
        labelSelector: { matchLabels: { [LABEL.cluster]: labelValue(request.parent.metadata.name) } },
      },
      ...dataSourceRules(request),
      ...configurationRules(request),
    ],
  };
}

/** A clone reads the source cluster's spec (its repository and pgBackRest configuration), restore/data-source.ts. */
function dataSourceRules(request: CustomizeRequest): CustomizeResponse["relatedResources"] {
  const source = PostgresClusterSpec.safeParse(request.parent.spec ?? {});
  const name = source.success ? source.data.dataSource?.postgresCluster?.clusterName : undefined;
  return name ? [{ apiVersion: SOURCE_CLUSTER.apiVersion, resource: SOURCE_CLUSTER.resource, names: [name] }] : [];
}
