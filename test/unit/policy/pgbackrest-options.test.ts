/**
 * One pgBackRest option allow-list (shared/pgbackrest/options.ts): admission checks values and
 * says why; the Job builders filter with the same table. An option admission accepts must reach
 * the Job, and one the Job builders drop must be refused by admission, or a user's option would
 * silently vanish (or a refused one run).
 */
import { describe, expect, it } from "vitest";
import { checkOptions } from "../../../functions/admission/pgbackrest-options.ts";
import {
  allowedOptions,
  filterOptions,
  type OptionContext,
  PGBACKREST_OPTIONS,
} from "../../../shared/pgbackrest/options.ts";

/** A value admission accepts for each option that takes one. */
const VALUES: Record<string, string> = {
  "archive-timeout": "60",
  annotation: "reason=test",
  "compress-level": "3",
  "compress-type": "zst",
  "manifest-save-threshold": "1MB",
  "archive-mode": "off",
  "db-exclude": "app",
  "db-include": "app",
  set: "20260102-030405F",
  target: "x",
  "target-action": "promote",
  "target-timeline": "latest",
  type: "full",
  "buffer-size": "1MB",
  "db-timeout": "60",
  "io-timeout": "60",
  "protocol-timeout": "60",
  "process-max": "2",
  "log-level-console": "info",
  "log-level-file": "info",
  "log-level-stderr": "info",
};

const CONTEXTS: OptionContext[] = ["backup", "restore"];
const admits = (option: string, context: OptionContext) =>
  // Problems about the option itself; a restore's --type/--target pairing is reported on the list ("o").
  checkOptions([option], "o", { context }).problems.filter((p) => p.field !== "o").length === 0;
const passes = (option: string, context: OptionContext) => filterOptions([option], context).allowed.length === 1;

describe("pgBackRest options", () => {
  const names = Object.keys(PGBACKREST_OPTIONS);
  const candidates = [
    ...names.flatMap((n) => [`--${n}`, `--no-${n}`, `--${n}=${VALUES[n] ?? "y"}`]),
    "--repo1-path=/x",
    "--config=/x",
    "--pg1-host=evil",
    "--stanza=other",
    "--archive-push-queue-max=1GB",
    "--unknown",
  ];

  it.each(CONTEXTS)("admission accepts only what the %s Job builders pass", (context) => {
    for (const option of candidates) {
      if (option.startsWith("--type=") && context === "restore") continue;
      if (admits(option, context)) expect(passes(option, context), option).toBe(true);
    }
  });

  it.each(CONTEXTS)("every %s option has a value admission accepts and that the Job keeps", (context) => {
    for (const name of allowedOptions(context)) {
      const policy = PGBACKREST_OPTIONS[name] as { flag?: boolean };
      const option = policy.flag
        ? `--${name}`
        : `--${name}=${name === "type" && context === "restore" ? "immediate" : VALUES[name]}`;
      expect(admits(option, context), option).toBe(true);
      expect(passes(option, context), option).toBe(true);
    }
  });

  it("a --no- form exists only for on/off flags, in admission and in the Job builders", () => {
    expect(admits("--no-type", "backup")).toBe(false);
    expect(passes("--no-type", "backup")).toBe(false);
    expect(passes("--no-delta", "backup")).toBe(true);
    expect(passes("--no-delta=y", "backup")).toBe(false);
  });
});
