/**
 * PGO's `autoCreateUserSchema` annotation (and Tusk's own name for it): each user gets a schema
 * named after it, owned by it, in each of its databases. Checked in the hook's users SQL and by
 * running that SQL on a real PostgreSQL 15, where (since 15) a user that does not own the
 * database cannot create tables in `public`.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANNOTATION, PGO_AUTO_CREATE_USER_SCHEMA } from "../../../shared/labels.ts";
import { cleanEnv, PG_BIN, skipReason, startPostgres, type TempPostgres } from "../crypto/postgres-harness.ts";
import { byKind, child, cluster, decode, type Json, steadyState } from "./fixtures.ts";

const run = promisify(execFile);

const ODD_DB = "odd'db `x` :v a=b";
const USERS = [
  { name: "app", databases: ["appdb"] },
  { name: "report-reader", databases: ["appdb", ODD_DB] },
  { name: "nodb" },
];

async function rendered(annotations?: Record<string, string>): Promise<{ sql: string; job: string }> {
  const parent: Json = cluster({ users: USERS });
  if (annotations) parent.metadata.annotations = annotations;
  const { res } = await steadyState(parent);
  const sql = decode(child(res, "Secret", "hippo-users-sql"))["users.sql"]!;
  const jobs = byKind(res, "Job").filter((j) => j.metadata.name.startsWith("hippo-users-"));
  expect(jobs).toHaveLength(1);
  return { sql, job: jobs[0]!.metadata.name };
}

const schemaStatements = (sql: string) => sql.split("\n").filter((l) => l.startsWith("CREATE SCHEMA"));

describe("users SQL with autoCreateUserSchema", () => {
  it("creates no user schema unless the cluster asks for it", async () => {
    expect(schemaStatements((await rendered()).sql)).toEqual([]);
    expect(schemaStatements((await rendered({ [PGO_AUTO_CREATE_USER_SCHEMA]: "false" })).sql)).toEqual([]);
  });

  it("creates one schema per user and database, for PGO's annotation and Tusk's alike", async () => {
    const pgo = await rendered({ [PGO_AUTO_CREATE_USER_SCHEMA]: "true" });
    const tusk = await rendered({ [ANNOTATION.autoCreateUserSchema]: "TRUE" });
    expect(tusk).toEqual(pgo);
    expect(schemaStatements(pgo.sql)).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "app" AUTHORIZATION "app";',
      'CREATE SCHEMA IF NOT EXISTS "report-reader" AUTHORIZATION "report-reader";',
      'CREATE SCHEMA IF NOT EXISTS "report-reader" AUTHORIZATION "report-reader";',
    ]);
    // a changed script is a new users Job, so turning the annotation on applies it
    expect(pgo.job).not.toBe((await rendered()).job);
  });
});

describe.skipIf(skipReason() !== undefined)("user schemas on PostgreSQL 15", () => {
  let pg: TempPostgres;

  const psql = (args: string[]) =>
    run(join(PG_BIN, "psql"), ["-X", "-q", "-At", "-h", pg.dir, "-p", String(pg.port), "-U", "postgres", ...args], {
      env: cleanEnv(),
    });
  /** As `role`, in `db`: what an application connected as that user runs. */
  const asRole = async (db: string, role: string, text: string) => {
    const conninfo = `dbname='${db.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
    try {
      const { stdout } = await psql(["-d", conninfo, "-v", "ON_ERROR_STOP=1", "-c", `SET ROLE "${role}"`, "-c", text]);
      return { ok: true, out: stdout.trim() };
    } catch (e) {
      return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
    }
  };
  const apply = async (sql: string) => psql(["-d", "postgres", "-f", pg.writeFile("users.sql", sql)]);

  beforeAll(async () => {
    pg = await startPostgres({ hba: [] });
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it("without it, a user that does not own the database cannot create a table; with it, the table lands in its schema", async () => {
    await apply((await rendered()).sql);
    const refused = await asRole("appdb", "report-reader", "CREATE TABLE t (x int)");
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/permission denied for schema public/);

    const { sql } = await rendered({ [PGO_AUTO_CREATE_USER_SCHEMA]: "true" });
    await apply(sql);
    await apply(sql); // idempotent: the Job may run again
    for (const db of ["appdb", ODD_DB]) {
      const made = await asRole(
        db,
        "report-reader",
        "CREATE TABLE t (x int); SELECT schemaname || ' ' || tableowner FROM pg_tables WHERE tablename = 't'",
      );
      expect(made, db).toEqual({ ok: true, out: "report-reader report-reader" });
    }
    const owners = await asRole(
      "appdb",
      "app",
      "SELECT string_agg(nspname || '=' || nspowner::regrole::text, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('app', 'report-reader', 'nodb')",
    );
    expect(owners).toEqual({ ok: true, out: 'app=app,report-reader="report-reader"' });
    // only in the user's own databases
    expect(await pg.sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'report-reader'")).toBe("0");
  });
});
