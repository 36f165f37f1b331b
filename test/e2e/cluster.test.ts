/**
 * Scenarios 1-3 of the end-to-end issue: the cluster hook's own output, run with the real
 * Patroni 3.0 and PostgreSQL 15 on 127.0.0.1 (mapping: test/e2e/README.md).
 */
import { readFileSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANNOTATION } from "../../shared/labels.ts";
import { names } from "../../shared/names.ts";
import { E2ECluster } from "./lib/cluster.ts";
import { type Etcd, startEtcd } from "./lib/etcd.ts";
import { getJson } from "./lib/http.ts";
import { BurstWriter, LoopWriter } from "./lib/load.ts";
import { query, sql } from "./lib/pg.ts";
import { findings, outcome, record } from "./lib/results.ts";
import {
  appConn,
  bootstrap,
  healthy,
  INSTANCE_VOLUME,
  jobFailure,
  replication,
  sameOnAll,
  teardownCluster,
  userSecret,
} from "./lib/scenario.ts";
import { Fatal, seconds, waitFor } from "./lib/wait.ts";

const NAME = "hippo";
const SPEC = {
  postgresVersion: 15,
  instances: [{ name: "instance1", replicas: 3, dataVolumeClaimSpec: INSTANCE_VOLUME }],
  users: [
    { name: "app", databases: ["appdb"] },
    { name: "reporting", databases: ["appdb", "reports"] },
  ],
  patroni: { leaderLeaseDurationSeconds: 10, syncPeriodSeconds: 2 },
};

let etcd: Etcd | undefined;
let hippo: E2ECluster | undefined;
let bootstrapped = false;
let failed = false;

function cluster(): E2ECluster {
  if (!hippo || !bootstrapped) throw new Error("scenario 1 (bootstrap) did not succeed");
  return hippo;
}

describe.sequential("cluster hook output with real Patroni and PostgreSQL", () => {
  beforeAll(async () => {
    etcd = await startEtcd();
  });

  afterAll(async () => {
    if (hippo) findings(NAME, hippo.findings);
    await teardownCluster(hippo, !failed);
    await etcd?.stop();
  });

  it("1: bootstraps a 3-instance cluster with users, TLS and SCRAM", async () => {
    try {
      hippo = new E2ECluster({ name: NAME, spec: structuredClone(SPEC), etcd: etcd! });
      const t = await bootstrap(hippo, 3);
      record("1 bootstrap", "leader elected (hook call -> Patroni leader)", t.leaderSeconds, "s");
      record("1 bootstrap", "two replicas streaming", t.streamingSeconds, "s");
      record("1 bootstrap", "all pods Ready + users Job done", t.readySeconds, "s");
      const c = hippo;

      // One leader, two replicas, both streaming from it. The users Job and the Patroni
      // configuration Job ran after the replicas first streamed; a walreceiver that reconnects
      // in between is normal, so this waits for the steady state rather than sampling once.
      const leader = await c.converge("two replicas streaming from the leader", () => healthy(c, 2), 60_000);
      if (leader !== t.leader) {
        const history = await getJson(c.restUrl(leader, "/history")).catch((e) => String(e));
        c.finding(
          `leader moved during bootstrap: ${t.leader} -> ${leader}; Patroni history ${JSON.stringify(history)}`,
        );
      }
      const clusterView = await getJson(c.restUrl(leader, "/cluster"));
      const roles = (clusterView.members as { name: string; role: string; state: string }[]).map((m) => m.role).sort();
      expect(roles).toEqual(["leader", "replica", "replica"]);
      const rows = await replication(c, leader);
      expect(rows.map((r) => r.state)).toEqual(["streaming", "streaming"]);
      expect(rows.map((r) => r.application_name).sort()).toEqual([...c.pods.keys()].filter((p) => p !== leader).sort());

      // users and databases from the spec
      for (const u of SPEC.users) {
        const s = userSecret(c, u.name);
        for (const key of ["user", "password", "dbname", "host", "port", "uri", "jdbc-uri", "verifier"])
          expect(s[key], `${u.name} Secret key ${key}`).toBeTruthy();
        expect(s.user).toBe(u.name);
        expect(s.host).toMatch(new RegExp(`^${names.primaryService(NAME)}\\.`));
        const su = c.superConn(c.pgPort(leader));
        expect(await sql(su, `select rolcanlogin from pg_roles where rolname = '${u.name}'`)).toBe("t");
        // the password is set as the Secret's verifier, never sent in clear
        expect(await sql(su, `select rolpassword from pg_authid where rolname = '${u.name}'`)).toBe(s.verifier);
        for (const db of u.databases) {
          expect(await sql(su, `select count(*) from pg_database where datname = '${db}'`)).toBe("1");
          // SCRAM with the Secret's password, TLS verified against the cluster CA by service name
          const r = await query(
            appConn(c, u.name, db),
            "select current_user || '@' || current_database() || ' ssl=' || ssl from pg_stat_ssl where pid = pg_backend_pid()",
          );
          expect(r.err).toBe("");
          expect(r.out).toBe(`${u.name}@${db} ssl=true`);
        }
      }
      // the first user's own database is usable for tables
      const app = appConn(c, "app", "appdb");
      const made = await query(
        app,
        "create table e2e_probe(x int); insert into e2e_probe values (1); select count(*) from e2e_probe",
      );
      expect(made.err, "user app creates a table in its database").toBe("");

      // the Secret's URI works as given (host resolved like cluster DNS, port mapped)
      const s = userSecret(c, "app");
      expect(s.uri).toMatch(/^postgres(ql)?:\/\//);
      const uri = new URL(s.uri!);
      expect(uri.hostname).toBe(s.host);
      expect(decodeURIComponent(uri.password)).toBe(s.password);

      // TLS enforced: a connection without TLS is refused by pg_hba
      const plain = await query({ ...app, sslmode: "disable" }, "select 1");
      expect(plain.ok).toBe(false);
      expect(plain.err).toMatch(/no pg_hba\.conf entry|no encryption/);
      // verify-ca succeeds; a wrong password fails
      expect((await query({ ...app, sslmode: "verify-ca" }, "select 1")).out).toBe("1");
      const wrong = await query({ ...app, password: `${app.password}x` }, "select 1");
      expect(wrong.ok).toBe(false);
      expect(wrong.err).toMatch(/password authentication failed/);

      // `kubectl exec POD -c database -- psql`, as PGO's documentation does it: the container's
      // PGHOST, PGPORT and PGDATA lead to its own instance, as the superuser over the Unix socket
      for (const pod of [leader, [...c.pods.keys()].find((p) => p !== leader)!]) {
        const r = await c.exec(pod, "database", [
          "psql",
          "-XAt",
          "-c",
          "select current_user || ' ' || pg_is_in_recovery() || ' ' || current_setting('data_directory')",
        ]);
        expect(r.stderr, `psql in ${pod}`).toBe("");
        const dataDirectory = c.pod(pod).env.get("database")?.PGDATA;
        expect(r.stdout.trim()).toBe(`postgres ${pod === leader ? "false" : "true"} ${dataDirectory}`);
      }

      // the status the hook derives from the observed pods names the real leader
      const status = await c.converge("the hook to report the cluster Running", () => {
        const st = c.mc.lastResponse?.status;
        return st?.phase === "Running" ? st : undefined;
      });
      expect(status.primary).toBe(leader);
      expect(status.readyInstances).toBe("3/3");
      expect(status.conditions.find((x: { type: string }) => x.type === "Ready")?.status).toBe("True");

      bootstrapped = true;
      outcome("1 bootstrap", "passed", `leader ${leader}, replicas streaming, ${SPEC.users.length} users verified`);
    } catch (e) {
      failed = true;
      outcome("1 bootstrap", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });

  it("2: fails over after kill -9 of the leader; counts unavailability and lost writes", async () => {
    try {
      const c = cluster();
      await sql(
        appConn(c, "app", "appdb"),
        "create table if not exists fo_t(run text, id bigint, primary key(run, id))",
      );

      const async = await failover(c, "async");
      record("2 failover", "async: writes unavailable (kill -> first acknowledged write)", async.unavailable, "s");
      record("2 failover", "async: new leader elected", async.elected, "s");
      record(
        "2 failover",
        "async: acknowledged writes lost",
        async.lost,
        "",
        `of ${async.acked} acknowledged (loop ${async.loopLost}, burst ${async.burstLost})`,
      );
      record(
        "2 failover",
        "async: old leader rejoined and streaming",
        async.rejoin,
        "s",
        async.rewound ? "after pg_rewind" : "without pg_rewind",
      );

      // synchronous_mode through the spec's dynamic configuration, applied to the running cluster
      const spec = structuredClone(SPEC) as any;
      spec.patroni.dynamicConfiguration = { synchronous_mode: true };
      c.mc.setSpec(spec);
      const tSync = Date.now();
      await c.converge("synchronous_mode applied and a synchronous standby in sync", async () => {
        const leader = await c.leader();
        if (!leader) return false;
        const rows = await replication(c, leader).catch(() => []);
        return rows.some((r) => r.sync_state === "sync") && leader;
      });
      record("2 failover", "synchronous_mode: spec change -> standby in sync", seconds(tSync), "s");
      const sync = await failover(c, "sync");
      record("2 failover", "sync: writes unavailable (kill -> first acknowledged write)", sync.unavailable, "s");
      record("2 failover", "sync: new leader elected", sync.elected, "s");
      record("2 failover", "sync: acknowledged writes lost", sync.lost, "", `of ${sync.acked} acknowledged`);
      record(
        "2 failover",
        "sync: old leader rejoined and streaming",
        sync.rejoin,
        "s",
        sync.rewound ? "after pg_rewind" : "without pg_rewind",
      );
      expect(sync.lost, "acknowledged writes lost with synchronous_mode").toBe(0);
      outcome(
        "2 failover",
        "passed",
        `async lost ${async.lost}, sync lost ${sync.lost}; unavailable ${async.unavailable} s / ${sync.unavailable} s`,
      );
    } catch (e) {
      failed = true;
      outcome("2 failover", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });

  it("3: a restart-requiring change rolls replicas first, then the generated switchover Job moves the leader", async () => {
    try {
      const c = cluster();
      // the rollout under test starts from a healthy cluster: every pod Ready, replicas streaming
      const old = (await c.converge("healthy cluster, every pod Ready", async () => {
        const leader = await healthy(c, 2);
        return leader && [...c.pods.values()].every((p) => p.ready) ? leader : undefined;
      }))!;
      const before = new Map([...c.pods.values()].map((p) => [p.name, p.uid]));
      const spec = structuredClone(c.mc.parent.spec);
      spec.config = { ...spec.config, parameters: { ...spec.config?.parameters, max_connections: 120 } };
      c.mc.setSpec(spec);
      const t0 = Date.now();
      const isSwitchover = (name: string) => name.startsWith(names.switchoverJob(NAME, ""));
      const leader = await c.converge(
        "every pod recreated from the new template, the leader moved by a switchover Job, the old leader streaming from it",
        async () => {
          const recreated = [...c.pods.values()].every((p) => p.started && p.ready && p.uid !== before.get(p.name));
          const job = [...c.jobs.values()].find((j) => isSwitchover(j.name));
          if (job?.state === "failed") throw new Fatal(`switchover ${jobFailure(job)}`);
          const leader = await c.leader();
          if (!(recreated && job?.state === "succeeded" && leader && leader !== old)) return false;
          if (!(await healthy(c, 2))) return false;
          // the old leader was replaced last: after the switchover, as a replica of the new leader
          const rows = await replication(c, leader).catch(() => []);
          return rows.find((r) => r.application_name === old)?.state === "streaming" && leader;
        },
        300_000,
      );
      const rolled = seconds(t0);
      const job = [...c.jobs.values()].find((j) => isSwitchover(j.name))!;
      for (const p of c.pods.keys()) {
        const state = await getJson(c.restUrl(p, "/patroni"));
        expect(state?.pending_restart ?? false, `${p}: Patroni reports pending_restart after the rollout`).toBe(false);
        expect(await sql(c.superConn(c.pgPort(p)), "show max_connections"), p).toBe("120");
      }
      await sameOnAll(c, "select count(*) from fo_t", "appdb");
      expect(await sql(appConn(c, "app", "appdb"), "select pg_is_in_recovery()")).toBe("f");
      record("3 switchover", "rolling restart incl. switchover (spec change -> all pods updated)", rolled, "s");
      outcome(
        "3 switchover",
        "passed",
        `rolling update: replicas first, then Job ${job.name} moved ${old} -> ${leader}`,
      );
    } catch (e) {
      failed = true;
      outcome("3 switchover", "failed", (e as Error).message.split("\n")[0]!);
      throw e;
    }
  });

  it("3b: PGO-style switchover trigger (spec.patroni.switchover + annotation)", async () => {
    const c = cluster();
    const old = (await c.converge("healthy cluster", () => healthy(c, 2)))!;
    // with synchronous_mode on (scenario 2) Patroni accepts only the synchronous standby, and
    // which replica that is may still change right after scenario 3's restarts: wait until the
    // DCS sync key and pg_stat_replication agree
    const target = await c.converge("a settled synchronous standby", async () => {
      const sync = (await c.dcs()).sync;
      const standby = sync?.sync_standby ?? sync?.member;
      const rows = await replication(c, old).catch(() => []);
      return standby && rows.some((r) => r.application_name === standby && r.sync_state === "sync")
        ? (standby as string)
        : undefined;
    });
    const known = new Set(c.jobs.keys());
    const spec = structuredClone(c.mc.parent.spec);
    spec.patroni = { ...spec.patroni, switchover: { enabled: true, targetInstance: c.pod(target).sts } };
    c.mc.setSpec(spec);
    c.mc.parent.metadata.annotations = { ...c.mc.parent.metadata.annotations, [ANNOTATION.switchoverTrigger]: "e2e-1" };
    // a few Metacontroller rounds: a hook that implements the trigger emits a Job at once
    for (let i = 0; i < 5; i++) await c.reconcile();
    const job = [...c.jobs.values()].find(
      (j) => !known.has(j.name) && j.name.startsWith(names.switchoverJob(NAME, "")),
    );
    expect(job, "the hook emits a switchover Job for spec.patroni.switchover + the trigger annotation").toBeDefined();
    const t0 = Date.now();
    await c.converge(`${target} to lead`, async () => (await c.leader()) === target);
    const moved = seconds(t0);
    await c.converge(`old leader ${old} streaming from ${target}`, async () => {
      const rows = await replication(c, target).catch(() => []);
      return rows.some((r) => r.application_name === old && r.state === "streaming");
    });
    record("3 switchover", "trigger -> target leads", moved, "s");
    record("3 switchover", "trigger -> old leader streaming", seconds(t0), "s");
    const state = await c.converge(`switchover Job ${job!.name} to finish`, async () => {
      const s = c.jobs.get(job!.name)?.state;
      return s === "running" ? undefined : s;
    });
    expect(state, `switchover Job ${job!.name}`).toBe("succeeded");
    expect(await sql(appConn(c, "app", "appdb"), "select pg_is_in_recovery()")).toBe("f");
    outcome("3b switchover trigger", "passed", `Job ${job!.name} moved ${old} -> ${target}`);
  });
});

/** One hard-kill failover under write load; the killed leader's Patroni is restarted after. */
async function failover(c: E2ECluster, label: string) {
  const leader = (await c.converge("healthy cluster before failover", () => healthy(c, 2)))!;
  const primary = names.primaryService(NAME);
  const watch = c.watchPods(200);
  const loop = new LoopWriter(
    () => {
      try {
        return appConn(c, "app", "appdb");
      } catch {
        return undefined;
      }
    },
    "fo_t",
    `${label}-loop`,
  );
  const burst = new BurstWriter({ ...appConn(c, "app", "appdb"), port: c.pgPort(leader) }, "fo_t", `${label}-burst`);
  try {
    loop.start();
    burst.start();
    await waitFor("writes flowing before the kill", () => loop.acked().length >= 10 && burst.acked().length >= 100, {
      timeoutMs: 60_000,
    });
    const kids = await c.hardKill(leader);
    const tKill = Date.now();
    const newLeader = await waitFor(
      "a new leader",
      async () => {
        const l = await c.leader();
        return l && l !== leader ? l : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100, describe: () => c.describe() },
    );
    const elected = seconds(tKill);
    const first = await waitFor("an acknowledged write after the kill", () => loop.firstAckAfter(tKill), {
      timeoutMs: 120_000,
      intervalMs: 100,
      describe: () => `last attempts: ${JSON.stringify(loop.attempts.slice(-5))}`,
    });
    const unavailable = seconds(tKill, first.end);
    await waitFor(
      "more writes on the new leader",
      () => loop.attempts.filter((a) => a.ok && a.start > first.end).length >= 5,
      {
        timeoutMs: 60_000,
      },
    );
    await loop.stop();
    await burst.stop();

    const newConn = c.superConn(c.pgPort(newLeader), "appdb");
    const present = new Set(
      (await sql(newConn, `select run || ':' || id from fo_t where run like '${label}-%'`)).split("\n").filter(Boolean),
    );
    const loopLost = loop.acked().filter((id) => !present.has(`${label}-loop:${id}`)).length;
    const burstLost = burst.acked().filter((id) => !present.has(`${label}-burst:${id}`)).length;
    expect(c.resolve(`${primary}.${c.namespace}.svc`, 5432)?.pod, "primary Service follows the new leader").toBe(
      newLeader,
    );

    // the Kubelet restarts the killed container; Patroni rejoins it (pg_rewind when needed)
    for (const k of kids) await waitFor(`orphaned backend ${k} to exit`, () => !isAlive(k), { timeoutMs: 30_000 });
    const tRestart = Date.now();
    const patroniLog = c.pod(leader).daemons.get(c.pod(leader).patroni!.container)!.log;
    const logOffset = statSync(patroniLog).size;
    await c.restartContainer(leader);
    await waitFor(
      `${leader} streaming from ${newLeader}`,
      async () => {
        const rows = await replication(c, newLeader).catch(() => []);
        return rows.some((r) => r.application_name === leader && r.state === "streaming");
      },
      { timeoutMs: 180_000, describe: () => c.describe() },
    );
    const rejoin = seconds(tRestart);
    const rewound = readFileSync(patroniLog, "utf8").slice(logOffset).includes("running pg_rewind");
    await sameOnAll(c, `select count(*) from fo_t where run like '${label}-%'`, "appdb");
    return {
      elected,
      unavailable,
      loopLost,
      burstLost,
      lost: loopLost + burstLost,
      acked: loop.acked().length + burst.acked().length,
      rejoin,
      rewound,
    };
  } finally {
    await loop.stop();
    await burst.stop();
    watch.stop();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
