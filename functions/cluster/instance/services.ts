/**
 * @module
 * The cluster's Services. `<cluster>-primary` and `<cluster>-replicas` select on the role label
 * Patroni writes on pods, so they follow a failover without the hook being called.
 * `<cluster>-ha` has no selector: its Endpoints are Patroni's leader lock. `<cluster>-ha-config`
 * keeps Patroni's configuration Endpoints from being cleaned up. `<cluster>-pods` is the
 * StatefulSets' headless Service (per-pod DNS for replication, Jobs and pgBackRest).
 */
import type { V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { ServiceSpec } from "../../../shared/api/kube.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels, LABEL, labelValue, PATRONI_REPLICA_VALUE } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { LEADER_ROLE } from "../patroni/config.ts";

function postgresPort(model: ClusterModel, nodePort?: number): V1ServicePort {
  return {
    name: "postgres",
    port: model.port,
    protocol: "TCP",
    targetPort: "postgres" as unknown as V1ServicePort["targetPort"],
    ...(nodePort !== undefined ? { nodePort } : {}),
  };
}

/** Type, node port and traffic policies from `spec.service` / `spec.replicaService`. */
function exposure(spec: ServiceSpec | undefined): Record<string, unknown> {
  const type = spec?.type ?? "ClusterIP";
  return {
    type,
    ...(type !== "ClusterIP" && spec?.externalTrafficPolicy
      ? { externalTrafficPolicy: spec.externalTrafficPolicy }
      : {}),
    ...(spec?.internalTrafficPolicy ? { internalTrafficPolicy: spec.internalTrafficPolicy } : {}),
    ...(spec?.ipFamilies?.length ? { ipFamilies: spec.ipFamilies } : {}),
    ...(spec?.ipFamilyPolicy ? { ipFamilyPolicy: spec.ipFamilyPolicy } : {}),
  };
}

function roleService(
  model: ClusterModel,
  name: string,
  role: string,
  component: string,
  spec?: ServiceSpec,
): V1Service {
  const nodePort = spec?.type && spec.type !== "ClusterIP" ? spec.nodePort : undefined;
  return withKind("Service", {
    metadata: childMeta(model, name, clusterLabels(model.name, component), { user: [spec?.metadata] }),
    spec: {
      ...exposure(spec),
      selector: { [LABEL.cluster]: labelValue(model.name), [LABEL.patroniRole]: role },
      ports: [postgresPort(model, nodePort)],
    },
  });
}

function buildPrimaryService(model: ClusterModel): V1Service {
  return roleService(model, names.primaryService(model.name), LEADER_ROLE, "primary", model.spec.service);
}

function buildReplicaService(model: ClusterModel): V1Service {
  return roleService(
    model,
    names.replicaService(model.name),
    PATRONI_REPLICA_VALUE,
    "replicas",
    model.spec.replicaService,
  );
}

function buildPodsService(model: ClusterModel): V1Service {
  return withKind("Service", {
    metadata: childMeta(model, names.podsService(model.name), clusterLabels(model.name, "pods")),
    spec: {
      type: "ClusterIP",
      clusterIP: "None",
      publishNotReadyAddresses: true,
      // Instances and the pgBackRest repo host: both are reached by pod DNS name.
      selector: { [LABEL.cluster]: labelValue(model.name) },
      ports: [
        postgresPort(model),
        {
          name: "patroni",
          port: model.patroniPort,
          protocol: "TCP",
          targetPort: "patroni" as unknown as V1ServicePort["targetPort"],
        },
      ],
    },
  });
}

/** Patroni's leader Endpoints live behind this Service, so it must never get a selector. */
function buildPatroniLeaderService(model: ClusterModel): V1Service {
  return withKind("Service", {
    metadata: childMeta(model, names.patroniScope(model.name), clusterLabels(model.name, "patroni")),
    spec: {
      type: "ClusterIP",
      ports: [
        {
          name: "postgres",
          port: model.port,
          protocol: "TCP",
          targetPort: model.port as unknown as V1ServicePort["targetPort"],
        },
      ],
    },
  });
}

/** Patroni creates this itself too; owning it means it is cleaned up with the cluster. */
function buildPatroniConfigService(model: ClusterModel): V1Service {
  return withKind("Service", {
    metadata: childMeta(model, names.patroniConfigService(model.name), clusterLabels(model.name, "patroni")),
    spec: { type: "ClusterIP", clusterIP: "None" },
  });
}

export function buildServices(model: ClusterModel): V1Service[] {
  return [
    buildPatroniLeaderService(model),
    buildPatroniConfigService(model),
    buildPodsService(model),
    buildPrimaryService(model),
    buildReplicaService(model),
  ];
}
