/**
 * Golden files: what the restore work emits, exactly. The PostgresRestore hook's answer when
 * the restore Job is created, for every restore shape; its answer when the cluster starts again
 * (DCS and reset Jobs); the cluster hook's data-source Job and ConfigMap for a clone and for a
 * pgBackRest repository; and a standby cluster's Patroni configuration. As YAML for review
 * (test/support/golden.ts: one document per object, multi-line strings as `|` blocks).
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden/restore`.
 */
import { join } from "node:path";
import { describe, it } from "vitest";
import { syncRestore } from "../../../functions/restore/sync.ts";
import type { SyncResponse } from "../../../shared/metacontroller.ts";
import { type GoldenDocument, goldenYaml, responseDocuments } from "../../support/golden.ts";
import { byKind, child, cluster, type Json, sync, volume } from "../../unit/cluster/fixtures.ts";
import {
  clusterObject,
  JOB,
  jobPod,
  observedJob,
  RESTORED_MESSAGE,
  stoppedFor,
  syncRequest,
} from "../../unit/restore/fixtures.ts";

const golden = (name: string, documents: GoldenDocument[]) =>
  goldenYaml(join(import.meta.dirname, `${name}.yaml`), documents);

const SHAPES: Record<string, Json> = {
  latest: {},
  time: { target: { type: "time", value: "2026-02-20 12:00:00+00" } },
  lsn: { target: { type: "lsn", value: "0/5000028" } },
  name: { target: { type: "name", value: "before-upgrade" } },
  xid: { target: { type: "xid", value: "4711" } },
  immediate: { target: { type: "immediate" } },
  "backup-set": { backupSet: "20260220-010000F" },
};

describe("PostgresRestore golden files", () => {
  for (const [name, target] of Object.entries(SHAPES)) {
    it(`restore Job: ${name}`, () => {
      golden(
        `restore-${name}`,
        responseDocuments(
          syncRestore(
            syncRequest({
              spec: { cluster: "hippo", repoName: "repo2", ...target },
              status: { phase: "ScalingDown", instance: "hippo-a-1" },
              cluster: clusterObject({ status: stoppedFor("hippo-pitr") }),
            }),
          ),
        ),
      );
    });
  }

  it("starting: DCS reset and instance resets", () => {
    golden(
      "restore-starting",
      responseDocuments(
        syncRestore(
          syncRequest({
            status: { phase: "Restoring", instance: "hippo-a-1", jobName: JOB.restore },
            cluster: clusterObject({ status: stoppedFor("hippo-pitr") }),
            jobs: [observedJob(JOB.restore, "succeeded")],
            pods: [jobPod(JOB.restore, 0, RESTORED_MESSAGE)],
          }),
        ),
      ),
    );
  });
});

const s3 = (bucket: string) => ({ bucket, endpoint: "s3.example.com", region: "x" });
const instances = [{ name: "a", replicas: 2, dataVolumeClaimSpec: volume, walVolumeClaimSpec: volume }];

/** The data-source Job and ConfigMap (or null), the StatefulSets' replicas and the status parts. */
function dataSourceObjects(res: SyncResponse): GoldenDocument[] {
  const job = byKind(res, "Job").find((j) => j.metadata.name === "hippo-datasource");
  const configMap = byKind(res, "ConfigMap").find((c) => c.metadata.name === "hippo-datasource");
  return [
    [job ? "job: Job hippo-datasource" : "job: no Job hippo-datasource", job ?? null],
    [
      configMap ? "configMap: ConfigMap hippo-datasource" : "configMap: no ConfigMap hippo-datasource",
      configMap ?? null,
    ],
    [
      "replicas: spec.replicas of each StatefulSet",
      Object.fromEntries(byKind(res, "StatefulSet").map((s) => [s.metadata.name, s.spec.replicas])),
    ],
    [
      "status: dataSource and conditions",
      { dataSource: (res.status as Json).dataSource, conditions: (res.status as Json).conditions },
    ],
  ];
}

describe("cluster-side golden files", () => {
  it("clone from another cluster", async () => {
    const source = cluster({ backups: { pgbackrest: { repos: [{ name: "repo2", s3: s3("prod") }] } } }, "prod");
    const res = await sync(
      cluster({
        instances,
        backups: { pgbackrest: { repos: [{ name: "repo1", s3: s3("clones") }] } },
        dataSource: {
          postgresCluster: {
            clusterName: "prod",
            repoName: "repo2",
            options: ["--type=time", '--target="2026-02-01 00:00:00+00"'],
          },
        },
      }),
      {},
      { "PostgresCluster.postgres.tusk.dev/v1": { prod: source } },
    );
    golden("datasource-postgrescluster", dataSourceObjects(res));
  });

  it("new cluster from a pgBackRest repository", async () => {
    const res = await sync(
      cluster({
        instances,
        dataSource: {
          pgbackrest: {
            stanza: "main",
            repo: { name: "repo3", s3: s3("archive") },
            global: { "repo3-path": "/old/cluster" },
            configuration: [{ secret: { name: "archive-s3" } }],
            options: ["--type=immediate"],
          },
        },
      }),
    );
    golden("datasource-pgbackrest", dataSourceObjects(res));
  });

  it("standby cluster: Patroni configuration and its on_role_change callback", async () => {
    const res = await sync(
      cluster({
        backups: { pgbackrest: { repos: [{ name: "repo1", s3: s3("prod") }] } },
        standby: { repoName: "repo1", host: "prod-primary.example.com", port: 5433 },
      }),
    );
    const config = child(res, "ConfigMap", "hippo-config");
    golden("standby-patroni", [
      [
        "the data of ConfigMap hippo-config: patroni.yaml, patroni-dynamic.json, on-role-change.sh",
        {
          "patroni.yaml": config.data["patroni.yaml"],
          "patroni-dynamic.json": config.data["patroni-dynamic.json"],
          "on-role-change.sh": config.data["on-role-change.sh"],
        },
        { dataOf: "ConfigMap" },
      ],
    ]);
  });
});
