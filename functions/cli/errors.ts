/**
 * @module
 * The two ways a command fails on purpose: a usage mistake (exit 2, with a pointer to the
 * help) and a problem the user can fix (exit 1, or the code given). Anything else is a bug and
 * is reported as one, with the stack only under `--debug`.
 */

/** A problem the user can act on; `message` says what happened and what to do. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A wrong command line: unknown command or flag, missing argument, bad value. */
export class UsageError extends CliError {
  /** The command whose help explains the fix, e.g. "create cluster"; empty for the top level. */
  readonly command: string;
  constructor(message: string, command = "") {
    super(message, 2);
    this.name = "UsageError";
    this.command = command;
  }
}
