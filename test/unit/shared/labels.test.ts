import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ANNOTATION,
  clusterLabels,
  instanceLabels,
  instanceSetLabels,
  LABEL,
  labelValue,
} from "../../../shared/labels.ts";
import { MAX_LABEL, names } from "../../../shared/names.ts";

/** Kubernetes label values: empty, or alphanumeric at both ends with '-', '_', '.' inside. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CHARS = [..."abcXYZ0189-_."];
const ALNUM = [..."abcXYZ0189"];
const validValue = (maxLength: number) =>
  fc
    .tuple(
      fc.constantFrom(...ALNUM),
      fc.string({ unit: fc.constantFrom(...CHARS), maxLength, size: "max" }),
      fc.constantFrom(...ALNUM),
    )
    .map(([a, m, b]) => `${a}${m}${b}`);
const longValue = fc.string({ unit: fc.constantFrom(...CHARS), minLength: MAX_LABEL + 1, maxLength: 300, size: "max" });

describe("labelValue", () => {
  it("leaves values of at most 63 characters unchanged", () => {
    expect(labelValue("hippo")).toBe("hippo");
    expect(labelValue("")).toBe("");
    const exactly = "v".repeat(MAX_LABEL);
    expect(labelValue(exactly)).toBe(exactly);
  });

  it("never exceeds 63 characters", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400, size: "max" }), (value) => {
        expect(labelValue(value).length).toBeLessThanOrEqual(MAX_LABEL);
      }),
    );
  });

  it("keeps a valid label value valid when it shortens it", () => {
    fc.assert(
      fc.property(validValue(300), (value) => {
        expect(labelValue(value)).toMatch(LABEL_VALUE);
      }),
    );
    // The cut lands on '.', '_' and '-': none may be left before the hash's '-'.
    expect(labelValue(`${"a".repeat(52)}._-${"b".repeat(20)}`)).toMatch(LABEL_VALUE);
  });

  it("is stable and keeps distinct long values distinct", () => {
    fc.assert(
      fc.property(longValue, longValue, (a, b) => {
        expect(labelValue(a)).toBe(labelValue(`${a}`));
        fc.pre(a !== b);
        expect(labelValue(a)).not.toBe(labelValue(b));
      }),
    );
    const prefix = "x".repeat(70);
    expect(labelValue(`${prefix}1`)).not.toBe(labelValue(`${prefix}2`));
  });
});

describe("label and annotation keys", () => {
  const keys = [...Object.values(LABEL), ...Object.values(ANNOTATION)];

  it("are valid qualified names: DNS subdomain prefix, name part of at most 63", () => {
    for (const key of keys) {
      const [prefix, name] = key.includes("/") ? key.split("/") : [undefined, key];
      expect(name!.length, key).toBeLessThanOrEqual(MAX_LABEL);
      expect(name, key).toMatch(LABEL_VALUE);
      expect(name, key).not.toBe("");
      if (prefix !== undefined) {
        expect(prefix.length, key).toBeLessThanOrEqual(253);
        expect(prefix, key).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
      }
    }
  });

  it("are distinct", () => {
    expect(new Set(Object.values(LABEL)).size).toBe(Object.values(LABEL).length);
    expect(new Set(Object.values(ANNOTATION)).size).toBe(Object.values(ANNOTATION).length);
  });
});

describe("label sets", () => {
  it("describe a cluster's component with the recommended app.kubernetes.io labels", () => {
    expect(clusterLabels("hippo", "database")).toEqual({
      "app.kubernetes.io/name": "postgres",
      "app.kubernetes.io/instance": "hippo",
      "app.kubernetes.io/component": "database",
      "app.kubernetes.io/managed-by": "tusk",
      "postgres.tusk.dev/cluster": "hippo",
    });
  });

  it("nest: an instance's labels contain its set's, which contain the cluster's", () => {
    fc.assert(
      fc.property(validValue(100), validValue(70), (cluster, set) => {
        const instance = names.instance(cluster.toLowerCase(), set.toLowerCase(), 0);
        const c = clusterLabels(cluster, "database");
        const s = instanceSetLabels(cluster, set);
        const i = instanceLabels(cluster, set, instance);
        expect(s).toMatchObject(c);
        expect(i).toMatchObject(s);
        expect(i[LABEL.instanceSet]).toBe(labelValue(set));
        expect(i[LABEL.instance]).toBe(labelValue(instance));
      }),
    );
  });

  it("only hold valid label values, however long the names", () => {
    fc.assert(
      fc.property(validValue(300), validValue(300), validValue(300), (cluster, set, instance) => {
        for (const value of Object.values(instanceLabels(cluster, set, instance))) {
          expect(value.length).toBeLessThanOrEqual(MAX_LABEL);
          expect(value).toMatch(LABEL_VALUE);
        }
      }),
    );
  });
});
