/**
 * Status conditions and observed-Job readers each have one implementation in shared/. Copies
 * drifted before (six condition builders with four argument orders, three readers of a Job's
 * state that disagreed on what counts as success), so a new copy under functions/ fails here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { condition } from "../../../shared/conditions.ts";

const root = join(import.meta.dirname, "..", "..", "..");

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** Files under functions/ defining a function with this name. */
const defining = (name: string) =>
  sources("functions").filter((p) => new RegExp(`function ${name}\\b`).test(readFileSync(join(root, p), "utf8")));

describe("single sources", () => {
  it("functions/ defines no condition builder of its own", () => {
    expect(defining("condition")).toEqual([]);
  });

  it("a condition keeps its lastTransitionTime while its status stays, and takes the observed time on a change", () => {
    const before = [condition("Succeeded", "Unknown", "JobRunning", "running", { time: "t1" })];
    expect(condition("Succeeded", "Unknown", "Still", "running", { previous: before, time: "t2" })).toEqual({
      type: "Succeeded",
      status: "Unknown",
      reason: "Still",
      message: "running",
      lastTransitionTime: "t1",
    });
    expect(condition("Succeeded", "True", "Done", "done", { previous: before, time: "t3", generation: 4 })).toEqual({
      type: "Succeeded",
      status: "True",
      reason: "Done",
      message: "done",
      observedGeneration: 4,
      lastTransitionTime: "t3",
    });
    expect(condition("Ready", "True", "R", "m", { previous: before })).not.toHaveProperty("lastTransitionTime");
  });
});
