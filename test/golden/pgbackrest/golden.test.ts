/**
 * Golden files: pgbackrest.conf per scenario and role, exactly as the pods get it.
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden/pgbackrest`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderPgBackRestConfig } from "../../../shared/pgbackrest/config.ts";
import { hasVolumeRepo, ROLES } from "../../../shared/pgbackrest/layout.ts";
import { SCENARIOS } from "../../unit/pgbackrest/scenarios.ts";

function golden(name: string, text: string): void {
  const file = join(import.meta.dirname, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
  if (!existsSync(file)) throw new Error(`${file} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(text).toBe(readFileSync(file, "utf8"));
}

describe("pgbackrest.conf golden files", () => {
  for (const [name, cluster] of Object.entries(SCENARIOS)) {
    for (const role of ROLES) {
      if (role === "repo-host" && !hasVolumeRepo(cluster.spec)) continue;
      it(`${name} (${role})`, () => golden(`${name}.${role}.conf`, renderPgBackRestConfig({ cluster, role })));
    }
  }
});
