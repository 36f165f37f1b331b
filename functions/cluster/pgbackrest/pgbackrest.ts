/**
 * @module
 * pgBackRest in the cluster's own children: the configuration ConfigMap (one file per role,
 * rendered by shared/pgbackrest) and the TLS server sidecar beside Postgres in every instance
 * pod; the repository host for volume repositories is in repo-host.ts. Backups, stanza creation
 * and restores then reach the primary over mutual TLS and never need `kubectl exec`
 * (shared/pgbackrest/README.md).
 */
import type { V1ConfigMap, V1Container, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { serverArgs, serverPingArgs } from "../../../shared/pgbackrest/commands.ts";
import { pgbackrestConfigData } from "../../../shared/pgbackrest/config.ts";
import { type PgBackRestCluster, repoKind } from "../../../shared/pgbackrest/layout.ts";
import { pgbackrestConfigMount, pgbackrestConfigVolume } from "../../../shared/pgbackrest/volumes.ts";
import { IMAGES, PORTS } from "../../../shared/pod-layout.ts";
import { restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";

const PGBACKREST_CONTAINER = "pgbackrest";

export function hasBackups(model: ClusterModel): boolean {
  return (model.spec.backups?.pgbackrest?.repos?.length ?? 0) > 0;
}

export function pgbackrestCluster(model: ClusterModel): PgBackRestCluster {
  return { name: model.name, namespace: model.namespace, spec: model.spec };
}

export function hasVolumeRepo(model: ClusterModel): boolean {
  return (model.spec.backups?.pgbackrest?.repos ?? []).some((r) => repoKind(r) === "volume");
}

export function buildPgBackRestConfigMap(model: ClusterModel): V1ConfigMap {
  return withKind("ConfigMap", {
    metadata: childMeta(model, names.pgbackrestConfig(model.name), clusterLabels(model.name, "pgbackrest")),
    data: pgbackrestConfigData(pgbackrestCluster(model)),
  });
}

function image(model: ClusterModel): string {
  return model.spec.backups?.pgbackrest?.image ?? IMAGES.pgbackrest;
}

/**
 * The pgBackRest TLS server: archive-push/get in the database container read the same conf.d,
 * and Jobs and the repo host talk to this server for everything that needs PGDATA.
 */
export function serverContainer(model: ClusterModel, extraMounts: V1VolumeMount[]): V1Container {
  return {
    name: PGBACKREST_CONTAINER,
    image: image(model),
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    command: serverArgs(),
    ports: [{ name: "pgbackrest", containerPort: PORTS.pgbackrestTls, protocol: "TCP" }],
    readinessProbe: { exec: { command: serverPingArgs() }, periodSeconds: 10, timeoutSeconds: 5 },
    livenessProbe: { exec: { command: serverPingArgs() }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
    securityContext: restrictedContainerSecurity,
    volumeMounts: [pgbackrestConfigMount, ...extraMounts],
  };
}

/** What the instance pod gains with backups: the conf.d volume and the TLS server sidecar. */
export function instancePgBackRest(
  model: ClusterModel,
  podMounts: {
    pgdata: V1VolumeMount;
    tmp: V1VolumeMount;
    sockets: V1VolumeMount;
    certs: V1VolumeMount;
    pgwal?: V1VolumeMount;
  },
): { volume: V1Volume; databaseMount: V1VolumeMount; sidecar: V1Container } | undefined {
  if (!hasBackups(model)) return undefined;
  const mounts = [
    podMounts.pgdata,
    ...(podMounts.pgwal ? [podMounts.pgwal] : []),
    podMounts.tmp,
    podMounts.sockets,
    podMounts.certs,
  ];
  return {
    volume: pgbackrestConfigVolume(pgbackrestCluster(model), "instance"),
    databaseMount: pgbackrestConfigMount,
    sidecar: serverContainer(model, mounts),
  };
}
