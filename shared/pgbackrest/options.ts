/**
 * @module
 * The pgBackRest flags a user may pass to a backup or restore (`options[]`). Admission refuses
 * anything else with a message and checks the values; the Job builders filter again with the
 * same table, so an object that slipped past admission still cannot point a Job at another
 * configuration, repository path or host. Each option stays one argv item: Jobs pass them as
 * arguments, never through shell text.
 */
import { hasControlCharacter } from "./ini.ts";

export type OptionContext = "backup" | "restore";

export interface OptionPolicy {
  contexts: readonly OptionContext[];
  /** An on/off flag: `--name`, `--no-name` or `--name=y|n`; every other option takes a value. */
  flag?: boolean;
  /** May be given more than once. */
  repeatable?: boolean;
}

const BOTH: readonly OptionContext[] = ["backup", "restore"];

/**
 * The one allow-list, from pgBackRest's command reference: admission checks each value (and
 * refuses everything else with a message), the Job builders pass only these.
 */
export const PGBACKREST_OPTIONS = {
  // backup
  "archive-check": { contexts: ["backup"], flag: true },
  "archive-copy": { contexts: ["backup"], flag: true },
  "archive-timeout": { contexts: ["backup"] },
  annotation: { contexts: ["backup"], repeatable: true },
  "checksum-page": { contexts: ["backup"], flag: true },
  "compress-level": { contexts: ["backup"] },
  "compress-type": { contexts: ["backup"] },
  "manifest-save-threshold": { contexts: ["backup"] },
  resume: { contexts: ["backup"], flag: true },
  "start-fast": { contexts: ["backup"], flag: true },
  "stop-auto": { contexts: ["backup"], flag: true },
  // restore
  "archive-mode": { contexts: ["restore"] },
  "db-exclude": { contexts: ["restore"], repeatable: true },
  "db-include": { contexts: ["restore"], repeatable: true },
  force: { contexts: ["restore"], flag: true },
  "link-all": { contexts: ["restore"], flag: true },
  set: { contexts: ["restore"] },
  target: { contexts: ["restore"] },
  "target-action": { contexts: ["restore"] },
  "target-exclusive": { contexts: ["restore"], flag: true },
  "target-timeline": { contexts: ["restore"] },
  // both (the values of --type differ by context)
  type: { contexts: BOTH },
  delta: { contexts: BOTH, flag: true },
  "buffer-size": { contexts: BOTH },
  "db-timeout": { contexts: BOTH },
  "io-timeout": { contexts: BOTH },
  "protocol-timeout": { contexts: BOTH },
  "process-max": { contexts: BOTH },
  "log-level-console": { contexts: BOTH },
  "log-level-file": { contexts: BOTH },
  "log-level-stderr": { contexts: BOTH },
} as const satisfies Record<string, OptionPolicy>;

export type OptionName = keyof typeof PGBACKREST_OPTIONS;

export function optionPolicy(name: string): OptionPolicy | undefined {
  return Object.hasOwn(PGBACKREST_OPTIONS, name) ? PGBACKREST_OPTIONS[name as OptionName] : undefined;
}

/** The allowed option names of a context. */
export function allowedOptions(context: OptionContext): OptionName[] {
  return (Object.keys(PGBACKREST_OPTIONS) as OptionName[]).filter((n) =>
    (PGBACKREST_OPTIONS[n].contexts as readonly OptionContext[]).includes(context),
  );
}

/**
 * Options the operator sets itself, with why (admission's message): each would let a Job read
 * another configuration, write to another repository or outside the data directory, or reach
 * another host.
 */
export const OPERATOR_OPTIONS: readonly [RegExp, string][] = [
  [/^config(-include-path|-path)?$/, "the operator owns pgBackRest's configuration files"],
  [/^stanza$/, "the operator sets the stanza"],
  [/^repo$/, "choose the repository with repoName"],
  [/^repo\d*-path$/, "repository paths come from the repo definition (backups.pgbackrest.global)"],
  [/^repo\d*-/, "repository settings belong in backups.pgbackrest.global or configuration"],
  [/^pg\d*-/, "the operator sets the PostgreSQL hosts and paths"],
  [/^(lock|log|spool)-path$/, "paths inside the pod are fixed"],
  [/^(tls-|cmd|exec-id|cipher)/, "the operator owns TLS, commands and encryption settings"],
  [
    /^(recovery-option|link-map|tablespace-map(-all)?)$/,
    "it would let a restore write outside the data directory or change recovery commands",
  ],
];

export interface FilteredOptions {
  allowed: string[];
  refused: string[];
}

/**
 * `--name`, `--name=value` or (a flag) `--no-name`, with the name allowed in this context and a
 * printable value.
 */
export function filterOptions(
  options: readonly string[] | undefined,
  context: OptionContext,
  except: readonly string[] = [],
): FilteredOptions {
  const out: FilteredOptions = { allowed: [], refused: [] };
  for (const option of options ?? []) {
    const m = /^--(no-)?([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s.exec(option);
    const [, negated, name = "", value] = m ?? [];
    const policy = optionPolicy(name);
    const ok =
      policy?.contexts.includes(context) === true &&
      (negated === undefined || (policy.flag === true && value === undefined)) &&
      !except.includes(name) &&
      !hasControlCharacter(value ?? "");
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
