/**
 * Golden files: the Jobs, CronJobs and PingSources of the backup work for representative
 * clusters, exactly as emitted. Regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden/backup`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { syncBackup } from "../../../functions/backup/sync.ts";
import { buildManualBackupJob } from "../../../functions/cluster/pgbackrest/manual-backup.ts";
import {
  backupSchedules,
  buildScheduleCronJob,
  buildSchedulePingSource,
} from "../../../functions/cluster/pgbackrest/schedules.ts";
import { buildStanzaCreateJob } from "../../../functions/cluster/pgbackrest/stanza-job.ts";
import { syncRequest } from "../../unit/backup/fixtures.ts";
import { SCENARIOS } from "../../unit/pgbackrest/scenarios.ts";

function golden(name: string, value: unknown): void {
  const file = join(import.meta.dirname, `${name}.json`);
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
  if (!existsSync(file)) throw new Error(`${file} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(text).toBe(readFileSync(file, "utf8"));
}

describe("backup golden files", () => {
  it("PostgresBackup sync: S3 and volume repo", () => {
    golden("postgresbackup-s3", syncBackup(syncRequest()));
    golden(
      "postgresbackup-volume",
      syncBackup(syncRequest({ spec: { cluster: "hippo", repoName: "repo1", type: "diff" } })),
    );
  });

  for (const [name, cluster] of Object.entries(SCENARIOS)) {
    it(`cluster-side objects: ${name}`, () => {
      golden(`${name}.cluster-objects`, {
        stanza: buildStanzaCreateJob(cluster) ?? null,
        manual: buildManualBackupJob(cluster, "manual-1") ?? null,
        schedules: backupSchedules(cluster).map((s) => ({
          pingSource: buildSchedulePingSource(cluster, s.repoName, s.type, s.schedule),
          cronJob: buildScheduleCronJob(cluster, s.repoName, s.type, s.schedule) ?? null,
        })),
      });
    });
  }
});
