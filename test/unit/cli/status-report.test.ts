import { describe, expect, it } from "vitest";
import { clusterReport, formatReport } from "../../../functions/cli/status-report.ts";

const cluster = {
  apiVersion: "postgres.tusk.dev/v1",
  kind: "PostgresCluster",
  metadata: { name: "hippo", namespace: "db" },
  spec: {
    postgresVersion: 16,
    shutdown: true,
    instances: [{ dataVolumeClaimSpec: {} }],
    backups: { pgbackrest: { repos: [{ name: "repo1", s3: { bucket: "b", endpoint: "e", region: "r" } }] } },
  },
  status: {
    phase: "Stopped",
    repos: [
      {
        name: "repo1",
        // An older shape, still read: a last backup as the repository reader (shared/pgbackrest/repo-read.ts) returns it.
        lastBackup: {
          label: "20260115-010000F",
          type: "full",
          startTime: "2026-01-15T01:00:00Z",
          stopTime: "2026-01-15T01:09:00Z",
        },
        recoverability: { earliest: "2026-01-10T01:09:00Z", latest: "2026-01-15T11:00:00Z", latestFrom: "wal" },
      },
    ],
  },
};

describe("the status report", () => {
  it("reads what the backup work publishes when there is no PostgresBackup, and PGO's set name 00", () => {
    const report = clusterReport(cluster, [], []);
    expect(report.repos).toEqual([
      {
        name: "repo1",
        type: "s3",
        lastBackup: { label: "20260115-010000F", type: "full", completed: "2026-01-15T01:09:00Z" },
        recoverability: { earliest: "2026-01-10T01:09:00Z", latest: "2026-01-15T11:00:00Z" },
      },
    ]);
    expect(report.instances.map((i) => [i.pod, i.set, i.role])).toEqual([["hippo-00-0-0", "00", "missing"]]);
    const text = formatReport(report, new Date("2026-01-15T12:00:00Z"));
    expect(text).toContain(
      "PostgresCluster hippo in namespace db: phase Stopped (shut down), no primary, PostgreSQL 16\n",
    );
    expect(text).toMatch(
      /^repo1\s+s3\s+20260115-010000F \(full\)\s+2026-01-15T01:09:00Z \(10h ago\)\s+2026-01-10T01:09:00Z \.\. 2026-01-15T11:00:00Z$/m,
    );
  });

  it("reads the cluster hook's own summary of an S3 repo (status.pgbackrest.repos[].backups.latest)", () => {
    const latest = {
      label: "20260115-010000F",
      type: "full",
      startTime: "2026-01-15T01:00:00Z",
      stopTime: "2026-01-15T01:09:00Z",
    };
    const published = {
      ...cluster,
      status: {
        phase: "Running",
        pgbackrest: {
          repos: [
            {
              name: "repo1",
              state: "Read",
              backups: {
                count: 1,
                full: 1,
                differential: 0,
                incremental: 0,
                latest,
                latestFull: latest,
                oldest: latest,
              },
              recoverability: { earliest: latest.stopTime, latest: latest.stopTime, latestFrom: "backup" },
            },
          ],
        },
      },
    };
    expect(clusterReport(published, [], []).repos[0]).toMatchObject({
      lastBackup: { label: latest.label, type: "full", completed: latest.stopTime },
      recoverability: { earliest: latest.stopTime, latest: latest.stopTime },
    });
  });

  it("says plainly when a cluster has no repository to restore from", () => {
    const text = formatReport(
      clusterReport({ ...cluster, spec: { ...cluster.spec, backups: undefined } }, [], []),
      new Date(),
    );
    expect(text).toContain("no backup repositories (spec.backups.pgbackrest.repos): this cluster cannot be restored");
  });
});
