/**
 * @module
 * The children of a PostgresRestore, all Jobs, each a single container:
 * - restore: `pgbackrest restore` into the target instance's volume, then recovery to the target
 *   (shared/restore/pod.ts), as the cluster's instance ServiceAccount (a cloud identity for object storage)
 *   without its API token;
 * - dcs: deletes Patroni's DCS objects (the Endpoints/ConfigMaps labelled with the cluster and
 *   its Patroni scope: leader, config with the initialize key and timeline history, failover,
 *   sync), so Patroni bootstraps a new cluster from the restored directory instead of waiting
 *   for the old leader or refusing the restored node as lagging (its `optime`). It runs as the
 *   instance ServiceAccount, whose Role already allows exactly that (`patronictl remove`);
 * - reset: clears one other instance's data directory so it re-clones from the restored leader.
 */
import type { V1Container, V1Job, V1PodSpec, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { ClusterModel, InstanceModel } from "../../shared/cluster/model.ts";
import { clusterLabels, LABEL, labelValue } from "../../shared/labels.ts";
import { names } from "../../shared/names.ts";
import { restoreArgs } from "../../shared/pgbackrest/commands.ts";
import { pgbackrestConfigMount, pgbackrestConfigVolume } from "../../shared/pgbackrest/volumes.ts";
import { binDirectory, dataDirectory, PATHS, walDirectory } from "../../shared/pod-layout.ts";
import { podSecurity, restrictedContainerSecurity } from "../../shared/pod-security.ts";
import {
  dataVolumes,
  READY_SUFFIX,
  RESULT_SUFFIX,
  restoreContainer,
  WORK_SUFFIX,
  workDirectory,
} from "../../shared/restore/pod.ts";
import { type RestorePlan, restoreCommandOf } from "../../shared/restore/target.ts";
import { withKind } from "./kinds.ts";

export interface RestoreRef {
  name: string;
  namespace: string;
  repoName: string;
}

/** Labels of a restore's Jobs and Pods; `restore` selects the Pods in the customize hook. */
function restoreLabels(cluster: string, restore: string, role: string): Record<string, string> {
  return {
    ...clusterLabels(cluster, "restore"),
    [LABEL.pgbackrest]: role,
    [LABEL.restore]: labelValue(restore),
  };
}

function hasWal(model: ClusterModel, instance: InstanceModel): boolean {
  return model.sets.find((s) => s.name === instance.set)?.spec.walVolumeClaimSpec !== undefined;
}

function claims(model: ClusterModel, instance: InstanceModel): { data: string; wal?: string } {
  return {
    data: names.dataVolumeClaim(instance.name),
    ...(hasWal(model, instance) ? { wal: names.walVolumeClaim(instance.name) } : {}),
  };
}

interface JobInput {
  model: ClusterModel;
  ref: RestoreRef;
  name: string;
  role: string;
  container: V1Container;
  volumes: V1Volume[];
  /** Only the DCS reset talks to the Kubernetes API. */
  apiToken?: boolean;
}

function job(input: JobInput): V1Job {
  const { model } = input;
  const labels = restoreLabels(model.name, input.ref.name, input.role);
  const restore = model.spec.backups?.pgbackrest?.restore;
  const spec: V1PodSpec = {
    restartPolicy: "Never",
    serviceAccountName: names.instanceRbac(model.name),
    automountServiceAccountToken: input.apiToken === true,
    enableServiceLinks: false,
    securityContext: podSecurity(model),
    containers: [input.container],
    volumes: input.volumes,
    ...(model.spec.imagePullSecrets?.length ? { imagePullSecrets: model.spec.imagePullSecrets } : {}),
    ...(restore?.affinity ? { affinity: restore.affinity as V1PodSpec["affinity"] } : {}),
    ...(restore?.tolerations?.length ? { tolerations: restore.tolerations as V1PodSpec["tolerations"] } : {}),
    ...(restore?.priorityClassName ? { priorityClassName: restore.priorityClassName } : {}),
  };
  return withKind("Job", {
    metadata: { name: input.name, namespace: input.ref.namespace, labels },
    spec: { backoffLimit: 2, template: { metadata: { labels }, spec } },
  });
}

function directories(model: ClusterModel, instance: InstanceModel) {
  return {
    dataDirectory: dataDirectory(model.version),
    binDirectory: binDirectory(model.version),
    ...(hasWal(model, instance) ? { walDirectory: walDirectory(model.version) } : {}),
  };
}

/** The pgbackrest argv of an in-place restore into `instance`. */
export function restoreJobArgs(model: ClusterModel, instance: InstanceModel, repoName: string, plan: RestorePlan) {
  const dirs = directories(model, instance);
  return restoreArgs(
    restoreCommandOf(plan, repoName, {
      pgPath: workDirectory(dirs.dataDirectory),
      ...(dirs.walDirectory ? { linkMap: { pg_wal: dirs.walDirectory } } : {}),
    }),
  );
}

export function buildRestoreJob(
  ref: RestoreRef,
  model: ClusterModel,
  instance: InstanceModel,
  plan: RestorePlan,
): V1Job {
  const data = dataVolumes(claims(model, instance));
  const cluster = { name: model.name, namespace: model.namespace, spec: model.spec };
  const restore = model.spec.backups?.pgbackrest?.restore;
  return job({
    model,
    ref,
    name: names.restoreJob(ref.name),
    role: "restore",
    container: restoreContainer({
      image: model.image,
      ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
      mode: "in-place",
      dirs: directories(model, instance),
      pgbackrestArgv: restoreJobArgs(model, instance, ref.repoName, plan),
      volumeMounts: [...data.mounts, pgbackrestConfigMount],
      ...(restore?.resources ? { resources: restore.resources } : {}),
    }),
    volumes: [...data.volumes, pgbackrestConfigVolume(cluster, "instance")],
  });
}

/** A small shell step in the cluster's image with /tmp writable. */
function stepContainer(model: ClusterModel, name: string, script: string, extra: Partial<V1Container>): V1Container {
  return {
    name,
    image: model.image,
    ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
    command: ["sh", "-c", script],
    securityContext: restrictedContainerSecurity,
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...extra,
  };
}

/** Patroni's labels on its DCS objects (patroni.ts: `kubernetes.labels` plus the scope label). */
export function dcsSelector(model: ClusterModel): string {
  return [`${LABEL.cluster}=${labelValue(model.name)}`, `${LABEL.patroniScope}=${names.patroniScope(model.name)}`].join(
    ",",
  );
}

const DCS_SCRIPT = `set -eu
sa=/var/run/secrets/kubernetes.io/serviceaccount
ns=$(cat "$sa/namespace")
for kind in endpoints configmaps; do
  curl --fail --silent --show-error --max-time 60 --retry 10 --retry-delay 3 --retry-connrefused \\
    --cacert "$sa/ca.crt" --header "Authorization: Bearer $(cat "$sa/token")" --request DELETE \\
    "https://kubernetes.default.svc/api/v1/namespaces/$ns/$kind?labelSelector=$DCS_SELECTOR" > /dev/null
  echo "tusk: deleted Patroni's $kind ($DCS_SELECTOR)"
done
`;

export function buildDcsResetJob(ref: RestoreRef, model: ClusterModel): V1Job {
  const tmp: V1VolumeMount = { name: "tmp", mountPath: PATHS.tmp };
  return job({
    model,
    ref,
    name: names.restoreDcsJob(ref.name),
    role: "restore-dcs",
    apiToken: true,
    container: stepContainer(model, "dcs", DCS_SCRIPT, {
      env: [
        { name: "DCS_SELECTOR", value: encodeURIComponent(dcsSelector(model)) },
        { name: "HOME", value: PATHS.tmp },
      ],
      volumeMounts: [tmp],
    }),
    volumes: [{ name: "tmp", emptyDir: {} }],
  });
}

const RESET_SCRIPT = `set -eu
rm -rf "$PGDATA" "\${PGDATA}${WORK_SUFFIX}" "\${PGDATA}${READY_SUFFIX}" "\${PGDATA}${RESULT_SUFFIX}"
if [ -n "\${TUSK_WAL_DIR:-}" ]; then rm -rf "$TUSK_WAL_DIR"; fi
echo "tusk: cleared $PGDATA; this instance re-clones from the restored leader"
`;

export function buildInstanceResetJob(ref: RestoreRef, model: ClusterModel, instance: InstanceModel): V1Job {
  const data = dataVolumes(claims(model, instance));
  const dirs = directories(model, instance);
  return job({
    model,
    ref,
    name: names.restoreResetJob(ref.name, instance.name),
    role: "restore-reset",
    container: stepContainer(model, "reset", RESET_SCRIPT, {
      env: [
        { name: "PGDATA", value: dirs.dataDirectory },
        ...(dirs.walDirectory ? [{ name: "TUSK_WAL_DIR", value: dirs.walDirectory }] : []),
      ],
      volumeMounts: data.mounts,
    }),
    volumes: data.volumes,
  });
}
