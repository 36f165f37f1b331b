/**
 * @module
 * PostgresCluster rules beyond the schema: what OpenAPI cannot say (cross-field references,
 * cron, quantities, names that generate valid children, parameters the operator owns) and the
 * rules for changes to an existing cluster (volumes only grow, the major version and storage
 * classes stay). Each rule returns problems with the field path a person has to edit.
 */

import type { InstanceSet, PostgresClusterSpec, Repo } from "../../shared/api/postgres-cluster.ts";
import {
  ANNOTATION,
  backupRemovalAuthorized,
  PGO_AUTHORIZE_BACKUP_REMOVAL,
  PGO_AUTO_CREATE_USER_SCHEMA,
} from "../../shared/labels.ts";
import { instanceSetName } from "../../shared/names.ts";
import { OWNED_PATRONI_KEYS, OWNED_PATRONI_POSTGRESQL_KEYS } from "../../shared/patroni.ts";
import { ownedPgBouncerSetting } from "../../shared/pgbouncer/settings.ts";
import { PORTS } from "../../shared/pod-layout.ts";
import { compareQuantities, isPositive, parseQuantity } from "../../shared/quantity.ts";
import { checkSchedule } from "./cron.ts";
import { imageMajor } from "./image.ts";
import { checkClusterNames, checkInstanceSetNames, checkUsers } from "./names.ts";
import { checkParameters } from "./parameters.ts";
import { checkOptions } from "./pgbackrest-options.ts";
import {
  duplicate,
  forbidden,
  hasControl,
  invalid,
  isRecord,
  key,
  notSupported,
  type Problem,
  required,
  show,
} from "./problems.ts";

export interface Findings {
  problems: Problem[];
  warnings: string[];
}

export interface ClusterContext {
  /** metadata.name, or generateName plus the 5 characters the API server appends. */
  name: string;
  nameField: string;
  annotations: Record<string, string>;
  supportedVersions: readonly number[];
}

const STORAGE_KINDS = ["volume", "s3", "gcs", "azure"] as const;

/** Everything a new cluster (or the new state of a changed one) must satisfy. */
export function checkCluster(spec: PostgresClusterSpec, ctx: ClusterContext): Findings {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const add = (f: Findings) => {
    problems.push(...f.problems);
    warnings.push(...f.warnings);
  };

  problems.push(...checkInstanceSetNames(spec.instances));
  problems.push(
    ...checkClusterNames({
      name: ctx.name,
      field: ctx.nameField,
      instances: spec.instances.map((s) => ({ name: s.name, replicas: s.replicas })),
    }),
  );
  spec.instances.forEach((set, i) => {
    problems.push(...checkStorage(set.dataVolumeClaimSpec, `spec.instances[${i}].dataVolumeClaimSpec`, true));
    if (set.walVolumeClaimSpec) {
      problems.push(...checkStorage(set.walVolumeClaimSpec, `spec.instances[${i}].walVolumeClaimSpec`, true));
    }
  });
  add(checkVersion(spec, ctx.supportedVersions));
  add(checkUsers(spec.users ?? []));
  add(checkBackups(spec, ctx));
  add(checkPostgresConfig(spec));
  problems.push(...checkPorts(spec));
  problems.push(...checkPatroni(spec));
  problems.push(...checkStandby(spec));
  problems.push(...checkDataSource(spec));
  problems.push(...checkPgBouncer(spec));
  warnings.push(...compatibilityAnnotations(ctx.annotations));
  const replicas = spec.instances.reduce((n, s) => n + s.replicas, 0);
  if (replicas === 1 && !spec.backups?.pgbackrest) {
    warnings.push("spec: one instance and no backups: losing its volume loses the data");
  }
  return { problems, warnings };
}

const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

/**
 * A volume claim needs a positive storage request (Kubernetes refuses a PVC without one) and
 * access modes Kubernetes knows: the API server would refuse the StatefulSet built from it on
 * every sync, long after the manifest was accepted.
 */
function checkStorage(claim: unknown, path: string, needed: boolean): Problem[] {
  const modes = isRecord(claim) && Array.isArray(claim.accessModes) ? claim.accessModes : [];
  const badModes = modes.flatMap((m, i) =>
    ACCESS_MODES.includes(m as string)
      ? []
      : [
          notSupported(
            `${path}.accessModes[${i}]`,
            `${show(m)} is not an access mode; use one of ${ACCESS_MODES.join(", ")}`,
          ),
        ],
  );
  return [...badModes, ...checkStorageRequest(claim, path, needed)];
}

function checkStorageRequest(claim: unknown, path: string, needed: boolean): Problem[] {
  const at = `${path}.resources.requests.storage`;
  const value = storageOf(claim);
  if (value === undefined) {
    return needed ? [required(at, "is required: the size of the volume, e.g. 10Gi")] : [];
  }
  const q = parseQuantity(value);
  if (!q) return [invalid(at, `${show(value)} is not a Kubernetes quantity (e.g. 10Gi, 500Mi, 1Ti)`)];
  if (!isPositive(q)) return [invalid(at, `${show(value)} must be greater than zero`)];
  return [];
}

function storageOf(claim: unknown): unknown {
  if (!isRecord(claim) || !isRecord(claim.resources) || !isRecord(claim.resources.requests)) return undefined;
  return claim.resources.requests.storage;
}

function checkVersion(spec: PostgresClusterSpec, supported: readonly number[]): Findings {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  if (!supported.includes(spec.postgresVersion)) {
    problems.push(
      notSupported(
        "spec.postgresVersion",
        `${spec.postgresVersion} is not supported; supported: ${supported.join(", ")}`,
      ),
    );
  }
  if (spec.image !== undefined) {
    const found = imageMajor(spec.image);
    if ("major" in found && found.major !== spec.postgresVersion) {
      problems.push(
        invalid(
          "spec.image",
          `${show(spec.image)} looks like PostgreSQL ${found.major} (from its tag) but postgresVersion is ${spec.postgresVersion}; use an image for ${spec.postgresVersion} or change postgresVersion`,
        ),
      );
    } else if ("ambiguous" in found) {
      warnings.push(
        `spec.image: tag names several versions (${found.ambiguous.join(", ")}); it must run ${spec.postgresVersion}`,
      );
    } else if ("unknown" in found) {
      warnings.push(
        `spec.image: cannot tell its PostgreSQL version (${found.unknown}); it must run ${spec.postgresVersion}`,
      );
    }
  }
  return { problems, warnings };
}

/** pgBackRest settings in `global` that the operator writes itself, or that are secrets. */
const OWNED_GLOBAL: [RegExp, string][] = [
  [
    /^repo\d+-(s3|gcs|azure)-(key|key-secret|token|key-type)$|^repo\d+-cipher-pass$|^repo\d+-(azure|s3)-(account|sas)/,
    "is a credential: put it in a Secret listed in configuration, not in global (a ConfigMap)",
  ],
  [/^repo\d+-type$/, "is set from the repo's volume/s3/gcs/azure"],
  [
    /^repo\d+-(s3-bucket|s3-endpoint|s3-region|gcs-bucket|azure-container)$/,
    "comes from the repo definition in repos[]",
  ],
  [/^repo\d+-host/, "repository hosts are set by the operator"],
  [/^pg\d+-/, "the PostgreSQL hosts and paths are set by the operator"],
  [/^(stanza|lock-path|log-path|spool-path|config|config-path|config-include-path)$/, "is fixed by the operator"],
  [/^tls-/, "pgBackRest TLS is managed by the operator"],
];

function checkBackups(spec: PostgresClusterSpec, ctx: ClusterContext): Findings {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const pgbr = spec.backups?.pgbackrest;
  if (!pgbr) return { problems, warnings };
  const base = "spec.backups.pgbackrest";
  const names = new Map<string, number>();
  pgbr.repos.forEach((repo, i) => {
    const at = `${base}.repos[${i}]`;
    const first = names.get(repo.name);
    if (first !== undefined) {
      problems.push(
        duplicate(`${at}.name`, `${repo.name} is already defined at ${base}.repos[${first}]; names must be unique`),
      );
    } else {
      names.set(repo.name, i);
    }
    problems.push(...checkRepoKind(repo, at));
    if (repo.volume) problems.push(...checkStorage(repo.volume.volumeClaimSpec, `${at}.volume.volumeClaimSpec`, true));
    for (const [kind, schedule] of Object.entries(repo.schedules ?? {})) {
      if (typeof schedule !== "string") continue;
      const r = checkSchedule(schedule);
      if (r.error) problems.push(invalid(`${at}.schedules.${kind}`, `${show(schedule)} ${r.error}`));
      if (r.warning) warnings.push(`${at}.schedules.${kind}: ${r.warning}`);
    }
    if ((repo.s3 || repo.gcs || repo.azure) && pgbr.global?.[`${repo.name}-retention-full`] === undefined) {
      warnings.push(`${at}: no ${repo.name}-retention-full in global; the default retention applies`);
    }
  });
  const defined = (name: string) => names.has(name);
  if (pgbr.manual) {
    if (!defined(pgbr.manual.repoName))
      problems.push(missingRepo(`${base}.manual.repoName`, pgbr.manual.repoName, names));
    if (pgbr.manual.options)
      problems.push(...checkOptions(pgbr.manual.options, `${base}.manual.options`, { context: "backup" }).problems);
  }
  if (pgbr.restore) {
    const own = pgbr.restore.clusterName === undefined || pgbr.restore.clusterName === ctx.name;
    if (own && !defined(pgbr.restore.repoName)) {
      problems.push(missingRepo(`${base}.restore.repoName`, pgbr.restore.repoName, names));
    }
    if (pgbr.restore.options) {
      problems.push(...checkOptions(pgbr.restore.options, `${base}.restore.options`, { context: "restore" }).problems);
    }
  }
  for (const [k, v] of Object.entries(pgbr.global ?? {})) {
    problems.push(...checkGlobal(k, v, `${base}.global`));
    const repo = /^(repo\d+)-/.exec(k)?.[1];
    if (repo && !defined(repo)) warnings.push(`${key(`${base}.global`, k)}: there is no ${repo} in repos`);
  }
  return { problems, warnings };
}

function checkGlobal(k: string, v: string, path: string): Problem[] {
  const at = key(path, k);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(k)) return [invalid(at, "is not a pgBackRest option name (a-z, 0-9, '-')")];
  const owned = OWNED_GLOBAL.find(([re]) => re.test(k));
  if (owned) return [forbidden(at, `cannot be set here: ${k} ${owned[1]}`)];
  if (hasControl(v)) return [invalid(at, "must not contain newlines or control characters")];
  return [];
}

function missingRepo(field: string, name: string, names: Map<string, number>): Problem {
  const have = [...names.keys()];
  return invalid(
    field,
    `${name} is not defined in spec.backups.pgbackrest.repos (defined: ${have.length ? have.join(", ") : "none"})`,
  );
}

function checkRepoKind(repo: Repo, at: string): Problem[] {
  const kinds = STORAGE_KINDS.filter((k) => repo[k] !== undefined);
  if (kinds.length === 1) return [];
  return kinds.length === 0
    ? [required(at, "needs exactly one of volume, s3, gcs or azure")]
    : [invalid(at, `has ${kinds.join(" and ")}; a repo needs exactly one of volume, s3, gcs or azure`)];
}

function checkPostgresConfig(spec: PostgresClusterSpec): Findings {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  if (spec.config?.parameters) {
    problems.push(...checkParameters(spec.config.parameters, "spec.config.parameters", spec.postgresVersion));
  }
  const dynamic = spec.patroni?.dynamicConfiguration;
  if (isRecord(dynamic)) {
    const base = "spec.patroni.dynamicConfiguration";
    const pg = dynamic.postgresql;
    if (pg !== undefined && !isRecord(pg)) problems.push(invalid(`${base}.postgresql`, "must be an object"));
    if (isRecord(pg) && pg.parameters !== undefined) {
      if (isRecord(pg.parameters)) {
        problems.push(...checkParameters(pg.parameters, `${base}.postgresql.parameters`, spec.postgresVersion));
      } else {
        problems.push(invalid(`${base}.postgresql.parameters`, "must be an object of parameter names to values"));
      }
    }
    for (const [k, owned] of Object.entries(OWNED_PATRONI_KEYS)) {
      if (dynamic[k] === undefined) continue;
      if (owned.refused) problems.push(forbidden(`${base}.${k}`, `cannot be set here: ${owned.instead}`));
      else warnings.push(`${base}.${k}: ignored; ${owned.instead}`);
    }
    for (const [k, owned] of Object.entries(OWNED_PATRONI_POSTGRESQL_KEYS)) {
      if (isRecord(pg) && pg[k] !== undefined) warnings.push(`${base}.postgresql.${k}: ignored; ${owned.instead}`);
    }
  }
  return { problems, warnings };
}

/** Postgres, Patroni, the pgBackRest TLS server and the exporter share each instance pod. */
function checkPorts(spec: PostgresClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const fixed: [string, number][] = [
    ["the pgBackRest TLS server", PORTS.pgbackrestTls],
    ["the metrics exporter", PORTS.exporter],
  ];
  const patroniPort = spec.patroni?.port ?? PORTS.patroni;
  for (const [what, port] of fixed) {
    if (spec.port === port)
      problems.push(invalid("spec.port", `${port} is used by ${what} in the same pod; choose another`));
    if (patroniPort === port) {
      problems.push(invalid("spec.patroni.port", `${port} is used by ${what} in the same pod; choose another`));
    }
  }
  if (spec.port === patroniPort) {
    problems.push(
      invalid("spec.patroni.port", `${patroniPort} is also spec.port; Patroni's REST API needs its own port`),
    );
  }
  return problems;
}

function checkPatroni(spec: PostgresClusterSpec): Problem[] {
  const p = spec.patroni;
  if (!p) return [];
  const problems: Problem[] = [];
  if (p.syncPeriodSeconds >= p.leaderLeaseDurationSeconds) {
    problems.push(
      invalid(
        "spec.patroni.syncPeriodSeconds",
        `must be less than leaderLeaseDurationSeconds (${p.leaderLeaseDurationSeconds}), or the leader lock expires between loops`,
      ),
    );
  }
  if (p.switchover?.type === "Failover" && !p.switchover.targetInstance) {
    problems.push(required("spec.patroni.switchover.targetInstance", "is required when type is Failover"));
  }
  return problems;
}

function checkStandby(spec: PostgresClusterSpec): Problem[] {
  const s = spec.standby;
  if (!s) return [];
  const problems: Problem[] = [];
  if (s.enabled && !s.repoName && !s.host) {
    problems.push(
      required("spec.standby", "an enabled standby needs repoName (replay from a repo) and/or host (stream)"),
    );
  }
  const repos = spec.backups?.pgbackrest?.repos ?? [];
  if (s.repoName && !repos.some((r) => r.name === s.repoName)) {
    problems.push(
      invalid(
        "spec.standby.repoName",
        `${s.repoName} is not defined in spec.backups.pgbackrest.repos; define the repo holding the primary's backups`,
      ),
    );
  }
  if (s.port !== undefined && !s.host) problems.push(required("spec.standby.host", "is required when port is set"));
  return problems;
}

function checkDataSource(spec: PostgresClusterSpec): Problem[] {
  const ds = spec.dataSource;
  if (!ds) return [];
  const problems: Problem[] = [];
  if (ds.postgresCluster && ds.pgbackrest) {
    problems.push(invalid("spec.dataSource", "set either postgresCluster or pgbackrest, not both"));
  }
  if (ds.postgresCluster?.options) {
    problems.push(
      ...checkOptions(ds.postgresCluster.options, "spec.dataSource.postgresCluster.options", { context: "restore" })
        .problems,
    );
  }
  if (ds.pgbackrest) {
    problems.push(...checkRepoKind(ds.pgbackrest.repo, "spec.dataSource.pgbackrest.repo"));
    if (ds.pgbackrest.options) {
      problems.push(
        ...checkOptions(ds.pgbackrest.options, "spec.dataSource.pgbackrest.options", { context: "restore" }).problems,
      );
    }
    for (const [k, v] of Object.entries(ds.pgbackrest.global ?? {})) {
      problems.push(...checkGlobal(k, v, "spec.dataSource.pgbackrest.global"));
    }
  }
  return problems;
}

function checkPgBouncer(spec: PostgresClusterSpec): Problem[] {
  const global = spec.proxy?.pgBouncer?.config?.global;
  if (!global) return [];
  const problems: Problem[] = [];
  for (const [k, v] of Object.entries(global)) {
    const at = key("spec.proxy.pgBouncer.config.global", k);
    const owned = ownedPgBouncerSetting(k);
    if (owned) problems.push(forbidden(at, `cannot be set: ${k} ${owned}`));
    else if (hasControl(v) || hasControl(k) || k.includes("%")) {
      problems.push(invalid(at, "must not contain newlines, control characters or %include"));
    }
  }
  return problems;
}

/**
 * PGO's annotations do nothing here (but autoCreateUserSchema and authorizeBackupRemoval, honoured as PGO does); say which
 * Tusk annotation does the same job.
 */
const PGO_PREFIX = "postgres-operator.crunchydata.com/";
const PGO_EQUIVALENT: Record<string, string> = {
  "pgbackrest-backup": ANNOTATION.backupTrigger,
  "pgbackrest-restore": ANNOTATION.restoreTrigger,
  "trigger-switchover": ANNOTATION.switchoverTrigger,
};

export function compatibilityAnnotations(annotations: Record<string, string>): string[] {
  return Object.keys(annotations)
    .filter((k) => k.startsWith(PGO_PREFIX) && k !== PGO_AUTO_CREATE_USER_SCHEMA && k !== PGO_AUTHORIZE_BACKUP_REMOVAL)
    .map((k) => {
      const tusk = PGO_EQUIVALENT[k.slice(PGO_PREFIX.length)];
      return tusk ? `annotation ${k} ignored; use ${tusk}` : `annotation ${k} is PGO's; ignored by Tusk`;
    });
}

/* ---------------------------------------------------------------- updates */

export function checkClusterUpdate(next: PostgresClusterSpec, prev: PostgresClusterSpec): Problem[] {
  const problems: Problem[] = [];
  if (next.postgresVersion !== prev.postgresVersion) {
    problems.push(
      forbidden(
        "spec.postgresVersion",
        `cannot change from ${prev.postgresVersion} to ${next.postgresVersion}: a major upgrade needs its own procedure, which is not available yet`,
      ),
    );
  }
  // An unnamed set is named by its position (00, 01, ...): moving it renames every child.
  const wasAt = prev.instances.findIndex((s) => s.name === "");
  const isAt = next.instances.findIndex((s) => s.name === "");
  if (wasAt >= 0 && isAt >= 0 && wasAt !== isAt) {
    const was = instanceSetName("", wasAt);
    problems.push(
      forbidden(
        `spec.instances[${isAt}].name`,
        `this unnamed instance set moved from position ${wasAt} to ${isAt}, which renames it from ${was} to ${instanceSetName("", isAt)} and replaces its instances; name it "${was}" to keep them`,
      ),
    );
  }
  const before = new Map<string, InstanceSet>();
  prev.instances.forEach((s, i) => before.set(instanceSetName(s.name, i), s));
  next.instances.forEach((set, i) => {
    const old = before.get(instanceSetName(set.name, i));
    if (!old) return;
    const at = `spec.instances[${i}]`;
    problems.push(...noShrink(set.dataVolumeClaimSpec, old.dataVolumeClaimSpec, `${at}.dataVolumeClaimSpec`));
    problems.push(...sameClass(set.dataVolumeClaimSpec, old.dataVolumeClaimSpec, `${at}.dataVolumeClaimSpec`));
    if (!!set.walVolumeClaimSpec !== !!old.walVolumeClaimSpec) {
      problems.push(
        forbidden(
          `${at}.walVolumeClaimSpec`,
          old.walVolumeClaimSpec
            ? "cannot be removed: WAL lives on that volume; create a new instance set without it instead"
            : "cannot be added to an existing instance set; add a new instance set with a WAL volume instead",
        ),
      );
    } else if (set.walVolumeClaimSpec && old.walVolumeClaimSpec) {
      problems.push(...noShrink(set.walVolumeClaimSpec, old.walVolumeClaimSpec, `${at}.walVolumeClaimSpec`));
      problems.push(...sameClass(set.walVolumeClaimSpec, old.walVolumeClaimSpec, `${at}.walVolumeClaimSpec`));
    }
  });
  if (next.dataSource && !prev.dataSource)
    problems.push(
      forbidden(
        "spec.dataSource",
        "is read only when a cluster is created: added to an existing cluster it would restore over its data; create a new cluster with it instead",
      ),
    );
  const oldRepos = new Map((prev.backups?.pgbackrest?.repos ?? []).map((r) => [r.name, r]));
  (next.backups?.pgbackrest?.repos ?? []).forEach((repo, i) => {
    const old = oldRepos.get(repo.name)?.volume;
    if (!repo.volume || !old) return;
    const at = `spec.backups.pgbackrest.repos[${i}].volume.volumeClaimSpec`;
    problems.push(...noShrink(repo.volume.volumeClaimSpec, old.volumeClaimSpec, at));
    problems.push(...sameClass(repo.volume.volumeClaimSpec, old.volumeClaimSpec, at));
  });
  return problems;
}

function noShrink(next: unknown, prev: unknown, path: string): Problem[] {
  const a = parseQuantity(storageOf(next));
  const b = parseQuantity(storageOf(prev));
  if (!a || !b || compareQuantities(a, b) >= 0) return [];
  return [
    forbidden(
      `${path}.resources.requests.storage`,
      `cannot shrink from ${show(storageOf(prev))} to ${show(storageOf(next))}: volumes can only grow`,
    ),
  ];
}

function sameClass(next: unknown, prev: unknown, path: string): Problem[] {
  const a = isRecord(next) ? next.storageClassName : undefined;
  const b = isRecord(prev) ? prev.storageClassName : undefined;
  if (a === b) return [];
  return [
    forbidden(
      `${path}.storageClassName`,
      `cannot change from ${show(b ?? "(default)")} to ${show(a ?? "(default)")}: a volume keeps its storage class; add a new instance set to move`,
    ),
  ];
}

/** What an update does that a person should know before it happens; nothing is refused. */
export function clusterUpdateWarnings(
  next: PostgresClusterSpec,
  prev: PostgresClusterSpec,
  annotations: Record<string, string>,
): string[] {
  const warnings: string[] = [];
  const names = (spec: PostgresClusterSpec) => spec.instances.map((s, i) => instanceSetName(s.name, i));
  const gone = names(prev).filter((n) => !names(next).includes(n));
  const added = names(next).filter((n) => !names(prev).includes(n));
  if (gone.length && added.length)
    warnings.push(
      `spec.instances: instance set(s) ${gone.join(", ")} go and ${added.join(", ")} come: renaming a set replaces every instance of it (the new ones clone the data; the old ones are removed once the new ones are ready)`,
    );
  const wanted = new Set((next.backups?.pgbackrest?.repos ?? []).map((r) => r.name));
  const removed = (prev.backups?.pgbackrest?.repos ?? []).map((r) => r.name).filter((r) => !wanted.has(r));
  if (removed.length && !backupRemovalAuthorized(annotations))
    warnings.push(
      `spec.backups: removes ${removed.join(", ")}; the cluster is held as it is (Degraded, BackupRemovalNotAuthorized) until the annotation ${ANNOTATION.authorizeBackupRemoval}: "true" (or ${PGO_AUTHORIZE_BACKUP_REMOVAL}) confirms it`,
    );
  return warnings;
}
