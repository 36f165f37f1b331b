/**
 * A new cluster from another cluster's repository (`dataSource.postgresCluster`) or from a
 * pgBackRest repository (`dataSource.pgbackrest`), through the cluster hook: the restore Job on
 * the first instance's volumes, Patroni's bootstrap from the restored directory, the other
 * instances held until the first one leads, and the refusals that keep the source unwritten.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LABEL } from "../../../shared/labels.ts";
import type { ObjectMap, SyncResponse } from "../../../shared/metacontroller.ts";
import { parseRestoreResult, RESTORE_SCRIPT } from "../../../shared/restore/pod.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { byKind, child, cluster, type Json, observe, podsOf, steadyState, sync, volume } from "./fixtures.ts";

const s3 = (bucket: string) => ({ bucket, endpoint: "s3.example.com", region: "x" });
const instances = [{ name: "a", replicas: 2, dataVolumeClaimSpec: volume, walVolumeClaimSpec: volume }];

const source = cluster(
  {
    backups: {
      pgbackrest: { repos: [{ name: "repo2", s3: s3("prod") }], configuration: [{ secret: { name: "prod-s3" } }] },
    },
  },
  "prod",
);
const sources: ObjectMap = { "PostgresCluster.postgres.tusk.dev/v1": { prod: source } };

const clone = (dataSource: Json, extra: Json = {}) =>
  cluster({
    instances,
    backups: { pgbackrest: { repos: [{ name: "repo1", s3: s3("clones") }] } },
    dataSource,
    ...extra,
  });
const fromProd = (options?: string[]) =>
  clone({ postgresCluster: { clusterName: "prod", repoName: "repo2", ...(options ? { options } : {}) } });

const JOB = "hippo-datasource";
const replicas = (res: SyncResponse) =>
  Object.fromEntries(
    byKind(res, "StatefulSet")
      .filter((s) => s.metadata.labels[LABEL.instance])
      .map((s) => [s.metadata.name, s.spec.replicas]),
  );
const condition = (res: SyncResponse, type: string) =>
  ((res.status as Json).conditions as Json[]).find((c) => c.type === type);
const patroni = (res: SyncResponse) => parse(child(res, "ConfigMap", "hippo-config").data["patroni-pgwal.yaml"]);
const jobOf = (res: SyncResponse) => byKind(res, "Job").find((j) => j.metadata.name === JOB);

describe("clone from another cluster", () => {
  it("first sync: the first instance starts (its volumes), the second waits, the restore Job reads the source", async () => {
    const res = await sync(fromProd(["--type=time", '--target="2026-02-01 00:00:00+00"']), {}, sources);
    expect(replicas(res)).toEqual({ "hippo-a-0": 1, "hippo-a-1": 0 });
    const job = jobOf(res)!;
    const pod = job.spec.template.spec;
    const container = pod.containers[0];
    expect(container.command.slice(0, 3)).toEqual(["sh", "-c", RESTORE_SCRIPT]);
    expect(container.command.slice(4)).toEqual([
      "pgbackrest",
      "--no-config",
      "--config-path=/etc/pgbackrest",
      "--stanza=db",
      "--repo=2",
      "--pg1-path=/pgdata/pg15_restore",
      "--type=time",
      "--target=2026-02-01 00:00:00+00",
      "--target-action=promote",
      "--delta",
      "--link-map=pg_wal=/pgwal/pg15_wal",
      "--log-level-console=info",
      "restore",
    ]);
    expect(Object.fromEntries(container.env.map((e: Json) => [e.name, e.value])).TUSK_RESTORE_MODE).toBe("bootstrap");
    // The first instance's own claims, on its node.
    expect(
      pod.volumes.flatMap((v: Json) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [])),
    ).toEqual(["pgdata-hippo-a-0-0", "pgwal-hippo-a-0-0"]);
    const term = pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    expect(term).toEqual({
      labelSelector: { matchLabels: { [LABEL.cluster]: "hippo", [LABEL.instance]: "hippo-a-0" } },
      topologyKey: "kubernetes.io/hostname",
    });
    // The source's pgBackRest configuration and credentials, read only.
    const config = pod.volumes.find((v: Json) => v.name === "pgbackrest-config").projected.sources;
    expect(config[0].configMap.name).toBe("prod-pgbackrest-config");
    expect(config[1].secret.name).toBe("prod-pgbackrest");
    expect(config[2]).toEqual({ secret: { name: "prod-s3" } });
    // Patroni moves the restored directory into place instead of running initdb.
    expect(patroni(res).bootstrap.method).toBe("tusk_restored");
    expect(condition(res, "DataSource")).toMatchObject({ status: "Unknown", reason: "Restoring" });
    expect((res.status as Json).dataSource).toMatchObject({
      restored: false,
      jobName: JOB,
      target: "time 2026-02-01 00:00:00+00",
      source: "PostgresCluster prod repo2",
    });
    for (const c of res.children)
      expect(validateObject(c), `${(c as Json).kind} ${(c as Json).metadata.name}`).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
  });

  it("the Job's success and the first instance leading release the others and end the bootstrap for good", async () => {
    const first = await sync(fromProd(), {}, sources);
    const children = observe(first.children as Json[]);
    (children["Job.batch/v1"]![JOB] as Json).status = {
      succeeded: 1,
      conditions: [{ type: "Complete", status: "True" }],
    };
    const pods = podsOf(children, { "hippo-a-0-0": { role: "master" } });
    const jobPod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${JOB}-abcde`,
        namespace: "db",
        labels: { "batch.kubernetes.io/job-name": JOB, [LABEL.cluster]: "hippo" },
      },
      status: {
        containerStatuses: [
          {
            name: "restore",
            state: {
              terminated: {
                exitCode: 0,
                message: '{"backupSet":"20260101-000000F","timeline":"2","lsn":"0/3000028","mode":"bootstrap"}',
              },
            },
          },
        ],
      },
    };
    const waiting = await sync(fromProd(), children, { ...sources, "Pod.v1": { [`${JOB}-abcde`]: jobPod } });
    expect(replicas(waiting)).toEqual({ "hippo-a-0": 1, "hippo-a-1": 0 });
    expect(condition(waiting, "DataSource")).toMatchObject({ reason: "Starting" });
    expect((waiting.status as Json).dataSource.backupSet).toBe("20260101-000000F");

    const led = await sync(fromProd(), children, { ...sources, ...pods });
    expect(replicas(led)).toEqual({ "hippo-a-0": 1, "hippo-a-1": 1 });
    expect(condition(led, "DataSource")).toMatchObject({ status: "True", reason: "Bootstrapped" });
    expect((led.status as Json).dataSource.restored).toBe(true);
    expect(patroni(led).bootstrap.method).toBeUndefined();
    expect(jobOf(led)!.status).toBeUndefined();

    // The latch in the status: a deleted Job is not run again, even with the first Pod down.
    const withoutJob = observe((led.children as Json[]).filter((c) => c.kind !== "Job"));
    const later = await sync({ ...fromProd(), status: led.status }, withoutJob, sources);
    expect(jobOf(later)).toBeUndefined();
    expect(replicas(later)).toEqual({ "hippo-a-0": 1, "hippo-a-1": 1 });
  });

  it("a failed restore says why and how to retry; the others stay held", async () => {
    const first = await sync(fromProd(), {}, sources);
    const children = observe(first.children as Json[]);
    (children["Job.batch/v1"]![JOB] as Json).status = {
      failed: 3,
      conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }],
    };
    const jobPod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `${JOB}-x`, namespace: "db", labels: { "job-name": JOB } },
      status: {
        containerStatuses: [
          {
            name: "restore",
            state: {
              terminated: {
                exitCode: 1,
                message:
                  "tusk-restore failed during restore: pgbackrest restore exited with code 43\nERROR: [043]: WAL segment not found",
              },
            },
          },
        ],
      },
    };
    const res = await sync(fromProd(), children, { ...sources, "Pod.v1": { [jobPod.metadata.name]: jobPod } });
    const c = condition(res, "DataSource")!;
    expect(c).toMatchObject({ status: "False", reason: "RestoreFailed" });
    expect(c.message).toContain("ERROR: [043]: WAL segment not found");
    expect(c.message).toContain(`delete Job ${JOB}`);
    expect(replicas(res)).toEqual({ "hippo-a-0": 1, "hippo-a-1": 0 });
  });

  it("refuses, without a Job, what would write to the source or cannot work", async () => {
    const cases: [Json, Json, string][] = [
      [fromProd(), {}, "SourceNotFound"],
      [clone({ postgresCluster: { clusterName: "prod", repoName: "repo3" } }), sources, "SourceRepoNotFound"],
      [
        clone({ postgresCluster: { clusterName: "prod", clusterNamespace: "other", repoName: "repo2" } }),
        sources,
        "SourceInOtherNamespace",
      ],
      [
        clone({ postgresCluster: { clusterName: "prod", repoName: "repo2" } }, { postgresVersion: 16 }),
        sources,
        "VersionMismatch",
      ],
      [
        clone(
          { postgresCluster: { clusterName: "prod", repoName: "repo2" } },
          {
            backups: {
              pgbackrest: { repos: [{ name: "repo1", s3: s3("prod") }], global: { "repo1-path": "/pgbackrest/repo2" } },
            },
          },
        ),
        sources,
        "SharedRepository",
      ],
      [fromProd(["--type=standby"]), sources, "InvalidOptions"],
    ];
    // The same bucket under another path is another repository.
    const ok = await sync(
      clone(
        { postgresCluster: { clusterName: "prod", repoName: "repo2" } },
        { backups: { pgbackrest: { repos: [{ name: "repo1", s3: s3("prod") }] } } },
      ),
      {},
      sources,
    );
    expect(jobOf(ok)).toBeDefined();
    for (const [parent, related, reason] of cases) {
      const res = await sync(parent, {}, related);
      expect(jobOf(res), reason).toBeUndefined();
      expect(condition(res, "DataSource"), reason).toMatchObject({ status: "False", reason });
      expect(replicas(res)["hippo-a-1"], reason).toBe(0);
    }
  });
});

describe("new cluster from a pgBackRest repository", () => {
  const pgbackrest = {
    pgbackrest: {
      stanza: "main",
      repo: { name: "repo3", s3: s3("archive") },
      global: { "repo3-path": "/old/cluster" },
      configuration: [{ secret: { name: "archive-s3" } }],
      options: ["--type=immediate"],
    },
  };

  it("renders the repository's configuration into its own ConfigMap and restores with its stanza", async () => {
    const res = await sync(clone(pgbackrest));
    const config = child(res, "ConfigMap", "hippo-datasource");
    const text = config.data["pgbackrest.conf"];
    expect(text).toContain("repo3-s3-bucket=archive");
    expect(text).toContain("repo3-path=/old/cluster");
    const pod = jobOf(res)!.spec.template.spec;
    expect(pod.containers[0].command).toContain("--stanza=main");
    expect(pod.containers[0].command).toContain("--repo=3");
    expect(pod.containers[0].command).toContain("--type=immediate");
    const sourcesOf = pod.volumes.find((v: Json) => v.name === "pgbackrest-config").projected.sources;
    expect(sourcesOf).toEqual([
      { configMap: { name: "hippo-datasource", items: [{ key: "pgbackrest.conf", path: "~tusk.conf" }] } },
      { secret: { name: "archive-s3" } },
    ]);
    expect(validateObject(config)).toEqual([]);
    expect(validateObject(jobOf(res)!)).toEqual([]);
  });

  it("refuses a volume repository and a repository this cluster also archives to", async () => {
    const volumeRepo = clone({
      pgbackrest: { ...pgbackrest.pgbackrest, repo: { name: "repo3", volume: { volumeClaimSpec: volume } } },
    });
    expect(condition(await sync(volumeRepo), "DataSource")).toMatchObject({ reason: "VolumeRepository" });
    const same = clone({
      pgbackrest: {
        ...pgbackrest.pgbackrest,
        global: { "repo3-path": "/pgbackrest/repo1" },
        repo: { name: "repo3", s3: s3("clones") },
      },
    });
    expect(condition(await sync(same), "DataSource")).toMatchObject({ reason: "SharedRepository" });
  });
});

describe("without a data source", () => {
  it("nothing changes: no Job, no condition, initdb bootstrap", async () => {
    const res = await sync(cluster({ instances }));
    expect(jobOf(res)).toBeUndefined();
    expect(condition(res, "DataSource")).toBeUndefined();
    expect(patroni(res).bootstrap.method).toBeUndefined();
    expect(parseRestoreResult(undefined)).toBeUndefined();
  });
});

describe("a data source added to a cluster that already holds data", () => {
  it("restores nothing, keeps Patroni's bootstrap and says the field is create-only", async () => {
    const running = cluster({ instances, backups: { pgbackrest: { repos: [{ name: "repo1", s3: s3("clones") }] } } });
    const { children, related, res } = await steadyState(running);
    const added = fromProd();
    const after = await sync({ ...added, status: res.status }, children, { ...related, ...sources });
    expect(jobOf(after)).toBeUndefined();
    expect(condition(after, "DataSource")).toMatchObject({ status: "False", reason: "CreateOnly" });
    expect(patroni(after).bootstrap).toEqual(patroni(res).bootstrap);
    expect(replicas(after)).toEqual(replicas(res));
    // Even with every pod gone (no role label to see), the status latch says it holds data.
    const down = await sync({ ...added, status: res.status }, children, sources);
    expect(jobOf(down)).toBeUndefined();
    expect(condition(down, "DataSource")).toMatchObject({ reason: "CreateOnly" });
  });
});
