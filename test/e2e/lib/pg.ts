/**
 * @module
 * psql from the test process: every connection is TCP to 127.0.0.1, the way a client in another
 * pod connects, with the libpq settings a caller chooses (TLS mode, CA, user, password).
 */
import { run } from "./proc.ts";

export interface Conn {
  port: number;
  user: string;
  password?: string;
  dbname?: string;
  /** Defaults to verify-ca with `sslrootcert`. */
  sslmode?: string;
  sslrootcert?: string;
  /** Host name libpq verifies the certificate against (hostaddr stays 127.0.0.1). */
  host?: string;
  connectTimeout?: number;
  extra?: Record<string, string>;
}

function quote(v: string): string {
  return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function conninfo(c: Conn): string {
  const kv: Record<string, string> = {
    host: c.host ?? "127.0.0.1",
    hostaddr: "127.0.0.1",
    port: String(c.port),
    user: c.user,
    dbname: c.dbname ?? "postgres",
    sslmode: c.sslmode ?? "verify-ca",
    connect_timeout: String(c.connectTimeout ?? 5),
    ...(c.sslrootcert ? { sslrootcert: c.sslrootcert } : {}),
    ...c.extra,
  };
  return Object.entries(kv)
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join(" ");
}

export function psqlEnv(c: Conn): NodeJS.ProcessEnv {
  return {
    PATH: "/usr/lib/postgresql/15/bin:/usr/bin:/bin",
    ...(c.password !== undefined ? { PGPASSWORD: c.password } : {}),
    PGAPPNAME: "tusk-e2e",
    HOME: "/nonexistent",
  };
}

export interface QueryResult {
  ok: boolean;
  out: string;
  err: string;
}

export async function query(c: Conn, sql: string, timeoutMs = 30_000): Promise<QueryResult> {
  const r = await run(["psql", conninfo(c), "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    env: psqlEnv(c),
    timeoutMs,
  });
  return { ok: r.code === 0, out: r.stdout.trim(), err: r.stderr.trim() };
}

/** Like query, but throws with psql's message on failure. */
export async function sql(c: Conn, text: string, timeoutMs = 30_000): Promise<string> {
  const r = await query(c, text, timeoutMs);
  if (!r.ok) throw new Error(`psql port ${c.port} user ${c.user}: ${r.err || r.out}\n  sql: ${text}`);
  return r.out;
}
