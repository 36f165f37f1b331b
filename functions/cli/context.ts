/**
 * @module
 * What a command is given: the runtime's I/O, the injected clock and CSPRNG (the same deps the
 * hooks get), a way to reach the cluster, and its parsed arguments.
 */
import type { OpenReader } from "../../shared/io/repo-reads.ts";
import type { ClusterDeps } from "../cluster/deps.ts";
import { type FlagValue, stringFlag } from "./args.ts";
import type { Io } from "./io.ts";
import type { Kube, KubeOptions } from "./kube.ts";
import { type OutputFormat, toJson, toYaml } from "./output.ts";

export interface CliEnv {
  io: Io;
  deps: ClusterDeps;
  connect(options: KubeOptions): Promise<Kube>;
  sleep(ms: number): Promise<void>;
  /** How often `--wait` polls the API server. */
  pollIntervalMs: number;
  /** Opens an S3 bucket (`tusk backups`); the S3 SDK's when absent, a bucket in memory in tests. */
  openRepo?: OpenReader;
}

export interface Ctx {
  env: CliEnv;
  io: Io;
  /** The command's name as typed: "create cluster". */
  command: string;
  positionals: string[];
  flags: Record<string, FlagValue>;
  output: OutputFormat;
  /** Connects once, with the global --kubeconfig, --context and -n. */
  kube(): Promise<Kube>;
}

export function namespaceFlag(ctx: Ctx): string | undefined {
  return stringFlag(ctx.flags, "namespace");
}

/** Prints `value` as JSON or YAML when `-o` asks for it; false when the caller prints text. */
export function printStructured(ctx: Ctx, value: unknown): boolean {
  if (ctx.output === "json") {
    ctx.io.out(toJson(value));
    return true;
  }
  if (ctx.output === "yaml") {
    ctx.io.out(toYaml(value));
    return true;
  }
  return false;
}
