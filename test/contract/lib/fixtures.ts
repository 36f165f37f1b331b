/**
 * @module
 * Realistic request bodies for every hook route (what Metacontroller, the API server and a
 * Knative PingSource send), shared by the contract suite and the benchmark. A `secret` string
 * is planted where Secret data and user-supplied text would be, so tests can check it never
 * reaches the logs.
 */

const NS = "db";
const CLUSTER = "hippo-ha";
const CLUSTER_UID = "0b6a4d2e-5c1f-4a7e-9d3b-1f2e3a4b5c6d";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

const ownerRef = (kind: string, name: string, uid: string) => ({
  apiVersion: "postgres.tusk.dev/v1",
  kind,
  name,
  uid,
  controller: true,
  blockOwnerDeletion: true,
});

const labels = (component: string, extra: Record<string, string> = {}) => ({
  "app.kubernetes.io/name": "postgres",
  "app.kubernetes.io/instance": CLUSTER,
  "app.kubernetes.io/component": component,
  "app.kubernetes.io/managed-by": "tusk",
  "postgres.tusk.dev/cluster": CLUSTER,
  ...extra,
});

const volumeClaim = (size: string) => ({
  accessModes: ["ReadWriteOnce"],
  resources: { requests: { storage: size } },
});

/** PGO's high-availability example, extended with the spec areas a real cluster uses. */
function haCluster(secret: string) {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresCluster",
    metadata: {
      name: CLUSTER,
      namespace: NS,
      uid: CLUSTER_UID,
      generation: 3,
      resourceVersion: "48211",
      creationTimestamp: "2026-09-01T10:00:00Z",
      labels: { team: "payments" },
      annotations: { "example.com/contact": secret },
      finalizers: ["metacontroller.k8s.io/tusk-postgrescluster"],
    },
    spec: {
      postgresVersion: 16,
      port: 5432,
      instances: [
        {
          name: "pgha1",
          replicas: 3,
          minAvailable: 1,
          dataVolumeClaimSpec: volumeClaim("10Gi"),
          walVolumeClaimSpec: volumeClaim("2Gi"),
          resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 1,
                  podAffinityTerm: {
                    topologyKey: "kubernetes.io/hostname",
                    labelSelector: {
                      matchLabels: { "postgres.tusk.dev/cluster": CLUSTER, "postgres.tusk.dev/instance-set": "pgha1" },
                    },
                  },
                },
              ],
            },
          },
        },
      ],
      users: [
        { name: "app", databases: ["app"], options: "CREATEDB" },
        { name: "reporting", databases: ["app"], password: { type: "AlphaNumeric" } },
      ],
      backups: {
        pgbackrest: {
          global: { "repo1-retention-full": "14", "repo2-path": `/pgbackrest/${NS}/${CLUSTER}/repo2` },
          configuration: [{ secret: { name: "hippo-ha-s3-creds" } }],
          repos: [
            { name: "repo1", volume: { volumeClaimSpec: volumeClaim("20Gi") }, schedules: { full: "0 1 * * 0" } },
            {
              name: "repo2",
              s3: { bucket: "tusk-backups", endpoint: "s3.eu-west-1.amazonaws.com", region: "eu-west-1" },
              schedules: { full: "0 2 * * 0", differential: "0 2 * * 1-6" },
            },
          ],
        },
      },
      proxy: { pgBouncer: { replicas: 2, port: 5432 } },
      monitoring: { pgmonitor: { exporter: {} } },
      patroni: { leaderLeaseDurationSeconds: 30, syncPeriodSeconds: 10, port: 8008 },
      config: { parameters: { max_connections: 200, shared_buffers: "256MB", work_mem: "4MB" } },
    },
    status: {
      observedGeneration: 3,
      phase: "Running",
      primary: "hippo-ha-pgha1-0-0",
      readyInstances: "3/3",
    },
  };
}

function statefulSet(ordinal: number) {
  const name = `${CLUSTER}-pgha1-${ordinal}`;
  const selector = { "postgres.tusk.dev/cluster": CLUSTER, "postgres.tusk.dev/instance": name };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name,
      namespace: NS,
      uid: `5a0c0f3e-0000-4000-8000-00000000000${ordinal}`,
      generation: 2,
      labels: labels("database", { "postgres.tusk.dev/instance-set": "pgha1", "postgres.tusk.dev/instance": name }),
      ownerReferences: [ownerRef("PostgresCluster", CLUSTER, CLUSTER_UID)],
    },
    spec: {
      replicas: 1,
      serviceName: `${CLUSTER}-pods`,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...selector, "postgres.tusk.dev/role": ordinal === 0 ? "master" : "replica" } },
        spec: {
          containers: [
            { name: "database", image: "postgres-patroni:16", ports: [{ name: "postgres", containerPort: 5432 }] },
          ],
        },
      },
    },
    status: {
      observedGeneration: 2,
      replicas: 1,
      readyReplicas: 1,
      currentReplicas: 1,
      updatedReplicas: 1,
      availableReplicas: 1,
      currentRevision: `${name}-6d9f7c5b8d`,
      updateRevision: `${name}-6d9f7c5b8d`,
    },
  };
}

function service(suffix: string, extra: Record<string, unknown> = {}) {
  const name = `${CLUSTER}-${suffix}`;
  return [
    name,
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name,
        namespace: NS,
        labels: labels("database"),
        ownerReferences: [ownerRef("PostgresCluster", CLUSTER, CLUSTER_UID)],
      },
      spec: { type: "ClusterIP", ports: [{ name: "postgres", port: 5432, targetPort: "postgres" }], ...extra },
    },
  ] as const;
}

function userSecret(user: string, secret: string) {
  const name = `${CLUSTER}-pguser-${user}`;
  return [
    name,
    {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name,
        namespace: NS,
        labels: labels("pguser", { "postgres.tusk.dev/pguser": user }),
        ownerReferences: [ownerRef("PostgresCluster", CLUSTER, CLUSTER_UID)],
      },
      data: {
        user: b64(user),
        password: b64(secret),
        verifier: b64(`SCRAM-SHA-256$4096:${secret}`),
        host: b64(`${CLUSTER}-primary.${NS}.svc`),
        port: b64("5432"),
        uri: b64(`postgresql://${user}:${secret}@${CLUSTER}-primary.${NS}.svc:5432/app`),
      },
    },
  ] as const;
}

const compositeController = (name: string, parentResource: string, children: string[]) => ({
  apiVersion: "metacontroller.k8s.io/v1alpha1",
  kind: "CompositeController",
  metadata: { name },
  spec: {
    generateSelector: true,
    parentResource: { apiVersion: "postgres.tusk.dev/v1", resource: parentResource },
    childResources: children.map((resource) => ({ apiVersion: "v1", resource })),
  },
});

/** A steady-state sync of a 3-instance HA cluster: every child exists and is ready. */
export function clusterSyncRequest(secret: string, finalizing = false) {
  const parent = haCluster(secret);
  if (finalizing) Object.assign(parent.metadata, { deletionTimestamp: "2026-09-02T08:00:00Z", generation: 4 });
  return {
    controller: compositeController("tusk-postgrescluster", "postgresclusters", ["services", "secrets", "configmaps"]),
    parent,
    children: {
      "StatefulSet.apps/v1": Object.fromEntries([0, 1, 2].map((i) => [`${CLUSTER}-pgha1-${i}`, statefulSet(i)])),
      "Service.v1": Object.fromEntries([
        service("primary"),
        service("replicas"),
        service("pods", { clusterIP: "None", publishNotReadyAddresses: true }),
        service("ha", { clusterIP: "None" }),
      ]),
      "Secret.v1": Object.fromEntries([userSecret("app", secret), userSecret("reporting", `${secret}-2`)]),
      "ConfigMap.v1": {
        [`${CLUSTER}-config`]: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `${CLUSTER}-config`, namespace: NS, labels: labels("config") },
          data: { "patroni.yaml": "bootstrap:\n  dcs:\n    ttl: 30\n" },
        },
      },
      "PodDisruptionBudget.policy/v1": {},
      "Job.batch/v1": {},
      "Deployment.apps/v1": {},
      "ServiceAccount.v1": {},
      "Role.rbac.authorization.k8s.io/v1": {},
      "RoleBinding.rbac.authorization.k8s.io/v1": {},
      "PingSource.sources.knative.dev/v1": {},
    },
    related: {},
    finalizing,
  };
}

function clusterCustomizeRequest(secret: string) {
  return {
    controller: compositeController("tusk-postgrescluster", "postgresclusters", ["services"]),
    parent: haCluster(secret),
  };
}

function backupParent() {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresBackup",
    metadata: {
      name: `${CLUSTER}-manual-1`,
      namespace: NS,
      uid: "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
      generation: 1,
      creationTimestamp: "2026-09-02T09:00:00Z",
    },
    spec: { cluster: CLUSTER, repoName: "repo2", type: "full" },
  };
}

function restoreParent() {
  return {
    apiVersion: "postgres.tusk.dev/v1",
    kind: "PostgresRestore",
    metadata: {
      name: `${CLUSTER}-pitr-1`,
      namespace: NS,
      uid: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
      generation: 1,
      creationTimestamp: "2026-09-02T10:00:00Z",
    },
    spec: { cluster: CLUSTER, repoName: "repo1", target: { type: "time", value: "2026-09-02 09:30:00+00" } },
  };
}

const relatedCluster = (secret: string) => ({
  "PostgresCluster.postgres.tusk.dev/v1": { [CLUSTER]: haCluster(secret) },
});

export function backupSyncRequest(secret: string) {
  return {
    controller: compositeController("tusk-postgresbackup", "postgresbackups", ["jobs"]),
    parent: backupParent(),
    children: { "Job.batch/v1": {} },
    related: relatedCluster(secret),
    finalizing: false,
  };
}

export function restoreSyncRequest(secret: string) {
  return {
    controller: compositeController("tusk-postgresrestore", "postgresrestores", ["jobs"]),
    parent: restoreParent(),
    children: { "Job.batch/v1": {} },
    related: relatedCluster(secret),
    finalizing: false,
  };
}

export function admissionReview(secret: string) {
  const cluster = haCluster(secret);
  const { status: _status, ...object } = cluster;
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: { group: "postgres.tusk.dev", version: "v1", kind: "PostgresCluster" },
      resource: { group: "postgres.tusk.dev", version: "v1", resource: "postgresclusters" },
      requestKind: { group: "postgres.tusk.dev", version: "v1", kind: "PostgresCluster" },
      requestResource: { group: "postgres.tusk.dev", version: "v1", resource: "postgresclusters" },
      name: CLUSTER,
      namespace: NS,
      operation: "CREATE",
      userInfo: { username: "admin", uid: "014fbff9a07c", groups: ["system:authenticated"] },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  };
}

/** A PingSource tick: CloudEvents binary mode, the schedule's data as the JSON body. */
export function pingEvent(): { body: unknown; headers: Record<string, string> } {
  return {
    body: { cluster: CLUSTER, namespace: NS, repoName: "repo2", type: "full" },
    headers: {
      "ce-specversion": "1.0",
      "ce-id": "49f04fe2-7708-453d-ae0a-5fbaca9586a8",
      "ce-source": `/apis/v1/namespaces/${NS}/pingsources/${CLUSTER}-repo2-full`,
      "ce-type": "dev.knative.sources.ping",
      "ce-time": "2026-09-06T02:00:00.412Z",
      "kn-namespace": NS,
    },
  };
}

export interface PostRoute {
  path: string;
  /** A realistic request the route must accept. */
  request(secret: string): { body: unknown; headers?: Record<string, string> };
  /** Fields one of which a 400 for an empty JSON object `{}` should name. */
  required: string[];
}

const hookFields = ["parent"];

/** The fixed POST routes of issue 2, each with a realistic request. */
export const POST_ROUTES: PostRoute[] = [
  { path: "/cluster/sync", request: (s) => ({ body: clusterSyncRequest(s) }), required: hookFields },
  { path: "/cluster/finalize", request: (s) => ({ body: clusterSyncRequest(s, true) }), required: hookFields },
  { path: "/cluster/customize", request: (s) => ({ body: clusterCustomizeRequest(s) }), required: hookFields },
  { path: "/backup/sync", request: (s) => ({ body: backupSyncRequest(s) }), required: hookFields },
  {
    path: "/backup/customize",
    request: () => ({ body: { controller: {}, parent: backupParent() } }),
    required: hookFields,
  },
  { path: "/restore/sync", request: (s) => ({ body: restoreSyncRequest(s) }), required: hookFields },
  {
    path: "/restore/customize",
    request: () => ({ body: { controller: {}, parent: restoreParent() } }),
    required: hookFields,
  },
  {
    path: "/admission/validate",
    request: (s) => ({ body: admissionReview(s) }),
    required: ["apiVersion", "kind", "request"],
  },
  { path: "/scheduler/ping", request: () => pingEvent(), required: ["cluster", "namespace", "repoName", "type"] },
];

export const GET_ROUTES = ["/healthz", "/readyz", "/metrics"];
