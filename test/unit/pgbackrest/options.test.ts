import { describe, expect, it } from "vitest";
import { filterOptions, optionValue } from "../../../shared/pgbackrest/options.ts";

describe("filterOptions", () => {
  it("passes allow-listed flags and refuses anything that would redirect a Job", () => {
    const { allowed, refused } = filterOptions(
      [
        "--start-fast",
        "--no-resume",
        "--compress-level=3",
        "--annotation=reason=upgrade",
        "--repo1-path=/elsewhere",
        "--config=/tmp/x.conf",
        "--pg1-host=evil",
        "--stanza=other",
        "start-fast",
        "--process-max=2\n--repo1-path=/x",
        "--type=full",
      ],
      "backup",
    );
    expect(allowed).toEqual([
      "--start-fast",
      "--no-resume",
      "--compress-level=3",
      "--annotation=reason=upgrade",
      "--type=full",
    ]);
    expect(refused).toHaveLength(6);
  });

  it("drops options the caller sets itself", () => {
    expect(filterOptions(["--type=incr", "--delta"], "backup", ["type"]).allowed).toEqual(["--delta"]);
    expect(filterOptions(["--target=x", "--set=L", "--db-include=app"], "restore", ["target", "set"]).allowed).toEqual([
      "--db-include=app",
    ]);
  });

  it("reads the last value of an option", () => {
    expect(optionValue(["--type=full", "--x", "--type=diff"], "type")).toBe("diff");
    expect(optionValue(undefined, "type")).toBeUndefined();
  });
});
