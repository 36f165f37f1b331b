/**
 * @module
 * One StatefulSet per Postgres instance (`<cluster>-<set>-<ordinal>`, one pod each), so each
 * instance can be updated on its own (instance/rollout.ts decides when). Its pod runs Patroni, which runs
 * Postgres; the contract between this pod and the Patroni configuration is in patroni/config.ts.
 */
import type {
  V1Container,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1PodSpec,
  V1PodTemplateSpec,
  V1ProjectedVolumeSource,
  V1StatefulSet,
  V1Volume,
  V1VolumeProjection,
} from "@kubernetes/client-node";
import type { SecretProjection } from "../../../shared/api/kube.ts";
import type { ClusterModel, InstanceModel, InstanceSetModel } from "../../../shared/cluster/model.ts";
import { ANNOTATION, instanceLabels, LABEL, labelValue, pgoInstanceLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { dataDirectory, PATHS } from "../../../shared/pod-layout.ts";
import { podSecurity, restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { exporterEnabled, scrapeAnnotations, withExporter } from "../monitoring/exporter.ts";
import { contentHash } from "../objects/canonical.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta, mergedAnnotations, mergedLabels } from "../objects/metadata.ts";
import { keepImmutable, storedClaimTemplate } from "../objects/stored-spec.ts";
import { CONFIG_KEY, CONFIG_KEY_WITH_WAL, restartRelevantConfig } from "../patroni/config.ts";
import { instancePgBackRest } from "../pgbackrest/pgbackrest.ts";
import { hasRoleChangeCallback, ROLE_CHANGE_KEY, roleChangeEnv } from "../restore/standby.ts";
import { INTERNAL_KEYS } from "../users/internal-secret.ts";

const DATABASE_CONTAINER = "database";

const VOLUME = {
  pgdata: "pgdata",
  pgwal: "pgwal",
  config: "patroni-config",
  certs: "certificates",
  tmp: "tmp",
  sockets: "sockets",
  shm: "dshm",
} as const;

/** Labels that select one instance's pod; a StatefulSet selector is immutable, so these never change. */
function instanceSelector(model: ClusterModel, instance: InstanceModel): Record<string, string> {
  return {
    [LABEL.cluster]: labelValue(model.name),
    [LABEL.instanceSet]: labelValue(instance.set),
    [LABEL.instance]: labelValue(instance.name),
  };
}

/** Labels on every instance pod; the Services and Patroni's DCS select on these. */
function instancePodLabels(model: ClusterModel, instance: InstanceModel): Record<string, string> {
  return {
    ...pgoInstanceLabels(model.name, instance.set, instance.name),
    ...instanceLabels(model.name, instance.set, instance.name),
    [LABEL.data]: "postgres",
    [LABEL.patroniScope]: labelValue(names.patroniScope(model.name)),
  };
}

function secretEnv(name: string, key: string, secretName: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

/** The per-pod half of the Patroni configuration (patroni/config.ts documents the contract). */
function patroniEnv(model: ClusterModel): V1EnvVar[] {
  const internal = names.internalSecret(model.name);
  return [
    { name: "PATRONI_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    {
      name: "PATRONI_KUBERNETES_NAMESPACE",
      valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
    },
    { name: "PATRONI_KUBERNETES_POD_IP", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.podIP" } } },
    { name: "PATRONI_POSTGRESQL_CONNECT_ADDRESS", value: `$(PATRONI_KUBERNETES_POD_IP):${model.port}` },
    { name: "PATRONI_RESTAPI_CONNECT_ADDRESS", value: `$(PATRONI_KUBERNETES_POD_IP):${model.patroniPort}` },
    secretEnv("PATRONI_SUPERUSER_USERNAME", INTERNAL_KEYS.superuserUsername, internal),
    secretEnv("PATRONI_SUPERUSER_PASSWORD", INTERNAL_KEYS.superuserPassword, internal),
    secretEnv("PATRONI_REPLICATION_USERNAME", INTERNAL_KEYS.replicationUsername, internal),
    secretEnv("PATRONI_REPLICATION_PASSWORD", INTERNAL_KEYS.replicationPassword, internal),
    secretEnv("PATRONI_REWIND_USERNAME", INTERNAL_KEYS.rewindUsername, internal),
    secretEnv("PATRONI_REWIND_PASSWORD", INTERNAL_KEYS.rewindPassword, internal),
    secretEnv("PATRONI_RESTAPI_USERNAME", INTERNAL_KEYS.patroniUsername, internal),
    secretEnv("PATRONI_RESTAPI_PASSWORD", INTERNAL_KEYS.patroniPassword, internal),
    ...roleChangeEnv(model),
  ];
}

/**
 * Postgres's and libpq's own variables, as PGO sets them: `kubectl exec … -c database -- psql`
 * reaches this instance over its Unix socket, and pg_* tools find the data directory. Patroni
 * passes its own data directory, socket and port to Postgres, so these change nothing it starts.
 * Never PGUSER or PGPASSWORD: libpq prefers them to what Patroni passes (docs/dataplane-notes.md P1).
 */
function postgresEnv(model: ClusterModel): V1EnvVar[] {
  return [
    { name: "PGDATA", value: dataDirectory(model.version) },
    { name: "PGHOST", value: PATHS.socketDir },
    { name: "PGPORT", value: String(model.port) },
  ];
}

const KEY_MODE = 0o600;

/** The user's projection of a custom TLS Secret, or the standard keys, under `prefix`. */
function tlsProjection(
  secretName: string,
  custom: SecretProjection | undefined,
  prefix: string,
  keys: string[],
): V1VolumeProjection {
  const items = custom?.items?.length
    ? custom.items.map((i) => ({ ...i, path: `${prefix}${i.path}` }))
    : keys.map((key) => ({ key, path: `${prefix}${key}`, ...(key === "tls.key" ? { mode: KEY_MODE } : {}) }));
  return { secret: { name: custom?.name ?? secretName, items } };
}

/** Server certificate at the top of PATHS.tlsDir, the replication client certificate below it. */
function certificateVolume(model: ClusterModel): V1ProjectedVolumeSource {
  const replicationDir = `${PATHS.replicationTlsDir.slice(PATHS.tlsDir.length + 1)}/`;
  return {
    defaultMode: 0o440,
    sources: [
      tlsProjection(names.serverCertSecret(model.name), model.spec.customTLSSecret, "", [
        "ca.crt",
        "tls.crt",
        "tls.key",
      ]),
      tlsProjection(names.replicationCertSecret(model.name), model.spec.customReplicationTLSSecret, replicationDir, [
        "tls.crt",
        "tls.key",
      ]),
    ],
  };
}

function defaultAffinity(model: ClusterModel, set: InstanceSetModel): V1PodSpec["affinity"] {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 1,
          podAffinityTerm: {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: {
              matchLabels: {
                [LABEL.cluster]: labelValue(model.name),
                [LABEL.instanceSet]: labelValue(set.name),
              },
            },
          },
        },
      ],
    },
  };
}

function databaseContainer(model: ClusterModel, set: InstanceSetModel): V1Container {
  const wal = set.spec.walVolumeClaimSpec !== undefined;
  return {
    name: DATABASE_CONTAINER,
    image: model.image,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    command: ["patroni", PATHS.patroniConfigFile],
    env: [...patroniEnv(model), ...postgresEnv(model)],
    ports: [
      { name: "postgres", containerPort: model.port, protocol: "TCP" },
      { name: "patroni", containerPort: model.patroniPort, protocol: "TCP" },
    ],
    readinessProbe: {
      httpGet: { path: "/readiness", port: model.patroniPort, scheme: "HTTP" },
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: "/liveness", port: model.patroniPort, scheme: "HTTP" },
      initialDelaySeconds: 3,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    ...(set.spec.resources ? { resources: set.spec.resources as V1Container["resources"] } : {}),
    securityContext: restrictedContainerSecurity,
    volumeMounts: [
      { name: VOLUME.pgdata, mountPath: PATHS.pgdata },
      ...(wal ? [{ name: VOLUME.pgwal, mountPath: PATHS.pgwal }] : []),
      { name: VOLUME.config, mountPath: PATHS.patroniConfigDir, readOnly: true },
      { name: VOLUME.certs, mountPath: PATHS.tlsDir, readOnly: true },
      { name: VOLUME.tmp, mountPath: PATHS.tmp },
      { name: VOLUME.sockets, mountPath: PATHS.socketDir },
      { name: VOLUME.shm, mountPath: "/dev/shm" },
    ],
  };
}

function podVolumes(model: ClusterModel, set: InstanceSetModel): V1Volume[] {
  const wal = set.spec.walVolumeClaimSpec !== undefined;
  return [
    {
      name: VOLUME.config,
      configMap: {
        name: names.clusterConfig(model.name),
        items: [
          { key: wal ? CONFIG_KEY_WITH_WAL : CONFIG_KEY, path: "patroni.yaml" },
          ...(hasRoleChangeCallback(model) ? [{ key: ROLE_CHANGE_KEY, path: ROLE_CHANGE_KEY }] : []),
        ],
      },
    },
    { name: VOLUME.certs, projected: certificateVolume(model) },
    { name: VOLUME.tmp, emptyDir: {} },
    { name: VOLUME.sockets, emptyDir: {} },
    { name: VOLUME.shm, emptyDir: { medium: "Memory" } },
  ];
}

/** With backups, Postgres's archive commands read pgBackRest's conf.d and a TLS server runs beside it. */
function withPgBackRest(
  model: ClusterModel,
  set: InstanceSetModel,
  database: V1Container,
  volumes: V1Volume[],
): Pick<V1PodSpec, "containers" | "volumes"> {
  const mount = (name: string) => database.volumeMounts!.find((m) => m.name === name)!;
  const pgbackrest = instancePgBackRest(model, {
    pgdata: mount(VOLUME.pgdata),
    tmp: mount(VOLUME.tmp),
    sockets: mount(VOLUME.sockets),
    certs: mount(VOLUME.certs),
    ...(set.spec.walVolumeClaimSpec !== undefined ? { pgwal: mount(VOLUME.pgwal) } : {}),
  });
  if (!pgbackrest) return { containers: [database], volumes };
  return {
    containers: [
      { ...database, volumeMounts: [...database.volumeMounts!, pgbackrest.databaseMount] },
      pgbackrest.sidecar,
    ],
    volumes: [...volumes, pgbackrest.volume],
  };
}

/**
 * The pod template without its config-hash annotation; the hash covers this template plus
 * whatever a running pod only reads at start (patroni/config.ts restartRelevantConfig).
 */
function basePodTemplate(model: ClusterModel, set: InstanceSetModel, instance: InstanceModel): V1PodTemplateSpec {
  const spec = set.spec;
  const podSpec: V1PodSpec = {
    serviceAccountName: names.instanceRbac(model.name),
    automountServiceAccountToken: true,
    enableServiceLinks: false,
    securityContext: podSecurity(model),
    ...withExporter(model, withPgBackRest(model, set, databaseContainer(model, set), podVolumes(model, set))),
    ...(model.spec.imagePullSecrets?.length ? { imagePullSecrets: model.spec.imagePullSecrets } : {}),
    ...(spec.affinity
      ? { affinity: spec.affinity as V1PodSpec["affinity"] }
      : model.spec.disableDefaultPodScheduling
        ? {}
        : { affinity: defaultAffinity(model, set) }),
    ...(spec.tolerations?.length ? { tolerations: spec.tolerations as V1PodSpec["tolerations"] } : {}),
    ...(spec.topologySpreadConstraints?.length
      ? {
          topologySpreadConstraints:
            spec.topologySpreadConstraints as unknown as V1PodSpec["topologySpreadConstraints"],
        }
      : {}),
    ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
  };
  // Hashed with the rest of the template: a new restart id or scrape setting rolls the pods
  // through the update gate one at a time, never all at once.
  const annotations = {
    ...(exporterEnabled(model) ? scrapeAnnotations(model, "postgres") : {}),
    ...(model.restartId !== undefined ? { [ANNOTATION.restart]: model.restartId } : {}),
  };
  return {
    metadata: {
      labels: mergedLabels(model, instancePodLabels(model, instance), [spec.metadata]),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: podSpec,
  };
}

/** The desired pod template and its config hash. */
export function instancePodTemplate(
  model: ClusterModel,
  set: InstanceSetModel,
  instance: InstanceModel,
): { template: V1PodTemplateSpec; configHash: string } {
  const base = basePodTemplate(model, set, instance);
  const configHash = contentHash({
    template: base,
    config: restartRelevantConfig(model, { walVolume: set.spec.walVolumeClaimSpec !== undefined }),
  });
  const annotations = mergedAnnotations(model, { ...base.metadata?.annotations, [ANNOTATION.configHash]: configHash }, [
    set.spec.metadata,
  ]);
  return { template: { ...base, metadata: { ...base.metadata, annotations } }, configHash };
}

function claimTemplate(
  model: ClusterModel,
  instance: InstanceModel,
  name: string,
  spec: Record<string, unknown>,
): V1PersistentVolumeClaim {
  return storedClaimTemplate({
    metadata: {
      name,
      labels: { ...instanceLabels(model.name, instance.set, instance.name), [LABEL.data]: name },
    },
    spec: { accessModes: ["ReadWriteOnce"], ...(spec as V1PersistentVolumeClaim["spec"]) },
  });
}

export interface StatefulSetOptions {
  replicas: number;
  /** The pod template to emit: the desired one, or the observed one while instance/rollout.ts holds it back. */
  template: V1PodTemplateSpec | Record<string, unknown>;
  /** The observed StatefulSet: its immutable fields are kept as they are. */
  observed?: Record<string, unknown>;
}

const IMMUTABLE = ["selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"] as const;

export function buildInstanceStatefulSet(
  model: ClusterModel,
  set: InstanceSetModel,
  instance: InstanceModel,
  options: StatefulSetOptions,
): V1StatefulSet {
  const wal = set.spec.walVolumeClaimSpec;
  const spec: Record<string, unknown> = {
    replicas: options.replicas,
    selector: { matchLabels: instanceSelector(model, instance) },
    serviceName: names.podsService(model.name),
    podManagementPolicy: "Parallel",
    updateStrategy: { type: "RollingUpdate" },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    template: options.template,
    volumeClaimTemplates: [
      claimTemplate(model, instance, VOLUME.pgdata, set.spec.dataVolumeClaimSpec),
      ...(wal ? [claimTemplate(model, instance, VOLUME.pgwal, wal)] : []),
    ],
  };
  keepImmutable(spec, options.observed, IMMUTABLE);
  return withKind("StatefulSet", {
    metadata: childMeta(model, instance.name, instanceLabels(model.name, instance.set, instance.name), {
      user: [set.spec.metadata],
    }),
    spec: spec as unknown as V1StatefulSet["spec"],
  });
}
