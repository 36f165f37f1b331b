/**
 * @module
 * Everything `spec.monitoring.pgmonitor.exporter` adds outside the pods, for sync.ts: the
 * exporter's queries ConfigMap, the monitoring role's Secret, the PodMonitor when the
 * controller lists PodMonitors, and the SQL the users Job appends. The sidecars themselves are
 * part of the pod templates (instance/statefulset.ts, pgbouncer/deployment.ts).
 */

import type { ClusterModel } from "../../../shared/cluster/model.ts";
import type { ClusterDeps } from "../deps.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { exporterEnabled } from "./exporter.ts";
import { buildPodMonitor } from "./podmonitor.ts";
import { buildExporterConfigMap } from "./queries.ts";
import { monitoringSecret, monitoringSql } from "./role.ts";

export async function monitoringChildren(
  model: ClusterModel,
  observed: ObservedCluster,
  deps: ClusterDeps,
): Promise<{ children: object[]; sql: string[] }> {
  if (!exporterEnabled(model)) return { children: [], sql: [] };
  const { secret, credentials } = await monitoringSecret(model, observed, deps);
  const podMonitor = observed.podMonitorsListed ? buildPodMonitor(model) : undefined;
  return {
    children: [buildExporterConfigMap(model), secret, ...(podMonitor ? [podMonitor] : [])],
    sql: monitoringSql(model, credentials),
  };
}
