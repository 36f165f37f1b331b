/**
 * @module
 * The security contexts of every pod built around a cluster's data: instances, the repository
 * host, pgBouncer, the exporter and every Job (pgBackRest, restore, users, volume access). One
 * builder, so a cluster setting (OpenShift, supplementalGroups) reaches all of them: Pod
 * Security "restricted", running as the Postgres image's user unless OpenShift assigns the UID.
 */
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import type { PostgresClusterSpec } from "./api/postgres-cluster.ts";
import { POSTGRES_UID } from "./pod-layout.ts";

export const restrictedContainerSecurity: V1Container["securityContext"] = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

/**
 * Pod-level security for Pod Security "restricted". On OpenShift the namespace's range assigns
 * the IDs; elsewhere the postgres UID owns the data and repository files, and fsGroup makes the
 * projected key files (root-owned 0640) readable; OnRootMismatch keeps a large volume from being
 * walked on every start. supplementalGroups (e.g. for NFS-backed volumes) applies to every pod
 * that mounts a cluster's volumes, Jobs included.
 */
export function podSecurity(cluster: {
  spec: Pick<PostgresClusterSpec, "openshift" | "supplementalGroups">;
}): V1PodSpec["securityContext"] {
  const ids = cluster.spec.openshift
    ? {}
    : {
        runAsUser: POSTGRES_UID,
        runAsGroup: POSTGRES_UID,
        fsGroup: POSTGRES_UID,
        fsGroupChangePolicy: "OnRootMismatch",
      };
  return {
    runAsNonRoot: true,
    ...ids,
    seccompProfile: { type: "RuntimeDefault" },
    ...(cluster.spec.supplementalGroups?.length ? { supplementalGroups: cluster.spec.supplementalGroups } : {}),
  };
}
