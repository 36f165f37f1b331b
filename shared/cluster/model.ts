/**
 * @module
 * The parent PostgresCluster parsed with the API schema and normalised into what the builders
 * need: instance names per set, users with their Secrets, ports and image. An invalid spec gives
 * field problems instead of a model, so the hook can answer with a condition (never a 500).
 */
import { type InstanceSet, PostgresClusterSpec, type UserSpec } from "../api/postgres-cluster.ts";
import { type FieldProblem, zodProblems } from "../field-path.ts";
import { ANNOTATION, autoCreateUserSchema } from "../labels.ts";
import type { Parent } from "../metacontroller.ts";
import { boundedName, instanceSetName, names } from "../names.ts";
import { IMAGES, PORTS, ROLES } from "../pod-layout.ts";
import { OPERATOR_ROLE_NAMES } from "../roles.ts";

export interface InstanceModel {
  /** Instance set name (PGO's 00, 01 ... when unnamed). */
  set: string;
  ordinal: number;
  /** StatefulSet name `<cluster>-<set>-<ordinal>`. */
  name: string;
  /** Its single pod. */
  pod: string;
}

export interface InstanceSetModel {
  name: string;
  spec: InstanceSet;
  instances: InstanceModel[];
}

export interface UserModel {
  name: string;
  databases: string[];
  options?: string;
  passwordType: "ASCII" | "AlphaNumeric";
  /** `postgres` is the superuser: its Secret carries the superuser password. */
  superuser: boolean;
  secretName: string;
}

export interface ClusterModel {
  name: string;
  namespace: string;
  generation?: number;
  spec: PostgresClusterSpec;
  version: number;
  image: string;
  port: number;
  patroniPort: number;
  sets: InstanceSetModel[];
  /** Every desired instance (all sets, ordinals ascending). */
  instances: InstanceModel[];
  users: UserModel[];
  shutdown: boolean;
  /** The cluster's autoCreateUserSchema annotation (Tusk's or PGO's) is "true". */
  userSchemas: boolean;
  /**
   * The annotation postgres.tusk.dev/restart: copied onto the instance pod templates, so a new
   * value restarts every instance through the rolling update (replicas first, the leader last).
   */
  restartId?: string;
  /**
   * Set by the cluster hook's restore gate (functions/cluster/restore/gate.ts) while Patroni may
   * have to bootstrap from a restored data directory (an in-place restore, a new cluster from
   * spec.dataSource): never initdb then.
   */
  bootstrapFromRestore?: boolean;
}

export type ModelResult = { ok: true; model: ClusterModel } | { ok: false; problems: FieldProblem[] };

export function clusterModel(parent: Parent): ModelResult {
  const parsed = PostgresClusterSpec.safeParse(parent.spec ?? {});
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error, ["spec"]) };
  const spec = parsed.data;
  const cluster = parent.metadata.name;
  const problems: FieldProblem[] = [];

  const sets: InstanceSetModel[] = spec.instances.map((set, index) => {
    const name = instanceSetName(set.name, index);
    const instances = Array.from({ length: set.replicas }, (_, ordinal) => {
      const sts = names.instance(cluster, name, ordinal);
      return { set: name, ordinal, name: sts, pod: names.pod(sts) };
    });
    return { name, spec: set, instances };
  });
  duplicates(sets.map((s) => s.name)).forEach((name) =>
    problems.push({ field: "spec.instances", message: `instance set name "${name}" is used more than once` }),
  );
  const instances = sets.flatMap((s) => s.instances);
  duplicates(instances.map((i) => i.name)).forEach((name) =>
    problems.push({ field: "spec.instances", message: `two instance sets generate the same instance name "${name}"` }),
  );

  const users = userModels(cluster, spec.users);
  (spec.users ?? []).forEach((u, i) => {
    if (users.filter((m) => m.name === u.name).length > 1)
      problems.push({ field: `spec.users[${i}].name`, message: `user "${u.name}" is listed more than once` });
  });
  (spec.users ?? []).forEach((u, i) => {
    if (OPERATOR_ROLE_NAMES.includes(u.name))
      problems.push({ field: `spec.users[${i}].name`, message: `"${u.name}" is a role the operator owns` });
  });
  if (spec.patroni?.port !== undefined && spec.patroni.port === spec.port)
    problems.push({ field: "spec.patroni.port", message: `must differ from spec.port (${spec.port})` });
  if (problems.length) return { ok: false, problems: dedupe(problems) };

  return {
    ok: true,
    model: {
      name: cluster,
      namespace: parent.metadata.namespace ?? "default",
      ...(parent.metadata.generation !== undefined ? { generation: parent.metadata.generation } : {}),
      spec,
      version: spec.postgresVersion,
      image: spec.image ?? IMAGES.postgres(spec.postgresVersion),
      port: spec.port,
      patroniPort: spec.patroni?.port ?? PORTS.patroni,
      sets,
      instances,
      users,
      shutdown: spec.shutdown === true,
      userSchemas: autoCreateUserSchema(parent.metadata.annotations),
      ...(parent.metadata.annotations?.[ANNOTATION.restart]
        ? { restartId: parent.metadata.annotations[ANNOTATION.restart] }
        : {}),
    },
  };
}

/** Without `users`, PGO creates a user and a database named after the cluster. */
function userModels(cluster: string, users: UserSpec[] | undefined): UserModel[] {
  const list: UserSpec[] =
    users && users.length > 0 ? users : [{ name: boundedName([cluster]), databases: [boundedName([cluster])] }];
  return list.map((u) => ({
    name: u.name,
    databases: [...new Set(u.databases ?? [])],
    ...(u.options !== undefined && u.options.trim() !== "" ? { options: u.options.trim() } : {}),
    passwordType: u.password?.type ?? "ASCII",
    superuser: u.name === ROLES.superuser,
    secretName: names.userSecret(cluster, u.name),
  }));
}

function duplicates(list: string[]): string[] {
  return [...new Set(list.filter((v, i) => list.indexOf(v) !== i))];
}

function dedupe(problems: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
