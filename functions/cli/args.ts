/**
 * @module
 * A small command-line parser, runtime-neutral so the CLI core runs the same on Node and Deno.
 * Flags: `--name value`, `--name=value`, `-n value`, `-n=value`; booleans take no value; a
 * flag with `optionalValue` (`--pgbouncer[=N]`) takes a value only after `=`; list flags may
 * repeat; `--` ends the flags.
 */
import { UsageError } from "./errors.ts";

type FlagKind = "boolean" | "string" | "list";

export interface FlagSpec {
  /** Long name without dashes: `replicas` for `--replicas`. */
  name: string;
  short?: string;
  kind: FlagKind;
  /** Placeholder for the value in help: `N`, `SIZE`. */
  value?: string;
  /** The value a bare `--flag` stands for; the flag then only takes a value after `=`. */
  optionalValue?: string;
  help: string;
  /** Allowed values, checked while parsing. */
  choices?: readonly string[];
}

export type FlagValue = string | boolean | string[];

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, FlagValue>;
}

function display(spec: FlagSpec): string {
  return `--${spec.name}`;
}

/**
 * Parses `argv` against `specs`. `command` names the command in messages ("tusk create
 * cluster"), so a mistake says where to look.
 */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command = ""): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const flags: Record<string, FlagValue> = {};
  const positionals: string[] = [];
  const where = command ? `tusk ${command}` : "tusk";
  const helpHint = command ? `run \`tusk ${command} --help\` for its flags` : "run `tusk --help` for the commands";

  const set = (spec: FlagSpec, value: string | boolean, token: string) => {
    if (typeof value === "string" && spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`${token}: ${JSON.stringify(value)} is not one of ${spec.choices.join(", ")}`, command);
    }
    if (spec.kind === "list") {
      const list = (flags[spec.name] as string[] | undefined) ?? [];
      list.push(value as string);
      flags[spec.name] = list;
      return;
    }
    if (spec.name in flags && spec.kind !== "boolean") {
      throw new UsageError(`${display(spec)} is given twice; give it once`, command);
    }
    flags[spec.name] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === "-" || !token.startsWith("-")) {
      positionals.push(token);
      continue;
    }
    const long = token.startsWith("--");
    const body = token.slice(long ? 2 : 1);
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    const spec = long ? byLong.get(name) : byShort.get(name);
    if (!spec) {
      throw new UsageError(`${where}: unknown flag ${long ? "--" : "-"}${name}; ${helpHint}`, command);
    }
    if (spec.kind === "boolean") {
      if (inline !== undefined) {
        if (inline !== "true" && inline !== "false") {
          throw new UsageError(`${display(spec)} takes no value (got ${JSON.stringify(inline)})`, command);
        }
        set(spec, inline === "true", token);
      } else set(spec, true, token);
      continue;
    }
    if (inline !== undefined) {
      set(spec, inline, display(spec));
      continue;
    }
    if (spec.optionalValue !== undefined) {
      set(spec, spec.optionalValue, display(spec));
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || (next.startsWith("-") && next !== "-" && !/^-\d/.test(next))) {
      throw new UsageError(
        `${display(spec)} needs a value${spec.value ? ` (${display(spec)} ${spec.value})` : ""}`,
        command,
      );
    }
    set(spec, next, display(spec));
    i++;
  }
  return { positionals, flags };
}

/** The flag as it is written in help: `-n, --namespace NS`, `--pgbouncer[=N]`. */
export function flagSynopsis(spec: FlagSpec): string {
  const short = spec.short ? `-${spec.short}, ` : "";
  const value =
    spec.kind === "boolean"
      ? ""
      : spec.optionalValue !== undefined
        ? `[=${spec.value ?? "VALUE"}]`
        : ` ${spec.value ?? "VALUE"}`;
  return `${short}--${spec.name}${value}`;
}

export function stringFlag(flags: Record<string, FlagValue>, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

export function boolFlag(flags: Record<string, FlagValue>, name: string): boolean {
  return flags[name] === true;
}

export function listFlag(flags: Record<string, FlagValue>, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
}

/** A whole number in [min, max]; `flag` names it in the message. */
export function intFlag(
  flags: Record<string, FlagValue>,
  name: string,
  command: string,
  range: { min: number; max?: number },
): number | undefined {
  const text = stringFlag(flags, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text))
    throw new UsageError(`--${name} must be a whole number (got ${JSON.stringify(text)})`, command);
  const n = Number(text);
  if (n < range.min || (range.max !== undefined && n > range.max)) {
    const bound = range.max !== undefined ? `${range.min}..${range.max}` : `>= ${range.min}`;
    throw new UsageError(`--${name} must be ${bound} (got ${n})`, command);
  }
  return n;
}
