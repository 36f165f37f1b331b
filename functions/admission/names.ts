/**
 * @module
 * Names: the cluster name must let every child Tusk generates keep its readable name (the
 * limits are measured on shared/names.ts itself, so they follow it), instance sets need unique
 * DNS-safe names, and users and databases must be valid PostgreSQL identifiers that do not
 * take a reserved role name (shared/roles.ts).
 */
import { instanceSetName, names } from "../../shared/names.ts";
import { RESERVED_ROLE_NAMES, RESERVED_ROLE_PREFIXES, reservedRoleName } from "../../shared/roles.ts";
import { duplicate, forbidden, hasControl, invalid, type Problem } from "./problems.ts";

const RESERVED_DATABASES: readonly string[] = ["template0", "template1"];

/** Services must be DNS-1035 labels (start with a letter), and they carry the cluster name. */
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

type Build = (...parts: string[]) => string;

/**
 * Whether names.ts returns the plain joined name for these parts, rather than a cut name with
 * a hash suffix. The expected plain name comes from building with placeholder parts and putting
 * the real parts in, so nothing here repeats how names.ts joins parts or where it cuts.
 */
function plainName(build: Build, parts: string[]): string {
  let expected = build(...parts.map((_, i) => String.fromCharCode(1 + i)));
  parts.forEach((part, i) => {
    expected = expected.replace(String.fromCharCode(1 + i), () => part);
  });
  return expected;
}

function isPlain(build: Build, parts: string[]): boolean {
  return build(...parts) === plainName(build, parts);
}

/** The longest plain name `build` returns: grow the first part until names.ts starts cutting. */
function maxLength(build: Build, arity: number): number {
  const rest = Array.from({ length: arity - 1 }, () => "b");
  let lo = 1;
  let hi = 1024;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (isPlain(build, ["a".repeat(mid), ...rest])) lo = mid;
    else hi = mid - 1;
  }
  return build("a".repeat(lo), ...rest).length;
}

interface Fit {
  name: string;
  /** The name as it would read if it were not cut. */
  plain: string;
  fits: boolean;
  /** The longest name of this kind that stays plain. */
  max: number;
}

function measure(build: Build, parts: string[]): Fit {
  const plain = plainName(build, parts);
  const name = build(...parts);
  return { name, plain, fits: name === plain, max: maxLength(build, parts.length) };
}

/** Children named from the cluster name alone, with what they are (for the message). */
const CLUSTER_CHILDREN: [string, (cluster: string) => string][] = [
  ["primary Service", names.primaryService],
  ["replica Service", names.replicaService],
  ["pods Service", names.podsService],
  ["Patroni scope", names.patroniScope],
  ["Patroni config Service", names.patroniConfigService],
  ["cluster ConfigMap", names.clusterConfig],
  ["instance ServiceAccount", names.instanceRbac],
  ["internal Secret", names.internalSecret],
  ["CA Secret", names.caSecret],
  ["server certificate Secret", names.serverCertSecret],
  ["replication certificate Secret", names.replicationCertSecret],
  ["pgBackRest ConfigMap", names.pgbackrestConfig],
  ["repository host StatefulSet", names.repoHost],
  ["pgBouncer Deployment", names.pgbouncer],
  ["monitoring Secret", names.monitoringSecret],
];

export interface ClusterNameInput {
  /** The name, or generateName followed by the five characters the API server appends. */
  name: string;
  field: string;
  instances: { name: string; replicas: number }[];
}

export function checkClusterNames(input: ClusterNameInput): Problem[] {
  const problems: Problem[] = [];
  const { name, field } = input;
  if (!DNS_1035.test(name)) {
    problems.push(
      invalid(field, "must start with a lowercase letter and contain only a-z, 0-9 and '-' (it names Services)"),
    );
    return problems;
  }
  // One problem for the tightest limit: the user shortens the name once.
  const limit = maxClusterNameLength();
  if (name.length > limit.length) {
    problems.push(
      invalid(
        field,
        `is too long (${name.length} characters): the ${limit.what} name must stay within ${limit.max} characters, so use at most ${limit.length}`,
      ),
    );
    return problems;
  }
  input.instances.forEach((set, i) => {
    const setName = instanceSetName(set.name, i);
    const lastOrdinal = Math.max(0, set.replicas - 1);
    const sts = measure((c, s) => names.instance(c, s, lastOrdinal), [name, setName]);
    const checks: [string, Fit][] = [
      ["instance StatefulSet", sts],
      ["instance set PodDisruptionBudget", measure(names.pdb, [name, setName])],
      ["data volume claim", measure(names.pgdata, [sts.name])],
      ["WAL volume claim", measure(names.pgwal, [sts.name])],
    ];
    const bad = checks.find(([, r]) => !r.fits);
    if (bad) {
      const [what, r] = bad;
      problems.push(
        invalid(
          `spec.instances[${i}].name`,
          `cluster name plus instance set name are too long: the ${what} name ${JSON.stringify(r.plain)} would exceed ${r.max} characters`,
        ),
      );
    }
  });
  return problems;
}

/** The longest cluster name for which every cluster-level child keeps its plain name. */
let clusterLimit: { length: number; what: string; max: number } | undefined;

function maxClusterNameLength(): { length: number; what: string; max: number } {
  if (clusterLimit) return clusterLimit;
  let best = { length: Number.MAX_SAFE_INTEGER, what: "", max: 0 };
  for (const [what, build] of CLUSTER_CHILDREN) {
    const max = maxLength(build, 1);
    const length = max - (build("\u0001").length - 1);
    if (length < best.length) best = { length, what, max };
  }
  clusterLimit = best;
  return best;
}

export interface InstanceSetLike {
  name: string;
}

export function checkInstanceSetNames(sets: readonly InstanceSetLike[]): Problem[] {
  const problems: Problem[] = [];
  const raw = new Map<string, number>();
  const resolved = new Map<string, number>();
  sets.forEach((set, i) => {
    const field = `spec.instances[${i}].name`;
    const first = raw.get(set.name);
    if (first !== undefined) {
      problems.push(
        duplicate(
          field,
          set.name === ""
            ? `only one instance set may be unnamed (spec.instances[${first}] is too); name this one`
            : `${JSON.stringify(set.name)} is already used by spec.instances[${first}]; names must be unique`,
        ),
      );
      return;
    }
    raw.set(set.name, i);
    const effective = instanceSetName(set.name, i);
    const clash = resolved.get(effective);
    if (clash !== undefined) {
      problems.push(
        duplicate(
          field,
          `resolves to ${JSON.stringify(effective)} like spec.instances[${clash}] (unnamed sets are named 00, 01, ... by position); choose another name`,
        ),
      );
      return;
    }
    resolved.set(effective, i);
  });
  return problems;
}

export interface UserLike {
  name: string;
  databases?: readonly string[] | undefined;
  options?: string | undefined;
}

export function checkUsers(users: readonly UserLike[]): { problems: Problem[]; warnings: string[] } {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const seen = new Map<string, number>();
  users.forEach((user, i) => {
    const at = `spec.users[${i}]`;
    const first = seen.get(user.name);
    if (first !== undefined) {
      problems.push(duplicate(`${at}.name`, `${JSON.stringify(user.name)} is already defined at spec.users[${first}]`));
    } else {
      seen.set(user.name, i);
    }
    if (reservedRoleName(user.name)) {
      problems.push(
        forbidden(
          `${at}.name`,
          `${JSON.stringify(user.name)} is reserved (${RESERVED_ROLE_PREFIXES.map((p) => `${p}*`).join(", ")}, ${RESERVED_ROLE_NAMES.join(", ")}); choose another name`,
        ),
      );
    }
    if (utf8Length(user.name) > 63)
      problems.push(invalid(`${at}.name`, "must be at most 63 bytes (a PostgreSQL identifier)"));
    if (user.options !== undefined) {
      if (/password/i.test(user.options)) {
        problems.push(
          forbidden(`${at}.options`, "must not set PASSWORD: the operator generates it into the user Secret"),
        );
      }
      if (/--|\/\*|\*\//.test(user.options)) problems.push(invalid(`${at}.options`, "must not contain SQL comments"));
      if (hasControl(user.options)) problems.push(invalid(`${at}.options`, "must not contain control characters"));
    }
    if (user.name === "postgres" && (user.databases?.length || user.options)) {
      warnings.push(`${at}: databases and options are ignored for the postgres superuser`);
    }
    const dbs = new Map<string, number>();
    (user.databases ?? []).forEach((db, j) => {
      const dbAt = `${at}.databases[${j}]`;
      const why = databaseProblem(db);
      if (why) problems.push(invalid(dbAt, why));
      const firstDb = dbs.get(db);
      if (firstDb !== undefined)
        problems.push(duplicate(dbAt, `${JSON.stringify(db)} is listed twice (also [${firstDb}])`));
      else dbs.set(db, j);
    });
  });
  return { problems, warnings };
}

function databaseProblem(db: string): string | undefined {
  if (db.length === 0) return "must not be empty";
  if (db.includes("\u0000")) return "must not contain NUL";
  if (utf8Length(db) > 63) return "must be at most 63 bytes (a PostgreSQL identifier)";
  if (RESERVED_DATABASES.includes(db)) return `${db} is a template database and cannot be given to a user`;
  return undefined;
}

/** Names of objects in the same namespace (a PostgresBackup's cluster, ...) are DNS-1035 here. */
export function clusterReferenceProblem(name: string): string | undefined {
  return DNS_1035.test(name) && name.length <= 63
    ? undefined
    : "must be the name of a PostgresCluster (a lowercase DNS label starting with a letter)";
}
