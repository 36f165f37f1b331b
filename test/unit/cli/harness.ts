/**
 * Runs the CLI core in-process: real files, captured stdout/stderr, a fixed clock and a seeded
 * byte source (so renders are reproducible), and the real Kubernetes client.
 */

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CliEnv } from "../../../functions/cli/context.ts";
import { fileProblem } from "../../../functions/cli/io.ts";
import { connectKube, type KubeOptions } from "../../../functions/cli/kube.ts";
import { run } from "../../../functions/cli/main.ts";
import type { OpenReader } from "../../../shared/io/repo-reads.ts";
import { deterministicPki } from "../../support/deterministic-pki.ts";

export const FIXED_NOW = new Date("2026-01-15T12:00:00Z");

/** A deterministic byte stream (xorshift), distinct per seed. */
export function seededBytes(seed = 1): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

export interface RunResult {
  code: number;
  out: string;
  err: string;
}

export interface RunOptions {
  stdin?: string;
  /** Answers to confirmation questions, in order; no answers means stdin is not a terminal. */
  answers?: string[];
  now?: () => Date;
  seed?: number;
  connect?: (options: KubeOptions) => ReturnType<typeof connectKube>;
  /** Opens an S3 bucket for `tusk backups` (a bucket in memory). */
  openRepo?: OpenReader;
}

export async function tusk(argv: string[], options: RunOptions = {}): Promise<RunResult & { asked: string[] }> {
  let out = "";
  let err = "";
  const asked: string[] = [];
  const answers = [...(options.answers ?? [])];
  const env: CliEnv = {
    io: {
      async readText(path) {
        if (path === "-") return options.stdin ?? "";
        try {
          return await readFile(path, "utf8");
        } catch (error) {
          throw fileProblem(path, error);
        }
      },
      async listDir(path) {
        const entries = await readdir(path, { withFileTypes: true }).catch((error) => {
          throw fileProblem(path, error);
        });
        return entries
          .filter((e) => e.isFile())
          .map((e) => e.name)
          .sort();
      },
      join,
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
      interactive: options.answers !== undefined,
      async ask(question) {
        asked.push(question);
        err += question;
        return answers.shift();
      },
    },
    deps: {
      randomBytes: seededBytes(options.seed),
      now: options.now ?? (() => FIXED_NOW),
      pki: deterministicPki(options.seed ?? 1),
    },
    connect: options.connect ?? connectKube,
    sleep: async () => {},
    pollIntervalMs: 0,
    ...(options.openRepo ? { openRepo: options.openRepo } : {}),
  };
  const code = await run(argv, env);
  return { code, out, err, asked };
}
