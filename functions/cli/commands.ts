/**
 * @module
 * The command table: every command's name, arguments, flags, help and handler. The help text
 * is generated from this table, so it lists exactly the commands and flags that exist.
 */

import pkg from "../../package.json" with { type: "json" };
import { crds } from "../../shared/api/crds.ts";
import { type FlagSpec, flagSynopsis } from "./args.ts";
import { backupsCommand } from "./backups.ts";
import type { Ctx } from "./context.ts";
import { createClusterCommand, DEFAULT_POSTGRES_VERSION, DEFAULT_STORAGE } from "./create.ts";
import {
  applyCommand,
  backupCommand,
  deleteCommand,
  getCommand,
  restoreCommand,
  scaleCommand,
  shutdownCommand,
  startCommand,
  statusCommand,
  switchoverCommand,
} from "./ops.ts";
import { OUTPUT_FORMATS, toJson, yamlDocuments } from "./output.ts";
import { renderCommand } from "./render.ts";
import { validateCommand } from "./validate.ts";

export interface CommandSpec {
  /** As typed: "render", "create cluster". */
  name: string;
  /** Positional arguments in the synopsis: "FILE|-", "NAME". */
  args: string[];
  /** How many of the trailing positional arguments are optional. */
  optionalArgs?: number;
  summary: string;
  /** A few lines explaining what it does, for `tusk <cmd> --help`. */
  description: string;
  /** Needs a Kubernetes cluster (kubeconfig). */
  cluster: boolean;
  flags: FlagSpec[];
  examples: string[];
  run(ctx: Ctx): Promise<number>;
}

const VERSION: string = pkg.version;

export const GLOBAL_FLAGS: FlagSpec[] = [
  {
    name: "output",
    short: "o",
    kind: "string",
    value: "json|yaml",
    choices: OUTPUT_FORMATS,
    help: "print the result as JSON or YAML, for scripts",
  },
  {
    name: "namespace",
    short: "n",
    kind: "string",
    value: "NS",
    help: "namespace (default: the kubeconfig context's, else default)",
  },
  { name: "context", kind: "string", value: "NAME", help: "kubeconfig context to use" },
  { name: "kubeconfig", kind: "string", value: "FILE", help: "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)" },
  { name: "debug", kind: "boolean", help: "show stack traces of unexpected errors" },
  { name: "help", short: "h", kind: "boolean", help: "show help" },
];

const wait: FlagSpec[] = [
  { name: "wait", kind: "boolean", help: "wait until it finishes, printing each phase; non-zero exit when it fails" },
  {
    name: "timeout",
    kind: "string",
    value: "DURATION",
    help: "with --wait, give up after this long (90s, 15m, 2h; default 1h)",
  },
];

const repo: FlagSpec = {
  name: "repo",
  kind: "string",
  value: "repoN",
  help: "repository (default: the cluster's first)",
};
const yes: FlagSpec = { name: "yes", short: "y", kind: "boolean", help: "do not ask for confirmation" };

export const COMMANDS: CommandSpec[] = [
  {
    name: "render",
    args: ["FILE|-"],
    summary: "print the children the hooks create for the objects in FILE",
    description:
      "Reads PostgresCluster, PostgresBackup and PostgresRestore YAML (several documents allowed; - reads stdin)\n" +
      "and prints, as YAML, the children the hooks would create for each as a brand-new object, computed by the\n" +
      "hooks' own code. A table of kind, name and purpose goes to stderr. Secret values are redacted unless\n" +
      "--show-secrets is given.",
    cluster: false,
    flags: [
      {
        name: "observed",
        kind: "string",
        value: "DIR",
        help: "render against the existing children in the YAML/JSON files of DIR",
      },
      { name: "show-secrets", kind: "boolean", help: "print Secret data instead of redacting it" },
    ],
    examples: [
      "tusk render manifests/examples/postgrescluster-ha.yaml",
      "kubectl get pgc hippo -o yaml | tusk render -",
    ],
    run: renderCommand,
  },
  {
    name: "validate",
    args: ["FILE|-"],
    summary: "check FILE against the admission webhook's rules",
    description:
      "Runs the admission webhook's rules on every Tusk object in FILE, as for a create, and prints each\n" +
      "problem as file:line: field path: message. Exit code 1 when an object would be refused, 0 otherwise\n" +
      "(warnings are printed but do not fail).",
    cluster: false,
    flags: [],
    examples: ["tusk validate cluster.yaml"],
    run: validateCommand,
  },
  {
    name: "create cluster",
    args: ["NAME"],
    summary: "make a PostgresCluster from a few flags",
    description:
      "Builds a PostgresCluster manifest (PGO-style fields) and creates it in the cluster, or prints it with\n" +
      "--dry-run or when no cluster is reachable. The manifest passes the admission rules before it is sent.",
    cluster: false,
    flags: [
      {
        name: "replicas",
        kind: "string",
        value: "N",
        help: "instances in total: one primary and N-1 replicas (default 1)",
      },
      {
        name: "postgres-version",
        kind: "string",
        value: "V",
        help: `PostgreSQL major version (default ${DEFAULT_POSTGRES_VERSION})`,
      },
      {
        name: "storage",
        kind: "string",
        value: "SIZE",
        help: `data volume size per instance (default ${DEFAULT_STORAGE})`,
      },
      {
        name: "backup-repo",
        kind: "list",
        value: "volume:SIZE|s3:BUCKET@ENDPOINT/REGION",
        help: "a pgBackRest repository (repeat for repo2..repo4)",
      },
      { name: "schedule", kind: "string", value: "CRON", help: 'full backups on this cron schedule, e.g. "0 1 * * *"' },
      {
        name: "pgbouncer",
        kind: "string",
        value: "N",
        optionalValue: "1",
        help: "pgBouncer in front, with N replicas (default 1)",
      },
      { name: "metrics", kind: "boolean", help: "postgres_exporter metrics" },
      {
        name: "tls-secret",
        kind: "string",
        value: "NAME",
        help: "your own server certificate Secret (customTLSSecret)",
      },
      { name: "dry-run", kind: "boolean", help: "print the manifest, do not create it" },
    ],
    examples: [
      "tusk create cluster hippo --dry-run",
      'tusk create cluster hacluster --replicas 2 --metrics --pgbouncer --backup-repo volume:10Gi --backup-repo s3:backups@s3.eu-west-1.amazonaws.com/eu-west-1 --schedule "0 1 * * *"',
    ],
    run: createClusterCommand,
  },
  {
    name: "crd",
    args: [],
    summary: "print Tusk's CustomResourceDefinitions",
    description: "Prints the CRDs of PostgresCluster, PostgresBackup and PostgresRestore as multi-document YAML.",
    cluster: false,
    flags: [],
    examples: ["tusk crd | kubectl apply -f -"],
    run: async (ctx) => {
      const all = crds();
      if (ctx.output === "json") ctx.io.out(toJson({ apiVersion: "v1", kind: "List", items: all }));
      else ctx.io.out(yamlDocuments(all));
      return 0;
    },
  },
  {
    name: "version",
    args: [],
    summary: "print Tusk's version",
    description: "Prints the version of this Tusk checkout (package.json).",
    cluster: false,
    flags: [],
    examples: ["tusk version"],
    run: async (ctx) => {
      if (ctx.output === "json") ctx.io.out(toJson({ version: VERSION }));
      else if (ctx.output === "yaml") ctx.io.out(`version: ${VERSION}\n`);
      else ctx.io.out(`tusk ${VERSION}\n`);
      return 0;
    },
  },
  {
    name: "apply",
    args: ["FILE|-"],
    summary: "create or update the objects in FILE (server-side apply)",
    description:
      "Checks every Tusk object in FILE with the admission rules, then applies PostgresClusters, Backups,\n" +
      "Restores, Secrets and ConfigMaps with server-side apply as field manager tusk, taking over fields another\n" +
      "manager set (as kubectl apply --server-side --force-conflicts). Nothing is applied when any object is\n" +
      "refused.",
    cluster: true,
    flags: [],
    examples: ["tusk apply manifests/examples/postgrescluster-ha.yaml -n databases"],
    run: applyCommand,
  },
  {
    name: "get",
    args: ["clusters|backups|restores"],
    summary: "list clusters, backups or restores",
    description: "Lists PostgresClusters (or PostgresBackups, PostgresRestores) with their phase.",
    cluster: true,
    flags: [{ name: "all-namespaces", short: "A", kind: "boolean", help: "list in every namespace" }],
    examples: ["tusk get clusters", "tusk get backups -A"],
    run: getCommand,
  },
  {
    name: "status",
    args: ["NAME"],
    summary: "instances with role, lag and readiness; backups; recoverability; conditions",
    description:
      "Shows a cluster's instances (role from Patroni, replication lag, readiness), the last backup per\n" +
      "repository, the recoverability window the backup work publishes, and the status conditions.",
    cluster: true,
    flags: [],
    examples: ["tusk status hippo", "tusk status hippo -o json"],
    run: statusCommand,
  },
  {
    name: "backup",
    args: ["NAME"],
    summary: "take a backup now (creates a PostgresBackup)",
    description: "Creates a PostgresBackup of cluster NAME to one repository.",
    cluster: true,
    flags: [
      repo,
      {
        name: "type",
        kind: "string",
        value: "full|diff|incr",
        choices: ["full", "diff", "incr"],
        help: "backup type (default full)",
      },
      ...wait,
    ],
    examples: ["tusk backup hippo --repo repo2 --type incr --wait"],
    run: backupCommand,
  },
  {
    name: "backups",
    args: ["NAME"],
    summary: "list the backup sets in each of a cluster's repositories, read from the bucket",
    description:
      "Reads each S3 repository's backup.info (and its archived WAL) from the bucket with the key and CA the\n" +
      "pods use: the Secrets and ConfigMaps of spec.backups.pgbackrest.configuration, read with your\n" +
      "kubeconfig. Prints every backup set (label, type, start, end, size) and how far back a restore reaches.\n" +
      "A volume repository is listed by pgbackrest info in the repository host pod (the line says how).\n" +
      "Exit code 1 when an S3 repository could not be read.",
    cluster: true,
    flags: [{ ...repo, help: "only this repository (default: all)" }],
    examples: ["tusk backups hippo -n db", "tusk backups hippo --repo repo2 -o json"],
    run: backupsCommand,
  },
  {
    name: "restore",
    args: ["NAME"],
    summary: "restore a cluster in place to a time or the latest WAL (creates a PostgresRestore)",
    description:
      "Creates a PostgresRestore: the cluster's instances stop, the data is restored from the repository and\n" +
      "WAL replayed up to --to, then the cluster starts on a new timeline. Asks for confirmation unless --yes.",
    cluster: true,
    flags: [
      { name: "to", kind: "string", value: "TIME|latest", help: 'recovery target: "2026-01-15 14:30:00+00" or latest' },
      repo,
      yes,
      ...wait,
    ],
    examples: ['tusk restore hippo --to "2026-01-15 14:30:00+00" --wait', "tusk restore hippo --to latest --yes"],
    run: restoreCommand,
  },
  {
    name: "switchover",
    args: ["NAME"],
    summary: "move the primary role to another instance",
    description:
      "Sets spec.patroni.switchover and a new postgres.tusk.dev/trigger-switchover id; the cluster hook runs\n" +
      "a Patroni switchover. Without --to, Patroni picks the healthiest replica.",
    cluster: true,
    flags: [{ name: "to", kind: "string", value: "INSTANCE", help: "the instance (or its pod) to become primary" }],
    examples: ["tusk switchover hippo --to hippo-instance1-1"],
    run: switchoverCommand,
  },
  {
    name: "scale",
    args: ["NAME"],
    summary: "change the number of instances of an instance set",
    description:
      "Sets spec.instances[].replicas of one instance set (a JSON patch that fails if the set changed meanwhile).",
    cluster: true,
    flags: [
      {
        name: "instance-set",
        kind: "string",
        value: "SET",
        help: "the instance set, e.g. instance1 (00 for an unnamed first set)",
      },
      { name: "replicas", kind: "string", value: "N", help: "instances in the set (>= 1; use shutdown to stop all)" },
    ],
    examples: ["tusk scale hippo --instance-set instance1 --replicas 3"],
    run: scaleCommand,
  },
  {
    name: "shutdown",
    args: ["NAME"],
    summary: "stop every instance, keeping all data (spec.shutdown: true)",
    description: "Sets spec.shutdown to true: every instance scales to zero; volumes and backups are kept.",
    cluster: true,
    flags: [],
    examples: ["tusk shutdown hippo"],
    run: shutdownCommand,
  },
  {
    name: "start",
    args: ["NAME"],
    summary: "start a shut-down cluster again (spec.shutdown: false)",
    description: "Sets spec.shutdown to false: the instances start again on their volumes.",
    cluster: true,
    flags: [],
    examples: ["tusk start hippo"],
    run: startCommand,
  },
  {
    name: "delete",
    args: ["NAME"],
    summary: "delete a cluster (asks first; refuses when deletion protection is on)",
    description:
      "Deletes PostgresCluster NAME after you type its name (or with --yes). Refused while the annotation\n" +
      'postgres.tusk.dev/deletion-protection is "true". Volumes and backup repositories are kept.',
    cluster: true,
    flags: [yes],
    examples: ["tusk delete hippo", "tusk delete hippo --yes -n staging"],
    run: deleteCommand,
  },
];

export function findCommand(words: readonly string[]): { command: CommandSpec; used: number } | undefined {
  for (const used of [2, 1]) {
    const name = words.slice(0, used).join(" ");
    const command = COMMANDS.find((c) => c.name === name);
    if (command && words.length >= used) return { command, used };
  }
  return undefined;
}

function flagLines(flags: readonly FlagSpec[]): string {
  const width = Math.max(...flags.map((f) => flagSynopsis(f).length));
  return flags.map((f) => `  ${flagSynopsis(f).padEnd(width)}  ${f.help}\n`).join("");
}

export function usageLine(c: CommandSpec): string {
  return `tusk ${[c.name, ...c.args].join(" ")}${c.flags.length ? " [flags]" : ""}`;
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => [c.name, ...c.args].join(" ").length));
  const line = (c: CommandSpec) => `  ${[c.name, ...c.args].join(" ").padEnd(width)}  ${c.summary}\n`;
  return (
    "tusk: see what a PostgresCluster makes, then run day-2 operations.\n\n" +
    "Usage: tusk <command> [arguments] [flags]\n\n" +
    "Offline (no cluster needed):\n" +
    COMMANDS.filter((c) => !c.cluster)
      .map(line)
      .join("") +
    "\nAgainst a cluster (kubeconfig, --context, -n):\n" +
    COMMANDS.filter((c) => c.cluster)
      .map(line)
      .join("") +
    "\nFlags for every command:\n" +
    flagLines(GLOBAL_FLAGS) +
    "\nRun `tusk <command> --help` for a command's flags and examples.\n"
  );
}

export function commandHelp(c: CommandSpec): string {
  return (
    `Usage: ${usageLine(c)}\n\n${c.description}\n` +
    (c.flags.length ? `\nFlags:\n${flagLines(c.flags)}` : "") +
    `\nFlags for every command:\n${flagLines(GLOBAL_FLAGS)}` +
    `\nExamples:\n${c.examples.map((e) => `  ${e}\n`).join("")}`
  );
}
