/**
 * @module
 * `--wait`: poll an object's `status.phase` and print each change until it reaches a final
 * phase. Exits 0 on success, 1 on failure, on timeout and when the object disappears.
 */
import type { Ctx } from "./context.ts";
import { CliError, UsageError } from "./errors.ts";
import type { KubeObject, TuskKind } from "./kube.ts";

/** `90s`, `15m`, `2h`, or a number of seconds. */
export function parseDuration(text: string, command: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--timeout ${JSON.stringify(text)}: use a duration such as 90s, 15m or 2h`, command);
  const n = Number(m[1]);
  return n * (m[2] === "h" ? 3_600_000 : m[2] === "m" ? 60_000 : 1000);
}

export interface WaitOptions {
  kind: TuskKind;
  namespace: string;
  name: string;
  succeeded: string;
  failed: string;
  timeoutMs: number;
  /** One line describing the final object, e.g. the backup label. */
  describe(object: KubeObject): string;
}

function failure(object: KubeObject): string {
  const status = object.status ?? {};
  if (typeof status.error === "string" && status.error) return status.error;
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Record<string, unknown>[]) : [];
  const bad = conditions.find((c) => c.status === (c.type === "Failed" ? "True" : "False") && c.message);
  return bad ? String(bad.message) : "no error message in the status";
}

/** Polls until a final phase; returns the exit code and the last object seen. */
export async function waitForPhase(ctx: Ctx, options: WaitOptions): Promise<{ code: number; object: KubeObject }> {
  const kube = await ctx.kube();
  const start = ctx.env.deps.now().getTime();
  let last: string | undefined;
  for (;;) {
    const object = await kube.get(options.kind, options.namespace, options.name);
    if (!object) {
      throw new CliError(`${options.kind} ${options.name} disappeared while waiting (deleted?)`);
    }
    const phase = typeof object.status?.phase === "string" ? object.status.phase : "(no phase yet)";
    if (phase !== last) {
      const elapsed = Math.round((ctx.env.deps.now().getTime() - start) / 1000);
      ctx.io.err(`${options.kind} ${options.name}: ${phase} (${elapsed}s)\n`);
      last = phase;
    }
    if (phase === options.succeeded) {
      ctx.io.err(`${options.describe(object)}\n`);
      return { code: 0, object };
    }
    if (phase === options.failed) {
      ctx.io.err(`${options.kind} ${options.name} failed: ${failure(object)}\n`);
      return { code: 1, object };
    }
    if (ctx.env.deps.now().getTime() - start >= options.timeoutMs) {
      ctx.io.err(
        `gave up waiting after ${Math.round(options.timeoutMs / 1000)}s; ${options.kind} ${options.name} is still ${phase} (it keeps going: check again with kubectl get ${options.kind.toLowerCase()} ${options.name})\n`,
      );
      return { code: 1, object };
    }
    await ctx.env.sleep(ctx.env.pollIntervalMs);
  }
}
