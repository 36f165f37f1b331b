/**
 * @module
 * The repository host: a one-pod StatefulSet holding every volume repository on its own
 * retained claim and serving them to the instances and backup Jobs over pgBackRest's TLS
 * server, and the plan that recreates it when the set of volume repositories changes.
 */
import type {
  V1Container,
  V1PersistentVolumeClaim,
  V1PodSpec,
  V1StatefulSet,
  V1VolumeMount,
} from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { repoHostLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { repoKind } from "../../../shared/pgbackrest/layout.ts";
import { pgbackrestConfigVolume, repoHostVolumeMount } from "../../../shared/pgbackrest/volumes.ts";
import { PATHS } from "../../../shared/pod-layout.ts";
import { podSecurity } from "../../../shared/pod-security.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { keepImmutable, storedClaimTemplate } from "../objects/stored-spec.ts";

import { hasVolumeRepo, pgbackrestCluster, serverContainer } from "./pgbackrest.ts";

/**
 * The repository host: a one-pod StatefulSet holding every volume repository on its own
 * retained claim, serving them over TLS. Only clusters with a volume repo get one.
 */
function buildRepoHostStatefulSet(model: ClusterModel): V1StatefulSet | undefined {
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
