/**
 * The cluster name ends up in Service names, which must be RFC 1035 labels (a lowercase letter
 * first, then lowercase letters, digits and '-', no '-' at the end, at most 63 characters).
 * Admission must refuse every name that would give the cluster hook an invalid Service name,
 * and whatever it allows must render into Services the API server accepts. Checked against the
 * hook's own output and the API server's name rules (test/support/k8s-validate.ts), not
 * against a copy of the regular expression.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dns1035LabelErrors } from "../../support/k8s-validate.ts";
import { sync } from "../cluster/fixtures.ts";
import { cluster, fields, validate } from "./fixtures.ts";

type Json = Record<string, any>;

async function serviceNameErrors(name: string): Promise<string[]> {
  const res = await sync(cluster({}, { name }));
  const services = (res.children as Json[]).filter((c) => c.kind === "Service");
  expect(services.length).toBeGreaterThan(0);
  return services.flatMap((s) => dns1035LabelErrors(s.metadata.name).map((e) => `${s.metadata.name}: ${e}`));
}

describe("cluster names and the Service names made from them", { timeout: 60_000 }, () => {
  it.each(["1hippo", "0", "hippo.db", "db.hippo", "Hippo", "hiPpo", "-hippo", "hippo-", "hip_po", "hip po", "hippö"])(
    "refuses %j",
    (name) => {
      const response = validate({ object: cluster({}, { name }) });
      expect(response.allowed).toBe(false);
      expect(fields(response)).toEqual(["metadata.name"]);
    },
  );

  it.each([
    ["1hip-", "a leading digit"],
    ["hip.po-", "a dot"],
    ["Hip-", "an uppercase letter"],
  ])("refuses generateName %j (%s)", (generateName) => {
    const response = validate({ object: cluster({}, { name: undefined, generateName }) });
    expect(response.allowed).toBe(false);
    expect(fields(response)).toEqual(["metadata.generateName"]);
  });

  it.each(["h", "hippo", "h1", "hippo-2", "a-b-c", "x".repeat(40)])(
    "allows %j, and its Services are valid",
    async (name) => {
      expect(validate({ object: cluster({}, { name }) }).allowed).toBe(true);
      expect(await serviceNameErrors(name)).toEqual([]);
    },
  );

  it("what admission allows always gives valid Service names; what is not an RFC 1035 label is refused", async () => {
    const chars = fc.constantFrom(..."abcxyz019-._A".split(""));
    await fc.assert(
      fc.asyncProperty(fc.array(chars, { minLength: 1, maxLength: 50 }), async (letters) => {
        const name = letters.join("");
        const allowed = validate({ object: cluster({}, { name }) }).allowed;
        if (dns1035LabelErrors(name).length > 0) expect(allowed, name).toBe(false);
        if (allowed) expect(await serviceNameErrors(name), name).toEqual([]);
      }),
      { numRuns: 60, seed: 1035 },
    );
  });
});
