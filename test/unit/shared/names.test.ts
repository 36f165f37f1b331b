import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundedName, instanceSetName, MAX_LABEL, names, shortHash } from "../../../shared/names.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ALNUM = [..."abcdefghijklmnopqrstuvwxyz0123456789"];
/** A valid DNS label of 2..maxLength characters, often near the maximum. */
const label = (maxLength: number) =>
  fc
    .tuple(
      fc.constantFrom(...ALNUM),
      fc.string({ unit: fc.constantFrom(...ALNUM, "-"), maxLength: maxLength - 2, size: "max" }),
      fc.constantFrom(...ALNUM),
    )
    .map(([a, middle, b]) => `${a}${middle}${b}`);
const longName = fc.string({
  minLength: MAX_LABEL + 1,
  maxLength: 300,
  unit: fc.constantFrom(..."abcxyz019-"),
  size: "max",
});

describe("shortHash", () => {
  it("is 32-bit FNV-1a in its first 8 hex digits (published test vectors)", () => {
    expect(shortHash("")).toBe("811c9dc5");
    expect(shortHash("a")).toBe("e40c292c");
    expect(shortHash("foobar")).toBe("bf9cf968");
  });

  it("gives 1..16 lowercase hex digits, the longer ones extending the shorter", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 16 }), (text, n) => {
        const h = shortHash(text, n);
        expect(h).toMatch(new RegExp(`^[0-9a-f]{${n}}$`));
        expect(shortHash(text, 16).startsWith(h)).toBe(true);
      }),
    );
  });
});

describe("boundedName", () => {
  it("joins parts with '-' and leaves short names alone", () => {
    expect(boundedName(["hippo", "primary"])).toBe("hippo-primary");
    expect(boundedName(["hippo", "", "pgdata"])).toBe("hippo-pgdata");
    const exactly = "a".repeat(MAX_LABEL);
    expect(boundedName([exactly])).toBe(exactly);
  });

  it("never exceeds the limit, 63 by default", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 120 }), { maxLength: 6 }), (parts) => {
        expect(boundedName(parts).length).toBeLessThanOrEqual(MAX_LABEL);
      }),
    );
    fc.assert(
      fc.property(fc.array(label(63), { minLength: 1, maxLength: 8 }), fc.integer({ min: 20, max: 253 }), (p, max) => {
        expect(boundedName(p, max).length).toBeLessThanOrEqual(max);
      }),
    );
  });

  it("keeps a valid DNS label valid when it shortens it", () => {
    fc.assert(
      fc.property(fc.array(label(63), { minLength: 1, maxLength: 5 }), (parts) => {
        expect(boundedName(parts)).toMatch(DNS_LABEL);
      }),
    );
    // The cut lands right after a '-': the dash must not end up doubled before the hash.
    const name = boundedName([`${"a".repeat(53)}-${"b".repeat(20)}`]);
    expect(name).toMatch(DNS_LABEL);
    expect(name).not.toContain("--");
  });

  it("is stable: the same parts always give the same name", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 100 }), { maxLength: 4 }), (parts) => {
        expect(boundedName([...parts])).toBe(boundedName(parts));
      }),
    );
    // The shape: as much of the name as fits, '-', and the hash of the whole name.
    const long = "x".repeat(100);
    expect(boundedName([long])).toBe(`${"x".repeat(MAX_LABEL - 9)}-${shortHash(long)}`);
  });

  it("keeps distinct long names distinct, even when they differ only past the cut", () => {
    fc.assert(
      fc.property(longName, longName, (a, b) => {
        fc.pre(a !== b);
        expect(boundedName([a])).not.toBe(boundedName([b]));
      }),
    );
    const prefix = "hippo-".repeat(12);
    const shortened = ["a", "b", "c", "aa", "ab"].map((s) => boundedName([prefix, s]));
    expect(new Set(shortened).size).toBe(shortened.length);
    for (const n of shortened) expect(n.length).toBeLessThanOrEqual(MAX_LABEL);
  });

  it("does not confuse a long name with a short name that looks like its shortened form", () => {
    const long = "q".repeat(80);
    expect(boundedName([boundedName([long])])).toBe(boundedName([long]));
    expect(boundedName([long])).not.toBe(long);
  });
});

describe("instanceSetName", () => {
  it("uses the given name, or PGO's 00, 01, ... by position", () => {
    expect(instanceSetName("pgha1", 0)).toBe("pgha1");
    expect(instanceSetName(undefined, 0)).toBe("00");
    expect(instanceSetName("", 3)).toBe("03");
    expect(instanceSetName(undefined, 12)).toBe("12");
  });
});

describe("names", () => {
  it("follows the documented patterns for short names", () => {
    expect(names.primaryService("hippo")).toBe("hippo-primary");
    expect(names.replicaService("hippo")).toBe("hippo-replicas");
    expect(names.userSecret("hippo", "app")).toBe("hippo-pguser-app");
    expect(names.instance("hippo", "pgha1", 0)).toBe("hippo-pgha1-0");
    expect(names.pod("hippo-pgha1-0")).toBe("hippo-pgha1-0-0");
  });

  it("keeps every generated name a DNS label of at most 63 (user Secrets: 253) for long inputs", () => {
    type Input = { cluster: string; set: string; user: string; ordinal: number };
    const sts = (g: Input) => names.instance(g.cluster, g.set, g.ordinal);
    // Arguments in their real domains; names added later get the cluster and short realistic values.
    const args: Record<string, (g: Input) => unknown[]> = {
      instance: (g) => [g.cluster, g.set, g.ordinal],
      pod: (g) => [sts(g)],
      pgdata: (g) => [sts(g)],
      pgwal: (g) => [sts(g)],
      dataVolumeClaim: (g) => [sts(g)],
      walVolumeClaim: (g) => [sts(g)],
      instanceSet: (g) => [g.cluster, g.set],
      pdb: (g) => [g.cluster, g.set],
      userSecret: (g) => [g.cluster, g.user],
      repoVolumeClaim: (g) => [g.cluster, "repo4"],
      backupSchedule: (g) => [g.cluster, "repo4", "incr"],
      scheduledBackup: (g) => [g.cluster, "repo4", "incr", "20260906-0100"],
    };
    const fallback = (g: Input) => [g.cluster, "repo1", "full", "0123abcd"];
    fc.assert(
      fc.property(label(63), label(63), label(63), fc.nat(20), (cluster, set, user, ordinal) => {
        for (const [key, fn] of Object.entries(names) as [string, (...a: unknown[]) => string][]) {
          const out = fn(...(args[key] ?? fallback)({ cluster, set, user, ordinal }));
          expect(out.length, key).toBeLessThanOrEqual(key === "userSecret" ? 253 : MAX_LABEL);
          expect(out, key).toMatch(DNS_LABEL);
        }
      }),
    );
  });

  it("leaves room in instance names for the Pod's -0 and the controller-revision-hash label", () => {
    fc.assert(
      fc.property(label(63), label(63), fc.nat(99), (cluster, set, ordinal) => {
        const sts = names.instance(cluster, set, ordinal);
        expect(names.pod(sts).length).toBeLessThanOrEqual(MAX_LABEL);
        // The StatefulSet controller labels Pods with `<sts>-<10 character hash>`.
        expect(`${sts}-0123456789`.length).toBeLessThanOrEqual(MAX_LABEL);
      }),
    );
  });

  it("gives distinct instance names to distinct ordinals of long clusters", () => {
    const cluster = "c".repeat(63);
    const all = [0, 1, 2, 10, 11].map((o) => names.instance(cluster, "set", o));
    expect(new Set(all).size).toBe(all.length);
  });
});
