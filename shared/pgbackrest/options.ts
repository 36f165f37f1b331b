/**
 * @module
 * The pgBackRest flags a user may pass to a backup or restore (`options[]`). Admission refuses
 * anything else with a message; the Job builders filter again, so an object that slipped past
 * admission still cannot point a Job at another configuration, repository path or host. Each
 * option stays one argv item: Jobs pass them as arguments, never through shell text.
 */
import { hasControlCharacter } from "./ini.ts";

export type OptionContext = "backup" | "restore";

const BACKUP = new Set([
  "annotation",
  "archive-check",
  "archive-copy",
  "archive-timeout",
  "buffer-size",
  "checksum-page",
  "compress-level",
  "compress-type",
  "db-timeout",
  "delta",
  "io-timeout",
  "log-level-console",
  "log-level-file",
  "log-level-stderr",
  "manifest-save-threshold",
  "process-max",
  "protocol-timeout",
  "resume",
  "start-fast",
  "stop-auto",
  "type",
]);

const RESTORE = new Set([
  "archive-mode",
  "buffer-size",
  "db-exclude",
  "db-include",
  "db-timeout",
  "delta",
  "force",
  "io-timeout",
  "link-all",
  "log-level-console",
  "log-level-file",
  "log-level-stderr",
  "process-max",
  "protocol-timeout",
  "set",
  "target",
  "target-action",
  "target-exclusive",
  "target-timeline",
  "type",
]);

const ALLOWED_OPTION_NAMES: Record<OptionContext, ReadonlySet<string>> = { backup: BACKUP, restore: RESTORE };

export interface FilteredOptions {
  allowed: string[];
  refused: string[];
}

/** `--name`, `--no-name` or `--name=value`, with the name from the allow-list and a printable value. */
export function filterOptions(
  options: readonly string[] | undefined,
  context: OptionContext,
  except: readonly string[] = [],
): FilteredOptions {
  const out: FilteredOptions = { allowed: [], refused: [] };
  for (const option of options ?? []) {
    const m = /^--(?:no-)?([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s.exec(option);
    const ok =
      m !== null &&
      ALLOWED_OPTION_NAMES[context].has(m[1]!) &&
      !except.includes(m[1]!) &&
      !hasControlCharacter(m[2] ?? "");
    (ok ? out.allowed : out.refused).push(option);
  }
  return out;
}

/** The value of `--name=value` in options (the last one wins, as with pgBackRest). */
export function optionValue(options: readonly string[] | undefined, name: string): string | undefined {
  let value: string | undefined;
  for (const option of options ?? []) if (option.startsWith(`--${name}=`)) value = option.slice(name.length + 3);
  return value;
}
