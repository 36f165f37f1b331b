/**
 * @module
 * The CLI core: argv in, exit code out, all I/O through the injected environment. Finds the
 * command, parses its flags, runs it, and turns every failure into a sentence for a person
 * (usage mistakes exit 2; problems exit 1; stack traces only with --debug).
 */
import { parseArgs, stringFlag } from "./args.ts";
import { COMMANDS, type CommandSpec, commandHelp, findCommand, GLOBAL_FLAGS, mainHelp, usageLine } from "./commands.ts";
import type { CliEnv, Ctx } from "./context.ts";
import { CliError, UsageError } from "./errors.ts";
import type { Kube } from "./kube.ts";
import type { OutputFormat } from "./output.ts";

/** Global flags that take a value, so `tusk -n ns status hippo` finds the command word. */
const VALUE_FLAGS = new Set(
  GLOBAL_FLAGS.filter((f) => f.kind !== "boolean").flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]),
);

/** Splits argv into the command words and the rest (flags may come first). */
function splitCommand(argv: readonly string[]): { words: string[]; rest: string[] } {
  const rest: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i] as string;
    if (!token.startsWith("-") || token === "-") break;
    rest.push(token);
    if (VALUE_FLAGS.has(token) && i + 1 < argv.length) rest.push(argv[++i] as string);
  }
  const words: string[] = [];
  // At most two words name a command ("create cluster"); the remainder are its arguments.
  for (let j = i; j < argv.length && words.length < 2; j++) {
    const token = argv[j] as string;
    if (token.startsWith("-")) break;
    words.push(token);
  }
  const found = findCommand(words);
  const used = found ? found.used : words.length > 0 ? 1 : 0;
  return { words: words.slice(0, used), rest: [...rest, ...argv.slice(i + used)] };
}

function suggestion(word: string): string {
  const names = COMMANDS.map((c) => c.name);
  const exact = names.filter((n) => n.split(" ")[0] === word);
  const close = exact.length ? exact : names.filter((n) => word.length >= 2 && n.startsWith(word.slice(0, 2)));
  return close.length ? `; did you mean ${close.map((n) => `\`tusk ${n}\``).join(" or ")}?` : "";
}

function checkArgs(command: CommandSpec, positionals: string[]): void {
  const max = command.args.length;
  const min = max - (command.optionalArgs ?? 0);
  if (positionals.length < min) {
    const missing = command.args.slice(positionals.length).join(" ");
    throw new UsageError(`tusk ${command.name} needs ${missing}`, command.name);
  }
  if (positionals.length > max) {
    const extra = positionals
      .slice(max)
      .map((p) => JSON.stringify(p))
      .join(" ");
    throw new UsageError(`tusk ${command.name}: unexpected argument(s) ${extra}`, command.name);
  }
}

function outputOf(value: string | undefined): OutputFormat {
  return value === "json" || value === "yaml" ? value : "text";
}

async function dispatch(argv: readonly string[], env: CliEnv): Promise<number> {
  const { words, rest } = splitCommand(argv);
  const io = env.io;
  if (words[0] === "help") {
    const target = findCommand(words.slice(1).concat(rest.filter((r) => !r.startsWith("-"))));
    io.out(target ? commandHelp(target.command) : mainHelp());
    return 0;
  }
  if (words.length === 0) {
    const parsed = parseArgs(rest, GLOBAL_FLAGS);
    if (parsed.flags.help === true) {
      io.out(mainHelp());
      return 0;
    }
    if (parsed.positionals.length === 0) {
      io.err(mainHelp());
      return 2;
    }
  }
  const found = findCommand(words);
  if (!found) {
    const typed = words.join(" ");
    throw new UsageError(
      `unknown command ${JSON.stringify(typed)}${suggestion(words[0] ?? "")} (\`tusk --help\` lists the commands)`,
    );
  }
  const command = found.command;
  const parsed = parseArgs(rest, [...command.flags, ...GLOBAL_FLAGS], command.name);
  if (parsed.flags.help === true) {
    io.out(commandHelp(command));
    return 0;
  }
  checkArgs(command, parsed.positionals);

  let kube: Promise<Kube> | undefined;
  const ctx: Ctx = {
    env,
    io,
    command: command.name,
    positionals: parsed.positionals,
    flags: parsed.flags,
    output: outputOf(stringFlag(parsed.flags, "output")),
    kube: () => {
      const kubeconfig = stringFlag(parsed.flags, "kubeconfig");
      const context = stringFlag(parsed.flags, "context");
      const namespace = stringFlag(parsed.flags, "namespace");
      kube ??= env.connect({
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        ...(context !== undefined ? { context } : {}),
        ...(namespace !== undefined ? { namespace } : {}),
      });
      return kube;
    },
  };
  return command.run(ctx);
}

/** Runs the CLI; never throws. */
export async function run(argv: readonly string[], env: CliEnv): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    return await dispatch(argv, env);
  } catch (error) {
    if (error instanceof UsageError) {
      env.io.err(`tusk: ${error.message}\n`);
      const command = COMMANDS.find((c) => c.name === error.command);
      if (command) env.io.err(`usage: ${usageLine(command)}\n`);
      return error.exitCode;
    }
    if (error instanceof CliError) {
      env.io.err(`tusk: ${error.message}\n`);
      if (debug && error.stack) env.io.err(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    env.io.err(`tusk: unexpected error: ${message}\n`);
    if (debug && error instanceof Error && error.stack) env.io.err(`${error.stack}\n`);
    else env.io.err("this is a bug in tusk; run again with --debug for the details and report it\n");
    return 1;
  }
}
