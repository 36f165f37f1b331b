/**
 * @module
 * PostgresBackup and PostgresRestore rules beyond the schema: the cluster reference is a name a
 * PostgresCluster can have, options come from the allow-list and do not repeat what the object's
 * own fields say, and a restore target parses the way PostgreSQL will read it.
 */
import type { PostgresBackupSpec } from "../../shared/api/postgres-backup.ts";
import type { PostgresRestoreSpec } from "../../shared/api/postgres-restore.ts";
import type { Findings } from "./cluster.ts";
import { clusterReferenceProblem } from "./names.ts";
import { checkOptions } from "./pgbackrest-options.ts";
import { forbidden, invalid, type Problem, required, show } from "./problems.ts";
import { BACKUP_LABEL, TARGET_CHECKS } from "./targets.ts";

export function checkBackup(spec: PostgresBackupSpec): Findings {
  const problems: Problem[] = [];
  const why = clusterReferenceProblem(spec.cluster);
  if (why) problems.push(invalid("spec.cluster", why));
  if (spec.options) {
    problems.push(
      ...checkOptions(spec.options, "spec.options", { context: "backup", ownFields: { type: "spec.type" } }).problems,
    );
  }
  return { problems, warnings: [] };
}

export function checkRestore(spec: PostgresRestoreSpec): Findings {
  const problems: Problem[] = [];
  const why = clusterReferenceProblem(spec.cluster);
  if (why) problems.push(invalid("spec.cluster", why));
  const target = spec.target;
  if (target) {
    const check = TARGET_CHECKS[target.type];
    if (check) {
      if (target.value === undefined || target.value === "") {
        problems.push(required("spec.target.value", `is required for a ${target.type} target`));
      } else {
        const bad = check(target.value);
        if (bad) problems.push(invalid("spec.target.value", `${show(target.value)} ${bad}`));
      }
    } else if (target.value !== undefined) {
      problems.push(forbidden("spec.target.value", `must be empty for a ${target.type} target`));
    }
  }
  if (spec.backupSet !== undefined && !BACKUP_LABEL.test(spec.backupSet)) {
    problems.push(
      invalid("spec.backupSet", `${show(spec.backupSet)} must be a pgBackRest backup label such as 20260102-030405F`),
    );
  }
  if (spec.options) {
    const ownFields = {
      type: "spec.target.type",
      target: "spec.target.value",
      set: "spec.backupSet",
      "target-action": "the restore itself (it always promotes)",
    };
    problems.push(...checkOptions(spec.options, "spec.options", { context: "restore", ownFields }).problems);
  }
  return { problems, warnings: [] };
}
