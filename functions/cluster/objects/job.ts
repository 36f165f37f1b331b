/**
 * @module
 * The cluster's Jobs. Each is named by a hash of the work it does (the SQL, the configuration,
 * the switchover target), runs once, and stays observable after it finishes (no TTL): while
 * that hash is current the hook returns the observed Job unchanged (sync.ts), so an unchanged
 * spec never runs it again and a Job's immutable pod template is never updated. Different
 * work gets a new name, hence a new Job. The Jobs themselves: users/job.ts (roles and
 * databases), patroni/jobs.ts (dynamic configuration, switchover), tls/reload-job.ts.
 */
import type { V1Container, V1EnvVar, V1Job, V1PodSpec, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { podSecurity, restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { asDesired, type JobState } from "../observe/observed.ts";
import type { JobReport } from "../part.ts";
import { contentHash } from "./canonical.ts";
import { withKind } from "./kinds.ts";
import { childMeta } from "./metadata.ts";

export const JOB_HASH_LENGTH = 10;

export interface JobPod {
  component: string;
  command: string[];
  env: V1EnvVar[];
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
}

export function internalEnv(model: ClusterModel, name: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: names.internalSecret(model.name), key } } };
}

/** The CA that signed the server certificate: ours, or the one in the user's customTLSSecret. */
export function caVolume(model: ClusterModel): V1Volume {
  const custom = model.spec.customTLSSecret;
  return {
    name: "ca",
    secret: {
      secretName: custom?.name ?? names.serverCertSecret(model.name),
      items: [{ key: "ca.crt", path: "ca.crt" }],
      defaultMode: 0o444,
    },
  };
}

function podSpec(model: ClusterModel, pod: JobPod): V1PodSpec {
  const container: V1Container = {
    name: pod.component,
    image: model.image,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    command: pod.command,
    env: [{ name: "HOME", value: "/tmp" }, ...pod.env],
    securityContext: restrictedContainerSecurity,
    volumeMounts: [...pod.mounts, { name: "tmp", mountPath: "/tmp" }],
  };
  return {
    restartPolicy: "OnFailure",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity(model),
    containers: [container],
    volumes: [...pod.volumes, { name: "tmp", emptyDir: {} }],
    ...(model.spec.imagePullSecrets?.length ? { imagePullSecrets: model.spec.imagePullSecrets } : {}),
  };
}

export function job(model: ClusterModel, nameFor: (hash: string) => string, pod: JobPod, work: unknown): V1Job {
  const spec = podSpec(model, pod);
  const labels = clusterLabels(model.name, pod.component);
  const name = nameFor(contentHash(work, JOB_HASH_LENGTH));
  return withKind("Job", {
    metadata: childMeta(model, name, labels),
    spec: { backoffLimit: 6, template: { metadata: { labels }, spec } },
  });
}

/**
 * A Job as it goes out this sync: the observed one unchanged while it exists (it never runs
 * twice and its immutable template is never touched), the new one once it can run, or none.
 */
export function jobChild(
  observed: ObservedCluster,
  job: V1Job,
  what: string,
  runnable: boolean,
): { child?: Record<string, unknown>; report?: JobReport; state: JobState } {
  const name = job.metadata!.name!;
  const kept = observed.jobs.get(name);
  const state = kept?.state ?? "absent";
  if (!kept && !runnable) return { state };
  return {
    child: kept ? asDesired(kept.raw) : (job as Record<string, unknown>),
    report: { name, what, state },
    state,
  };
}
