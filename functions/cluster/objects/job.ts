/**
 * @module
 * The cluster's Jobs. Each is named by a hash of the work it does (the SQL, the configuration,
 * the switchover target), runs once, and stays observable after it finishes (no TTL): while
 * that hash is current the hook returns the observed Job unchanged (sync.ts), so an unchanged
 * spec never runs it again and a Job's immutable pod template is never updated. Different
 * work gets a new name, hence a new Job.
 * - users: psql as the superuser against `<cluster>-primary` (TLS verify-full) applying
 *   users/sql.ts.
 * - patroni config: `PUT /config` on Patroni's REST API with the dynamic configuration, which
 *   Patroni applies to every member (reloading Postgres; restart-only parameters wait for the
 *   rolling restart).
 * - switchover: `POST /switchover` to move the leader before its pod is replaced or removed.
 */
import type { V1Container, V1EnvVar, V1Job, V1PodSpec, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { podSecurity, restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { INTERNAL_KEYS } from "../users/secrets.ts";
import { contentHash } from "./canonical.ts";
import { withKind } from "./kinds.ts";
import { childMeta } from "./metadata.ts";

const JOB_HASH_LENGTH = 10;
const TLS_MOUNT = "/etc/tusk/tls";
const USERS_MOUNT = "/etc/tusk/users";
const PATRONI_MOUNT = "/etc/tusk/patroni";

/** The cluster ConfigMap key holding the dynamic configuration the config Job sends. */
export const DYNAMIC_CONFIG_KEY = "patroni-dynamic.json";

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

/** Creates and updates roles and databases; named by the SQL it applies. */
export function buildUsersJob(model: ClusterModel, sql: string): V1Job {
  const host = `${names.primaryService(model.name)}.${model.namespace}.svc`;
  return job(
    model,
    (hash) => names.usersJob(model.name, hash),
    {
      component: "users",
      command: ["psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", `--file=${USERS_MOUNT}/users.sql`],
      env: [
        { name: "PGHOST", value: host },
        { name: "PGPORT", value: String(model.port) },
        { name: "PGDATABASE", value: "postgres" },
        { name: "PGSSLMODE", value: "verify-full" },
        { name: "PGSSLROOTCERT", value: `${TLS_MOUNT}/ca.crt` },
        { name: "PGCONNECT_TIMEOUT", value: "10" },
        internalEnv(model, "PGUSER", INTERNAL_KEYS.superuserUsername),
        internalEnv(model, "PGPASSWORD", INTERNAL_KEYS.superuserPassword),
      ],
      volumes: [
        caVolume(model),
        { name: "users", secret: { secretName: names.usersSqlSecret(model.name), defaultMode: 0o440 } },
      ],
      mounts: [
        { name: "ca", mountPath: TLS_MOUNT, readOnly: true },
        { name: "users", mountPath: USERS_MOUNT, readOnly: true },
      ],
    },
    sql,
  );
}

function patroniUrl(model: ClusterModel, host: string, path: string): string {
  return `http://${host}.${names.podsService(model.name)}.${model.namespace}.svc:${model.patroniPort}${path}`;
}

function curl(method: string, url: string, data: string): string[] {
  return [
    "curl",
    "--fail",
    "--silent",
    "--show-error",
    "--max-time",
    "60",
    "--retry",
    "10",
    "--retry-delay",
    "3",
    "--retry-connrefused",
    "--user",
    "$(PATRONI_API_USER):$(PATRONI_API_PASSWORD)",
    "--header",
    "Content-Type: application/json",
    "--request",
    method,
    "--data",
    data,
    url,
  ];
}

const apiEnv = (model: ClusterModel): V1EnvVar[] => [
  internalEnv(model, "PATRONI_API_USER", INTERNAL_KEYS.patroniUsername),
  internalEnv(model, "PATRONI_API_PASSWORD", INTERNAL_KEYS.patroniPassword),
];

/**
 * Sends the dynamic configuration to Patroni. Any member accepts it and writes it to the DCS,
 * so the request goes to the headless Service's name rather than to a leader that may move.
 */
export function buildPatroniConfigJob(model: ClusterModel, dynamicConfig: unknown): V1Job {
  const url = `http://${names.podsService(model.name)}.${model.namespace}.svc:${model.patroniPort}/config`;
  return job(
    model,
    (hash) => names.patroniConfigJob(model.name, hash),
    {
      component: "patroni-config",
      command: curl("PUT", url, `@${PATRONI_MOUNT}/${DYNAMIC_CONFIG_KEY}`),
      env: apiEnv(model),
      volumes: [
        {
          name: "patroni",
          configMap: {
            name: names.clusterConfig(model.name),
            items: [{ key: DYNAMIC_CONFIG_KEY, path: DYNAMIC_CONFIG_KEY }],
          },
        },
      ],
      mounts: [{ name: "patroni", mountPath: PATRONI_MOUNT, readOnly: true }],
    },
    dynamicConfig,
  );
}

/** Asks Patroni to hand leadership from `leader` to `candidate` (both pod names). */
export function buildSwitchoverJob(
  model: ClusterModel,
  leader: string | undefined,
  candidate: string | undefined,
  trigger?: SwitchoverTrigger,
): V1Job {
  // Patroni's /failover needs only the candidate (the leader may be gone) and any member takes it.
  const failover = trigger?.type === "Failover";
  const host = failover ? candidate : leader;
  if (!host) throw new Error(`a ${failover ? "failover needs a candidate" : "switchover needs the leader"}`);
  return job(
    model,
    (hash) => names.switchoverJob(model.name, hash),
    {
      component: "switchover",
      command: curl(
        "POST",
        patroniUrl(model, host, failover ? "/failover" : "/switchover"),
        JSON.stringify(failover ? { candidate } : { leader, candidate }),
      ),
      env: apiEnv(model),
      volumes: [],
      mounts: [],
    },
    trigger ? triggerWork(trigger.id) : { leader, candidate },
  );
}

/**
 * A switchover or failover asked for with the annotation postgres.tusk.dev/trigger-switchover:
 * its Job is named by the annotation's value alone, so one value runs one Job, whoever leads.
 */
export interface SwitchoverTrigger {
  id: string;
  type: "Switchover" | "Failover";
}

const triggerWork = (id: string) => ({ trigger: id });

/** The name of the Job a trigger value runs (or ran). */
export function triggeredSwitchoverJobName(model: ClusterModel, id: string): string {
  return names.switchoverJob(model.name, contentHash(triggerWork(id), JOB_HASH_LENGTH));
}
