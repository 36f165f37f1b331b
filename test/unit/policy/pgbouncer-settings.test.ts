/**
 * pgBouncer settings the operator owns come from one table (shared/pgbouncer/settings.ts):
 * admission refuses exactly what the cluster hook ignores, and everything the hook sets itself
 * is in the table.
 */
import { describe, expect, it } from "vitest";
import { pgbouncerIni } from "../../../functions/cluster/pgbouncer/configmap.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { Parent } from "../../../shared/metacontroller.ts";
import { ownedPgBouncerSetting } from "../../../shared/pgbouncer/settings.ts";
import { cluster as admissionCluster, validate } from "../admission/fixtures.ts";
import { cluster, type Json } from "../cluster/fixtures.ts";

function ignoredByHook(global: Record<string, string>): string[] {
  const r = clusterModel(Parent.parse(cluster({ proxy: { pgBouncer: { config: { global } } } })));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return pgbouncerIni(r.model).ignored;
}

function refusedByAdmission(key: string): boolean {
  const object: Json = admissionCluster({ proxy: { pgBouncer: { config: { global: { [key]: "1" } } } } });
  const res = validate({ object });
  return (res.status?.details?.causes ?? []).some(
    (c: Json) => c.field === `spec.proxy.pgBouncer.config.global[${key}]` && c.reason === "FieldValueForbidden",
  );
}

/** The [pgbouncer] section of the hook's ini, as a map. */
function settings(ini: string): Record<string, string> {
  const section = ini.split("\n[pgbouncer]\n")[1] ?? "";
  return Object.fromEntries(
    section
      .split("\n")
      .filter((l) => l.includes(" = "))
      .map((l) => l.split(" = ") as [string, string]),
  );
}

const CANDIDATES = [
  "listen_addr",
  "listen_port",
  "auth_type",
  "auth_file",
  "auth_query",
  "auth_user",
  "auth_hba_file",
  "auth_dbname",
  "stats_users",
  "admin_users",
  "client_tls_sslmode",
  "client_tls_ciphers",
  "server_tls_sslmode",
  "server_tls_ca_file",
  "unix_socket_dir",
  "pidfile",
  "logfile",
  "pool_mode",
  "max_client_conn",
  "default_pool_size",
  "server_lifetime",
  "ignore_startup_parameters",
];

describe("pgBouncer settings the operator owns", () => {
  it("admission refuses exactly what the hook ignores", () => {
    for (const key of CANDIDATES) {
      const ignored = ignoredByHook({ [key]: "1" }).some((i) => i.includes(`"${key}"`));
      expect(refusedByAdmission(key), key).toBe(ignored);
      expect(ownedPgBouncerSetting(key) !== undefined, key).toBe(ignored);
    }
  });

  it("what the hook sets for itself is owned, except the defaults a user may change", () => {
    const r = clusterModel(Parent.parse(cluster({ proxy: { pgBouncer: {} } })));
    if (!r.ok) throw new Error("invalid");
    const set = settings(pgbouncerIni(r.model).ini);
    const userChangeable = ["pool_mode", "max_client_conn", "default_pool_size", "ignore_startup_parameters"];
    for (const key of Object.keys(set)) {
      if (ownedPgBouncerSetting(key)) continue;
      // Not owned: a user value must win over the hook's default.
      const r2 = clusterModel(Parent.parse(cluster({ proxy: { pgBouncer: { config: { global: { [key]: "42" } } } } })));
      if (!r2.ok) throw new Error("invalid");
      expect(settings(pgbouncerIni(r2.model).ini)[key], key).toBe("42");
    }
    for (const key of userChangeable) expect(ownedPgBouncerSetting(key), key).toBeUndefined();
  });
});
