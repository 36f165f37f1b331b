/**
 * @module
 * Polling waits: every wait in the suite polls for a condition with a generous deadline, so a
 * loaded machine makes the suite slower, never flaky. The error names what was awaited and the
 * last thing observed.
 */
import { setTimeout as sleep } from "node:timers/promises";

export { sleep };

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Called on timeout to add context (e.g. a log tail) to the error. */
  describe?: () => string | Promise<string>;
}

/** Thrown from a probe when waiting longer cannot help (a crashed process, a failed Job). */
export class Fatal extends Error {}

/**
 * Polls `probe` until it returns a value other than undefined/false/null; returns that value.
 * Exceptions count as "not yet" (except Fatal) and the last one is reported on timeout.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Exclude<T, undefined | false | null>> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const intervalMs = opts.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false && v !== null) return v as Exclude<T, undefined | false | null>;
      last = v;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() >= deadline) {
      const extra = opts.describe ? `\n${await opts.describe()}` : "";
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (last: ${String(last)})${extra}`);
    }
    await sleep(intervalMs);
  }
}

export function seconds(fromMs: number, toMs = Date.now()): number {
  return Math.round((toMs - fromMs) / 10) / 100;
}
