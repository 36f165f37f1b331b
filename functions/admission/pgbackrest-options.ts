/**
 * @module
 * The pgBackRest flags a user may add to a backup or a restore (`options[]`): the allow-list of
 * shared/pgbackrest/options.ts, with each value checked here. Everything else is refused: the
 * operator owns the configuration file, stanza, repository paths and hosts, Postgres paths and
 * TLS, so `--repo1-path=/elsewhere` or `--config=...` cannot point a Job at another cluster's data. Each item is one argument (never
 * shell text); one pair of quotes around a value (`--target="2021-06-09 14:15:11-04"`, as PGO
 * examples write it) is accepted and means the value inside.
 */
import {
  allowedOptions,
  OPERATOR_OPTIONS,
  type OptionContext,
  type OptionName,
  optionPolicy,
} from "../../shared/pgbackrest/options.ts";
import { duplicate, forbidden, hasControl, invalid, notSupported, type Problem, show } from "./problems.ts";
import { BACKUP_LABEL, TARGET_CHECKS } from "./targets.ts";

type ValueCheck = (value: string | undefined) => string | undefined;

const LOG_LEVELS = ["off", "error", "warn", "info", "detail", "debug", "trace"];

const flag: ValueCheck = (v) => (v === undefined || ["y", "n"].includes(v) ? undefined : 'takes no value (or "y"/"n")');
const oneOf =
  (...values: string[]): ValueCheck =>
  (v) =>
    v !== undefined && values.includes(v) ? undefined : `must be one of ${values.join(", ")}`;
const intRange =
  (min: number, max: number): ValueCheck =>
  (v) =>
    v !== undefined && /^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max
      ? undefined
      : `must be an integer from ${min} to ${max}`;
const seconds: ValueCheck = (v) =>
  v !== undefined && /^\d+(\.\d+)?$/.test(v) && Number(v) > 0 ? undefined : "must be a number of seconds";
const size: ValueCheck = (v) =>
  v !== undefined && /^\d+(kb|k|mb|m|gb|g|tb|t|pb|p)?$/i.test(v) ? undefined : "must be a size such as 1MB";
const text: ValueCheck = (v) => (v !== undefined && v.length > 0 ? undefined : "needs a value");

/** The value check of every allowed option; a flag's is `flag`. */
const CHECKS: Record<OptionName, ValueCheck> = {
  "archive-check": flag,
  "archive-copy": flag,
  "archive-timeout": seconds,
  annotation: (v) => (v && /^[^=]+=.*$/.test(v) ? undefined : "must be key=value"),
  "checksum-page": flag,
  "compress-level": intRange(-5, 22),
  "compress-type": oneOf("none", "bz2", "gz", "lz4", "zst"),
  "manifest-save-threshold": size,
  resume: flag,
  "start-fast": flag,
  "stop-auto": flag,
  "archive-mode": oneOf("preserve", "off"),
  "db-exclude": text,
  "db-include": text,
  force: flag,
  "link-all": flag,
  set: (v) => (v && BACKUP_LABEL.test(v) ? undefined : "must be a backup label such as 20260102-030405F"),
  target: text,
  "target-action": oneOf("pause", "promote", "shutdown"),
  "target-exclusive": flag,
  "target-timeline": (v) =>
    v && /^(current|latest|\d+|0x[0-9a-f]+)$/i.test(v) ? undefined : "must be current, latest or a timeline number",
  // The values differ by context; checked with TYPES below.
  type: text,
  delta: flag,
  "buffer-size": size,
  "db-timeout": seconds,
  "io-timeout": seconds,
  "protocol-timeout": seconds,
  "process-max": intRange(1, 999),
  "log-level-console": oneOf(...LOG_LEVELS),
  "log-level-file": oneOf(...LOG_LEVELS),
  "log-level-stderr": oneOf(...LOG_LEVELS),
};

const TYPES: Record<OptionContext, string[]> = {
  backup: ["full", "diff", "incr"],
  restore: ["default", "immediate", "lsn", "name", "preserve", "standby", "time", "xid"],
};

/** Shell metacharacters and control characters: an option is one argv entry, never shell text. */
const SHELL = /[;&|`$<>\\(){}[\]!*?~#'"]/;
const unsafe = (value: string) => SHELL.test(value) || hasControl(value);

export interface ParsedOption {
  name: string;
  value?: string;
}

export interface OptionRules {
  context: OptionContext;
  /** Options this object sets through its own fields, mapped to that field's path. */
  ownFields?: Record<string, string>;
}

function unquote(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '"' || first === "'") && value.endsWith(first)) return value.slice(1, -1);
  return value;
}

/** Checks options[] and returns the problems plus the parsed options (for target checks). */
export function checkOptions(
  options: readonly string[],
  path: string,
  rules: OptionRules,
): { problems: Problem[]; parsed: ParsedOption[] } {
  const problems: Problem[] = [];
  const parsed: ParsedOption[] = [];
  const seen = new Set<string>();
  options.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const m = /^--([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s.exec(item);
    if (!m?.[1]) {
      problems.push(invalid(at, `${show(item)} must be a pgBackRest flag written --name or --name=value`));
      return;
    }
    const name = m[1].replace(/^no-/, "");
    const negated = m[1].startsWith("no-");
    const value = m[2] === undefined ? undefined : unquote(m[2]);
    if (value !== undefined && unsafe(value)) {
      problems.push(
        invalid(at, `${show(item)} contains quotes, control or shell characters; give the plain value in one item`),
      );
      return;
    }
    const spec = optionPolicy(name);
    const owned = OPERATOR_OPTIONS.find(([re]) => re.test(name));
    if (owned && !spec) {
      problems.push(forbidden(at, `--${name} is not allowed: ${owned[1]}`));
      return;
    }
    if (!spec?.contexts.includes(rules.context)) {
      problems.push(
        notSupported(
          at,
          `--${name} is not an allowed ${rules.context} option; allowed: ${allowedOptions(rules.context).join(", ")}`,
        ),
      );
      return;
    }
    const check = CHECKS[name as OptionName];
    const own = rules.ownFields?.[name];
    if (own) {
      problems.push(forbidden(at, `--${name} is set through ${own}; remove it from options`));
      return;
    }
    if (negated && !spec.flag) {
      problems.push(invalid(at, `--no-${name} is not a pgBackRest flag (only on/off flags have a --no- form)`));
      return;
    }
    const why =
      name === "type"
        ? oneOf(...TYPES[rules.context])(value)
        : negated && value !== undefined
          ? "a --no- flag takes no value"
          : check(value);
    if (why) {
      problems.push(invalid(at, `--${name} ${why}`));
      return;
    }
    if (seen.has(name) && !spec.repeatable) {
      problems.push(duplicate(at, `--${name} is given more than once`));
      return;
    }
    seen.add(name);
    parsed.push(value === undefined ? { name } : { name, value });
  });
  if (rules.context === "restore") problems.push(...targetConsistency(parsed, path));
  return { problems, parsed };
}

/** --type=time needs a --target that is a timestamp with a zone, and so on. */
function targetConsistency(parsed: ParsedOption[], path: string): Problem[] {
  const type = parsed.find((o) => o.name === "type")?.value;
  const target = parsed.find((o) => o.name === "target")?.value;
  const check = type ? TARGET_CHECKS[type] : undefined;
  if (check) {
    if (target === undefined) return [invalid(path, `--type=${type} needs --target=<${type}>`)];
    const why = check(target);
    return why ? [invalid(path, `--target ${why}`)] : [];
  }
  if (target !== undefined) {
    return [invalid(path, "--target needs --type=time, lsn, name or xid")];
  }
  return [];
}
