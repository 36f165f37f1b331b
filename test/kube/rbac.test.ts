/**
 * RBAC, judged by the real authorizer. Metacontroller runs the whole suite with only Tusk's
 * documented ClusterRole (plus its own objects), so every child it creates, a cluster's Role
 * included (the API server refuses to create a Role granting what its creator lacks), is proof.
 * Here: the scheduler writes PostgresBackups through the API with the functions' own token,
 * each cluster's Role gives Patroni what its Kubernetes DCS uses and nothing else, and the
 * functions' ServiceAccount holds nothing it does not use.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { refusedWrites } from "./lib/checks.ts";
import { type Kube, kube, type Obj } from "./lib/env.ts";
import { FUNCTIONS_USER } from "./lib/install.ts";

const NS = "kube-rbac";
const OTHER = "kube-rbac-other";
const NAME = "rbac";
let k: Kube;
let mark = 0;

beforeAll(async () => {
  k = kube();
  mark = k.auditMark();
  await k.namespace(NS);
  await k.namespace(OTHER);
  await k.apply(
    {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster",
      metadata: { name: NAME },
      spec: {
        postgresVersion: 16,
        instances: [
          {
            name: "i1",
            dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
        ],
        backups: {
          pgbackrest: {
            repos: [
              {
                name: "repo1",
                schedules: { full: "0 1 * * 0" },
                volume: {
                  volumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
                },
              },
            ],
          },
        },
      },
    },
    NS,
  );
});

async function can(user: string, verb: string, resource: string, namespace: string): Promise<boolean> {
  const r = await k.kubectl(["auth", "can-i", verb, resource, "-n", namespace, `--as=${user}`]);
  return r.stdout.trim() === "yes";
}

describe("RBAC", () => {
  it("each cluster's RoleBinding grants Patroni's Kubernetes DCS what it uses, in its own namespace only", async () => {
    const binding = await k.waitFor(
      "the instances' RoleBinding",
      async () =>
        (await k.list("rolebindings", NS, `postgres.tusk.dev/cluster=${NAME}`)).find(
          (b: Obj) => b.roleRef.kind === "ClusterRole" && b.roleRef.name === "tusk-instance",
        ),
      { describe: () => k.logs() },
    );
    const sa = binding.subjects[0];
    const [sts] = await k.list("statefulsets", NS, `postgres.tusk.dev/cluster=${NAME}`);
    expect(sts!.spec.template.spec.serviceAccountName).toBe(sa.name);
    const user = `system:serviceaccount:${NS}:${sa.name}`;
    // patroni/dcs/kubernetes.py: the leader lock and config in Endpoints, members' state on their Pods
    const needed: [string, string][] = [
      ["get", "endpoints"],
      ["list", "endpoints"],
      ["watch", "endpoints"],
      ["create", "endpoints"],
      ["patch", "endpoints"],
      ["update", "endpoints"],
      ["delete", "endpoints"],
      ["get", "pods"],
      ["list", "pods"],
      ["watch", "pods"],
      ["patch", "pods"],
      ["create", "services"],
      ["list", "configmaps"],
    ];
    for (const [verb, resource] of needed)
      expect(await can(user, verb, resource, NS), `${verb} ${resource}`).toBe(true);
    const denied: [string, string, string][] = [
      ["get", "secrets", NS],
      ["list", "secrets", NS],
      ["delete", "pods", NS],
      ["create", "pods/exec", NS],
      ["delete", "statefulsets", NS],
      ["get", "endpoints", OTHER],
      ["patch", "pods", OTHER],
    ];
    for (const [verb, resource, ns] of denied)
      expect(await can(user, verb, resource, ns), `${verb} ${resource} in ${ns}`).toBe(false);
  });

  it("the functions' ServiceAccount can do what the scheduler does and no more", async () => {
    for (const [verb, resource] of [
      ["create", "postgresbackups"],
      ["list", "postgresbackups"],
      ["delete", "postgresbackups"],
      ["get", "postgresclusters"],
    ] as const)
      expect(await can(FUNCTIONS_USER, verb, `${resource}.postgres.tusk.dev`, NS), `${verb} ${resource}`).toBe(true);
    for (const [verb, resource] of [
      ["create", "postgresclusters.postgres.tusk.dev"],
      ["delete", "postgresclusters.postgres.tusk.dev"],
      ["update", "postgresbackups.postgres.tusk.dev/status"],
      ["get", "secrets"],
      ["list", "pods"],
      ["create", "jobs.batch"],
    ] as const)
      expect(await can(FUNCTIONS_USER, verb, resource, NS), `${verb} ${resource}`).toBe(false);
  });

  it("a PingSource tick makes the scheduler create a PostgresBackup through the API with its own token", async () => {
    const time = "2026-12-07T01:00:00Z";
    const res = await fetch(`${k.env.functions.http}/scheduler/ping`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "kube-rbac-tick-1",
        "ce-source": "/apis/v1/namespaces/kube-rbac/pingsources/rbac-repo1-full",
        "ce-type": "dev.knative.sources.ping",
        "ce-time": time,
      },
      body: JSON.stringify({ cluster: NAME, namespace: NS, repoName: "repo1", type: "full" }),
    });
    const body = await res.text();
    expect(res.status, body).toBeLessThan(300);
    const backups = await k.waitFor("the scheduled PostgresBackup", async () => {
      const items = await k.list("postgresbackups", NS);
      return items.length ? items : undefined;
    });
    expect(backups.map((b: Obj) => b.spec)).toEqual([
      expect.objectContaining({ cluster: NAME, repoName: "repo1", type: "full" }),
    ]);
    const created = k
      .audit(mark)
      .filter(
        (e) => e.user.username === FUNCTIONS_USER && e.verb === "create" && e.objectRef?.resource === "postgresbackups",
      );
    expect(created.map((e) => e.responseStatus?.code)).toEqual([201]);
    // the backup controller takes it from there: a Job, whose pod passes Pod Security restricted
    await k.waitFor(
      "the backup Job",
      async () =>
        (await k.list("jobs", NS)).some((j: Obj) => j.metadata.ownerReferences?.[0]?.kind === "PostgresBackup"),
      {
        timeoutMs: 60_000,
        describe: () => k.logs(),
      },
    );
  });

  it("Metacontroller, with only the documented permissions, had no write refused", () => {
    expect(refusedWrites(k, mark)).toEqual([]);
  });
});
