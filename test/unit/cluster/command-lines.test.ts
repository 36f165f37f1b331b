/**
 * No credential on a command line: a process's arguments are readable by every process on the
 * node, so passwords reach programs through files, stdin or the environment, never argv.
 * Kubernetes expands `$(VAR)` in command and args before the process starts, so an expanded
 * password variable counts as a password on the command line.
 */
import { describe, expect, it } from "vitest";
import { ANNOTATION } from "../../../shared/labels.ts";
import { child, cluster, decode, type Json, steadyState, sync } from "./fixtures.ts";

function commandLines(children: Json[]): string[] {
  const lines: string[] = [];
  for (const c of children) {
    const spec = c.spec?.template?.spec ?? c.spec?.jobTemplate?.spec?.template?.spec;
    for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])])
      lines.push([...(container.command ?? []), ...(container.args ?? [])].join(" "));
  }
  return lines;
}

describe("command lines", () => {
  it("carry no password, expanded or literal, in any Job or pod of a cluster, switchover included", async () => {
    const spec = { patroni: { switchover: { enabled: true } } };
    const { res, children, related } = await steadyState(cluster(spec));
    const parent = cluster(spec);
    const triggered = await sync(
      { ...parent, metadata: { ...parent.metadata, annotations: { [ANNOTATION.switchoverTrigger]: "one" } } },
      children,
      related,
    );
    const secrets = Object.values(decode(child(res, "Secret", "hippo-internal")));
    const lines = commandLines([...(res.children as Json[]), ...(triggered.children as Json[])]);
    expect(lines.some((l) => l.includes("curl"))).toBe(true);
    for (const line of lines) {
      expect(line).not.toMatch(/\$\([A-Z_]*PASSWORD\)/);
      for (const value of secrets.filter((v) => v.length >= 16)) expect(line).not.toContain(value);
    }
  });
});
