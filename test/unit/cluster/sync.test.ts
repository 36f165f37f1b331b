import { describe, expect, it } from "vitest";
import { INSTANCE_CLUSTER_ROLE, INSTANCE_RULES } from "../../../functions/cluster/instance/role.ts";
import { LABEL } from "../../../shared/labels.ts";
import { byKind, child, cluster, decode, type Json, steadyState, sync } from "./fixtures.ts";

const names = (list: Json[]) => list.map((c) => c.metadata.name as string);

describe("cluster sync: what a cluster gets", () => {
  it("creates the instance StatefulSets, Services, ConfigMap, Secrets, RBAC and PDB of a 2-instance cluster", async () => {
    const res = await sync(cluster());
    expect(names(byKind(res, "StatefulSet"))).toEqual(["hippo-instance1-0", "hippo-instance1-1"]);
    expect(names(byKind(res, "Service"))).toEqual([
      "hippo-ha",
      "hippo-ha-config",
      "hippo-pods",
      "hippo-primary",
      "hippo-replicas",
    ]);
    expect(names(byKind(res, "ConfigMap"))).toEqual(["hippo-config"]);
    expect(names(byKind(res, "Secret"))).toEqual([
      "hippo-ca",
      "hippo-cluster-cert",
      "hippo-internal",
      "hippo-pguser-hippo",
      "hippo-replication-cert",
      "hippo-users-sql",
    ]);
    expect(names(byKind(res, "ServiceAccount"))).toEqual(["hippo-instance"]);
    // Patroni's permissions come from the ClusterRole installed with the operator
    expect(byKind(res, "Role")).toEqual([]);
    expect(names(byKind(res, "RoleBinding"))).toEqual(["hippo-instance"]);
    expect(names(byKind(res, "PodDisruptionBudget"))).toEqual(["hippo-set-instance1"]);
    // No Job before an instance is ready.
    expect(byKind(res, "Job")).toEqual([]);
  });

  it("puts the cluster labels on every child so one selector finds everything", async () => {
    const res = await sync(cluster());
    for (const c of res.children as any[]) {
      expect(c.metadata.labels[LABEL.cluster], `${c.kind} ${c.metadata.name}`).toBe("hippo");
      expect(c.metadata.labels[LABEL.managedBy]).toBe("tusk");
      expect(c.metadata.labels[LABEL.name]).toBe("postgres");
      expect(c.metadata.labels[LABEL.instanceName]).toBe("hippo");
      expect(c.metadata.labels[LABEL.component]).toMatch(/^[a-z-]+$/);
      expect(c.metadata.namespace).toBe("db");
    }
    const sts = child(res, "StatefulSet", "hippo-instance1-1");
    expect(sts.metadata.labels[LABEL.instanceSet]).toBe("instance1");
    expect(sts.metadata.labels[LABEL.instance]).toBe("hippo-instance1-1");
  });

  it("gives unnamed instance sets PGO's names 00, 01 and PGO's labels on the pods", async () => {
    const res = await sync(
      cluster({
        instances: [
          { dataVolumeClaimSpec: { resources: { requests: { storage: "1Gi" } } } },
          { replicas: 2, dataVolumeClaimSpec: { resources: { requests: { storage: "1Gi" } } } },
        ],
      }),
    );
    expect(names(byKind(res, "StatefulSet"))).toEqual(["hippo-00-0", "hippo-01-0", "hippo-01-1"]);
    const labels = child(res, "StatefulSet", "hippo-01-1").spec.template.metadata.labels;
    expect(labels["postgres-operator.crunchydata.com/instance-set"]).toBe("01");
    expect(labels["postgres-operator.crunchydata.com/cluster"]).toBe("hippo");
    expect(labels["postgres-operator.crunchydata.com/data"]).toBe("postgres");
    expect(labels[LABEL.instanceSet]).toBe("01");
  });

  it("runs one pod per StatefulSet under Patroni with PVCs that outlive it", async () => {
    const sts = child(await sync(cluster()), "StatefulSet", "hippo-instance1-0");
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe("hippo-pods");
    expect(sts.spec.updateStrategy).toEqual({ type: "RollingUpdate" });
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    expect(sts.spec.volumeClaimTemplates.map((v: any) => v.metadata.name)).toEqual(["pgdata"]);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("1Gi");
    const container = sts.spec.template.spec.containers[0];
    expect(container.command).toEqual(["patroni", "/etc/patroni/patroni.yaml"]);
    expect(container.readinessProbe.httpGet).toMatchObject({ path: "/readiness", port: 8008 });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: "/liveness", port: 8008 });
    expect(sts.spec.template.spec.serviceAccountName).toBe("hippo-instance");
    // `kubectl exec … -c database -- psql` reaches this instance, as with PGO: the socket
    // directory, the port and the data directory, and no libpq variable that would override
    // what Patroni passes (a PGPASSWORD breaks replica bootstrap, docs/dataplane-notes.md P1).
    const libpq = container.env.filter((e: Json) => e.name.startsWith("PG"));
    expect(libpq).toEqual([
      { name: "PGDATA", value: "/pgdata/pg15" },
      { name: "PGHOST", value: "/tmp/postgres" },
      { name: "PGPORT", value: "5432" },
    ]);
  });

  it("adds a WAL volume and a WAL-aware Patroni configuration when walVolumeClaimSpec is set", async () => {
    const res = await sync(
      cluster({
        instances: [
          { name: "a", dataVolumeClaimSpec: { resources: { requests: { storage: "1Gi" } } } },
          {
            name: "b",
            dataVolumeClaimSpec: { resources: { requests: { storage: "1Gi" } } },
            walVolumeClaimSpec: { resources: { requests: { storage: "2Gi" } } },
          },
        ],
      }),
    );
    const b = child(res, "StatefulSet", "hippo-b-0");
    expect(b.spec.volumeClaimTemplates.map((v: any) => v.metadata.name)).toEqual(["pgdata", "pgwal"]);
    const config = b.spec.template.spec.volumes.find((v: any) => v.name === "patroni-config");
    expect(config.configMap.items).toEqual([{ key: "patroni-pgwal.yaml", path: "patroni.yaml" }]);
    const a = child(res, "StatefulSet", "hippo-a-0");
    expect(a.spec.template.spec.volumes.find((v: any) => v.name === "patroni-config").configMap.items).toEqual([
      { key: "patroni.yaml", path: "patroni.yaml" },
    ]);
    const cm = child(res, "ConfigMap", "hippo-config");
    expect(cm.data["patroni-pgwal.yaml"]).toContain("waldir: /pgwal/pg15_wal");
    expect(cm.data["patroni.yaml"]).not.toContain("waldir");
  });

  it("selects the leader and the replicas by Patroni's role label, and keeps the DCS Service selector-less", async () => {
    const res = await sync(
      cluster({ service: { type: "NodePort", nodePort: 32000, metadata: { annotations: { a: "b" } } } }),
    );
    const primary = child(res, "Service", "hippo-primary");
    expect(primary.spec.selector).toEqual({ [LABEL.cluster]: "hippo", [LABEL.patroniRole]: "master" });
    expect(primary.spec.type).toBe("NodePort");
    expect(primary.spec.ports[0].nodePort).toBe(32000);
    expect(primary.metadata.annotations).toEqual({ a: "b" });
    expect(child(res, "Service", "hippo-replicas").spec.selector).toEqual({
      [LABEL.cluster]: "hippo",
      [LABEL.patroniRole]: "replica",
    });
    expect(child(res, "Service", "hippo-ha").spec.selector).toBeUndefined();
    expect(child(res, "Service", "hippo-ha-config").spec).toEqual({ clusterIP: "None", type: "ClusterIP" });
    const pods = child(res, "Service", "hippo-pods");
    expect(pods.spec.clusterIP).toBe("None");
    expect(pods.spec.publishNotReadyAddresses).toBe(true);
    // The pods Service must select exactly the instance pods.
    const podLabels = child(res, "StatefulSet", "hippo-instance1-0").spec.template.metadata.labels;
    for (const [k, v] of Object.entries(pods.spec.selector)) expect(podLabels[k]).toBe(v);
  });

  it("binds Patroni's ServiceAccount to the ClusterRole with the Kubernetes DCS permissions it needs", async () => {
    const binding = child(await sync(cluster()), "RoleBinding", "hippo-instance");
    expect(binding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: INSTANCE_CLUSTER_ROLE,
    });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "hippo-instance", namespace: "db" }]);
    const verbs = (resource: string) => INSTANCE_RULES.find((r) => r.resources?.includes(resource))?.verbs ?? [];
    expect(verbs("pods")).toEqual(expect.arrayContaining(["get", "list", "watch", "patch"]));
    expect(verbs("endpoints")).toEqual(
      expect.arrayContaining(["get", "list", "watch", "create", "patch", "update", "delete", "deletecollection"]),
    );
    expect(verbs("services")).toContain("create");
    expect(verbs("configmaps")).toEqual(expect.arrayContaining(["get", "list", "watch", "create", "patch"]));
  });

  it("makes a PDB only for sets with more than one instance unless minAvailable is set", async () => {
    const res = await sync(
      cluster({
        instances: [
          { name: "one", dataVolumeClaimSpec: {} },
          { name: "two", replicas: 2, dataVolumeClaimSpec: {} },
          { name: "pinned", minAvailable: "50%", dataVolumeClaimSpec: {} },
        ],
      }),
    );
    expect(names(byKind(res, "PodDisruptionBudget"))).toEqual(["hippo-set-pinned", "hippo-set-two"]);
    expect(child(res, "PodDisruptionBudget", "hippo-set-two").spec.minAvailable).toBe(1);
    expect(child(res, "PodDisruptionBudget", "hippo-set-pinned").spec.minAvailable).toBe("50%");
    expect(child(res, "PodDisruptionBudget", "hippo-set-two").spec.selector.matchLabels).toEqual({
      [LABEL.cluster]: "hippo",
      [LABEL.instanceSet]: "two",
    });
  });

  it("applies scheduling and metadata from the instance set", async () => {
    const res = await sync(
      cluster({
        metadata: { labels: { team: "a" }, annotations: { owner: "x" } },
        imagePullSecrets: [{ name: "regcred" }],
        instances: [
          {
            name: "instance1",
            dataVolumeClaimSpec: {},
            resources: { limits: { cpu: "2", memory: "4Gi" } },
            tolerations: [{ key: "db", operator: "Exists" }],
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway" }],
            priorityClassName: "high",
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
            metadata: { labels: { tier: "db" } },
          },
        ],
      }),
    );
    const sts = child(res, "StatefulSet", "hippo-instance1-0");
    const spec = sts.spec.template.spec;
    expect(spec.containers[0].resources).toEqual({ limits: { cpu: "2", memory: "4Gi" } });
    expect(spec.tolerations).toEqual([{ key: "db", operator: "Exists" }]);
    expect(spec.topologySpreadConstraints[0].topologyKey).toBe("zone");
    expect(spec.priorityClassName).toBe("high");
    expect(spec.affinity.nodeAffinity).toBeDefined();
    expect(spec.affinity.podAntiAffinity).toBeUndefined();
    expect(spec.imagePullSecrets).toEqual([{ name: "regcred" }]);
    expect(sts.spec.template.metadata.labels).toMatchObject({ team: "a", tier: "db" });
    expect(sts.spec.template.metadata.annotations.owner).toBe("x");
    expect(child(res, "Service", "hippo-primary").metadata.labels.team).toBe("a");
  });

  it("defaults to preferred anti-affinity across nodes within the instance set", async () => {
    const spec = child(await sync(cluster()), "StatefulSet", "hippo-instance1-0").spec.template.spec;
    const term = spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
    expect(term.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
    expect(term.podAffinityTerm.labelSelector.matchLabels).toEqual({
      [LABEL.cluster]: "hippo",
      [LABEL.instanceSet]: "instance1",
    });
  });

  it("scales every instance to zero when shut down and keeps the PVC templates", async () => {
    const { children, related } = await steadyState(cluster());
    const res = await sync(cluster({ shutdown: true }), children, related);
    // Replicas stop first, the leader last.
    expect(child(res, "StatefulSet", "hippo-instance1-0").spec.replicas).toBe(1);
    expect(child(res, "StatefulSet", "hippo-instance1-1").spec.replicas).toBe(0);
    const onlyLeader = { "Pod.v1": { "hippo-instance1-0-0": related["Pod.v1"]!["hippo-instance1-0-0"]! } };
    const res2 = await sync(cluster({ shutdown: true }), children, onlyLeader);
    expect(child(res2, "StatefulSet", "hippo-instance1-0").spec.replicas).toBe(0);
    expect(child(res2, "StatefulSet", "hippo-instance1-0").spec.volumeClaimTemplates).toHaveLength(1);
    const res3 = await sync(cluster({ shutdown: true }), children, {});
    expect(res3.status.phase).toBe("Stopped");
    expect(res3.resyncAfterSeconds).toBeUndefined();
  });

  it("creates users and databases only once an instance is ready, with a Job named by what it applies", async () => {
    const { res } = await steadyState(cluster({ users: [{ name: "app", databases: ["appdb"] }] }));
    const jobs = byKind(res, "Job");
    const users = jobs.find((j) => j.metadata.name.startsWith("hippo-users-"))!;
    expect(users).toBeDefined();
    expect(users.spec.template.spec.restartPolicy).toBe("OnFailure");
    expect(users.spec.ttlSecondsAfterFinished).toBeUndefined();
    const env = Object.fromEntries(
      users.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env.PGHOST).toBe("hippo-primary.db.svc");
    expect(env.PGSSLMODE).toBe("verify-full");
    const sql = decode(child(res, "Secret", "hippo-users-sql"))["users.sql"]!;
    const verifier = decode(child(res, "Secret", "hippo-pguser-app")).verifier!;
    expect(sql).toContain(`ALTER ROLE "app" WITH LOGIN PASSWORD '${verifier}';`);
    expect(sql).toContain("CREATE DATABASE %I OWNER %I', 'appdb', 'app'");

    // A change in users runs a new Job; an unchanged spec never does.
    const again = await steadyState(cluster({ users: [{ name: "app", databases: ["appdb", "more"] }] }));
    const usersJob = (r: typeof res) => byKind(r, "Job").find((j) => j.metadata.name.startsWith("hippo-users-"))!;
    expect(usersJob(again.res).metadata.name).not.toBe(users.metadata.name);
  });
});
