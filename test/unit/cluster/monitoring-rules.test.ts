/**
 * manifests/monitoring/: the PrometheusRule and the Grafana dashboard read only metrics that
 * something Tusk runs actually exports (the exporter's queries as rendered by the hook,
 * postgres_exporter's and the pgBouncer exporter's own, the kubelet's volume stats), and group by
 * the labels the PodMonitor sets.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { exporterQueries } from "../../../functions/cluster/monitoring/queries.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { cluster, type Json, volume } from "./fixtures.ts";

const DIR = join(import.meta.dirname, "..", "..", "..", "manifests", "monitoring");
const rule = parse(readFileSync(join(DIR, "prometheusrule.yaml"), "utf8")) as Json;
const dashboard = JSON.parse(readFileSync(join(DIR, "grafana-dashboard.json"), "utf8")) as Json;

/** What the exporter's queries export for a cluster with backups (every query is there). */
function exportedByQueries(): Set<string> {
  const parsed = clusterModel(
    cluster({
      monitoring: { pgmonitor: { exporter: {} } },
      backups: { pgbackrest: { repos: [{ name: "repo1", volume: { volumeClaimSpec: volume } }] } },
    }) as never,
  );
  if (!parsed.ok) throw new Error("fixture is invalid");
  const out = new Set<string>();
  for (const [prefix, q] of Object.entries(exporterQueries(parsed.model)))
    for (const m of q.metrics)
      for (const [column, spec] of Object.entries(m)) if (spec.usage !== "LABEL") out.add(`${prefix}_${column}`);
  return out;
}

/** Metrics of the exporters' own (postgres_exporter, prometheus-community/pgbouncer_exporter) and the kubelet's. */
const BUILT_IN = new Set([
  "pg_up",
  "pgbouncer_up",
  "pgbouncer_pools_client_active_connections",
  "pgbouncer_pools_client_waiting_connections",
  "pgbouncer_pools_server_active_connections",
  "pgbouncer_pools_server_idle_connections",
  "pgbouncer_pools_client_maxwait_seconds",
  "kubelet_volume_stats_available_bytes",
  "kubelet_volume_stats_capacity_bytes",
]);

const metricsIn = (expr: string) =>
  [...expr.matchAll(/\b(ccp_\w+|pg_\w+|pgbouncer_\w+|kubelet_\w+)\b/g)].map((m) => m[1]!);

const balanced = (expr: string) => {
  let depth = 0;
  for (const c of expr.replace(/"[^"]*"/g, "")) {
    if ("({[".includes(c)) depth++;
    if (")}]".includes(c)) depth--;
    if (depth < 0) return false;
  }
  return depth === 0;
};

const rules = (rule.spec.groups as Json[]).flatMap((g) => g.rules as Json[]);
const targets = (dashboard.panels as Json[]).flatMap((p) => (p.targets ?? []) as Json[]);

describe("manifests/monitoring", () => {
  it("the PrometheusRule is a valid object and alerts on what issue 7 asks for", () => {
    expect(validateObject(rule)).toEqual([]);
    const alerts = rules.map((r) => r.alert as string);
    for (const wanted of [
      "TuskPostgresPrimaryDown",
      "TuskPostgresReplicationLagTime",
      "TuskPostgresReplicationLagBytes",
      "TuskPostgresArchiveFailing",
      "TuskPostgresBackupTooOld",
      "TuskPostgresVolumeAlmostFull",
    ])
      expect(alerts).toContain(wanted);
    expect(new Set(alerts).size).toBe(alerts.length);
  });

  it("every rule has a severity, a summary, a description, a wait and a well-formed expression", () => {
    for (const r of rules) {
      expect(["warning", "critical"], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(balanced(r.expr), r.alert).toBe(true);
    }
  });

  it("reads only metrics something Tusk runs exports", () => {
    const known = new Set([...exportedByQueries(), ...BUILT_IN]);
    const used = [...rules.map((r) => r.expr as string), ...targets.map((t) => t.expr as string)].flatMap(metricsIn);
    expect(used.length).toBeGreaterThan(20);
    expect([...new Set(used)].filter((m) => !known.has(m))).toEqual([]);
    // And the dashboard shows every metric the queries export (labels aside).
    const shown = new Set(targets.flatMap((t) => metricsIn(t.expr)));
    expect([...exportedByQueries()].filter((m) => !shown.has(m) && !/seconds_since_last_archive/.test(m))).toEqual([]);
  });

  it("alerts per cluster: a rule that aggregates keeps namespace and cluster", () => {
    for (const r of rules) {
      for (const by of (r.expr as string).matchAll(/\bby \(([^)]*)\)/g)) {
        const labels = by[1]!.split(",").map((s) => s.trim());
        expect(labels, r.alert).toEqual(expect.arrayContaining(["namespace"]));
        if (!(r.expr as string).includes("kubelet_")) expect(labels, r.alert).toContain("cluster");
      }
    }
  });

  it("the dashboard selects one cluster through its variables in every query", () => {
    expect(dashboard.uid).toBe("tusk-postgres-cluster");
    expect((dashboard.templating.list as Json[]).map((v) => v.name)).toEqual(["datasource", "namespace", "cluster"]);
    expect(targets.length).toBeGreaterThan(15);
    for (const t of targets) {
      expect(t.expr, t.expr).toMatch(/namespace="\$namespace"/);
      expect(t.expr, t.expr).toMatch(/\$cluster/);
      expect(balanced(t.expr), t.expr).toBe(true);
      // Grafana's own variable syntax, not a template literal.
      expect(t.datasource).toEqual({ type: "prometheus", uid: ["$", "{datasource}"].join("") });
    }
    const ids = (dashboard.panels as Json[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
