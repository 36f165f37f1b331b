/**
 * @module
 * The CLI's only contact with the runtime: arguments, files, stdin, output and exit. Everything
 * else in functions/cli works on the `Io` interface, so the same commands run on Node and on
 * Deno, and tests drive them in-process with an in-memory `Io`.
 */
import { CliError } from "./errors.ts";

export interface Io {
  /** A file's text; `-` reads stdin. Fails with a CliError naming the path. */
  readText(path: string): Promise<string>;
  /** Names of the entries of a directory (files only), sorted. */
  listDir(path: string): Promise<string[]>;
  /** Joins a directory and a name the way the platform does. */
  join(dir: string, name: string): string;
  out(text: string): void;
  err(text: string): void;
  /** Whether stdin is a terminal a person can answer questions on. */
  interactive: boolean;
  /** Prints `question` on stderr and reads one line from stdin; undefined at end of input. */
  ask(question: string): Promise<string | undefined>;
}

export interface Runtime {
  args: string[];
  io: Io;
  exit(code: number): never;
}

interface DenoLike {
  args: string[];
  readTextFile(path: string): Promise<string>;
  readDir(path: string): AsyncIterable<{ name: string; isFile: boolean }>;
  stdin: { readable: ReadableStream<Uint8Array>; isTerminal(): boolean };
  stdout: { writeSync(bytes: Uint8Array): number };
  stderr: { writeSync(bytes: Uint8Array): number };
  exit(code: number): never;
  errors: { NotFound: new () => Error; PermissionDenied: new () => Error; IsADirectory?: new () => Error };
  build: { os: string };
}

/** A read failure as a sentence naming the path. */
export function fileProblem(path: string, error: unknown): CliError {
  const code = (error as { code?: string }).code;
  const name = (error as { name?: string }).name;
  const what = path === "-" ? "stdin" : path;
  if (code === "ENOENT" || name === "NotFound") return new CliError(`cannot read ${what}: no such file or directory`);
  if (code === "EACCES" || name === "PermissionDenied") {
    return new CliError(`cannot read ${what}: permission denied`);
  }
  if (code === "EISDIR" || name === "IsADirectory") return new CliError(`cannot read ${what}: it is a directory`);
  if (code === "ENOTDIR") return new CliError(`cannot read ${what}: not a directory`);
  return new CliError(`cannot read ${what}: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * Writes all of `text`: writeSync may write fewer bytes than asked to a pipe. A reader that went
 * away (`tusk crd | head`) ends the program quietly, as it would a C program.
 */
function writeAll(sink: { writeSync(bytes: Uint8Array): number }, text: string, exit: (code: number) => never): void {
  let bytes = new TextEncoder().encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(sink.writeSync(bytes));
  } catch (error) {
    if ((error as { name?: string }).name === "BrokenPipe") exit(0);
    throw error;
  }
}

async function readLine(stream: ReadableStream<Uint8Array>): Promise<string | undefined> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let line = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return line === "" ? undefined : line;
      line += decoder.decode(value, { stream: true });
      const nl = line.indexOf("\n");
      if (nl !== -1) return line.slice(0, nl).replace(/\r$/, "");
    }
  } finally {
    reader.releaseLock();
  }
}

function denoRuntime(deno: DenoLike): Runtime {
  const windows = deno.build.os === "windows";
  const io: Io = {
    async readText(path) {
      try {
        return path === "-" ? await new Response(deno.stdin.readable).text() : await deno.readTextFile(path);
      } catch (error) {
        throw fileProblem(path, error);
      }
    },
    async listDir(path) {
      const names: string[] = [];
      try {
        for await (const entry of deno.readDir(path)) if (entry.isFile) names.push(entry.name);
      } catch (error) {
        throw fileProblem(path, error);
      }
      return names.sort();
    },
    join: (dir, name) => `${dir.replace(/[\\/]+$/, "")}${windows ? "\\" : "/"}${name}`,
    out: (text) => writeAll(deno.stdout, text, deno.exit),
    err: (text) => writeAll(deno.stderr, text, deno.exit),
    interactive: deno.stdin.isTerminal(),
    async ask(question) {
      writeAll(deno.stderr, question, deno.exit);
      return readLine(deno.stdin.readable);
    },
  };
  return { args: [...deno.args], io, exit: (code) => deno.exit(code) };
}

async function nodeRuntime(): Promise<Runtime> {
  const [{ readFile, readdir }, path, { default: process }] = await Promise.all([
    import("node:fs/promises"),
    import("node:path"),
    import("node:process"),
  ]);
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
  }
  const io: Io = {
    async readText(file) {
      try {
        if (file !== "-") return await readFile(file, "utf8");
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString("utf8");
      } catch (error) {
        throw fileProblem(file, error);
      }
    },
    async listDir(dir) {
      try {
        const entries = await readdir(dir, { withFileTypes: true });
        return entries
          .filter((e) => e.isFile())
          .map((e) => e.name)
          .sort();
      } catch (error) {
        throw fileProblem(dir, error);
      }
    },
    join: (dir, name) => path.join(dir, name),
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    interactive: process.stdin.isTTY === true,
    async ask(question) {
      const { createInterface } = await import("node:readline/promises");
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
      try {
        const closed = new Promise<undefined>((resolve) => rl.once("close", () => resolve(undefined)));
        return await Promise.race([rl.question(question), closed]);
      } finally {
        rl.close();
      }
    },
  };
  return {
    args: process.argv.slice(2),
    io,
    exit: (code) => {
      // Output to pipes and files is synchronous on POSIX, so nothing written is lost here; an
      // explicit exit stops keep-alive sockets of the Kubernetes client from holding the process.
      return process.exit(code);
    },
  };
}

/** The runtime this process runs on. */
export async function currentRuntime(): Promise<Runtime> {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  return deno ? denoRuntime(deno) : nodeRuntime();
}
