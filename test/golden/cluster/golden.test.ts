/**
 * Golden files: the sync response for representative clusters, first call and steady state
 * (pods running, Jobs done), as YAML for review (test/support/golden.ts: one document per child
 * in the hook's order, multi-line strings as `|` blocks, Secret data decoded except credentials).
 * Everything is deterministic with the seeded dependencies, certificates included (their PKI is
 * test/support/deterministic-pki.ts); private keys are redacted.
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden/cluster`.
 */
import { join } from "node:path";
import { describe, it } from "vitest";
import { goldenYaml, responseDocuments } from "../../support/golden.ts";
import { steadyState, sync } from "../../unit/cluster/fixtures.ts";
import { SCENARIOS } from "../../unit/cluster/scenarios.ts";

const golden = (name: string, res: unknown) =>
  goldenYaml(join(import.meta.dirname, `${name}.yaml`), responseDocuments(res));

describe("cluster sync golden files", { timeout: 60_000 }, () => {
  for (const [name, parent] of Object.entries(SCENARIOS)) {
    it(name, async () => {
      golden(`${name}.first`, await sync(parent));
      golden(`${name}.steady`, (await steadyState(parent)).res);
    });
  }
});
