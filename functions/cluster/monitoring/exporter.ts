/**
 * @module
 * Metrics (`spec.monitoring.pgmonitor.exporter`): a postgres_exporter sidecar in every instance
 * pod, a pgBouncer exporter beside pgBouncer when the proxy is on, the exporter's queries
 * (ConfigMap `<cluster>-exporter`), its login role and Secret (`<cluster>-monitoring`), and the
 * scrape annotations on both kinds of pods.
 *
 * The exporter logs in over TCP to localhost with TLS (`verify-ca` against the CA of the server
 * certificate: pg_hba refuses non-TLS TCP) as `ROLES.monitoring`, a role with `pg_monitor`
 * and nothing else: it reads every statistics view and `pg_ls_waldir()`, never a user table.
 * The one thing pg_monitor cannot read, pgBackRest's backup list, comes from a SECURITY
 * DEFINER function owned by the superuser (created by the users Job, EXECUTE for the
 * monitoring role only) that runs `pgbackrest info` on the primary at most every 5 minutes and
 * keeps the answer in a table the replicas receive by replication.
 *
 * Metric names follow Crunchy's pgMonitor (`ccp_*`) so its dashboards and rules mostly apply;
 * manifests/monitoring/ holds Tusk's own alert rules and dashboard over these names.
 *
 * Scrape annotations are on the pods whenever the exporter is on, PodMonitors or not: they
 * are part of the pod template, and a template that depended on whether the Prometheus
 * Operator component is installed would restart every database when it is. The Prometheus
 * Operator ignores them.
 */
import type { V1Container, V1EnvVar, V1Volume, V1VolumeProjection } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import { IMAGES, PATHS, PORTS, ROLES } from "../../../shared/pod-layout.ts";
import { restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { ROLE_SECRET_KEYS } from "../users/role-secret.ts";

const EXPORTER_CONTAINER = "exporter";
const PGBOUNCER_EXPORTER_CONTAINER = "pgbouncer-exporter";
export const EXPORTER_PORT_NAME = "exporter";
/** A port name of its own: a PodMonitor endpoint per exporter, each with its own scheme. */
export const PGBOUNCER_EXPORTER_PORT_NAME = "pgb-exporter";
export const METRICS_PATH = "/metrics";
const CONFIG_VOLUME = "exporter-config";

export const EXPORTER_FILES = {
  queries: `${PATHS.exporterConfigDir}/queries.yaml`,
  /** With `exporter.configuration`, the user's queries replace ours (as in PGO). */
  userQueries: `${PATHS.exporterConfigDir}/queries.yml`,
  ca: `${PATHS.exporterConfigDir}/ca.crt`,
  webConfig: `${PATHS.exporterConfigDir}/web-config.yml`,
  webTlsDir: `${PATHS.exporterConfigDir}/web-tls`,
} as const;

/** The schema holding the pgBackRest lookup (named after the role, owned by the superuser). */
export const MONITORING_SCHEMA = ROLES.monitoring;
/** pgBackRest is asked at most this often; backups are hours apart, `info` may take seconds on S3. */

function exporterSpec(model: ClusterModel) {
  return model.spec.monitoring?.pgmonitor?.exporter;
}

export function exporterEnabled(model: ClusterModel): boolean {
  return exporterSpec(model) !== undefined;
}

export const webTls = (model: ClusterModel) => exporterSpec(model)?.customTLSSecret !== undefined;

/** `prometheus.io/*` annotations for a pod running postgres_exporter or the pgBouncer exporter. */
export function scrapeAnnotations(model: ClusterModel, pod: "postgres" | "pgbouncer"): Record<string, string> {
  const port = pod === "postgres" ? PORTS.exporter : PORTS.pgbouncerExporter;
  return {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": String(port),
    "prometheus.io/path": METRICS_PATH,
    ...(pod === "postgres" && webTls(model) ? { "prometheus.io/scheme": "https" } : {}),
  };
}

function configVolume(model: ClusterModel): V1Volume {
  const exporter = exporterSpec(model)!;
  const rel = (path: string) => path.slice(PATHS.exporterConfigDir.length + 1);
  const configMapItems = [{ key: rel(EXPORTER_FILES.queries), path: rel(EXPORTER_FILES.queries) }];
  if (webTls(model)) configMapItems.push({ key: rel(EXPORTER_FILES.webConfig), path: rel(EXPORTER_FILES.webConfig) });
  const custom = exporter.customTLSSecret;
  const webDir = rel(EXPORTER_FILES.webTlsDir);
  return {
    name: CONFIG_VOLUME,
    projected: {
      defaultMode: 0o440,
      sources: [
        { configMap: { name: names.exporterConfig(model.name), items: configMapItems } },
        {
          secret: {
            name: model.spec.customTLSSecret?.name ?? names.serverCertSecret(model.name),
            items: [{ key: "ca.crt", path: rel(EXPORTER_FILES.ca) }],
          },
        },
        ...(custom
          ? [
              {
                secret: {
                  name: custom.name,
                  items: custom.items?.length
                    ? custom.items.map((i) => ({ ...i, path: `${webDir}/${i.path}` }))
                    : ["tls.crt", "tls.key"].map((key) => ({ key, path: `${webDir}/${key}` })),
                },
              },
            ]
          : []),
        ...((exporter.configuration ?? []) as V1VolumeProjection[]),
      ],
    },
  };
}

function secretEnv(name: string, secretName: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}

function exporterContainer(model: ClusterModel): V1Container {
  const exporter = exporterSpec(model)!;
  const queries = exporter.configuration?.length ? EXPORTER_FILES.userQueries : EXPORTER_FILES.queries;
  return {
    name: EXPORTER_CONTAINER,
    image: exporter.image ?? IMAGES.exporter,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    ...(webTls(model) ? { args: [`--web.config.file=${EXPORTER_FILES.webConfig}`] } : {}),
    env: [
      {
        name: "DATA_SOURCE_URI",
        value: `localhost:${model.port}/postgres?sslmode=verify-ca&sslrootcert=${EXPORTER_FILES.ca}`,
      },
      { name: "DATA_SOURCE_USER", value: ROLES.monitoring },
      secretEnv("DATA_SOURCE_PASS", names.monitoringSecret(model.name), ROLE_SECRET_KEYS.password),
      { name: "PG_EXPORTER_EXTEND_QUERY_PATH", value: queries },
    ],
    ports: [{ name: EXPORTER_PORT_NAME, containerPort: PORTS.exporter, protocol: "TCP" }],
    ...(exporter.resources ? { resources: exporter.resources as V1Container["resources"] } : {}),
    securityContext: restrictedContainerSecurity,
    volumeMounts: [{ name: CONFIG_VOLUME, mountPath: PATHS.exporterConfigDir, readOnly: true }],
  };
}

/** The instance pod's containers and volumes, with the exporter added when it is on. */
export function withExporter<T extends { containers?: V1Container[]; volumes?: V1Volume[] }>(
  model: ClusterModel,
  pod: T,
): T {
  if (!exporterEnabled(model)) return pod;
  return {
    ...pod,
    containers: [...(pod.containers ?? []), exporterContainer(model)],
    volumes: [...(pod.volumes ?? []), configVolume(model)],
  };
}

/**
 * Beside pgBouncer: reads SHOW STATS/POOLS on the local admin console as the auth_user (a
 * `stats_users` entry). Its password comes from PGPASSWORD, which the Go driver reads, so it
 * never shows in the process's arguments.
 */
export function pgbouncerExporterContainer(model: ClusterModel): V1Container {
  const exporter = exporterSpec(model)!;
  const port = model.spec.proxy?.pgBouncer?.port ?? 5432;
  return {
    name: PGBOUNCER_EXPORTER_CONTAINER,
    image: IMAGES.pgbouncerExporter,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    args: [
      `--pgBouncer.connectionString=postgres://${ROLES.pgbouncer}@localhost:${port}/pgbouncer?sslmode=require`,
      `--web.listen-address=:${PORTS.pgbouncerExporter}`,
    ],
    env: [secretEnv("PGPASSWORD", names.pgbouncer(model.name), ROLE_SECRET_KEYS.password)],
    ports: [{ name: PGBOUNCER_EXPORTER_PORT_NAME, containerPort: PORTS.pgbouncerExporter, protocol: "TCP" }],
    ...(exporter.resources ? { resources: exporter.resources as V1Container["resources"] } : {}),
    securityContext: restrictedContainerSecurity,
  };
}
