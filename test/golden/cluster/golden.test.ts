/**
 * Golden files: the sync response for representative clusters, first call and steady state
 * (pods running, Jobs done). Certificates and keys are random by nature (Web Crypto key
 * generation) and are redacted; everything else is deterministic with the seeded dependencies.
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden/cluster`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SyncResponse } from "../../../shared/metacontroller.ts";
import { type Json, steadyState, sync } from "../../unit/cluster/fixtures.ts";
import { SCENARIOS } from "../../unit/cluster/scenarios.ts";

const PEM_KEYS = new Set(["ca.crt", "ca.key", "tls.crt", "tls.key"]);

function redact(res: SyncResponse): Json {
  const copy = JSON.parse(JSON.stringify(res)) as Json;
  for (const c of copy.children as Json[]) {
    if (c.kind !== "Secret") continue;
    for (const key of Object.keys(c.data ?? {})) if (PEM_KEYS.has(key)) c.data[key] = "<redacted: random PEM>";
  }
  return copy;
}

function golden(name: string, value: Json): void {
  const file = join(import.meta.dirname, `${name}.json`);
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, text);
  if (!existsSync(file)) throw new Error(`${file} is missing: run with UPDATE_GOLDEN=1 to create it`);
  expect(text).toBe(readFileSync(file, "utf8"));
}

describe("cluster sync golden files", { timeout: 60_000 }, () => {
  for (const [name, parent] of Object.entries(SCENARIOS)) {
    it(name, async () => {
      golden(`${name}.first`, redact(await sync(parent)));
      golden(`${name}.steady`, redact((await steadyState(parent)).res));
    });
  }
});
