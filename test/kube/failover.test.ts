/**
 * Two instances on the test kubelet, Patroni on the Kubernetes DCS: the replica clones the
 * leader over the pod network; deleting the leader's pod hands the lock to the replica (Patroni
 * releases it on SIGTERM) and the old leader comes back as a replica; freezing every process of
 * the new leader's pod (SIGSTOP, as a hung node) makes the other instance take the lock once it
 * expires, and the frozen one, thawed, steps down and follows. Each time the primary Service's endpoints follow the role label and a
 * row written before is read on the new primary. Times are printed, never asserted.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pidsIn } from "../pods/net.ts";
import { decodeSecretData } from "../pods/spec.ts";
import { type Kube, kube, type Obj } from "./lib/env.ts";
import { BASE } from "./lib/proc.ts";

const NS = "kube-failover";
const NAME = "ha";
const PG = 15;
const ROLE = "postgres.tusk.dev/patroni-role";
const PODS = [`${NAME}-i1-0-0`, `${NAME}-i1-1-0`];
const execFileAsync = promisify(execFile);

let k: Kube;
let unavailable: string | undefined;
let su: Record<string, string> = {};

beforeAll(async () => {
  k = kube();
  if ("unavailable" in k.env.pods) unavailable = k.env.pods.unavailable;
  else if (!existsSync("/usr/bin/patroni") || !existsSync(`/usr/lib/postgresql/${PG}/bin/postgres`))
    unavailable = `Patroni and Postgres ${PG} are not installed (bash test/e2e/install.sh)`;
  else await k.namespace(NS, { pods: true });
});

// the later files should not share two cores with a running cluster
afterAll(async () => {
  if (!unavailable)
    await k.kubectl(["-n", NS, "delete", "postgrescluster", NAME, "--wait=true", "--timeout=180s"], {
      timeoutMs: 200_000,
    });
});

const logs = () => {
  if ("unavailable" in k.env.pods) return "";
  const dir = join(dirname(k.env.pods.kubeletLog), "pods");
  const tailOf = (f: string) => {
    try {
      return readFileSync(f, "utf8").split("\n").slice(-15).join("\n");
    } catch {
      return `(no ${f})`;
    }
  };
  return [
    `--- kubelet\n${tailOf(k.env.pods.kubeletLog)}`,
    ...PODS.map((p) => `--- ${p}\n${tailOf(join(dir, `${NS}_${p}_database.log`))}`),
  ].join("\n");
};

/** The leader and the replica by their pods' role labels, once both run and the leader is Ready. */
async function roles(): Promise<{ leader: Obj; replica: Obj } | undefined> {
  const pods = await Promise.all(PODS.map((p) => k.get("pod", p, NS)));
  const leader = pods.find((p) => p?.metadata.labels?.[ROLE] === "master");
  const replica = pods.find((p) => p?.metadata.labels?.[ROLE] === "replica");
  const ready = leader?.status?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True");
  return leader && replica && ready && !leader.metadata.deletionTimestamp ? { leader, replica } : undefined;
}

async function sql(ip: string, query: string): Promise<string> {
  const r = await execFileAsync(
    `/usr/lib/postgresql/${PG}/bin/psql`,
    [`host=${ip} port=5432 dbname=postgres user=${su["superuser-username"]} sslmode=require`, "-tAc", query],
    { env: { PGPASSWORD: su["superuser-password"], PATH: process.env.PATH }, timeout: 30_000 },
  );
  return r.stdout.trim();
}

async function primaryEndpoints(): Promise<string[]> {
  const slices = await k.list("endpointslices", NS, `kubernetes.io/service-name=${NAME}-primary`);
  return slices.flatMap((s) => (s.endpoints ?? []).flatMap((e: Obj) => e.addresses));
}

/** Waits for a leader other than `old` with the other pod back as replica; checks the Service and the row. */
async function newLeader(what: string, old: string, row: string): Promise<Obj> {
  const t0 = Date.now();
  const now = await k.waitFor(
    what,
    async () => {
      const r = await roles();
      return r && r.leader.metadata.name !== old && r;
    },
    { timeoutMs: 240_000, intervalMs: 500, describe: logs },
  );
  const ip = now.leader.status.podIP as string;
  await k.waitFor("the primary Service to follow", async () => (await primaryEndpoints()).join() === ip, {
    timeoutMs: 60_000,
  });
  console.log(`[failover] ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s to a Ready leader with a replica`);
  expect(await sql(ip, "select pg_is_in_recovery()")).toBe("f");
  expect(await sql(ip, `select v from t where v = '${row}'`)).toBe(row);
  return now.leader;
}

describe("failover on the Kubernetes DCS", () => {
  it("a replica clones the leader; deleting the leader's pod hands over; a frozen leader is failed over", async ({
    skip,
  }) => {
    if (unavailable) skip(unavailable);
    await k.apply(
      {
        apiVersion: "postgres.tusk.dev/v1",
        kind: "PostgresCluster",
        metadata: { name: NAME },
        spec: {
          postgresVersion: PG,
          instances: [
            {
              name: "i1",
              replicas: 2,
              dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          ],
        },
      },
      NS,
    );
    const first = await k.waitFor("a leader and a streaming replica", roles, {
      timeoutMs: 300_000,
      intervalMs: 1000,
      describe: logs,
    });
    su = decodeSecretData(await k.get("secret", `${NAME}-internal`, NS));
    const leaderIP = first.leader.status.podIP as string;
    await sql(leaderIP, "create table t (v text); insert into t values ('before switchover')");
    await k.waitFor(
      "the replica to have the row",
      async () => (await sql(first.replica.status.podIP, "select count(*) from t").catch(() => "0")) === "1",
      { timeoutMs: 60_000 },
    );

    // graceful: the pod is deleted, Patroni releases the lock, the StatefulSet recreates the pod
    await k.must(["-n", NS, "delete", "pod", first.leader.metadata.name, "--wait=true", "--timeout=120s"], {
      timeoutMs: 150_000,
    });
    const second = await newLeader(
      "switchover by deleting the leader's pod",
      first.leader.metadata.name,
      "before switchover",
    );

    // hung: every process in the leader pod's network namespace is stopped, Patroni included
    await sql(second.status.podIP, "insert into t values ('before freeze')");
    // asynchronous replication: only a row the replica has is promised to survive
    const replicaIP = (await k.get("pod", PODS.find((p) => p !== second.metadata.name)!, NS))?.status.podIP;
    await k.waitFor(
      "the replica to have the row",
      async () => (await sql(replicaIP, "select count(*) from t").catch(() => "0")) === "2",
      { timeoutMs: 60_000 },
    );
    const netnsDir = join(BASE, "podnet", "netns");
    const netns = readdirSync(netnsDir).find(
      (f) => JSON.parse(readFileSync(join(netnsDir, f), "utf8")).ip === second.status.podIP,
    );
    expect(netns).toBeTruthy();
    const pids = await pidsIn(netns!);
    expect(pids.length).toBeGreaterThan(1);
    const t0 = Date.now();
    for (const pid of pids) process.kill(pid, "SIGSTOP");
    const other = PODS.find((p) => p !== second.metadata.name)!;
    try {
      await k.waitFor(
        `the leader lock to move to ${other}`,
        async () => (await k.get("endpoints", `${NAME}-ha`, NS))?.metadata.annotations?.leader === other,
        { timeoutMs: 180_000, intervalMs: 500, describe: logs },
      );
      console.log(`[failover] lock taken over ${((Date.now() - t0) / 1000).toFixed(1)} s after the leader froze`);
    } finally {
      for (const pid of pids)
        try {
          process.kill(pid, "SIGCONT");
        } catch {}
    }
    await newLeader("failover from a frozen leader", second.metadata.name, "before freeze");
  });
});
