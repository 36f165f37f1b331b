import { describe, expect, it } from "vitest";
import { generatePassword, PASSWORD_ALPHABETS, type PasswordType } from "../../../shared/crypto/password.ts";
import { seededRandomBytes } from "./seeded.ts";

// Spelled out here rather than imported, so a change to the module's list is caught.
const EXCLUDED = [" ", "'", '"', "\\", "`", "$", ":", "@", "/", "?", "#", "[", "]", "%", "&", ";", "="];
const csprng = (n: number) => crypto.getRandomValues(new Uint8Array(n));

function chiSquare(text: string, alphabet: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const expected = text.length / alphabet.length;
  let chi = 0;
  for (const ch of alphabet) chi += ((counts.get(ch) ?? 0) - expected) ** 2 / expected;
  return chi;
}

describe("generatePassword", () => {
  it("defaults to 24 ASCII characters and honours the length", () => {
    expect(generatePassword(csprng)).toHaveLength(24);
    for (const length of [1, 8, 32, 100]) expect(generatePassword(csprng, "AlphaNumeric", length)).toHaveLength(length);
  });

  it("rejects a length that is not a positive integer", () => {
    for (const length of [0, -1, 2.5, Number.NaN]) expect(() => generatePassword(csprng, "ASCII", length)).toThrow();
  });

  it("ASCII draws from printable ASCII without the characters that break URIs, shells, conninfo, YAML or pgpass", () => {
    const printable = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i));
    const wanted = printable.filter((c) => !EXCLUDED.includes(c)).join("");
    expect(PASSWORD_ALPHABETS.ASCII).toBe(wanted);
    expect(PASSWORD_ALPHABETS.ASCII).toHaveLength(78);
    const many = generatePassword(csprng, "ASCII", 20_000);
    for (const c of EXCLUDED) expect(many).not.toContain(c);
    expect(many).toMatch(/^[\x21-\x7e]+$/);
    // Every allowed character shows up in a long enough sample.
    expect(new Set(many).size).toBe(78);
  });

  it("AlphaNumeric uses only [A-Za-z0-9], all of it", () => {
    const many = generatePassword(csprng, "AlphaNumeric", 10_000);
    expect(many).toMatch(/^[A-Za-z0-9]+$/);
    expect(new Set(many).size).toBe(62);
  });

  it("is deterministic for a seeded source and differs between seeds", () => {
    for (const type of ["ASCII", "AlphaNumeric"] as PasswordType[]) {
      const a = generatePassword(seededRandomBytes(42), type);
      expect(generatePassword(seededRandomBytes(42), type)).toBe(a);
      expect(generatePassword(seededRandomBytes(43), type)).not.toBe(a);
    }
  });

  it("skips bytes at or above the largest multiple of the alphabet size (rejection sampling)", () => {
    // A source counting 0,1,...,255,0,... : bytes 234..255 (ASCII, 78*3=234) and 248..255
    // (AlphaNumeric, 62*4=248) must be dropped, so the output is the alphabet repeated.
    let counter = 0;
    const counting = (n: number) => Uint8Array.from({ length: n }, () => counter++ & 0xff);
    expect(generatePassword(counting, "ASCII", 234 * 2)).toBe(PASSWORD_ALPHABETS.ASCII.repeat(6));
    counter = 0;
    expect(generatePassword(counting, "AlphaNumeric", 248 * 2)).toBe(PASSWORD_ALPHABETS.AlphaNumeric.repeat(8));
  });

  it("is not biased: character counts pass a chi-square test", () => {
    // Seeded, so the statistic is fixed; with plain `byte % n` the first 22 ASCII characters
    // would be a third more likely and the statistic would be in the thousands.
    for (const [type, critical] of [
      ["ASCII", 125], // df 77, p = 0.001 is about 122
      ["AlphaNumeric", 105], // df 61, p = 0.001 is about 101
    ] as [PasswordType, number][]) {
      const alphabet = PASSWORD_ALPHABETS[type];
      const text = generatePassword(seededRandomBytes(7), type, alphabet.length * 2000);
      expect(chiSquare(text, alphabet), type).toBeLessThan(critical);
    }
  });
});
