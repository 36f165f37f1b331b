/**
 * @module
 * Steps the scenarios share: bringing a cluster up through the hook, reading the cluster's
 * state from Patroni and Postgres, waiting for streaming replicas, and clients that connect the
 * way an application would (from the user Secret, TLS verified against the cluster CA).
 */
import { rmSync } from "node:fs";
import { names } from "../../../shared/names.ts";
import { decodeSecretData } from "../../pods/spec.ts";
import type { E2ECluster } from "./cluster.ts";
import { inProcessHooks, Metacontroller } from "./metacontroller.ts";
import { type Conn, query, sql } from "./pg.ts";
import { allocatedPorts, listeningPorts, tail } from "./proc.ts";
import { Fatal, seconds, waitFor } from "./wait.ts";

export const INSTANCE_VOLUME = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } };

export interface ReplicationRow {
  application_name: string;
  state: string;
  sync_state: string;
}

export async function replication(cluster: E2ECluster, leader: string): Promise<ReplicationRow[]> {
  const out = await sql(
    cluster.superConn(cluster.pgPort(leader)),
    "select application_name, state, sync_state from pg_stat_replication order by 1",
  );
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [application_name, state, sync_state] = l.split("|");
      return { application_name: application_name!, state: state!, sync_state: sync_state! };
    });
}

/** Leader plus every other started pod streaming from it (pg_stat_replication). */
export async function healthy(cluster: E2ECluster, expectReplicas: number): Promise<string | false> {
  const leader = await cluster.leader();
  if (!leader || !cluster.pods.get(leader)?.started) return false;
  const rows = await replication(cluster, leader).catch(() => []);
  const streaming = rows.filter((r) => r.state === "streaming").length;
  return streaming >= expectReplicas ? leader : false;
}

function usersJobs(cluster: E2ECluster) {
  return [...cluster.jobs.values()].filter((j) => j.name.startsWith(`${cluster.name}-users-`));
}

/**
 * Create through the hook and wait for: a leader, `replicas` streaming replicas, every pod Ready,
 * and the users Job done. Returns the timings.
 */
export async function bootstrap(cluster: E2ECluster, instances: number) {
  const t0 = Date.now();
  const leader = await cluster.converge("a Patroni leader", () => cluster.leader(), 240_000);
  const tLeader = Date.now();
  await cluster.converge(`${instances - 1} streaming replicas`, () => healthy(cluster, instances - 1), 240_000);
  const tStreaming = Date.now();
  await cluster.converge(
    "every pod Ready and the users Job complete",
    () => {
      const failed = usersJobs(cluster).find((j) => j.state === "failed");
      if (failed) throw new Fatal(`users ${jobFailure(failed)}`);
      // instance pods only: a Deployment's pod (pgBouncer) is no instance
      const ready = [...cluster.pods.values()].filter((p) => p.started && p.ready && !p.owner).length === instances;
      return ready && usersJobs(cluster).some((j) => j.state === "succeeded");
    },
    240_000,
  );
  const tUsers = Date.now();
  return {
    leader,
    leaderSeconds: seconds(t0, tLeader),
    streamingSeconds: seconds(t0, tStreaming),
    readySeconds: seconds(t0, tUsers),
  };
}

export function userSecret(cluster: E2ECluster, user: string): Record<string, string> {
  const s = cluster.secret(names.userSecret(cluster.name, user));
  if (!s) throw new Error(`no Secret ${names.userSecret(cluster.name, user)}`);
  return decodeSecretData(s);
}

/** How an application in another pod connects with its Secret: TLS verified, name checked. */
export function appConn(cluster: E2ECluster, user: string, dbname?: string, overrides: Partial<Conn> = {}): Conn {
  const s = userSecret(cluster, user);
  const target = cluster.resolve(s.host!, Number(s.port));
  if (!target) throw new Error(`Secret host ${s.host}:${s.port} resolves to no ready endpoint`);
  return {
    port: target.port,
    host: s.host!,
    user: s.user!,
    password: s.password!,
    dbname: dbname ?? s.dbname ?? "postgres",
    sslmode: "verify-full",
    sslrootcert: cluster.caFile(),
    ...overrides,
  };
}

/** Until `query` works on every started member (replicas included). */
export async function sameOnAll(cluster: E2ECluster, text: string, dbname = "postgres"): Promise<string> {
  return waitFor(`"${text}" to agree on every member`, async () => {
    const values = await Promise.all(
      [...cluster.pods.values()]
        .filter((p) => p.started)
        .map(async (p) => (await query(cluster.superConn(cluster.pgPort(p.name), dbname), text)).out),
    );
    return values.every((v) => v === values[0]) ? values[0] : undefined;
  });
}

/** Stops a cluster and checks that none of its ports is left listening. */
export async function teardownCluster(cluster: E2ECluster | undefined, removeData: boolean): Promise<void> {
  if (!cluster) return;
  await cluster.stop();
  const ports = new Set(
    [...cluster.pods.values()].flatMap((p) => [...p.place.ports.values()]).filter((p) => allocatedPorts().includes(p)),
  );
  await waitFor(
    `ports of ${cluster.name} to close`,
    () => {
      const open = listeningPorts();
      return [...ports].every((p) => !open.has(p));
    },
    { timeoutMs: 30_000 },
  );
  if (removeData) rmSync(cluster.root, { recursive: true, force: true });
}

/** A failed Job in one line (its last error), then its log tail. */
export function jobFailure(job: { name: string; output: string }): string {
  const lines = job.output.split("\n");
  const last =
    [...lines]
      .reverse()
      .find((l) => /ERROR|FATAL|harness:|error:/i.test(l))
      ?.trim() ?? "no error line";
  return `Job ${job.name} failed: ${last}\n${job.output}`;
}

/** Runs a PostgresBackup through its hook until it succeeds; returns its status. */
export async function runBackup(c: E2ECluster, name: string, repoName: string, type: "full" | "incr") {
  const mc = new Metacontroller(
    inProcessHooks(),
    {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresBackup",
      metadata: { name, namespace: c.namespace },
      spec: { cluster: c.name, repoName, type },
    },
    { sync: "/backup/sync", customize: "/backup/customize" },
  );
  const t0 = Date.now();
  const status = await waitFor(
    `PostgresBackup ${name} to succeed`,
    async () => {
      await c.reconcileOther(mc);
      const st = mc.lastResponse?.status ?? {};
      if (st.phase === "Failed")
        throw new Fatal(
          `PostgresBackup ${name} failed: ${st.error ?? JSON.stringify(st)}\n${tail(c.jobs.get(st.jobName)?.log ?? "", 30)}`,
        );
      return st.phase === "Succeeded" ? st : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 1000, describe: () => `status: ${JSON.stringify(mc.lastResponse?.status)}` },
  );
  return { status, seconds: seconds(t0) };
}
