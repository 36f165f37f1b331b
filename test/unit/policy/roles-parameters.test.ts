/**
 * Reserved role names and operator-owned parameters come from one table each
 * (shared/roles.ts, shared/postgres/parameters.ts). These tests check that admission, the CRD's
 * CEL rules and the cluster hook agree on them, and that the tables cover what the hook really
 * does: every role its SQL creates is refused as a user name, every parameter it ignores is
 * refused by admission (and the other way round).
 */
import { Environment } from "@marcbachmann/cel-js";
import { describe, expect, it } from "vitest";
import { checkUsers } from "../../../functions/admission/names.ts";
import { checkParameters } from "../../../functions/admission/parameters.ts";
import { dynamicConfiguration, patroniConfig } from "../../../functions/cluster/patroni/config.ts";
import { crds } from "../../../shared/api/crds.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { Parent } from "../../../shared/metacontroller.ts";
import { namedOwnedParameters, OWNED_PARAMETERS, ownedParameter } from "../../../shared/postgres/parameters.ts";
import { OPERATOR_ROLE_NAMES, RESERVED_ROLE_NAMES, RESERVED_ROLE_PREFIXES, ROLES } from "../../../shared/roles.ts";
import { cluster as admissionCluster, validate } from "../admission/fixtures.ts";
import { child, cluster, decode, type Json, sync } from "../cluster/fixtures.ts";

type Rule = { rule: string; message: string };
const clusterRules = (crds()[0] as Json).spec.versions[0].schema.openAPIV3Schema.properties.spec[
  "x-kubernetes-validations"
] as Rule[];
const celRule = (message: string) => clusterRules.find((r) => r.message.startsWith(message))!;
const env = new Environment({ unlistedVariablesAreDyn: true });
/** The rule evaluated on a hand-made `self`: the zod schema would refuse some names before CEL sees them. */
const celAllows = (rule: Rule, self: Json) => env.evaluate(rule.rule, { self }) === true;

function hookModel(spec: Json) {
  return clusterModel(Parent.parse(cluster(spec)));
}

/** Role names the users Job's SQL creates, with monitoring and pgBouncer on. */
async function rolesTheSqlCreates(): Promise<string[]> {
  const res = await sync(
    cluster({
      users: [{ name: "app", databases: ["app"] }],
      proxy: { pgBouncer: {} },
      monitoring: { pgmonitor: { exporter: {} } },
    }),
  );
  const sql = decode(child(res, "Secret", "hippo-users-sql"))["users.sql"]!;
  return [...sql.matchAll(/CREATE ROLE "((?:[^"]|"")+)"/g)].map((m) => m[1]!.replaceAll('""', '"'));
}

describe("reserved role names", () => {
  it("cover every role the operator creates: its SQL's roles and Patroni's replication and rewind roles", async () => {
    const created = (await rolesTheSqlCreates()).filter((r) => r !== "app");
    expect(created).toContain(ROLES.pgbouncer);
    expect(created).toContain(ROLES.monitoring);
    const operator = [...new Set([...created, ROLES.replication, ROLES.rewind])].sort();
    expect(operator).toEqual([...OPERATOR_ROLE_NAMES].sort());
    for (const role of operator) expect(RESERVED_ROLE_NAMES, role).toContain(role);
  });

  it.each([...RESERVED_ROLE_NAMES, ...RESERVED_ROLE_PREFIXES.map((p) => `${p}x`)].map((n) => [n]))(
    "%s is refused by admission and by CEL",
    (name) => {
      const users = [{ name }];
      // The user name pattern refuses some of these first; the reservation holds on its own too.
      expect(validate({ object: admissionCluster({ users }) }).allowed).toBe(false);
      expect(checkUsers(users).problems.map((p) => p.message)).toEqual([expect.stringContaining("is reserved")]);
      expect(celAllows(celRule("user names"), { users })).toBe(false);
    },
  );

  it("the operator's roles are refused by the hook too; postgres and ordinary names pass everywhere", () => {
    for (const name of OPERATOR_ROLE_NAMES) expect(hookModel({ users: [{ name }] }).ok, name).toBe(false);
    for (const name of ["postgres", "app", "replicator2"]) {
      expect(validate({ object: admissionCluster({ users: [{ name }] }) }).allowed, name).toBe(true);
      expect(celAllows(celRule("user names"), { users: [{ name }] }), name).toBe(true);
      expect(hookModel({ users: [{ name }] }).ok, name).toBe(true);
    }
  });
});

/** Names to try: every named one, every family with a member nobody listed yet, and ordinary ones. */
const CANDIDATES = [
  ...namedOwnedParameters(),
  ...OWNED_PARAMETERS.flatMap((r) => (r.prefix ? [`${r.prefix}future_setting`] : [])),
  "ssl_ecdh_curve",
  "ssl_groups",
  "wal_level",
  "logging_collector",
  "work_mem",
  "shared_buffers",
  "log_min_duration_statement",
];
const VALUES = ["x", "minimal", "replica", "logical", "off", "on"];

function hookIgnores(name: string, value: string, version: number): boolean {
  const r = clusterModel(
    Parent.parse(cluster({ postgresVersion: version, config: { parameters: { [name]: value } } })),
  );
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return dynamicConfiguration(r.model).ignored.includes(`parameter ${name}`);
}

describe("operator-owned parameters", () => {
  it.each([17, 18])("admission refuses exactly what the hook ignores (PostgreSQL %i)", (version) => {
    for (const name of CANDIDATES) {
      for (const value of VALUES) {
        const refused = checkParameters({ [name]: value }, "p", version).some(
          (p) => p.reason === "FieldValueForbidden",
        );
        expect(hookIgnores(name, value, version), `${name}=${value}`).toBe(refused);
      }
    }
  });

  it("every parameter the hook sets itself is owned, or a default a user value replaces", () => {
    const repos = [{ name: "repo1", volume: { volumeClaimSpec: {} } }];
    const model = (parameters: Json = {}) => {
      const r = clusterModel(Parent.parse(cluster({ backups: { pgbackrest: { repos } }, config: { parameters } })));
      if (!r.ok) throw new Error("invalid");
      return r.model;
    };
    type WithParameters = { postgresql: { parameters: Record<string, string> } };
    const dynamic = (m: ReturnType<typeof model>) =>
      (dynamicConfiguration(m).config as WithParameters).postgresql.parameters;
    const local = (patroniConfig(model(), { walVolume: false }) as WithParameters).postgresql.parameters;
    const all = { ...dynamic(model()), ...local };
    const owned = Object.keys(all).filter((p) => ownedParameter(p, all[p], 17));
    expect(owned).toContain("unix_socket_directories");
    expect(owned).toContain("archive_command");
    for (const name of owned) {
      expect(
        checkParameters({ [name]: "x" }, "p", 17).map((p) => p.reason),
        name,
      ).toEqual(["FieldValueForbidden"]);
      expect(namedOwnedParameters(), name).toContain(name);
    }
    for (const name of Object.keys(local))
      expect(owned, `${name} is set outside the dynamic configuration`).toContain(name);
    for (const name of Object.keys(dynamic(model())).filter((p) => !owned.includes(p))) {
      const value = name === "wal_level" ? "logical" : "42";
      expect(dynamic(model({ [name]: value }))[name], name).toBe(value);
    }
  });

  it("CEL refuses every name it lists and admits ordinary parameters", () => {
    const rule = celRule("config.parameters cannot set");
    for (const name of namedOwnedParameters()) {
      expect(celAllows(rule, { config: { parameters: { [name]: "x" } } }), name).toBe(false);
      expect(
        checkParameters({ [name]: "x" }, "p", 17).map((p) => p.reason),
        name,
      ).toEqual(["FieldValueForbidden"]);
    }
    expect(celAllows(rule, { config: { parameters: { work_mem: "64MB", ssl_ecdh_curve: "prime256v1" } } })).toBe(true);
  });
});
