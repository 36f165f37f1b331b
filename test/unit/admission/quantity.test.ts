import { describe, expect, it } from "vitest";
import { compareQuantities, parseQuantity } from "../../../shared/quantity.ts";

const q = (text: string | number) => {
  const parsed = parseQuantity(text);
  if (!parsed) throw new Error(`${text} did not parse`);
  return parsed;
};
const cmp = (a: string | number, b: string | number) => compareQuantities(q(a), q(b));

describe("parseQuantity", () => {
  it.each([
    ["10Gi", "10240Mi", 0],
    ["1Gi", "1073741824", 0],
    ["1G", "1000M", 0],
    ["1G", "1Gi", -1],
    ["500M", "0.5G", 0],
    ["1.5Gi", "1536Mi", 0],
    ["1e3", "1k", 0],
    ["1E3", "1000", 0],
    ["1e-3", "1m", 0],
    ["1500m", "1.5", 0],
    ["1Ki", "1024", 0],
    ["1Ti", "1024Gi", 0],
    ["1Pi", "1024Ti", 0],
    ["1Ei", "1024Pi", 0],
    ["1E", "1000P", 0],
    [".5Gi", "512Mi", 0],
    ["5.", "5", 0],
    ["+1Gi", "1Gi", 0],
    ["-1Gi", "0", -1],
    ["20Gi", "10Gi", 1],
    ["10Gi", "10.000000001Gi", -1],
    [1073741824, "1Gi", 0],
    [1.5, "1500m", 0],
    [1e21, "1e21", 0],
  ] as const)("%s compared with %s is %i", (a, b, expected) => {
    expect(cmp(a, b)).toBe(expected);
  });

  it.each([
    "",
    "Gi",
    ".",
    "1.2.3",
    "1 Gi",
    " 1Gi",
    "1gi",
    "1GB",
    "1e",
    "1e1.5",
    "1Ki1",
    "0x10",
    "1e99999",
    "ten",
    "--1",
    "1,5Gi",
    "1".repeat(300),
  ])("refuses %j", (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });

  it("refuses what is not a string or a finite number", () => {
    for (const v of [undefined, null, true, {}, [], Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(parseQuantity(v)).toBeUndefined();
    }
  });

  it("keeps exact values far beyond float precision", () => {
    expect(cmp("9007199254740993", "9007199254740992")).toBe(1);
    expect(cmp("1.0000000000000000001Ei", "1Ei")).toBe(1);
  });
});
