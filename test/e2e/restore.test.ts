/**
 * Scenario 5 of the end-to-end issue: point-in-time restore as the hooks generate it. A cluster
 * with an S3 repo (s3rver over HTTPS) is backed up through a PostgresBackup, rows are written
 * before and after a target time, and a PostgresRestore to that time is run through the restore
 * hook together with the cluster hook (scale to zero, restore Job into the leader's volume,
 * Patroni's DCS reset through the Kubernetes API stand-in, replicas re-cloned): rows before the
 * target are present, rows after it absent. Then a new cluster is cloned from the repository to
 * the same target through `spec.dataSource.postgresCluster`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { names } from "../../shared/names.ts";
import type { Obj } from "../pods/spec.ts";
import { E2ECluster } from "./lib/cluster.ts";
import { type Etcd, startEtcd } from "./lib/etcd.ts";
import { type KubeApi, startKubeApi } from "./lib/kubeapi.ts";
import { inProcessHooks, Metacontroller } from "./lib/metacontroller.ts";
import { sql } from "./lib/pg.ts";
import { findings, outcome, record } from "./lib/results.ts";
import { type S3Server, s3Configuration, s3CredentialsSecret, s3Repo, startS3 } from "./lib/s3.ts";
import { healthy, INSTANCE_VOLUME, jobFailure, runBackup, sameOnAll, teardownCluster } from "./lib/scenario.ts";
import { Fatal, seconds, sleep, waitFor } from "./lib/wait.ts";

let etcd: Etcd | undefined;
let s3: S3Server | undefined;
let api: KubeApi | undefined;
const clusters: E2ECluster[] = [];
let failed = false;
let source: { cluster: E2ECluster; target: string } | undefined;

function s3Spec(cluster: string) {
  return { configuration: s3Configuration(cluster), repos: [s3Repo(s3!)] };
}

function newCluster(name: string, spec: Obj): E2ECluster {
  const c = new E2ECluster({ name, spec, etcd: etcd!, objects: [s3CredentialsSecret(s3!, name)] });
  c.kubeApiCa = api!.caPem;
  clusters.push(c);
  return c;
}

async function ready(c: E2ECluster, replicas: number, what: string): Promise<string> {
  return (await c.converge(
    what,
    async () => {
      const failedJob = [...c.jobs.values()].find((j) => j.state === "failed");
      if (failedJob) throw new Fatal(jobFailure(failedJob));
      const l = await healthy(c, replicas);
      const allReady = [...c.pods.values()].filter((p) => p.started).every((p) => p.ready);
      return l && allReady ? l : undefined;
    },
    300_000,
  ))!;
}

const phases = (c: E2ECluster, pod: string) =>
  sql(
    c.superConn(c.pgPort(pod)),
    "select coalesce(string_agg(phase || ':' || n, ',' order by phase), '') from (select phase, count(*) n from pitr group by 1) s",
  );

describe.sequential("point-in-time restore", () => {
  beforeAll(async () => {
    etcd = await startEtcd();
    s3 = await startS3();
    api = await startKubeApi(etcd, () => clusters);
  });

  afterAll(async () => {
    for (const c of clusters) {
      findings(c.name, c.findings);
      await teardownCluster(c, !failed);
    }
    if (api?.unanswered.length)
      findings(
        "kubernetes API stand-in",
        api.unanswered.map((u) => `unanswered: ${u}`),
      );
    await api?.stop();
    await s3?.stop();
    await etcd?.stop();
  });

  it("5a: in-place restore to a time through PostgresRestore", async () => {
    try {
      const c = newCluster("owl", {
        postgresVersion: 15,
        instances: [{ name: "db", replicas: 2, dataVolumeClaimSpec: INSTANCE_VOLUME }],
        patroni: { leaderLeaseDurationSeconds: 10, syncPeriodSeconds: 2 },
        backups: { pgbackrest: s3Spec("owl") },
      });
      const isStanza = (n: string) => n.startsWith(names.stanzaJob("owl", ""));
      await c.converge(
        "the stanza Job done",
        () => [...c.jobs.values()].some((j) => isStanza(j.name) && j.state === "succeeded"),
        300_000,
      );
      const leader = await ready(c, 1, "a leader and a streaming replica, every pod Ready");
      const full = await runBackup(c, "owl-full", "repo1", "full");
      record("5a PITR in place", "full backup (S3)", full.seconds, "s");

      // rows before and after the target; the WAL after the target must reach the repo (docs/dataplane-notes.md B8)
      const su = c.superConn(c.pgPort(leader));
      await sql(
        su,
        "create table pitr(id int primary key, phase text); insert into pitr select g, 'early' from generate_series(1, 100) g",
      );
      await sleep(1100); // timestamps on both sides of the target must differ (not a wait for a condition)
      const target = await sql(
        su,
        "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
      );
      await sleep(1100);
      await sql(su, "insert into pitr select g, 'late' from generate_series(101, 200) g");
      const archivedBefore = Number(await sql(su, "select archived_count from pg_stat_archiver"));
      await sql(su, "select pg_switch_wal()");
      await waitFor(
        "the WAL after the target archived",
        async () => Number(await sql(su, "select archived_count from pg_stat_archiver")) > archivedBefore,
        { timeoutMs: 120_000 },
      );
      expect(await phases(c, leader)).toBe("early:100,late:100");
      source = { cluster: c, target };

      // the PostgresRestore, seen by the cluster hook (customize asks for every restore)
      const restore = new Metacontroller(
        inProcessHooks(),
        {
          apiVersion: "postgres.tusk.dev/v1",
          kind: "PostgresRestore",
          metadata: { name: "owl-pitr", namespace: c.namespace },
          spec: { cluster: "owl", repoName: "repo1", target: { type: "time", value: target } },
        },
        { sync: "/restore/sync", customize: "/restore/customize" },
      );
      c.relatedSources.push(() => [{ ...restore.parent, status: restore.lastResponse?.status ?? {} }]);
      const t0 = Date.now();
      const phasesSeen: string[] = [];
      const status = await waitFor(
        "the PostgresRestore to succeed",
        async () => {
          await c.reconcileOther(restore);
          await c.reconcile();
          const st = restore.lastResponse?.status ?? {};
          if (st.phase && phasesSeen.at(-1) !== st.phase) phasesSeen.push(st.phase);
          if (st.phase === "Failed")
            throw new Fatal(`PostgresRestore failed: ${st.error ?? st.message ?? JSON.stringify(st)}`);
          // the restore hook never fails past the DCS reset (a failed step waits to be retried):
          // a failed Job of this restore ends the wait with its error
          const failedJob = [...c.jobs.values()].find((j) => j.state === "failed" && j.name.startsWith("owl-pitr"));
          if (failedJob) throw new Fatal(`PostgresRestore ${st.phase ?? ""}: ${jobFailure(failedJob)}`);
          c.assertNoCrash();
          return st.phase === "Succeeded" ? st : undefined;
        },
        {
          timeoutMs: 400_000,
          intervalMs: 1000,
          describe: () => `restore status ${JSON.stringify(restore.lastResponse?.status)}\n${c.describe()}`,
        },
      );
      record(
        "5a PITR in place",
        "PostgresRestore created -> Succeeded",
        seconds(t0),
        "s",
        `phases ${phasesSeen.join(" -> ")}`,
      );
      const restored = await ready(c, 1, "the cluster back with a streaming replica");
      record("5a PITR in place", "PostgresRestore created -> cluster healthy again", seconds(t0), "s");
      expect(await phases(c, restored), "rows before the target present, after it absent").toBe("early:100");
      await sameOnAll(c, "select count(*) from pitr");
      // a new timeline accepts writes
      await sql(c.superConn(c.pgPort(restored)), "insert into pitr values (1000, 'after-restore')");
      expect(status.phase).toBe("Succeeded");
      outcome(
        "5a PITR in place",
        "passed",
        `restored to ${target}: early rows present, late rows absent; ${phasesSeen.join(" -> ")}`,
      );
    } catch (e) {
      failed = true;
      outcome("5a PITR in place", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });

  it("5b: a new cluster cloned from the repository to the same time (spec.dataSource.postgresCluster)", async () => {
    try {
      if (!source) throw new Error("scenario 5a did not prepare the source cluster");
      const t0 = Date.now();
      const clone = newCluster("owlet", {
        postgresVersion: 15,
        instances: [{ name: "db", replicas: 2, dataVolumeClaimSpec: INSTANCE_VOLUME }],
        patroni: { leaderLeaseDurationSeconds: 10, syncPeriodSeconds: 2 },
        dataSource: {
          postgresCluster: {
            clusterName: "owl",
            repoName: "repo1",
            options: ["--type=time", `--target=${source.target}`],
          },
        },
      });
      // the clone's customize hook asks for the source cluster
      clone.relatedSources.push(() => [source!.cluster.parentObject()]);
      const leader = await ready(clone, 1, "the clone leading with a streaming replica");
      record("5b clone", "clone created -> healthy", seconds(t0), "s");
      // 5a's restore rolled the source back to the same target; the clone sees the same rows
      expect(await phases(clone, leader)).toBe("early:100");
      outcome("5b clone", "passed", `cloned to ${source.target}: early rows present, late rows absent`);
    } catch (e) {
      failed = true;
      outcome("5b clone", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });
});
