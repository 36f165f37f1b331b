/**
 * @module
 * pgBackRest in the cluster's own children: the configuration ConfigMap (one file per role,
 * rendered by shared/pgbackrest), the TLS server sidecar beside Postgres in every instance pod,
 * and the repository host for volume repositories. Backups, stanza creation and restores then
 * reach the primary over mutual TLS and never need `kubectl exec` (shared/pgbackrest/README.md).
 */
import type {
  V1ConfigMap,
  V1Container,
  V1PersistentVolumeClaim,
  V1PodSpec,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels, repoHostLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { serverArgs, serverPingArgs } from "../../../shared/pgbackrest/commands.ts";
import { pgbackrestConfigData } from "../../../shared/pgbackrest/config.ts";
import { type PgBackRestCluster, repoKind } from "../../../shared/pgbackrest/layout.ts";
import {
  pgbackrestConfigMount,
  pgbackrestConfigVolume,
  repoHostVolumeMount,
} from "../../../shared/pgbackrest/volumes.ts";
import { IMAGES, PATHS, PORTS } from "../../../shared/pod-layout.ts";
import { podSecurity, restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { keepImmutable, storedClaimTemplate } from "../objects/stored-spec.ts";

export const PGBACKREST_CONTAINER = "pgbackrest";

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
function serverContainer(model: ClusterModel, extraMounts: V1VolumeMount[]): V1Container {
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

/**
 * The repository host: a one-pod StatefulSet holding every volume repository on its own
 * retained claim, serving them over TLS. Only clusters with a volume repo get one.
 */
export function buildRepoHostStatefulSet(model: ClusterModel): V1StatefulSet | undefined {
  if (!hasVolumeRepo(model)) return undefined;
  const pgbackrest = model.spec.backups!.pgbackrest!;
  const volumeRepos = pgbackrest.repos.filter((r) => repoKind(r) === "volume");
  const labels = repoHostLabels(model.name);
  const repoHost = pgbackrest.repoHost;
  const claims: V1PersistentVolumeClaim[] = volumeRepos.map((r) =>
    storedClaimTemplate({
      metadata: { name: names.repoClaimTemplate(r.name), labels },
      spec: r.volume!.volumeClaimSpec as V1PersistentVolumeClaim["spec"],
    }),
  );
  const certs: V1VolumeMount = { name: "certificates", mountPath: PATHS.tlsDir, readOnly: true };
  const tmp: V1VolumeMount = { name: "tmp", mountPath: PATHS.tmp };
  const podSpec: V1PodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity(model),
    containers: [serverContainer(model, [tmp, certs, ...volumeRepos.map((r) => repoHostVolumeMount(r.name))])],
    volumes: [
      { ...pgbackrestConfigVolume(pgbackrestCluster(model), "repo-host") },
      { name: "tmp", emptyDir: {} },
      {
        name: "certificates",
        projected: {
          defaultMode: 0o600,
          sources: [
            {
              secret: {
                name: names.serverCertSecret(model.name),
                items: ["ca.crt", "tls.crt", "tls.key"].map((key) => ({ key, path: key })),
              },
            },
          ],
        },
      },
    ],
    ...(model.spec.imagePullSecrets?.length ? { imagePullSecrets: model.spec.imagePullSecrets } : {}),
    ...(repoHost?.affinity ? { affinity: repoHost.affinity as V1PodSpec["affinity"] } : {}),
    ...(repoHost?.tolerations?.length ? { tolerations: repoHost.tolerations as V1PodSpec["tolerations"] } : {}),
    ...(repoHost?.priorityClassName ? { priorityClassName: repoHost.priorityClassName } : {}),
  };
  if (repoHost?.resources) podSpec.containers[0]!.resources = repoHost.resources as V1Container["resources"];
  return withKind("StatefulSet", {
    metadata: childMeta(model, names.repoHost(model.name), labels),
    spec: {
      replicas: model.shutdown ? 0 : 1,
      serviceName: names.podsService(model.name),
      selector: { matchLabels: labels },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: { metadata: { labels }, spec: podSpec },
      volumeClaimTemplates: claims,
    },
  });
}

export type RepoHostPlan =
  | { child?: object; recreating?: undefined }
  | { child?: undefined; recreating: { added: string[]; removed: string[] } };

function claimTemplateNames(sts: Record<string, unknown> | object | undefined): string[] {
  const templates = ((sts as { spec?: { volumeClaimTemplates?: { metadata?: { name?: string } }[] } })?.spec
    ?.volumeClaimTemplates ?? []) as { metadata?: { name?: string } }[];
  return templates.map((t) => t.metadata?.name ?? "").sort();
}

/**
 * The repository host to return, given the one observed. Kubernetes refuses any change to a
 * StatefulSet's volumeClaimTemplates, so when a volume repo is added or removed the repo host is
 * left out of the answer (Metacontroller deletes it; its claims are retained, whenDeleted:
 * Retain) and returned again, with the new set of claims, once it is gone: each repo's claim
 * keeps its name, so the new pod mounts the same repository. A size change of an existing
 * repo keeps the observed templates (a claim grows through volume expansion, not here).
 */
export function planRepoHost(model: ClusterModel, observed: Record<string, unknown> | undefined): RepoHostPlan {
  const desired = buildRepoHostStatefulSet(model);
  if (!desired || !observed) return desired ? { child: desired } : {};
  const was = claimTemplateNames(observed);
  const now = claimTemplateNames(desired);
  const deleting = (observed.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp !== undefined;
  if (deleting || was.join() !== now.join()) {
    return {
      recreating: { added: now.filter((n) => !was.includes(n)), removed: was.filter((n) => !now.includes(n)) },
    };
  }
  const spec = { ...(desired.spec as unknown as Record<string, unknown>) };
  keepImmutable(spec, observed, ["selector", "serviceName", "volumeClaimTemplates"]);
  return { child: { ...desired, spec } };
}
