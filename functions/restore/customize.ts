/**
 * @module
 * The PostgresRestore customize hook: the cluster by name (its spec makes the Jobs, its status
 * says when it has stopped), the cluster's Pods and PVCs (which instances run, which volumes
 * exist), the PostgresRestores of the namespace (one restore per cluster at a time), and
 * the Pods of this restore's Jobs (their termination messages carry the result). Metacontroller
 * caches the answer per generation; no rule depends on anything but the immutable spec and name.
 */
import { PostgresRestoreSpec } from "../../shared/api/postgres-restore.ts";
import { LABEL, labelValue } from "../../shared/labels.ts";
import type { CustomizeRequest, CustomizeResponse, RelatedResourceRule } from "../../shared/metacontroller.ts";
import { KINDS } from "./kinds.ts";

export function customizeRestore(req: CustomizeRequest): CustomizeResponse {
  const rules: RelatedResourceRule[] = [];
  const spec = PostgresRestoreSpec.safeParse(req.parent.spec ?? {});
  if (spec.success) {
    const cluster = { [LABEL.cluster]: labelValue(spec.data.cluster) };
    rules.push(
      {
        apiVersion: KINDS.PostgresCluster.apiVersion,
        resource: KINDS.PostgresCluster.resource,
        names: [spec.data.cluster],
      },
      { apiVersion: KINDS.Pod.apiVersion, resource: KINDS.Pod.resource, labelSelector: { matchLabels: cluster } },
      {
        apiVersion: KINDS.PersistentVolumeClaim.apiVersion,
        resource: KINDS.PersistentVolumeClaim.resource,
        labelSelector: { matchLabels: cluster },
      },
      { apiVersion: KINDS.PostgresRestore.apiVersion, resource: KINDS.PostgresRestore.resource, labelSelector: {} },
    );
  }
  rules.push({
    apiVersion: KINDS.Pod.apiVersion,
    resource: KINDS.Pod.resource,
    labelSelector: { matchLabels: { [LABEL.restore]: labelValue(req.parent.metadata.name) } },
  });
  return { relatedResources: rules };
}
