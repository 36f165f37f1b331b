/**
 * Patroni dynamic-configuration keys the operator owns come from one table (shared/patroni.ts):
 * every key the cluster hook ignores gets a warning or a refusal from admission, and the other
 * way round.
 */
import { describe, expect, it } from "vitest";
import { dynamicConfiguration } from "../../../functions/cluster/patroni/config.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { Parent } from "../../../shared/metacontroller.ts";
import { OWNED_PATRONI_KEYS, OWNED_PATRONI_POSTGRESQL_KEYS } from "../../../shared/patroni.ts";
import { cluster as admissionCluster, validate } from "../admission/fixtures.ts";
import { cluster, type Json } from "../cluster/fixtures.ts";

const CANDIDATES: [string, Json][] = [
  ...Object.keys(OWNED_PATRONI_KEYS).map((k): [string, Json] => [k, { [k]: k === "standby_cluster" ? {} : 5 }]),
  ...Object.keys(OWNED_PATRONI_POSTGRESQL_KEYS).map((k): [string, Json] => [
    `postgresql.${k}`,
    { postgresql: { [k]: k === "recovery_conf" ? {} : false } },
  ]),
  ["synchronous_mode", { synchronous_mode: true }],
  ["maximum_lag_on_failover", { maximum_lag_on_failover: 1 }],
  ["postgresql.use_slots", { postgresql: { use_slots: false } }],
];

describe("Patroni keys the operator owns", () => {
  it.each(CANDIDATES)("%s: admission speaks up exactly when the hook ignores it", (key, dynamic) => {
    const r = clusterModel(Parent.parse(cluster({ patroni: { dynamicConfiguration: dynamic } })));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const ignored = dynamicConfiguration(r.model).ignored.includes(`patroni ${key}`);
    const res = validate({ object: admissionCluster({ patroni: { dynamicConfiguration: dynamic } }) });
    const field = `spec.patroni.dynamicConfiguration.${key}`;
    const told =
      (res.warnings ?? []).some((w) => w.startsWith(`${field}:`)) ||
      (res.status?.details?.causes ?? []).some((c: Json) => c.field === field);
    expect(told).toBe(ignored);
  });
});
