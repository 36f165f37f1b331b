/**
 * @module
 * The PostgresBackup customize hook: the parent cluster by name (its pgBackRest settings make
 * the Job), and the Pods of this backup's Jobs by label, whose termination messages carry the
 * result. Metacontroller caches the answer per generation; neither rule depends on anything
 * but the (immutable) spec and name.
 */
import { PostgresBackupSpec } from "../../shared/api/postgres-backup.ts";
import { LABEL, labelValue } from "../../shared/labels.ts";
import type { CustomizeRequest, CustomizeResponse, RelatedResourceRule } from "../../shared/metacontroller.ts";
import { KINDS } from "./kinds.ts";

export function customizeBackup(req: CustomizeRequest): CustomizeResponse {
  const rules: RelatedResourceRule[] = [];
  const spec = PostgresBackupSpec.safeParse(req.parent.spec ?? {});
  if (spec.success) {
    rules.push({
      apiVersion: KINDS.PostgresCluster.apiVersion,
      resource: KINDS.PostgresCluster.resource,
      names: [spec.data.cluster],
    });
  }
  rules.push({
    apiVersion: KINDS.Pod.apiVersion,
    resource: KINDS.Pod.resource,
    labelSelector: { matchLabels: { [LABEL.backup]: labelValue(req.parent.metadata.name) } },
  });
  return { relatedResources: rules };
}
