/**
 * @module
 * The pgBouncer Deployment `<cluster>-pgbouncer`. Its pods read one projected volume at
 * PATHS.pgbouncerConfigDir: `pgbouncer.ini` (ConfigMap), `users.txt` (the auth_file, Secret),
 * the certificate pgBouncer shows clients (`client-tls/`: ours, issued for the pgBouncer
 * Service's names, or `proxy.pgBouncer.customTLSSecret`), the CA of Postgres's server
 * certificate (`server-ca/ca.crt`, for `server_tls_sslmode = verify-ca`) and the user's
 * `config.files`. pgBouncer reads its configuration only at start here (a reload can crash
 * 1.18, docs/dataplane-notes.md G4), so the pod template carries a hash of `pgbouncer.ini`: a
 * change rolls the pods one at a time (maxUnavailable 0) while the Service stays as it is.
 */
import type { V1Container, V1Deployment, V1PodSpec, V1Volume, V1VolumeProjection } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { ANNOTATION, clusterLabels, LABEL, labelValue } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { IMAGES, PATHS } from "../../../shared/pod-layout.ts";
import { podSecurity, restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { exporterEnabled, pgbouncerExporterContainer, scrapeAnnotations } from "../monitoring/exporter.ts";
import { contentHash } from "../objects/canonical.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta, mergedAnnotations, mergedLabels } from "../objects/metadata.ts";
import { INI_KEY, PGBOUNCER_FILES, pgbouncerSpec } from "./configmap.ts";
import { AUTH_FILE_KEY } from "./secret.ts";

const PGBOUNCER_CONTAINER = "pgbouncer";
export const PGBOUNCER_PORT_NAME = "pgbouncer";
const CONFIG_VOLUME = "pgbouncer-config";
/** What the pgBouncer pods carry in LABEL.role; with the cluster label it selects them. */
const ROLE = "pgbouncer";

export function pgbouncerSelector(model: ClusterModel): Record<string, string> {
  return { [LABEL.cluster]: labelValue(model.name), [LABEL.role]: ROLE };
}

const relative = (path: string) => path.slice(PATHS.pgbouncerConfigDir.length + 1);

function configVolume(model: ClusterModel): V1Volume {
  const bouncer = pgbouncerSpec(model)!;
  const tlsDir = relative(PGBOUNCER_FILES.clientTlsDir);
  const custom = bouncer.customTLSSecret;
  const clientTls: V1VolumeProjection = {
    secret: {
      name: custom?.name ?? names.pgbouncerCertSecret(model.name),
      items: custom?.items?.length
        ? custom.items.map((i) => ({ ...i, path: `${tlsDir}/${i.path}` }))
        : ["tls.crt", "tls.key"].map((key) => ({ key, path: `${tlsDir}/${key}` })),
    },
  };
  return {
    name: CONFIG_VOLUME,
    projected: {
      // Root-owned, readable through the pod's fsGroup; pgBouncer checks no file modes.
      defaultMode: 0o440,
      sources: [
        { configMap: { name: names.pgbouncer(model.name), items: [{ key: INI_KEY, path: INI_KEY }] } },
        {
          secret: {
            name: names.pgbouncer(model.name),
            items: [{ key: AUTH_FILE_KEY, path: relative(PGBOUNCER_FILES.authFile) }],
          },
        },
        clientTls,
        {
          secret: {
            name: model.spec.customTLSSecret?.name ?? names.serverCertSecret(model.name),
            items: [{ key: "ca.crt", path: relative(PGBOUNCER_FILES.serverCa) }],
          },
        },
        ...((bouncer.config?.files ?? []) as V1VolumeProjection[]),
      ],
    },
  };
}

function pgbouncerContainer(model: ClusterModel): V1Container {
  const bouncer = pgbouncerSpec(model)!;
  const probe = { tcpSocket: { port: PGBOUNCER_PORT_NAME as unknown as number } };
  return {
    name: PGBOUNCER_CONTAINER,
    image: bouncer.image ?? IMAGES.pgbouncer,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    command: ["pgbouncer", PGBOUNCER_FILES.ini],
    ports: [{ name: PGBOUNCER_PORT_NAME, containerPort: bouncer.port, protocol: "TCP" }],
    readinessProbe: { ...probe, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    livenessProbe: { ...probe, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    ...(bouncer.resources ? { resources: bouncer.resources as V1Container["resources"] } : {}),
    securityContext: restrictedContainerSecurity,
    volumeMounts: [{ name: CONFIG_VOLUME, mountPath: PATHS.pgbouncerConfigDir, readOnly: true }],
  };
}

function defaultAffinity(model: ClusterModel): V1PodSpec["affinity"] {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 1,
          podAffinityTerm: {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: pgbouncerSelector(model) },
          },
        },
      ],
    },
  };
}

/**
 * `ini` is the rendered pgbouncer.ini and `certificates` what identifies the certificates it
 * reads (public parts only): their hash on the pod template rolls the pods when either changes.
 */
export function buildPgBouncerDeployment(model: ClusterModel, ini: string, certificates: unknown = null): V1Deployment {
  const bouncer = pgbouncerSpec(model)!;
  const monitored = exporterEnabled(model);
  const labels = { ...clusterLabels(model.name, "pgbouncer"), ...pgbouncerSelector(model) };
  const podSpec: V1PodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurity(model),
    containers: [pgbouncerContainer(model), ...(monitored ? [pgbouncerExporterContainer(model)] : [])],
    volumes: [configVolume(model)],
    ...(model.spec.imagePullSecrets?.length ? { imagePullSecrets: model.spec.imagePullSecrets } : {}),
    ...(bouncer.affinity
      ? { affinity: bouncer.affinity as V1PodSpec["affinity"] }
      : model.spec.disableDefaultPodScheduling
        ? {}
        : { affinity: defaultAffinity(model) }),
    ...(bouncer.tolerations?.length ? { tolerations: bouncer.tolerations as V1PodSpec["tolerations"] } : {}),
    ...(bouncer.topologySpreadConstraints?.length
      ? {
          topologySpreadConstraints:
            bouncer.topologySpreadConstraints as unknown as V1PodSpec["topologySpreadConstraints"],
        }
      : {}),
    ...(bouncer.priorityClassName ? { priorityClassName: bouncer.priorityClassName } : {}),
  };
  const configHash = contentHash({ ini, clientTls: bouncer.customTLSSecret ?? null, certificates });
  const annotations = mergedAnnotations(
    model,
    { ...(monitored ? scrapeAnnotations(model, "pgbouncer") : {}), [ANNOTATION.configHash]: configHash },
    [bouncer.metadata],
  );
  return withKind("Deployment", {
    metadata: childMeta(model, names.pgbouncer(model.name), labels, { user: [bouncer.metadata] }),
    spec: {
      replicas: model.shutdown ? 0 : bouncer.replicas,
      selector: { matchLabels: pgbouncerSelector(model) },
      // A new pod is ready before an old one goes: clients always find a pgBouncer.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: mergedLabels(model, labels, [bouncer.metadata]), ...(annotations ? { annotations } : {}) },
        spec: podSpec,
      },
    },
  });
}
