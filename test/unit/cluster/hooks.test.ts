import { describe, expect, it } from "vitest";
import { createClusterApp } from "../../../functions/cluster/app.ts";
import { customizeCluster } from "../../../functions/cluster/customize.ts";
import { finalizeCluster } from "../../../functions/cluster/finalize.ts";
import { optionsProblem, quoteIdent, quoteLiteral, usersSql } from "../../../functions/cluster/users/sql.ts";
import { CustomizeRequest } from "../../../shared/metacontroller.ts";
import { cluster, decode, type Json, observe, request, seededDeps, sync } from "./fixtures.ts";

describe("customize hook", () => {
  it("asks for the cluster's pods, the namespace's PostgresRestores and the cluster's PVCs", () => {
    const res = customizeCluster(CustomizeRequest.parse({ parent: cluster() }));
    expect(res.relatedResources).toEqual([
      { apiVersion: "v1", resource: "pods", labelSelector: { matchLabels: { "postgres.tusk.dev/cluster": "hippo" } } },
      { apiVersion: "postgres.tusk.dev/v1", resource: "postgresrestores", labelSelector: {} },
      {
        apiVersion: "v1",
        resource: "persistentvolumeclaims",
        labelSelector: { matchLabels: { "postgres.tusk.dev/cluster": "hippo" } },
      },
    ]);
  });
});

describe("finalize hook", () => {
  it("answers finalized only once no child is observed", async () => {
    const first = await sync(cluster());
    const children = observe(first.children as Json[]);
    const waiting = finalizeCluster(request(cluster(), children));
    expect(waiting.finalized).toBe(false);
    expect(waiting.children).toEqual([]);
    expect(waiting.resyncAfterSeconds).toBeGreaterThan(0);
    const done = finalizeCluster(request(cluster(), { "StatefulSet.apps/v1": {}, "Secret.v1": {} }));
    expect(done).toMatchObject({ finalized: true, children: [] });
    expect(done.resyncAfterSeconds).toBeUndefined();
  });
});

describe("HTTP adapter", () => {
  const app = createClusterApp(seededDeps(1));
  it("serves sync, customize and finalize; a body that is not a hook request is a 400", async () => {
    const body = JSON.stringify({ parent: cluster(), children: {}, related: {} });
    const sync = await app.request("/sync", { method: "POST", body });
    expect(sync.status).toBe(200);
    const out = (await sync.json()) as { children: Json[] };
    expect(out.children.length).toBeGreaterThan(10);
    expect((await app.request("/customize", { method: "POST", body })).status).toBe(200);
    expect((await app.request("/finalize", { method: "POST", body })).status).toBe(200);
    const bad = await app.request("/sync", { method: "POST", body: JSON.stringify({ parent: { kind: 1 } }) });
    expect(bad.status).toBe(400);
  });
});

describe("users SQL", () => {
  it("quotes identifiers and literals", () => {
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
  });

  it("refuses option strings that could smuggle statements or passwords", () => {
    expect(optionsProblem("CREATEDB CONNECTION LIMIT 20")).toBeUndefined();
    expect(optionsProblem("VALID UNTIL '2030-01-01'")).toBeUndefined();
    expect(optionsProblem("SUPERUSER; DROP TABLE x")).toBeDefined();
    expect(optionsProblem("LOGIN -- x")).toBeDefined();
    expect(optionsProblem("PASSWORD 'x'")).toBeDefined();
    expect(optionsProblem("VALID UNTIL '2030")).toBeDefined();
  });

  it("creates roles and databases idempotently, owned by their first user", () => {
    const sql = usersSql([
      {
        user: { name: "app", databases: ["a", "shared"], passwordType: "ASCII", superuser: false, secretName: "s" },
        password: "p",
        verifier: "SCRAM-SHA-256$4096:c2FsdA==$a:b",
      },
      {
        user: {
          name: "ro",
          databases: ["shared"],
          options: "NOLOGIN",
          passwordType: "ASCII",
          superuser: false,
          secretName: "s",
        },
        password: "p",
        verifier: "V",
      },
      {
        user: { name: "postgres", databases: ["pgdb"], passwordType: "ASCII", superuser: true, secretName: "s" },
        password: "p",
        verifier: "W",
      },
    ]);
    expect(sql).toContain(`IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'app') THEN`);
    expect(sql).toContain(`ALTER ROLE "app" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b';`);
    expect(sql).toContain(`ALTER ROLE "ro" WITH PASSWORD 'V' NOLOGIN;`);
    expect(sql).toContain(`SELECT format('CREATE DATABASE %I OWNER %I', 'shared', 'app')`);
    expect(sql).not.toContain(`'shared', 'ro'`);
    expect(sql).toContain(`GRANT ALL PRIVILEGES ON DATABASE "shared" TO "ro";`);
    // The superuser's password is Patroni's business; its databases are still created.
    expect(sql).not.toContain(`ALTER ROLE "postgres"`);
    expect(sql).toContain(`'pgdb', 'postgres'`);
  });

  it("leaves unusable options out of the SQL and reports them", async () => {
    const parent = cluster({ users: [{ name: "app", options: "SUPERUSER --" }] });
    const res = await sync(parent);
    const sql = decode((res.children as Json[]).find((c) => c.metadata.name === "hippo-users-sql")!)["users.sql"]!;
    expect(sql).toContain(`ALTER ROLE "app" WITH LOGIN PASSWORD`);
    expect(sql).not.toContain("SUPERUSER");
    const valid = (res.status.conditions as Json[]).find((c) => c.type === "Valid")!;
    expect(valid.message).toContain("users app options");
  });
});
