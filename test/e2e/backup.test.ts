/**
 * Scenario 4 of the end-to-end issue: pgBackRest as the hooks generate it. A cluster with a
 * volume repo (on the generated repository host) and an S3 repo (s3rver over HTTPS, credentials
 * and CA from a user Secret, as a user would write them) is created through the cluster hook;
 * the stanza Job, WAL archiving from the instances, full and incremental backups through the
 * PostgresBackup hook's Jobs to both repos, `pgbackrest info`, the backup status parser (the
 * Job's termination message) and the S3 reader (real `backup.info` in the bucket) are exercised.
 * For the S3 repo, the cluster's status then summarises the bucket (the cluster hook reads it with
 * the user's Secret, handed over by Metacontroller as a related object), PostgresRestores the
 * repository cannot serve are refused from that status, and `tusk backups` lists the sets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresClusterSpec } from "../../shared/api/postgres-cluster.ts";
import { s3ObjectReader } from "../../shared/io/s3-repository.ts";
import { names } from "../../shared/names.ts";
import { infoArgs } from "../../shared/pgbackrest/commands.ts";
import { parsePgBackRestInfo } from "../../shared/pgbackrest/info.ts";
import { type S3RepoTarget, s3RepoTargets } from "../../shared/pgbackrest/repo-access.ts";
import { readRepoStatus } from "../../shared/pgbackrest/repo-read.ts";
import { FakeApiServer } from "../unit/cli/fake-apiserver.ts";
import { tusk } from "../unit/cli/harness.ts";
import { E2ECluster } from "./lib/cluster.ts";
import { type Etcd, startEtcd } from "./lib/etcd.ts";
import { inProcessHooks, Metacontroller } from "./lib/metacontroller.ts";
import { sql } from "./lib/pg.ts";
import { tail } from "./lib/proc.ts";
import { findings, outcome, record } from "./lib/results.ts";
import { type S3Server, s3Configuration, s3CredentialsSecret, s3Repo, startS3 } from "./lib/s3.ts";
import { healthy, INSTANCE_VOLUME, jobFailure, runBackup, teardownCluster } from "./lib/scenario.ts";
import { Fatal, seconds, waitFor } from "./lib/wait.ts";

const ROWS = 200_000;

let etcd: Etcd | undefined;
let s3: S3Server | undefined;
const clusters: E2ECluster[] = [];
let failed = false;

type RepoKind = "volume" | "s3";

/**
 * One backup scenario: a cluster with the given repositories through the cluster hook, the
 * stanza Job, archiving, full then incremental backups to each repo through PostgresBackup,
 * `pgbackrest info` on a pod, and the S3 reader for an S3 repo.
 */
async function backupScenario(scenario: string, name: string, kinds: RepoKind[]): Promise<void> {
  const repos = kinds.map((kind, i) =>
    kind === "volume"
      ? { name: `repo${i + 1}`, volume: { volumeClaimSpec: INSTANCE_VOLUME } }
      : s3Repo(s3!, `repo${i + 1}`),
  );
  const s3RepoName = repos.find((r) => "s3" in r)?.name;
  const spec = {
    postgresVersion: 15,
    instances: [{ name: "db", replicas: 2, dataVolumeClaimSpec: INSTANCE_VOLUME }],
    patroni: { leaderLeaseDurationSeconds: 10, syncPeriodSeconds: 2 },
    backups: {
      pgbackrest: { ...(s3RepoName ? { configuration: s3Configuration(name, s3RepoName) } : {}), repos },
    },
  };
  // what a user applies beside the cluster: a Secret with the S3 credentials and CA
  const objects = s3RepoName ? [s3CredentialsSecret(s3!, name, s3RepoName)] : [];
  const c = new E2ECluster({ name, spec, etcd: etcd!, objects });
  clusters.push(c);
  const what = (repo: string) =>
    repos.find((r) => r.name === repo) && "s3" in repos.find((r) => r.name === repo)!
      ? `${repo} (S3)`
      : `${repo} (volume, repo host)`;
  const t0 = Date.now();
  const isStanza = (n: string) => n.startsWith(names.stanzaJob(name, ""));
  const leader = (await c.converge(
    "a leader, a streaming replica, every pod Ready and the stanza Job done",
    async () => {
      const stanza = [...c.jobs.values()].find((j) => isStanza(j.name));
      if (stanza?.state === "failed") throw new Fatal(`stanza ${jobFailure(stanza)}`);
      const l = await healthy(c, 1);
      const ready = [...c.pods.values()].every((p) => p.started && p.ready);
      return l && ready && stanza?.state === "succeeded" ? l : undefined;
    },
    300_000,
  ))!;
  record(scenario, "cluster up, stanza created", seconds(t0), "s");

  // WAL archiving from the leader through the generated archive_command
  const su = c.superConn(c.pgPort(leader));
  const before = Number(await sql(su, "select archived_count from pg_stat_archiver"));
  await sql(su, "create table archived(x int); insert into archived values (1); select pg_switch_wal()");
  // (a segment completed before the stanza existed fails once and is retried: docs/dataplane-notes.md B15)
  const archived = await waitFor(
    "a WAL segment archived",
    async () => {
      const done = Number(await sql(su, "select archived_count from pg_stat_archiver"));
      return done > before ? done : undefined;
    },
    {
      timeoutMs: 120_000,
      describe: () =>
        tail(c.pod(leader).daemons.get(c.pod(leader).patroni!.container)!.log, 300)
          .split("\n")
          .filter((l) => /ERROR|archive command failed/.test(l))
          .slice(-4)
          .join("\n"),
    },
  );
  expect(archived).toBeGreaterThan(before);

  // a known amount of data
  await sql(su, `create table payload as select g as id, md5(g::text) as v from generate_series(1, ${ROWS}) g`);
  const dbBytes = Number(await sql(su, "select sum(pg_database_size(datname)) from pg_database"));
  record(scenario, "data size (all databases)", Math.round(dbBytes / 1048576), "MiB", `${ROWS} payload rows`);

  const results: Record<string, { label: string; type: string }[]> = {};
  for (const type of ["full", "incr"] as const)
    for (const repo of repos.map((r) => r.name)) {
      const r = await runBackup(c, `${name}-${type}-${repo}`, repo, type);
      // the status comes from the Job's termination message through the hook's info parser
      expect(r.status.backupType, `${repo} ${type}`).toBe(type);
      expect(r.status.backupLabel, `${repo} ${type} label`).toMatch(/^\d{8}-\d{6}F(_\d{8}-\d{6}I)?$/);
      results[repo] = [...(results[repo] ?? []), { label: r.status.backupLabel, type }];
      const size = r.status.size as number | undefined;
      const repoSize = r.status.repoSize as number | undefined;
      const mib = (b: number) => (b / 1048576).toFixed(1);
      const mb = [
        size ? `database ${mib(size)} MiB` : "",
        repoSize ? `stored ${mib(repoSize)} MiB` : "",
        size && type === "full" ? `${(size / 1048576 / r.seconds).toFixed(1)} MiB/s` : "",
      ]
        .filter(Boolean)
        .join(", ");
      record(scenario, `${type} backup to ${what(repo)}`, r.seconds, "s", mb);
    }

  // the operator's `pgbackrest info` in a pod that has the configuration (as `kubectl exec` would run it)
  const pod = c.pods.get(`${names.repoHost(name)}-0`) ?? c.pod(leader);
  const container = (pod.template.spec.containers as { name: string }[]).find((x) =>
    (pod.argv.get(x.name)?.[0] ?? "").endsWith("pgbackrest"),
  )!;
  const info = await c.exec(pod.name, container.name, infoArgs());
  expect(info.code, info.stderr || info.stdout).toBe(0);
  const [stanza] = parsePgBackRestInfo(info.stdout);
  expect(stanza?.status.code, stanza?.status.message).toBe(0);
  for (const repo of repos.map((r) => r.name)) {
    const sets = stanza!.repos.find((r) => r.repoName === repo)?.backups ?? [];
    expect(
      sets.map((b) => [b.label, b.type]),
      `pgbackrest info for ${repo}`,
    ).toEqual(results[repo]!.map((r) => [r.label, r.type]));
  }

  // the S3 reader reads the real backup.info that pgBackRest wrote to the bucket
  if (s3RepoName) {
    const target = s3RepoTargets(PostgresClusterSpec.parse(spec)).find((t) => t.repoName === s3RepoName)!;
    const status = await readRepoStatus(
      s3ObjectReader({
        bucket: target.bucket,
        endpoint: target.endpoint,
        region: target.region,
        credentials: { accessKeyId: s3!.accessKey, secretAccessKey: s3!.secretKey },
        forcePathStyle: target.forcePathStyle,
        ca: s3!.caPem,
      }),
      { repoPath: target.repoPath },
    );
    expect(status.reachable, JSON.stringify(status)).toBe(true);
    if (status.reachable) {
      expect(status.backups.map((b) => b.label)).toEqual(results[s3RepoName]!.map((r) => r.label));
      expect(status.lastBackup?.label).toBe(results[s3RepoName]!.at(-1)!.label);
    }
    await publishedSummary(scenario, c, s3RepoName, results[s3RepoName]!);
    await restoreRefusals(c, s3RepoName);
    // a segment archived after the backups: `tusk backups` lists the archive too
    const archivedBefore = Number(await sql(su, "select archived_count from pg_stat_archiver"));
    await sql(su, "insert into archived values (2); select pg_switch_wal()");
    await waitFor(
      "a WAL segment archived after the backups",
      async () => Number(await sql(su, "select archived_count from pg_stat_archiver")) > archivedBefore || undefined,
      { timeoutMs: 60_000 },
    );
    await tuskBackups(c, target, results[s3RepoName]!);
  } else {
    // no S3 repository: nothing is read and the status has no repository summary
    expect(c.mc.lastResponse?.status?.pgbackrest).toBeUndefined();
  }
  await teardownCluster(c, true);
}

/**
 * The cluster's own status: its hook's adapter reads the bucket with the key and CA of the
 * user's Secret (a related object the customize hook asks for by name) at most once a minute,
 * so the backups show at a sync within about a minute of the last one.
 */
async function publishedSummary(
  scenario: string,
  c: E2ECluster,
  repoName: string,
  taken: { label: string; type: string }[],
): Promise<void> {
  const t0 = Date.now();
  const published = await c.converge(
    `status.pgbackrest.repos to show the ${taken.length} backups of ${repoName}`,
    () => {
      const repo = c.mc.lastResponse?.status?.pgbackrest?.repos?.find((r: { name: string }) => r.name === repoName);
      return repo?.backups?.count === taken.length ? repo : undefined;
    },
    150_000,
  );
  record(scenario, "S3 backups in the cluster status", seconds(t0), "s", "after the last backup finished");
  console.log(`status.pgbackrest of ${c.name}: ${JSON.stringify(c.mc.lastResponse.status.pgbackrest)}`);
  const [first, last] = [taken[0]!, taken.at(-1)!];
  expect(published).toMatchObject({
    name: repoName,
    state: "Read",
    backups: {
      count: taken.length,
      full: taken.filter((t) => t.type === "full").length,
      incremental: taken.filter((t) => t.type === "incr").length,
      latest: { label: last.label, type: last.type },
      latestFull: { label: first.label, type: "full" },
      oldest: { label: first.label },
      labels: taken.map((t) => t.label),
    },
    recoverability: { latestFrom: "backup" },
  });
  expect(published.recoverability.earliest).toBe(published.backups.oldest.stopTime);
  const status = c.mc.lastResponse.status;
  expect(status.lastBackup).toBe(published.backups.latest.stopTime);
  expect(status.conditions.find((x: { type: string }) => x.type === "RepoReadable")).toMatchObject({
    status: "True",
    reason: "Read",
  });
  expect(JSON.stringify(status)).not.toContain(s3!.secretKey);
}

/** PostgresRestores the repository cannot serve, refused from the status the cluster published. */
async function restoreRefusals(c: E2ECluster, repoName: string): Promise<void> {
  const attempt = async (name: string, spec: Record<string, unknown>) => {
    const mc = new Metacontroller(
      inProcessHooks(),
      {
        apiVersion: "postgres.tusk.dev/v1",
        kind: "PostgresRestore",
        metadata: { name, namespace: c.namespace },
        spec: { cluster: c.name, repoName, ...spec },
      },
      { sync: "/restore/sync", customize: "/restore/customize" },
    );
    await c.reconcileOther(mc);
    return mc.lastResponse;
  };
  const noSet = await attempt(`${c.name}-no-such-set`, { backupSet: "20000101-000000F" });
  expect(noSet.status).toMatchObject({ phase: "Failed", dataChanged: false });
  expect(noSet.status.conditions[0].reason).toBe("BackupSetNotFound");
  expect(noSet.status.error).toMatch(/^spec\.backupSet: /);
  expect(noSet.children).toEqual([]);
  const tooEarly = await attempt(`${c.name}-too-early`, { target: { type: "time", value: "2000-01-01 00:00:00+00" } });
  expect(tooEarly.status).toMatchObject({ phase: "Failed", dataChanged: false });
  expect(tooEarly.status.conditions[0].reason).toBe("OutsideRecoverabilityWindow");
  expect(tooEarly.status.error).toMatch(/^spec\.target\.value: /);
  // the cluster was never asked to stop
  expect(c.mc.lastResponse.status.restore).toBeUndefined();
}

/**
 * `tusk backups` as a user runs it: a kubeconfig for an API server holding the cluster (as the
 * hook last wrote its status) and the user's Secret; the bucket read with the real S3 client.
 */
async function tuskBackups(
  c: E2ECluster,
  target: S3RepoTarget,
  taken: { label: string; type: string }[],
): Promise<void> {
  const api = new FakeApiServer();
  await api.start();
  try {
    api.put("postgresclusters", c.namespace, c.parentObject());
    for (const o of c.userObjects)
      api.put(o.kind === "Secret" ? "secrets" : "configmaps", c.namespace, o as Record<string, unknown>);
    const argv = ["backups", c.name, "-n", c.namespace, "--kubeconfig", api.kubeconfig];
    const text = await tusk(argv);
    console.log(`$ tusk backups ${c.name} -n ${c.namespace}\n${text.out}`);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(
      `${target.repoName} (s3://${target.bucket}${target.repoPath} at ${target.endpoint}): ${taken.length} backups; restorable from `,
    );
    for (const b of taken) expect(text.out).toMatch(new RegExp(`^${b.label} +${b.type} +\\S+Z +\\S+Z +`, "m"));
    const json = JSON.parse((await tusk([...argv, "-o", "json"])).out);
    const repo = json.repos.find((r: { name: string }) => r.name === target.repoName);
    expect(repo.backups.map((b: { label: string }) => b.label)).toEqual(taken.map((t) => t.label));
    // the CLI lists the archive too: the window reaches the segment archived after the backups
    expect(repo.recoverability).toMatchObject({ earliest: repo.backups[0].stopTime, latestFrom: "wal" });
    expect(text.out).toContain("(the newest archived WAL)");
    expect(text.out + JSON.stringify(json)).not.toContain(s3!.secretKey);
    // it read the cluster and the Secret its configuration names, nothing else
    expect(api.requests.every((r) => r.method === "GET")).toBe(true);
  } finally {
    await api.stop();
  }
}

describe.sequential("backups with pgBackRest", () => {
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

  it("4a: stanza, archiving, full + incremental backups to S3 over HTTPS; info; S3 reader", async () => {
    try {
      await backupScenario("4a backups (S3)", "zoo", ["s3"]);
      outcome(
        "4a backups (S3)",
        "passed",
        "stanza, archiving, full + incr to S3; info, status parser and S3 reader agree",
      );
    } catch (e) {
      failed = true;
      outcome("4a backups (S3)", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });

  it("4b: the same to a volume repo on the generated repository host", async () => {
    try {
      await backupScenario("4b backups (volume)", "yak", ["volume"]);
      outcome(
        "4b backups (volume)",
        "passed",
        "stanza, archiving, full + incr to the repo host; info and status parser agree",
      );
    } catch (e) {
      failed = true;
      outcome("4b backups (volume)", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });
});
