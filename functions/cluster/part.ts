/**
 * @module
 * The one shape every part of the sync hook returns (instance, users, TLS, pgBouncer,
 * monitoring, backups, volumes, switchover, restore), so sync.ts assembles parts by
 * concatenation and the status is built in one place from what they report.
 */
import type { Condition } from "../../shared/api/kube.ts";
import type { JobState } from "./observe/observed.ts";

/** A Job a part runs or keeps, for the Progressing and Degraded conditions. */
export interface JobReport {
  name: string;
  what: string;
  state: JobState;
}

export interface Part {
  /** Desired children, in any order (the response is sorted). */
  children: object[];
  jobs: JobReport[];
  /** Conditions only this part can explain (Switchover, VolumesResizing, ...). */
  conditions: Condition[];
  /** Settings not applied, for the Valid condition. */
  ignored: string[];
  /** Statements appended to the users Job's SQL (roles the part logs in with). */
  sql: string[];
  /** Something is under way that no Job reports (the hook asks to be called again soon). */
  busy: boolean;
}

export function part(contents: Partial<Part> = {}): Part {
  return { children: [], jobs: [], conditions: [], ignored: [], sql: [], busy: false, ...contents };
}

/** Parts concatenated in order (the order of jobs, conditions and ignored settings shows in the status). */
export function combine(parts: Part[]): Part {
  return {
    children: parts.flatMap((p) => p.children),
    jobs: parts.flatMap((p) => p.jobs),
    conditions: parts.flatMap((p) => p.conditions),
    ignored: parts.flatMap((p) => p.ignored),
    sql: parts.flatMap((p) => p.sql),
    busy: parts.some((p) => p.busy),
  };
}
