/**
 * @module
 * The pod every pgBackRest Job runs (backup, expire, stanza-create, manual and scheduled
 * backups): the pgBackRest image with the cluster's Job configuration projected into conf.d,
 * a writable /tmp for locks, the volume repositories it touches mounted next to the repo
 * host, and Pod Security "restricted". `spec.backups.pgbackrest.jobs` adds resources,
 * scheduling and a TTL, as in PGO.
 */
import type {
  V1Affinity,
  V1Container,
  V1JobSpec,
  V1PodAffinityTerm,
  V1PodSpec,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { Repo } from "../api/postgres-cluster.ts";
import { clusterLabels, LABEL, labelValue, repoHostLabels } from "../labels.ts";
import { IMAGES, PATHS } from "../pod-layout.ts";
import { podSecurity, restrictedContainerSecurity } from "../pod-security.ts";
import { type PgBackRestCluster, repoKind } from "./layout.ts";
import { pgbackrestConfigMount, pgbackrestConfigVolume, repoVolume, repoVolumeMount } from "./volumes.ts";

export const CONTAINER = "pgbackrest";

/** Labels of a pgBackRest Job and its Pods; `backup` selects the Pods in the customize hook. */
export function backupLabels(
  cluster: string,
  options: { repoName?: string; backup?: string; type?: string; role?: string } = {},
): Record<string, string> {
  return {
    ...clusterLabels(cluster, "backup"),
    [LABEL.pgbackrest]: options.role ?? "backup",
    ...(options.repoName ? { [LABEL.pgbackrestRepo]: options.repoName } : {}),
    ...(options.type ? { [LABEL.backupType]: options.type } : {}),
    ...(options.backup ? { [LABEL.backup]: labelValue(options.backup) } : {}),
  };
}

export interface PgBackRestJobPod {
  cluster: PgBackRestCluster;
  command: string[];
  /** The repositories the command uses; volume ones are mounted and pin the pod to the repo host. */
  repos: Repo[];
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** Whole-pod retries; the commands retry transient pgBackRest errors themselves. */
  backoffLimit?: number;
}

/** Volume repositories are local only next to the repo host (docs/dataplane-notes.md B11): same node, same claim. */
function repoHostAffinity(cluster: string, user: V1Affinity | undefined): V1Affinity {
  const term: V1PodAffinityTerm = {
    labelSelector: {
      matchLabels: {
        [LABEL.cluster]: repoHostLabels(cluster)[LABEL.cluster]!,
        [LABEL.pgbackrest]: repoHostLabels(cluster)[LABEL.pgbackrest]!,
      },
    },
    topologyKey: "kubernetes.io/hostname",
  };
  const required = user?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  return {
    ...user,
    podAffinity: {
      ...user?.podAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: [term, ...required],
    },
  };
}

export function pgbackrestJobSpec(pod: PgBackRestJobPod): V1JobSpec {
  const { cluster } = pod;
  const pgbackrest = cluster.spec.backups?.pgbackrest;
  const jobs = pgbackrest?.jobs;
  const volumeRepos = pod.repos.filter((r) => repoKind(r) === "volume");
  const volumes: V1Volume[] = [
    pgbackrestConfigVolume(cluster, "job"),
    { name: "tmp", emptyDir: {} },
    ...volumeRepos.map((r) => repoVolume(cluster.name, r.name)),
  ];
  const mounts: V1VolumeMount[] = [
    pgbackrestConfigMount,
    { name: "tmp", mountPath: PATHS.tmp },
    ...volumeRepos.map((r) => repoVolumeMount(r.name)),
  ];
  const container: V1Container = {
    name: CONTAINER,
    image: pgbackrest?.image ?? IMAGES.pgbackrest,
    ...(cluster.spec.imagePullPolicy ? { imagePullPolicy: cluster.spec.imagePullPolicy } : {}),
    command: pod.command,
    securityContext: restrictedContainerSecurity,
    volumeMounts: mounts,
    // On failure the log's tail (pgBackRest's ERROR line) becomes the termination message.
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...(jobs?.resources ? { resources: jobs.resources as V1Container["resources"] } : {}),
  };
  const userAffinity = jobs?.affinity as V1Affinity | undefined;
  const affinity = volumeRepos.length > 0 ? repoHostAffinity(cluster.name, userAffinity) : userAffinity;
  const spec: V1PodSpec = {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity(cluster),
    containers: [container],
    volumes,
    ...(cluster.spec.imagePullSecrets?.length ? { imagePullSecrets: cluster.spec.imagePullSecrets } : {}),
    ...(affinity ? { affinity } : {}),
    ...(jobs?.tolerations?.length ? { tolerations: jobs.tolerations as V1PodSpec["tolerations"] } : {}),
    ...(jobs?.priorityClassName ? { priorityClassName: jobs.priorityClassName } : {}),
  };
  return {
    backoffLimit: pod.backoffLimit ?? 2,
    ...(jobs?.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: jobs.ttlSecondsAfterFinished } : {}),
    template: {
      metadata: { labels: pod.labels, ...(pod.annotations ? { annotations: pod.annotations } : {}) },
      spec,
    },
  };
}
