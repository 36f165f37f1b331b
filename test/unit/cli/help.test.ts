import { describe, expect, it } from "vitest";
import { flagSynopsis, parseArgs } from "../../../functions/cli/args.ts";
import { COMMANDS, GLOBAL_FLAGS } from "../../../functions/cli/commands.ts";
import { UsageError } from "../../../functions/cli/errors.ts";
import { tusk } from "./harness.ts";

describe("the argument parser", () => {
  const specs = [
    { name: "replicas", kind: "string" as const, value: "N", help: "" },
    { name: "namespace", short: "n", kind: "string" as const, value: "NS", help: "" },
    { name: "metrics", kind: "boolean" as const, help: "" },
    { name: "backup-repo", kind: "list" as const, help: "" },
    { name: "pgbouncer", kind: "string" as const, optionalValue: "1", help: "" },
    { name: "type", kind: "string" as const, choices: ["full", "diff"], help: "" },
  ];

  it("reads long, short, inline and repeated flags, and positionals in any order", () => {
    const parsed = parseArgs(
      ["hippo", "--replicas", "2", "-n=prod", "--metrics", "--backup-repo", "a", "--backup-repo=b", "--pgbouncer", "-"],
      specs,
    );
    expect(parsed).toEqual({
      positionals: ["hippo", "-"],
      flags: { replicas: "2", namespace: "prod", metrics: true, "backup-repo": ["a", "b"], pgbouncer: "1" },
    });
    expect(parseArgs(["--pgbouncer=3", "--", "--not-a-flag"], specs)).toEqual({
      positionals: ["--not-a-flag"],
      flags: { pgbouncer: "3" },
    });
    expect(parseArgs(["-n", "x", "--metrics=false"], specs).flags).toEqual({ namespace: "x", metrics: false });
  });

  it.each([
    [["--nope"], "tusk scale: unknown flag --nope; run `tusk scale --help` for its flags"],
    [["-x"], "tusk scale: unknown flag -x"],
    [["--replicas"], "--replicas needs a value (--replicas N)"],
    [["--replicas", "--metrics"], "--replicas needs a value"],
    [["--replicas", "1", "--replicas", "2"], "--replicas is given twice; give it once"],
    [["--metrics=yes"], '--metrics takes no value (got "yes")'],
    [["--type", "weekly"], '--type: "weekly" is not one of full, diff'],
  ])("refuses %j: %s", (argv, message) => {
    expect(() => parseArgs(argv, specs, "scale")).toThrow(UsageError);
    expect(() => parseArgs(argv, specs, "scale")).toThrow(message);
  });

  it("writes flags in help as they are typed", () => {
    expect(specs.map(flagSynopsis)).toEqual([
      "--replicas N",
      "-n, --namespace NS",
      "--metrics",
      "--backup-repo VALUE",
      "--pgbouncer[=VALUE]",
      "--type VALUE",
    ]);
  });
});

describe("tusk --help", () => {
  it("matches the reviewed help text", async () => {
    const r = await tusk(["--help"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    await expect(r.out).toMatchFileSnapshot("./__snapshots__/help.txt");
  });

  it("lists every command of the command table, and nothing else", async () => {
    const { out } = await tusk(["--help"]);
    const listed = out
      .split("\n")
      .filter((l) => /^ {2}[a-z]/.test(l))
      .map((l) => l.trim().split(/\s{2,}/)[0] as string);
    const commands = listed.filter((l) => !l.startsWith("-"));
    expect(commands).toEqual(COMMANDS.map((c) => [c.name, ...c.args].join(" ")));
    for (const c of COMMANDS) expect(out).toContain(c.summary);
    for (const f of GLOBAL_FLAGS) expect(out).toContain(flagSynopsis(f));
  });

  it("lists the commands issue 10 asks for", () => {
    const names = COMMANDS.map((c) => c.name);
    for (const wanted of [
      "render",
      "validate",
      "create cluster",
      "crd",
      "version",
      "apply",
      "get",
      "status",
      "backup",
      "restore",
      "switchover",
      "scale",
      "shutdown",
      "start",
      "delete",
    ])
      expect(names).toContain(wanted);
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    "tusk %s --help shows its usage, every flag and an example",
    async (name, c) => {
      const r = await tusk([...name.split(" "), "--help"]);
      expect(r.code).toBe(0);
      expect(r.out.startsWith(`Usage: tusk ${[name, ...c.args].join(" ")}`)).toBe(true);
      for (const f of [...c.flags, ...GLOBAL_FLAGS]) expect(r.out).toContain(`${flagSynopsis(f)}  `);
      expect(r.out).toContain("Examples:\n  tusk ");
      for (const e of c.examples) expect(e.startsWith(`tusk ${name}`) || e.includes(`| tusk ${name}`)).toBe(true);
      // `tusk help <command>` says the same.
      expect((await tusk(["help", ...name.split(" ")])).out).toBe(r.out);
    },
  );

  it("every flag in a command's help is accepted by that command", async () => {
    for (const c of COMMANDS) {
      for (const f of c.flags) {
        // Parsing alone: a UsageError here would mean help advertises a flag the parser refuses.
        const argv =
          f.kind === "boolean" || f.optionalValue !== undefined
            ? [`--${f.name}`]
            : [`--${f.name}`, f.choices?.[0] ?? "1"];
        expect(() => parseArgs(argv, [...c.flags, ...GLOBAL_FLAGS], c.name)).not.toThrow();
      }
    }
  });
});

describe("usage mistakes exit 2 with a message and no stack trace", () => {
  it.each([
    [["frobnicate"], 'tusk: unknown command "frobnicate" (`tusk --help` lists the commands)\n'],
    [
      ["create"],
      'tusk: unknown command "create"; did you mean `tusk create cluster`? (`tusk --help` lists the commands)\n',
    ],
    [
      ["create", "database", "x"],
      'tusk: unknown command "create"; did you mean `tusk create cluster`? (`tusk --help` lists the commands)\n',
    ],
    [
      ["stats", "x"],
      'tusk: unknown command "stats"; did you mean `tusk status` or `tusk start`? (`tusk --help` lists the commands)\n',
    ],
    [["render"], "tusk: tusk render needs FILE|-\nusage: tusk render FILE|- [flags]\n"],
    [["version", "extra"], 'tusk: tusk version: unexpected argument(s) "extra"\nusage: tusk version\n'],
    [
      ["crd", "--replicas", "2"],
      "tusk: tusk crd: unknown flag --replicas; run `tusk crd --help` for its flags\nusage: tusk crd\n",
    ],
    [["status"], "tusk: tusk status needs NAME\nusage: tusk status NAME\n"],
    [["crd", "-o", "xml"], 'tusk: --output: "xml" is not one of json, yaml\nusage: tusk crd\n'],
    [
      ["get", "pods"],
      'tusk: tusk get: unknown resource "pods"; use clusters, backups or restores\nusage: tusk get clusters|backups|restores [flags]\n',
    ],
  ])("%j", async (argv, err) => {
    const r = await tusk(argv);
    expect(r.code).toBe(2);
    expect(r.err).toBe(err);
    expect(r.out).toBe("");
  });

  it("no arguments prints the help on stderr and exits 2", async () => {
    const r = await tusk([]);
    expect(r.code).toBe(2);
    expect(r.err).toBe((await tusk(["--help"])).out);
  });

  it("global flags may come before the command", async () => {
    const r = await tusk(["-o", "json", "version"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
