/**
 * Scenario 5c (beside the restores 5a and 5b; issue 6): a standby cluster (PGO v5's
 * `spec.standby`) replaying a source cluster's repository, then promoted. A source cluster
 * archives to an S3 repo (s3rver over HTTPS) and takes a full backup through a PostgresBackup. A
 * second cluster (2 instances)
 * with `spec.standby: {enabled: true, repoName: repo1}` points its repo1 at the same bucket and
 * path (the default `/pgbackrest/repo1`, stanza `db`, as the source's): its standby leader
 * bootstraps with the generated `pgbackrest` replica method and replays the archive with the
 * generated `standby_cluster.restore_command`, its replica streams from the standby leader; rows
 * the source writes after a WAL switch show up on both. The standby refuses writes and the hook
 * reports it as a standby. Then `standby.enabled: false` promotes it through the generated
 * Patroni configuration Job: a normal leader that accepts writes, the replica streaming from it,
 * the stanza Job (held while standby) done and WAL archived on the new timeline. While it is a
 * standby its database holds the source's roles, so the suite logs in with the source's
 * superuser; once promoted, Patroni's on_role_change callback sets the cluster's own internal
 * passwords, its superuser Secret logs in, the users Job runs and its user's Secret works.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { names } from "../../shared/names.ts";
import type { Obj } from "../pods/spec.ts";
import { E2ECluster } from "./lib/cluster.ts";
import { type Etcd, startEtcd } from "./lib/etcd.ts";
import { getJson } from "./lib/http.ts";
import { type Conn, query, sql } from "./lib/pg.ts";
import { findings, outcome, record } from "./lib/results.ts";
import { type S3Server, s3Configuration, s3CredentialsSecret, s3Repo, startS3 } from "./lib/s3.ts";
import { appConn, INSTANCE_VOLUME, jobFailure, runBackup, teardownCluster } from "./lib/scenario.ts";
import { Fatal, seconds, waitFor } from "./lib/wait.ts";

const SOURCE = "heron";
const STANDBY = "egret";
const SCENARIO = "5c standby cluster";

let etcd: Etcd | undefined;
let s3: S3Server | undefined;
const clusters: E2ECluster[] = [];
let failed = false;

function s3Spec(cluster: string) {
  return { configuration: s3Configuration(cluster), repos: [s3Repo(s3!)] };
}

function newCluster(name: string, spec: Obj): E2ECluster {
  const c = new E2ECluster({ name, spec, etcd: etcd!, objects: [s3CredentialsSecret(s3!, name)] });
  clusters.push(c);
  return c;
}

/** Patroni's own view of a member (GET /patroni): role and state. */
async function patroniRole(c: E2ECluster, pod: string): Promise<string | undefined> {
  const st = await getJson<{ role?: string; state?: string }>(c.restUrl(pod, "/patroni"));
  return st?.state === "running" ? st.role : undefined;
}

/** The other started members of `c` streaming from `leader` (pg_stat_replication on the leader). */
async function streamingFrom(c: E2ECluster, leader: string, conn: (port: number) => Conn): Promise<string[]> {
  const out = await sql(
    conn(c.pgPort(leader)),
    "select application_name from pg_stat_replication where state = 'streaming' order by 1",
  );
  return out.split("\n").filter(Boolean);
}

const others = (c: E2ECluster, leader: string) =>
  [...c.pods.values()].filter((p) => p.started && p.name !== leader && !p.owner).map((p) => p.name);

describe.sequential("standby cluster", () => {
  beforeAll(async () => {
    etcd = await startEtcd();
    s3 = await startS3();
  });

  afterAll(async () => {
    for (const c of clusters) {
      findings(c.name, c.findings);
      await teardownCluster(c, !failed);
    }
    await s3?.stop();
    await etcd?.stop();
  });

  it("5c: a standby cluster replays the source's repository, refuses writes, and is promoted", async () => {
    try {
      // ---------------------------------------------------------------- the source
      const src = newCluster(SOURCE, {
        postgresVersion: 15,
        instances: [{ name: "db", replicas: 1, dataVolumeClaimSpec: INSTANCE_VOLUME }],
        patroni: { leaderLeaseDurationSeconds: 10, syncPeriodSeconds: 2 },
        backups: { pgbackrest: s3Spec(SOURCE) },
      });
      const isStanza = (n: string) => n.startsWith(names.stanzaJob(SOURCE, ""));
      const srcLeader = (await src.converge(
        "the source leading, Ready, its stanza Job done",
        async () => {
          const failedJob = [...src.jobs.values()].find((j) => j.state === "failed");
          if (failedJob) throw new Fatal(jobFailure(failedJob));
          const leader = await src.leader();
          const stanza = [...src.jobs.values()].some((j) => isStanza(j.name) && j.state === "succeeded");
          return leader && src.pods.get(leader)?.ready && stanza ? leader : undefined;
        },
        300_000,
      ))!;
      const full = await runBackup(src, `${SOURCE}-full`, "repo1", "full");
      record(SCENARIO, "source full backup (S3)", full.seconds, "s");

      const su = src.superConn(src.pgPort(srcLeader));
      const archive = async () => {
        const before = Number(await sql(su, "select archived_count from pg_stat_archiver"));
        await sql(su, "select pg_switch_wal()");
        await waitFor(
          "the source's WAL switch archived",
          async () => Number(await sql(su, "select archived_count from pg_stat_archiver")) > before,
          { timeoutMs: 60_000 },
        );
      };
      await sql(
        su,
        "create table standby_rows(id int primary key, phase text); insert into standby_rows select g, 'before' from generate_series(1, 100) g",
      );
      await archive();

      // ---------------------------------------------------------------- the standby
      // Its database is the source's: the roles and their passwords are the source's, so the
      // suite connects to it with the source's superuser (the standby's own is never set there).
      const su0 = src.superuser();
      const t0 = Date.now();
      const sb = newCluster(STANDBY, {
        postgresVersion: 15,
        instances: [{ name: "db", replicas: 2, dataVolumeClaimSpec: INSTANCE_VOLUME }],
        patroni: { leaderLeaseDurationSeconds: 10, syncPeriodSeconds: 2 },
        backups: { pgbackrest: s3Spec(STANDBY) },
        standby: { enabled: true, repoName: "repo1" },
      });
      const sbConn = (port: number): Conn => ({ ...sb.superConn(port), user: su0.user, password: su0.password });
      const rows = (pod: string) =>
        sql(
          sbConn(sb.pgPort(pod)),
          "select coalesce(string_agg(phase || ':' || n, ',' order by phase), '') from (select phase, count(*) n from standby_rows group by 1) s",
        );
      const allRows = async (want: string) => {
        const pods = [...sb.pods.values()].filter((p) => p.started && !p.owner);
        if (pods.length !== 2) return false;
        const got = await Promise.all(pods.map((p) => rows(p.name)));
        return got.every((g) => g === want);
      };

      const sbLeader = (await sb.converge(
        "a standby leader in recovery, the other instance streaming from it, the source's rows on both",
        async () => {
          const failedJob = [...sb.jobs.values()].find((j) => j.state === "failed");
          if (failedJob) throw new Fatal(jobFailure(failedJob));
          const leader = await sb.leader();
          if (!leader || !sb.pods.get(leader)?.started) return undefined;
          if ((await patroniRole(sb, leader)) !== "standby_leader") return undefined;
          if ((await sql(sbConn(sb.pgPort(leader)), "select pg_is_in_recovery()")) !== "t") return undefined;
          const want = others(sb, leader);
          const streaming = await streamingFrom(sb, leader, sbConn);
          if (want.length !== 1 || streaming.join() !== want.join()) return undefined;
          if ((await patroniRole(sb, want[0]!)) !== "replica") return undefined;
          if (!(await allRows("before:100"))) return undefined;
          return leader;
        },
        300_000,
      ))!;
      record(SCENARIO, "standby created -> standby leader + streaming replica + rows", seconds(t0), "s");
      const sbReplica = others(sb, sbLeader)[0]!;

      // rows written on the source after that reach the standby through the repository
      await sql(su, "insert into standby_rows select g, 'after' from generate_series(101, 200) g");
      const t1 = Date.now();
      await archive();
      await sb.converge(
        "the source's new rows on both standby instances",
        () => allRows("after:100,before:100"),
        120_000,
      );
      record(SCENARIO, "source WAL switch archived -> rows on both standby instances", seconds(t1), "s");

      // the standby refuses writes
      for (const pod of [sbLeader, sbReplica]) {
        const w = await query(sbConn(sb.pgPort(pod)), "insert into standby_rows values (1000, 'standby')");
        expect(w.ok, `a write on ${pod} of the standby`).toBe(false);
        expect(w.err).toMatch(/read-only transaction/);
      }

      // what the hook reports for the standby
      const status = sb.mc.lastResponse?.status ?? {};
      console.log(`standby status: ${JSON.stringify(status)}`);
      const cond = (st: Obj, type: string) => (st.conditions as Obj[] | undefined)?.find((c) => c.type === type);
      expect(cond(status, "Standby")).toMatchObject({ status: "True", reason: "StandbyCluster" });
      expect(cond(status, "Standby")!.message).toContain("replaying WAL from repo1");
      // the standby leader is the cluster's leader (the primary Service's endpoint, read-only)
      expect(status).toMatchObject({ phase: "Running", primary: sbLeader, readyInstances: "2/2" });
      expect(cond(status, "Ready")).toMatchObject({ status: "True" });
      // the Jobs that write are held while it is a standby: none was created
      const writing = (kind: "users" | "stanza") =>
        [...sb.jobs.values()].filter((j) => j.name.startsWith(`${STANDBY}-${kind}-`));
      expect(writing("users")).toEqual([]);
      expect(writing("stanza")).toEqual([]);

      // ---------------------------------------------------------------- promotion
      const spec = structuredClone(sb.mc.parent.spec);
      spec.standby = { ...spec.standby, enabled: false };
      sb.mc.setSpec(spec);
      const t2 = Date.now();
      /** Patroni's callback swaps the superuser's password soon after promotion: whichever works now. */
      const sbAny = async (port: number): Promise<Conn> =>
        (await query(sb.superConn(port), "select 1")).ok ? sb.superConn(port) : sbConn(port);
      const promoted = (await sb.converge(
        "the standby promoted: a leader out of recovery accepting writes, the replica streaming from it",
        async () => {
          const failedJob = [...sb.jobs.values()].find((j) => j.state === "failed");
          if (failedJob) throw new Fatal(jobFailure(failedJob));
          const leader = await sb.leader();
          if (!leader || (await patroniRole(sb, leader)) !== "master") return undefined;
          const conn = await sbAny(sb.pgPort(leader));
          if ((await sql(conn, "select pg_is_in_recovery()")) !== "f") return undefined;
          const want = others(sb, leader);
          const streaming = await streamingFrom(sb, leader, () => conn);
          if (want.length !== 1 || streaming.join() !== want.join()) return undefined;
          return (await patroniRole(sb, want[0]!)) === "replica" ? leader : undefined;
        },
        180_000,
      ))!;
      record(SCENARIO, "standby.enabled false -> leader out of recovery, replica streaming", seconds(t2), "s");

      // This cluster's own credentials once promoted: the database still had the source's
      // password verifiers, and Patroni's on_role_change callback (standby.ts) sets the internal
      // Secret's when a member starts leading; then the users Job, held until now, logs in with
      // them and creates this cluster's user, whose Secret works as an application uses it.
      await sb.converge(
        "the promoted cluster's own superuser logs in and its users Job is done",
        async () => {
          const users = writing("users");
          const failedJob = users.find((j) => j.state === "failed");
          if (failedJob) throw new Fatal(jobFailure(failedJob));
          const own = await query(sb.superConn(sb.pgPort(promoted)), "select 1");
          return own.ok && users.some((j) => j.state === "succeeded");
        },
        120_000,
      );
      record(SCENARIO, "standby.enabled false -> own superuser logs in, users Job done", seconds(t2), "s");
      const psu = sb.superConn(sb.pgPort(promoted));
      expect((await query(sbConn(sb.pgPort(promoted)), "select 1")).ok, "the source's superuser password").toBe(false);
      const app = await query(appConn(sb, STANDBY), "select current_user || '@' || current_database()");
      expect(app).toMatchObject({ ok: true, out: `${STANDBY}@${STANDBY}` });
      await sql(psu, "insert into standby_rows values (1000, 'promoted')");

      // the Jobs held while it was a standby run now; the stanza Job finds the source's stanza
      // valid (same system identifier) and the promoted cluster archives into it on timeline 2
      await sb.converge(
        "the promoted cluster's stanza Job done",
        () => {
          const stanza = writing("stanza");
          const failedJob = stanza.find((j) => j.state === "failed");
          if (failedJob) throw new Fatal(jobFailure(failedJob));
          return stanza.some((j) => j.state === "succeeded");
        },
        120_000,
      );
      record(SCENARIO, "standby.enabled false -> stanza Job done", seconds(t2), "s");
      const archived = Number(await sql(psu, "select archived_count from pg_stat_archiver"));
      await sql(psu, "select pg_switch_wal()");
      await waitFor(
        "the promoted cluster's WAL switch archived",
        async () => Number(await sql(psu, "select archived_count from pg_stat_archiver")) > archived,
        { timeoutMs: 60_000 },
      );
      expect(await sql(psu, "select timeline_id from pg_control_checkpoint()")).not.toBe("1");
      // the replica still streams from the promoted leader
      await sb.converge(
        "the replica streaming from the promoted leader",
        async () => (await streamingFrom(sb, promoted, () => psu)).join() === sbReplica,
        60_000,
      );
      const after = sb.mc.lastResponse?.status ?? {};
      console.log(`promoted status: ${JSON.stringify(after)}`);
      expect(cond(after, "Standby")).toMatchObject({ status: "False", reason: "Promoted" });
      expect(after.primary).toBe(promoted);
      outcome(
        SCENARIO,
        "passed",
        "standby leader replayed the source's repository, replica streamed from it, writes refused; promoted: writes, replica streaming, stanza Job done, WAL archived on a new timeline",
      );
    } catch (e) {
      failed = true;
      outcome(SCENARIO, "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });
});
