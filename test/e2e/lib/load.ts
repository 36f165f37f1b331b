/**
 * @module
 * Write load for failover measurements (docs/dataplane-notes.md F1, F2):
 * - a loop writer: one new connection per insert through a target that is re-resolved on every
 *   attempt (the primary Service), so it measures when writes are possible again;
 * - a burst writer: one session doing autocommit inserts as fast as it can against one server,
 *   which finds the window where a commit is acknowledged but never replicated.
 * Only ids that came back to the client count as acknowledged.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Conn, conninfo, psqlEnv, query } from "./pg.ts";
import { type Daemon, forgetDaemon, LOGS, startDaemon, stopPid } from "./proc.ts";
import { sleep } from "./wait.ts";

export interface Attempt {
  id: number;
  start: number;
  end: number;
  ok: boolean;
  port?: number;
  error?: string;
}

export class LoopWriter {
  readonly attempts: Attempt[] = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly target: () => Conn | undefined,
    private readonly table: string,
    private readonly label: string,
    private readonly pauseMs = 100,
  ) {}

  start(): void {
    this.done = (async () => {
      let id = 0;
      while (!this.stopped) {
        id++;
        const start = Date.now();
        const conn = this.target();
        if (!conn) {
          this.attempts.push({ id, start, end: Date.now(), ok: false, error: "no endpoint" });
        } else {
          const r = await query(
            { ...conn, connectTimeout: 2 },
            `insert into ${this.table}(run, id) values ('${this.label}', ${id}) returning id`,
            10_000,
          );
          this.attempts.push({
            id,
            start,
            end: Date.now(),
            ok: r.ok && r.out === String(id),
            port: conn.port,
            ...(r.ok ? {} : { error: r.err.split("\n")[0] }),
          });
        }
        await sleep(this.pauseMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  acked(): number[] {
    return this.attempts.filter((a) => a.ok).map((a) => a.id);
  }

  /** First attempt acknowledged after `t` (epoch ms). */
  firstAckAfter(t: number): Attempt | undefined {
    return this.attempts.find((a) => a.ok && a.start > t);
  }
}

export class BurstWriter {
  private daemon?: Daemon;
  readonly out: string;

  constructor(
    private readonly conn: Conn,
    private readonly table: string,
    private readonly label: string,
  ) {
    this.out = join(LOGS, `burst-${label}.out`);
  }

  start(): void {
    writeFileSync(this.out, "");
    const script = `seq 1 5000000 | sed "s/.*/insert into ${this.table}(run, id) values ('${this.label}', &) returning id;/" | psql "$1" -XAtq > "$2"`;
    const env = psqlEnv(this.conn);
    this.daemon = startDaemon(`burst-${this.label}`, ["bash", "-c", script, "burst", conninfo(this.conn), this.out], {
      env: env as NodeJS.ProcessEnv,
    });
  }

  acked(): number[] {
    return readFileSync(this.out, "utf8")
      .split("\n")
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  }

  /** Kills the whole pipeline (its own process group). */
  async stop(): Promise<void> {
    if (!this.daemon) return;
    try {
      process.kill(-this.daemon.pid, "SIGTERM");
    } catch {}
    await stopPid(this.daemon.pid, "SIGTERM", 10_000);
    forgetDaemon(this.daemon.name);
  }
}
