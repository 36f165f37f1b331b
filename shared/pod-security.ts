/**
 * @module
 * The security contexts of the pods the cluster hook and the restore hook build around a cluster's
 * data (instances, repository host, pgBouncer, Jobs): Pod Security "restricted", running as the
 * Postgres image's user unless OpenShift assigns the UID itself.
 */
import type { V1PodSpec } from "@kubernetes/client-node";
import type { ClusterModel } from "./cluster/model.ts";
import { POSTGRES_UID } from "./pod-layout.ts";

export const restrictedContainerSecurity = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

/** Pod-level security for Pod Security "restricted"; OpenShift assigns the UID itself. */
export function podSecurity(model: ClusterModel): V1PodSpec["securityContext"] {
  const ids = model.spec.openshift
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
    ...(model.spec.supplementalGroups?.length ? { supplementalGroups: model.spec.supplementalGroups } : {}),
  };
}
