/**
 * A PostgresCluster whose pods run for real on the test kubelet: Patroni with the Kubernetes DCS
 * exactly as generated (no etcd swap, nothing in its configuration rewritten), talking to the
 * API server with the token of the cluster's ServiceAccount. It bootstraps, takes the leader lock
 * in the Endpoints it owns, labels its own pod with the leader role, and so the primary Service's
 * endpoints point at the pod's address. The cluster's Jobs reach it by Service and pod names
 * (users, Patroni's dynamic configuration, pgBackRest's stanza on the repository host), the
 * user logs in through the primary Service, and a PostgresBackup is taken to the volume repo.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { decodeSecretData } from "../pods/spec.ts";
import { type Kube, kube, type Obj } from "./lib/env.ts";

const NS = "kube-patroni";
const NAME = "hippo";
const POD = `${NAME}-i1-0-0`;
/** the version test/e2e/install.sh installs */
const PG = 15;
const ROLE_LABEL = "postgres.tusk.dev/patroni-role";
const execFileAsync = promisify(execFile);

let k: Kube;
let unavailable: string | undefined;

beforeAll(async () => {
  k = kube();
  if ("unavailable" in k.env.pods) unavailable = k.env.pods.unavailable;
  else if (!existsSync("/usr/bin/patroni") || !existsSync(`/usr/lib/postgresql/${PG}/bin/postgres`))
    unavailable = `Patroni and Postgres ${PG} are not installed (bash test/e2e/install.sh)`;
  else await k.namespace(NS, { pods: true });
});

const kubeletLog = () => {
  if ("unavailable" in k.env.pods) return "";
  const dir = join(dirname(k.env.pods.kubeletLog), "pods");
  const tailOf = (f: string) => {
    try {
      return readFileSync(f, "utf8").split("\n").slice(-25).join("\n");
    } catch {
      return `(no ${f})`;
    }
  };
  return `--- kubelet\n${tailOf(k.env.pods.kubeletLog)}\n--- ${POD} database\n${tailOf(join(dir, `${NS}_${POD}_database.log`))}`;
};

describe("Patroni on the Kubernetes DCS", () => {
  it("bootstraps a one-instance cluster and becomes the leader; the primary Service follows its pod", async ({
    skip,
  }) => {
    if (unavailable) skip(unavailable);
    const t0 = Date.now();
    await k.apply(
      {
        apiVersion: "postgres.tusk.dev/v1",
        kind: "PostgresCluster",
        metadata: { name: NAME },
        spec: {
          postgresVersion: PG,
          instances: [
            {
              name: "i1",
              dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          ],
          backups: {
            pgbackrest: {
              repos: [
                {
                  name: "repo1",
                  volume: {
                    volumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
                  },
                },
              ],
            },
          },
        },
      },
      NS,
    );
    // the configuration the pod mounts is the generated one, Kubernetes DCS and all
    const config = await k.waitFor("the cluster's Patroni ConfigMap", () => k.get("configmap", `${NAME}-config`, NS), {
      describe: () => k.logs(),
    });
    const patroni = YAML.parse(config.data["patroni.yaml"]);
    expect(patroni.kubernetes?.use_endpoints).toBe(true);
    expect(patroni.etcd3 ?? patroni.etcd).toBeUndefined();
    const scope = patroni.scope as string;

    const pod = await k.waitFor(
      `pod ${POD} labelled ${ROLE_LABEL}=master by Patroni and Ready`,
      async () => {
        const p = await k.get("pod", POD, NS);
        const ready = p?.status?.conditions?.some((c: Obj) => c.type === "Ready" && c.status === "True");
        return p?.metadata.labels?.[ROLE_LABEL] === "master" && ready && p;
      },
      { timeoutMs: 240_000, intervalMs: 1000, describe: kubeletLog },
    );
    const podIP = pod.status.podIP as string;
    expect("unavailable" in k.env.pods ? "" : podIP.startsWith(k.env.pods.subnet.replace(/0\/24$/, ""))).toBe(true);
    console.log(`[patroni] leader and Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the cluster was applied`);

    // Patroni's own leader record: the Endpoints named after its scope, holding the pod's address
    // (Patroni writes the address a moment after the label, on its next cycle as primary)
    const leader = await k.waitFor(
      `Endpoints ${scope} to hold the leader's address`,
      async () => {
        const e = await k.get("endpoints", scope, NS);
        return e?.subsets?.[0]?.addresses?.length && e;
      },
      { timeoutMs: 60_000 },
    );
    expect(leader.metadata.annotations?.leader).toBe(POD);
    expect(leader.subsets[0].addresses.map((a: Obj) => a.ip)).toEqual([podIP]);

    // the primary Service selects on the role label: its endpoints are the leader's pod
    const primary = await k.waitFor(
      "the primary Service's EndpointSlice to hold the leader",
      async () => {
        const slices = await k.list("endpointslices", NS, `kubernetes.io/service-name=${NAME}-primary`);
        const ips = slices.flatMap((s) => (s.endpoints ?? []).flatMap((e: Obj) => e.addresses));
        return ips.length === 1 && ips[0] === podIP && ips;
      },
      { timeoutMs: 60_000 },
    );
    expect(primary).toEqual([podIP]);

    // and it is a real primary, reached at the pod's address from the node
    const su = decodeSecretData(await k.get("secret", `${NAME}-internal`, NS));
    const psql = await execFileAsync(
      `/usr/lib/postgresql/${PG}/bin/psql`,
      [
        `host=${podIP} port=5432 dbname=postgres user=${su["superuser-username"]} sslmode=require`,
        "-tAc",
        "select pg_is_in_recovery()",
      ],
      { env: { PGPASSWORD: su["superuser-password"], PATH: process.env.PATH }, timeout: 30_000 },
    );
    expect(psql.stdout.trim()).toBe("f");
  });

  it("its Jobs reach it by name, the user logs in through the primary Service, a backup is taken", async ({ skip }) => {
    if (unavailable) skip(unavailable);
    const jobs = await k.waitFor(
      "the cluster's Jobs (users, Patroni configuration, stanza) to complete",
      async () => {
        const list = await k.list("jobs", NS, `postgres.tusk.dev/cluster=${NAME}`);
        const failed = list.find((j) => j.status?.failed);
        if (failed) throw new Error(`Job ${failed.metadata.name} failed`);
        return list.length >= 3 && list.every((j) => j.status?.succeeded === 1) && list;
      },
      { timeoutMs: 240_000, intervalMs: 1000, describe: kubeletLog },
    );
    console.log(`[patroni] Jobs complete: ${jobs.map((j) => j.metadata.name).join(", ")}`);

    // the user the users Job made, through the primary Service's cluster IP (proxied on the node)
    const user = decodeSecretData(await k.get("secret", `${NAME}-pguser-${NAME}`, NS));
    const primary = await k.get("service", `${NAME}-primary`, NS);
    const psql = await execFileAsync(
      `/usr/lib/postgresql/${PG}/bin/psql`,
      [
        `host=${primary!.spec.clusterIP} port=5432 dbname=${user.dbname} user=${user.user} sslmode=require`,
        "-tAc",
        "select current_user",
      ],
      { env: { PGPASSWORD: user.password, PATH: process.env.PATH }, timeout: 30_000 },
    );
    expect(psql.stdout.trim()).toBe(user.user);

    await k.apply(
      {
        apiVersion: "postgres.tusk.dev/v1",
        kind: "PostgresBackup",
        metadata: { name: `${NAME}-b1` },
        spec: { cluster: NAME, repoName: "repo1" },
      },
      NS,
    );
    const backup = await k.waitFor(
      "the PostgresBackup to succeed",
      async () => {
        const b = await k.get("postgresbackup", `${NAME}-b1`, NS);
        if (b?.status?.phase === "Failed") throw new Error(`backup failed: ${JSON.stringify(b.status)}`);
        return b?.status?.phase === "Succeeded" && b;
      },
      { timeoutMs: 300_000, intervalMs: 1000, describe: kubeletLog },
    );
    expect(backup.status.backupLabel).toMatch(/^\d{8}-\d{6}F$/);
  });

  it("deleting the cluster stops Patroni and Postgres and removes the pod", async ({ skip }) => {
    if (unavailable) skip(unavailable);
    await k.must(["-n", NS, "delete", "postgrescluster", NAME, "--wait=true", "--timeout=180s"], {
      timeoutMs: 200_000,
    });
    await k.waitFor("the instance pod to be gone", async () => !(await k.get("pod", POD, NS)), {
      timeoutMs: 180_000,
      describe: kubeletLog,
    });
    const log = readFileSync(
      join(dirname((k.env.pods as { kubeletLog: string }).kubeletLog), "pods", `${NS}_${POD}_database.log`),
      "utf8",
    );
    // a clean stop: Patroni shut Postgres down on SIGTERM within the grace period
    expect(log).toMatch(/database system is shut down/);
  });
});
