/**
 * Golden files: the Jobs, CronJobs and PingSources of the backup work for representative
 * clusters, exactly as emitted, as YAML for review (test/support/golden.ts: one document per
 * object, labelled with its role, multi-line strings as `|` blocks). Regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden/backup`.
 */
import { join } from "node:path";
import { describe, it } from "vitest";
import { syncBackup } from "../../../functions/backup/sync.ts";
import { buildManualBackupJob } from "../../../functions/cluster/pgbackrest/manual-backup.ts";
import {
  backupSchedules,
  buildScheduleCronJob,
  buildSchedulePingSource,
} from "../../../functions/cluster/pgbackrest/schedules.ts";
import { buildStanzaCreateJob } from "../../../functions/cluster/pgbackrest/stanza-job.ts";
import { type GoldenDocument, goldenYaml, responseDocuments } from "../../support/golden.ts";
import { syncRequest } from "../../unit/backup/fixtures.ts";
import { SCENARIOS } from "../../unit/pgbackrest/scenarios.ts";

const golden = (name: string, documents: GoldenDocument[]) =>
  goldenYaml(join(import.meta.dirname, `${name}.yaml`), documents);

/** An object as a document labelled with its role, or `null` labelled `no <kind>` when there is none. */
const role = (name: string, kind: string, obj: Record<string, any> | undefined): GoldenDocument => [
  obj ? `${name}: ${obj.kind} ${obj.metadata.name}` : `${name}: no ${kind}`,
  obj ?? null,
];

describe("backup golden files", () => {
  it("PostgresBackup sync: S3 and volume repo", () => {
    golden("postgresbackup-s3", responseDocuments(syncBackup(syncRequest())));
    golden(
      "postgresbackup-volume",
      responseDocuments(syncBackup(syncRequest({ spec: { cluster: "hippo", repoName: "repo1", type: "diff" } }))),
    );
  });

  for (const [name, cluster] of Object.entries(SCENARIOS)) {
    it(`cluster-side objects: ${name}`, () => {
      golden(`${name}.cluster-objects`, [
        role("stanza", "Job", buildStanzaCreateJob(cluster)),
        role("manual", "Job", buildManualBackupJob(cluster, "manual-1")),
        // Each schedule: its PingSource, then its CronJob (or null).
        ...backupSchedules(cluster).flatMap((s) => [
          role(
            `schedule ${s.repoName} ${s.type}`,
            "PingSource",
            buildSchedulePingSource(cluster, s.repoName, s.type, s.schedule),
          ),
          role(
            `schedule ${s.repoName} ${s.type}`,
            "CronJob",
            buildScheduleCronJob(cluster, s.repoName, s.type, s.schedule),
          ),
        ]),
      ]);
    });
  }
});
