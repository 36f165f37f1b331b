/**
 * @module
 * The Service `<cluster>-pgbouncer` in front of the pgBouncer pods, exposed as
 * `spec.proxy.pgBouncer.service` says. It selects pods by labels that never change, so a
 * configuration change rolls the Deployment behind it without touching it.
 */
import type { V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { pgbouncerSpec } from "./configmap.ts";
import { PGBOUNCER_PORT_NAME, pgbouncerSelector } from "./deployment.ts";

export function buildPgBouncerService(model: ClusterModel): V1Service {
  const bouncer = pgbouncerSpec(model)!;
  const service = bouncer.service;
  const type = service?.type ?? "ClusterIP";
  const port: V1ServicePort = {
    name: PGBOUNCER_PORT_NAME,
    port: bouncer.port,
    protocol: "TCP",
    targetPort: PGBOUNCER_PORT_NAME as unknown as V1ServicePort["targetPort"],
    ...(type !== "ClusterIP" && service?.nodePort !== undefined ? { nodePort: service.nodePort } : {}),
  };
  return withKind("Service", {
    metadata: childMeta(model, names.pgbouncer(model.name), clusterLabels(model.name, "pgbouncer"), {
      user: [bouncer.metadata, service?.metadata],
    }),
    spec: {
      type,
      ...(type !== "ClusterIP" && service?.externalTrafficPolicy
        ? { externalTrafficPolicy: service.externalTrafficPolicy }
        : {}),
      ...(service?.internalTrafficPolicy ? { internalTrafficPolicy: service.internalTrafficPolicy } : {}),
      ...(service?.ipFamilies?.length ? { ipFamilies: service.ipFamilies } : {}),
      ...(service?.ipFamilyPolicy ? { ipFamilyPolicy: service.ipFamilyPolicy } : {}),
      selector: pgbouncerSelector(model),
      ports: [port],
    },
  });
}
