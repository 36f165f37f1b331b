/**
 * @module
 * The Jobs that talk to Patroni's REST API:
 * - configuration: `PUT /config` with the dynamic configuration, which Patroni applies to every
 *   member (reloading Postgres; restart-only parameters wait for the rolling restart);
 * - switchover: `POST /switchover` to move the leader before its pod is replaced or removed,
 *   or `POST /failover` when asked for one.
 */
import type { V1EnvVar, V1Job } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import { contentHash } from "../objects/canonical.ts";
import { internalEnv, JOB_HASH_LENGTH, job } from "../objects/job.ts";
import { INTERNAL_KEYS } from "../users/internal-secret.ts";

const PATRONI_MOUNT = "/etc/tusk/patroni";

/** The cluster ConfigMap key holding the dynamic configuration the config Job sends. */
export const DYNAMIC_CONFIG_KEY = "patroni-dynamic.json";

function patroniUrl(model: ClusterModel, host: string, path: string): string {
  return `http://${host}.${names.podsService(model.name)}.${model.namespace}.svc:${model.patroniPort}${path}`;
}

/**
 * The REST API's credentials reach curl on its standard input as a config file (`--config -`),
 * written by the shell's printf builtin: an argument such as `--user name:password` would be
 * in the process's command line, which every process on the node can read.
 */
const CURL_WITH_CREDENTIALS = `printf 'user = "%s:%s"\\n' "$PATRONI_API_USER" "$PATRONI_API_PASSWORD" | exec "$@" --config -`;

function curl(method: string, url: string, data: string): string[] {
  return [
    "sh",
    "-c",
    CURL_WITH_CREDENTIALS,
    "patroni-api",
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
