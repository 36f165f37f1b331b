/**
 * @module
 * The volumes that carry pgBackRest's configuration into a pod, shared by the instance pods,
 * the repository host and every backup Job so they cannot disagree.
 *
 * One projected volume at conf.d holds the rendered file for the pod's role
 * (`~tusk.conf`), the TLS client certificate (`~tusk-client/`), and the user's
 * `configuration` projections exactly as written (PGO-compatible: their files land in conf.d).
 * A single volume avoids mounts nested inside a read-only volume. Files are 0600; with the
 * pod's `fsGroup` the kubelet makes them root-owned 0640, which pgBackRest accepts for keys.
 */
import type { V1Volume, V1VolumeMount, V1VolumeProjection } from "@kubernetes/client-node";
import { names } from "../names.ts";
import { PATHS } from "../pod-layout.ts";
import {
  CLIENT_TLS_KEYS,
  CLIENT_TLS_SUBDIR,
  CONFIG_KEYS,
  OPERATOR_CONFIG_FILE,
  type PgBackRestCluster,
  type PgBackRestRole,
  repoVolumePath,
} from "./layout.ts";

export const CONFIG_VOLUME = "pgbackrest-config";

export function pgbackrestConfigVolume(
  cluster: Pick<PgBackRestCluster, "name" | "spec">,
  role: PgBackRestRole,
): V1Volume {
  const user = (cluster.spec.backups?.pgbackrest?.configuration ?? []) as V1VolumeProjection[];
  return {
    name: CONFIG_VOLUME,
    projected: {
      defaultMode: 0o600,
      sources: [
        {
          configMap: {
            name: names.pgbackrestConfig(cluster.name),
            items: [{ key: CONFIG_KEYS[role], path: OPERATOR_CONFIG_FILE }],
          },
        },
        {
          secret: {
            name: names.pgbackrestClientSecret(cluster.name),
            items: Object.values(CLIENT_TLS_KEYS).map((key) => ({ key, path: `${CLIENT_TLS_SUBDIR}/${key}` })),
          },
        },
        ...user,
      ],
    },
  };
}

export const pgbackrestConfigMount: V1VolumeMount = {
  name: CONFIG_VOLUME,
  mountPath: PATHS.pgbackrestConfD,
  readOnly: true,
};

const repoVolumeName = (repoName: string) => `pgbackrest-${repoName}`;

/** A volume repository's claim, for a Job that runs next to the repo host (docs/dataplane-notes.md B11). */
export function repoVolume(cluster: string, repoName: string): V1Volume {
  return {
    name: repoVolumeName(repoName),
    persistentVolumeClaim: { claimName: names.repoVolumeClaim(cluster, repoName) },
  };
}

export function repoVolumeMount(repoName: string): V1VolumeMount {
  return { name: repoVolumeName(repoName), mountPath: repoVolumePath(repoName) };
}

/** A volume repo as the repo host mounts it: the volume of its claim template. */
export function repoHostVolumeMount(repoName: string): V1VolumeMount {
  return { name: names.repoClaimTemplate(repoName), mountPath: repoVolumePath(repoName) };
}
