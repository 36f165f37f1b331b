import { describe, expect, it } from "vitest";
import {
  hasControlCharacter,
  naturalCompare,
  parseIni,
  parseJsonKeepingBigInts,
  renderIni,
} from "../../../shared/pgbackrest/ini.ts";

describe("ini", () => {
  it("orders keys naturally and independent of locale", () => {
    const keys = ["pg10-host", "pg2-host", "pg1-path", "pg1-host", "repo1-path", "Repo", "archive-async"];
    expect([...keys].sort(naturalCompare)).toEqual([
      "Repo",
      "archive-async",
      "pg1-host",
      "pg1-path",
      "pg2-host",
      "pg10-host",
      "repo1-path",
    ]);
    expect(naturalCompare("a01", "a1")).toBeGreaterThan(0);
    expect(naturalCompare("a", "a")).toBe(0);
  });

  it("renders sections in order, skips empty ones, and round-trips through parseIni", () => {
    const text = renderIni(
      ["header"],
      [
        [
          "global",
          new Map([
            ["b", "2"],
            ["a", "x=y"],
          ]),
        ],
        ["empty", new Map()],
        ["db", new Map([["pg1-path", "/p"]])],
      ],
    );
    expect(text).toBe("# header\n\n[global]\na=x=y\nb=2\n\n[db]\npg1-path=/p\n");
    const back = parseIni(text);
    expect([...back.keys()]).toEqual(["global", "db"]);
    expect(back.get("global")?.get("a")).toBe("x=y");
  });

  it("merges a section that appears twice (backup.info's [backrest])", () => {
    const ini = parseIni('[backrest]\nbackrest-format=5\n\n[db]\ndb-id=1\n\n[backrest]\nbackrest-checksum="abc"\n');
    expect(Object.fromEntries(ini.get("backrest")!)).toEqual({ "backrest-format": "5", "backrest-checksum": '"abc"' });
  });

  it("keeps integers beyond 2^53 exact and leaves the rest of the JSON alone", () => {
    const v = parseJsonKeepingBigInts(
      '{"id":7711127497098134972,"n":-9007199254740993,"small":12,"s":"7711127497098134972","f":1.2345678901234567,"a":[1234567890123456789]}',
    ) as Record<string, unknown>;
    expect(v.id).toBe("7711127497098134972");
    expect(v.n).toBe("-9007199254740993");
    expect(v.small).toBe(12);
    expect(v.s).toBe("7711127497098134972");
    expect(v.f).toBeCloseTo(1.2345678901234567);
    expect(v.a).toEqual(["1234567890123456789"]);
  });

  it("spots control characters", () => {
    expect(hasControlCharacter("a\nb")).toBe(true);
    expect(hasControlCharacter("a\u007f")).toBe(true);
    expect(hasControlCharacter("plain value=1")).toBe(false);
  });
});
