/**
 * @module
 * Backup schedules. A schedule becomes a Knative PingSource (robfig/cron: 5 fields, optional
 * seconds, `@daily`-style descriptors, no `@every`) or, without Knative, a CronJob (5 fields).
 * croner checks the fields; what croner accepts but robfig/cron does not (`L`, `W`, `#`, `?`
 * outside the day fields, time zone prefixes) is refused here so a schedule that passes
 * admission also runs.
 */
import { Cron } from "croner";

export interface ScheduleCheck {
  /** Why the schedule cannot be used; absent when it can. */
  error?: string;
  /** Something that works with one scheduler only. */
  warning?: string;
}

const DESCRIPTORS = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);

/** A fixed instant, so "does it ever fire?" has the same answer on every call. */
const REFERENCE = new Date(Date.UTC(2001, 0, 1));

export function checkSchedule(schedule: string): ScheduleCheck {
  const text = schedule.trim();
  if (text === "") return { error: 'must be a cron expression such as "0 1 * * *"' };
  if (/^(CRON_)?TZ=/.test(text)) return { error: "must not set a time zone (TZ=...): schedules run in UTC" };
  if (text.startsWith("@")) {
    if (text.startsWith("@every"))
      return { error: '@every is not supported; use a cron expression such as "0 */6 * * *"' };
    if (!DESCRIPTORS.has(text)) return { error: `must be a cron expression or one of ${[...DESCRIPTORS].join(", ")}` };
    return {};
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return { error: `must have 5 fields (minute hour day-of-month month day-of-week), not ${fields.length}` };
  }
  const offset = fields.length - 5;
  const dom = fields[offset + 2] ?? "";
  const dow = fields[offset + 4] ?? "";
  if (/[LW]/i.test(dom)) return { error: "day-of-month must not use L or W (not supported by Kubernetes schedulers)" };
  if (/[#L]/i.test(dow)) return { error: "day-of-week must not use # or L (not supported by Kubernetes schedulers)" };
  const timeFields = fields.slice(0, offset + 2).concat(fields[offset + 3] ?? "");
  if (timeFields.some((f) => f.includes("?"))) return { error: "'?' is allowed only in day-of-month and day-of-week" };
  let job: Cron;
  try {
    // robfig/cron reads '?' as '*'; croner would put today's date there, which is not pure.
    job = new Cron(text.replaceAll("?", "*"), { paused: true, mode: "5-or-6-parts", timezone: "Etc/UTC" });
  } catch (e) {
    return {
      error: `is not a valid cron expression (${e instanceof Error ? e.message.replace(/^CronPattern: /, "") : e})`,
    };
  }
  if (job.nextRun(REFERENCE) === null) return { error: "never fires (no such date)" };
  job.stop();
  return offset === 1 ? { warning: "has a seconds field: works with PingSource only, not with CronJobs" } : {};
}
