/**
 * @module
 * The PodMonitor (monitoring.coreos.com/v1) `<cluster>-metrics`, for clusters whose
 * controller lists PodMonitors as a child resource: manifests/components/prometheus-operator
 * adds them where the Prometheus Operator's CRDs exist. That listing is the setting: a hook that
 * returned a kind its controller does not list would have Metacontroller fail the sync, and
 * the controller arrives in every sync request, so the core stays pure.
 *
 * One endpoint per exporter port; each target gets a `cluster` label (the Prometheus Operator
 * already adds `namespace`, `pod` and `container`), which the alert rules and the dashboard in
 * manifests/monitoring/ group by.
 */

import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels, LABEL, labelValue } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { OPTIONAL_KINDS } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { EXPORTER_PORT_NAME, exporterEnabled, METRICS_PATH, PGBOUNCER_EXPORTER_PORT_NAME, webTls } from "./exporter.ts";

const { apiVersion, kind } = OPTIONAL_KINDS.PodMonitor;

/** Prometheus's name for a pod label in relabelings. */
const podLabel = (key: string) => `__meta_kubernetes_pod_label_${key.replace(/[^A-Za-z0-9_]/g, "_")}`;

export interface PodMonitor {
  apiVersion: string;
  kind: string;
  metadata: ReturnType<typeof childMeta>;
  spec: Record<string, unknown>;
}

export function buildPodMonitor(model: ClusterModel): PodMonitor | undefined {
  if (!exporterEnabled(model)) return undefined;
  const relabelings = [{ action: "replace", sourceLabels: [podLabel(LABEL.cluster)], targetLabel: "cluster" }];
  const endpoints: Record<string, unknown>[] = [
    {
      port: EXPORTER_PORT_NAME,
      path: METRICS_PATH,
      // Pods are scraped by IP, which a certificate for the exporter does not name: encrypted, unverified.
      ...(webTls(model) ? { scheme: "https", tlsConfig: { insecureSkipVerify: true } } : {}),
      relabelings,
    },
  ];
  if (model.spec.proxy?.pgBouncer)
    endpoints.push({ port: PGBOUNCER_EXPORTER_PORT_NAME, path: METRICS_PATH, relabelings });
  return {
    apiVersion,
    kind,
    metadata: childMeta(model, names.podMonitor(model.name), clusterLabels(model.name, "monitoring")),
    spec: {
      selector: { matchLabels: { [LABEL.cluster]: labelValue(model.name) } },
      podMetricsEndpoints: endpoints,
    },
  };
}
