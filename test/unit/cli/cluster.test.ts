/**
 * The cluster commands against a local HTTP server speaking the Kubernetes API paths they use,
 * through the real @kubernetes/client-node and a kubeconfig pointing at it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { FakeApiServer } from "./fake-apiserver.ts";
import { type RunOptions, tusk } from "./harness.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");
const EXAMPLES = join(import.meta.dirname, "../../../manifests/examples");
const GROUP = "/apis/postgres.tusk.dev/v1";

let api: FakeApiServer;

beforeEach(async () => {
  api = new FakeApiServer();
  await api.start();
});
afterEach(async () => {
  await api.stop();
});

/** The body of the i-th write request. */
const sent = (i: number): any => {
  const write = api.writes()[i];
  if (!write) throw new Error(`no write request #${i}`);
  return write.body;
};

/** tusk against the fake server (the kubeconfig's context namespace is `db`). */
const k = (argv: string[], options: RunOptions = {}) => tusk([...argv, "--kubeconfig", api.kubeconfig], options);

function hacluster(extra: Record<string, any> = {}) {
  const manifest = parse(readFileSync(join(FIXTURES, "hacluster.yaml"), "utf8"));
  return api.put("postgresclusters", "db", {
    ...manifest,
    ...extra,
    status: {
      phase: "Running",
      primary: "hacluster-instance1-0-0",
      readyInstances: "2/2",
      conditions: [{ type: "Ready", status: "True", reason: "AllInstancesReady", message: "2/2 instances ready" }],
      ...extra.status,
    },
  });
}

function pod(name: string, role: string | undefined, ready: boolean, member: Record<string, unknown>) {
  return api.put("pods", "db", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: { "postgres.tusk.dev/cluster": "hacluster", ...(role ? { "postgres.tusk.dev/patroni-role": role } : {}) },
      annotations: { status: JSON.stringify(member) },
    },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
}

describe("tusk get", () => {
  it("lists the clusters of the context's namespace as a table", async () => {
    hacluster();
    api.put("postgresclusters", "elsewhere", {
      apiVersion: "postgres.tusk.dev/v1",
      metadata: { name: "other" },
      spec: {},
    });
    const r = await k(["get", "clusters"], { now: () => new Date("2026-01-15T14:00:00Z") });
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      "NAME       VERSION  PHASE    READY  PRIMARY                  AGE\n" +
        "hacluster  16       Running  2/2    hacluster-instance1-0-0  3h\n",
    );
    expect(api.requests.map((q) => `${q.method} ${q.path}`)).toEqual([`GET ${GROUP}/namespaces/db/postgresclusters`]);
  });

  it("-A lists every namespace with a NAMESPACE column; -o json gives the objects", async () => {
    hacluster();
    api.put("postgresclusters", "elsewhere", {
      apiVersion: "postgres.tusk.dev/v1",
      metadata: { name: "other" },
      spec: {},
    });
    const r = await k(["get", "clusters", "-A"]);
    expect(r.out.split("\n")[0]).toMatch(/^NAMESPACE\s+NAME\s+VERSION/);
    expect(r.out).toMatch(/^elsewhere\s+other\s/m);
    expect(api.requests.at(-1)?.path).toBe(`${GROUP}/postgresclusters`);
    const json = JSON.parse((await k(["get", "clusters", "-o", "json"])).out);
    expect(json.items.map((o: any) => o.metadata.name)).toEqual(["hacluster"]);
  });

  it("backups and restores, -n picks the namespace, and an empty list says so", async () => {
    api.put("postgresbackups", "db", {
      metadata: { name: "b1" },
      spec: { cluster: "hacluster", repoName: "repo1", type: "incr" },
      status: { phase: "Succeeded", backupLabel: "20260115-100000F_20260115-110000I" },
    });
    const r = await k(["get", "backups"]);
    expect(r.out).toMatch(/^b1\s+hacluster\s+repo1\s+incr\s+Succeeded\s+20260115-100000F_20260115-110000I\s+60m$/m);
    const none = await k(["get", "restores", "-n", "prod"]);
    expect(none.code).toBe(0);
    expect(none.err).toBe("no postgresrestores in namespace prod\n");
    expect(api.requests.at(-1)?.path).toBe(`${GROUP}/namespaces/prod/postgresrestores`);
  });

  it("says when Tusk's CRDs are not installed", async () => {
    api.unknownPlurals.add("postgresclusters");
    const r = await k(["get", "clusters"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `tusk: the API server at ${api.url} does not know PostgresCluster (postgresclusters.postgres.tusk.dev): install Tusk's CRDs first, e.g. \`tusk crd | kubectl apply -f -\`\n`,
    );
  });
});

describe("tusk status", () => {
  function seed() {
    hacluster({
      status: {
        repos: [
          { name: "repo2", recoverability: { earliest: "2026-01-01T00:00:00Z", latest: "2026-01-15T11:59:00Z" } },
        ],
        conditions: [
          { type: "Ready", status: "True", reason: "AllInstancesReady", message: "2/2 instances ready" },
          {
            type: "Progressing",
            status: "False",
            reason: "UpToDate",
            message: "every instance runs the desired configuration",
          },
        ],
      },
    });
    pod("hacluster-instance1-0-0", "master", true, {
      role: "master",
      state: "running",
      xlog_location: 50_331_744,
      timeline: 2,
    });
    pod("hacluster-instance1-1-0", "replica", true, {
      role: "replica",
      state: "running",
      replication_state: "streaming",
      xlog_location: 50_331_744 - 2048,
      timeline: 2,
    });
    pod("someone-else-0", "master", true, {});
    api.put("postgresbackups", "db", {
      metadata: { name: "old" },
      spec: { cluster: "hacluster", repoName: "repo1", type: "full" },
      status: {
        phase: "Succeeded",
        completionTime: "2026-01-14T01:10:00Z",
        backupLabel: "20260114-010000F",
        backupType: "full",
      },
    });
    api.put("postgresbackups", "db", {
      metadata: { name: "new" },
      spec: { cluster: "hacluster", repoName: "repo1", type: "incr" },
      status: {
        phase: "Succeeded",
        completionTime: "2026-01-15T01:10:00Z",
        backupLabel: "20260114-010000F_20260115-010000I",
        backupType: "incr",
      },
    });
    api.put("postgresbackups", "db", {
      metadata: { name: "failed" },
      spec: { cluster: "hacluster", repoName: "repo1", type: "full" },
      status: { phase: "Failed", completionTime: "2026-01-15T11:00:00Z" },
    });
  }

  it("shows instances with role, lag and readiness, the last backup per repo, the window and conditions", async () => {
    seed();
    const r = await k(["status", "hacluster"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "PostgresCluster hacluster in namespace db: phase Running, ready 2/2, primary hacluster-instance1-0-0, PostgreSQL 16\n",
    );
    expect(r.out).toMatch(/^hacluster-instance1-0-0\s+instance1\s+primary\s+yes\s+0 B\s+running$/m);
    expect(r.out).toMatch(/^hacluster-instance1-1-0\s+instance1\s+replica\s+yes\s+2 KiB\s+streaming$/m);
    expect(r.out).toMatch(
      /^repo1\s+volume\s+20260114-010000F_20260115-010000I \(incr\)\s+2026-01-15T01:10:00Z \(10h ago\)\s+not published$/m,
    );
    expect(r.out).toMatch(/^repo2\s+s3\s+none yet\s+-\s+2026-01-01T00:00:00Z \.\. 2026-01-15T11:59:00Z$/m);
    expect(r.out).toMatch(/^Ready\s+True\s+AllInstancesReady\s+2\/2 instances ready$/m);
    expect(r.out).not.toContain("someone-else");
    const pods = api.requests.find((q) => q.path === "/api/v1/namespaces/db/pods");
    expect(pods?.query.labelSelector).toBe("postgres.tusk.dev/cluster=hacluster");
  });

  it("shows a missing instance and an unknown lag", async () => {
    seed();
    api.objects.delete("pods/db/hacluster-instance1-1-0");
    api.objects.get("pods/db/hacluster-instance1-0-0")!.metadata.annotations = {};
    const r = await k(["status", "hacluster", "-o", "json"]);
    const report = JSON.parse(r.out);
    expect(report.instances).toEqual([
      {
        name: "hacluster-instance1-0",
        pod: "hacluster-instance1-0-0",
        set: "instance1",
        role: "primary",
        ready: true,
        lagBytes: 0,
        state: "Running",
        timeline: null,
      },
      {
        name: "hacluster-instance1-1",
        pod: "hacluster-instance1-1-0",
        set: "instance1",
        role: "missing",
        ready: false,
        lagBytes: null,
        state: "",
        timeline: null,
      },
    ]);
    expect(report.repos[0].lastBackup).toEqual({
      name: "new",
      type: "incr",
      label: "20260114-010000F_20260115-010000I",
      completed: "2026-01-15T01:10:00Z",
    });
    const yaml = parse((await k(["status", "hacluster", "-o", "yaml"])).out);
    expect(yaml).toEqual(report);
  });

  it("a cluster that is not there: what to run instead, exit 1", async () => {
    const r = await k(["status", "nope"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "tusk: PostgresCluster nope not found in namespace db; `tusk get clusters -n db` lists the clusters there\n",
    );
  });
});

describe("tusk backup", () => {
  it("creates a PostgresBackup of the first repo, labelled, and says how to follow it", async () => {
    hacluster();
    const r = await k(["backup", "hacluster"]);
    expect(r.code).toBe(0);
    const post = api.writes();
    expect(post).toHaveLength(1);
    expect(post[0]).toMatchObject({ method: "POST", path: `${GROUP}/namespaces/db/postgresbackups` });
    expect(post[0]?.body).toEqual({
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresBackup",
      metadata: {
        generateName: "hacluster-repo1-full-",
        namespace: "db",
        labels: {
          "postgres.tusk.dev/cluster": "hacluster",
          "postgres.tusk.dev/pgbackrest-repo": "repo1",
          "postgres.tusk.dev/backup-type": "full",
        },
      },
      spec: { cluster: "hacluster", repoName: "repo1", type: "full" },
    });
    expect(r.out).toMatch(/^postgresbackup\/hacluster-repo1-full-\S+ created in namespace db; follow it with/);
  });

  it("--repo and --type; an unknown repo lists the real ones", async () => {
    hacluster();
    await k(["backup", "hacluster", "--repo", "repo2", "--type", "incr"]);
    expect(sent(0).spec).toEqual({ cluster: "hacluster", repoName: "repo2", type: "incr" });
    const r = await k(["backup", "hacluster", "--repo", "repo3"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("tusk: PostgresCluster hacluster has no repo3; its repos are repo1, repo2\n");
    expect(api.writes()).toHaveLength(1);
  });

  it("refuses a cluster without repos or one that is shut down", async () => {
    const hippo = parse(readFileSync(join(FIXTURES, "hippo.yaml"), "utf8"));
    api.put("postgresclusters", "db", hippo);
    const r = await k(["backup", "hippo"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "PostgresCluster hippo has no backup repository; add one under spec.backups.pgbackrest.repos",
    );
    hacluster({ spec: { ...parse(readFileSync(join(FIXTURES, "hacluster.yaml"), "utf8")).spec, shutdown: true } });
    const down = await k(["backup", "hacluster"]);
    expect(down.err).toContain("is shut down; start it first (`tusk start hacluster`)");
    expect(api.writes()).toHaveLength(0);
  });

  it("--wait prints each phase and exits 0 when it succeeds", async () => {
    hacluster();
    const phases = ["Pending", "Running", "Running", "Succeeded"];
    api.onGet = (key, o) => {
      if (!key.startsWith("postgresbackups/")) return;
      o.status = { phase: phases.shift() ?? "Succeeded", backupLabel: "20260115-120000F", backupType: "full" };
    };
    const r = await k(["backup", "hacluster", "--wait"]);
    expect(r.code).toBe(0);
    const lines = r.err.trim().split("\n");
    expect(lines.map((l) => l.replace(/^PostgresBackup \S+: (\w+) .*$/, "$1"))).toEqual([
      "Pending",
      "Running",
      "Succeeded",
      "backup 20260115-120000F (full) in repo1 of hacluster",
    ]);
  });

  it("--wait exits 1 with pgBackRest's error when it fails; -o json prints the final object", async () => {
    hacluster();
    api.onGet = (key, o) => {
      if (key.startsWith("postgresbackups/"))
        o.status = { phase: "Failed", error: "ERROR: [082]: WAL segment was not archived before the 60000ms timeout" };
    };
    const r = await k(["backup", "hacluster", "--wait", "-o", "json"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("failed: ERROR: [082]: WAL segment was not archived before the 60000ms timeout");
    expect(JSON.parse(r.out).status.phase).toBe("Failed");
  });

  it("--wait gives up after --timeout, saying the backup goes on", async () => {
    hacluster();
    let t = Date.parse("2026-01-15T12:00:00Z");
    const r = await k(["backup", "hacluster", "--wait", "--timeout", "90s"], {
      now: () => {
        t += 30_000;
        return new Date(t);
      },
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/gave up waiting after 90s; PostgresBackup \S+ is still \(no phase yet\)/);
  });
});

describe("tusk restore", () => {
  it("needs --to, and confirmation: without a terminal it asks for --yes and sends nothing", async () => {
    hacluster();
    const missing = await k(["restore", "hacluster"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('tusk restore needs --to: a time such as "2026-01-15 14:30:00+00", or latest');
    const r = await k(["restore", "hacluster", "--to", "latest"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("Not without confirmation: run again with --yes");
    expect(api.writes()).toHaveLength(0);
  });

  it("--yes creates a PostgresRestore to a point in time", async () => {
    hacluster();
    const r = await k(["restore", "hacluster", "--to", "2026-01-15 10:30:00+00", "--repo", "repo2", "--yes"]);
    expect(r.code).toBe(0);
    const [post] = api.writes();
    expect(post).toMatchObject({ method: "POST", path: `${GROUP}/namespaces/db/postgresrestores` });
    expect(sent(0).spec).toEqual({
      cluster: "hacluster",
      repoName: "repo2",
      target: { type: "time", value: "2026-01-15 10:30:00+00" },
    });
    expect(sent(0).metadata.generateName).toBe("hacluster-restore-");
  });

  it("asks on a terminal: the cluster's name confirms, anything else does not", async () => {
    hacluster();
    const no = await k(["restore", "hacluster", "--to", "latest"], { answers: ["yes"] });
    expect(no.code).toBe(1);
    expect(no.asked[0]).toContain(
      "Restore PostgresCluster hacluster in namespace db in place from repo1 to the latest archived WAL?",
    );
    expect(no.err).toContain("not restored");
    expect(api.writes()).toHaveLength(0);
    const yes = await k(["restore", "hacluster", "--to", "latest"], { answers: ["hacluster"] });
    expect(yes.code).toBe(0);
    expect(sent(0).spec.target).toEqual({ type: "latest" });
  });

  it("a target time the webhook would refuse is refused before asking or sending", async () => {
    hacluster();
    const r = await k(["restore", "hacluster", "--to", "yesterday", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("the admission rules refuse this PostgresRestore hacluster-restore-:");
    expect(r.err).toContain("spec.target.value:");
    expect(api.writes()).toHaveLength(0);
  });

  it("--wait follows the restore phases to the end", async () => {
    hacluster();
    const phases = ["Pending", "ScalingDown", "Restoring", "Starting", "Succeeded"];
    api.onGet = (key, o) => {
      if (key.startsWith("postgresrestores/"))
        o.status = { phase: phases.shift() ?? "Succeeded", backupSet: "20260115-010000F" };
    };
    const r = await k(["restore", "hacluster", "--to", "latest", "--yes", "--wait"]);
    expect(r.code).toBe(0);
    for (const p of ["Pending", "ScalingDown", "Restoring", "Starting", "Succeeded"])
      expect(r.err).toContain(`: ${p} (`);
    expect(r.err).toContain("restored hacluster from repo1, backup 20260115-010000F");
  });
});

describe("tusk switchover", () => {
  it("sets spec.patroni.switchover and a new trigger id with a merge patch", async () => {
    hacluster();
    const r = await k(["switchover", "hacluster", "--to", "hacluster-instance1-1-0"]);
    expect(r.code).toBe(0);
    const [patch] = api.writes();
    expect(patch).toMatchObject({
      method: "PATCH",
      path: `${GROUP}/namespaces/db/postgresclusters/hacluster`,
      contentType: "application/merge-patch+json",
      query: { fieldManager: "tusk" },
    });
    expect(patch?.body).toEqual({
      metadata: { annotations: { "postgres.tusk.dev/trigger-switchover": "20260115T120000Z" } },
      spec: { patroni: { switchover: { enabled: true, type: "Switchover", targetInstance: "hacluster-instance1-1" } } },
    });
    const stored = api.get("postgresclusters", "db", "hacluster")!;
    expect(stored.spec.patroni.switchover.targetInstance).toBe("hacluster-instance1-1");
    expect(r.out).toContain("the leader moves to hacluster-instance1-1");
  });

  it("a second switchover gets a different id; without --to the target is cleared", async () => {
    hacluster({
      metadata: { name: "hacluster", annotations: { "postgres.tusk.dev/trigger-switchover": "20260115T120000Z" } },
    });
    await k(["switchover", "hacluster"]);
    const body = api.writes()[0]?.body as any;
    expect(body.metadata.annotations["postgres.tusk.dev/trigger-switchover"]).not.toBe("20260115T120000Z");
    expect(body.spec.patroni.switchover.targetInstance).toBeNull();
  });

  it("refuses an unknown instance and a cluster of one", async () => {
    hacluster();
    const r = await k(["switchover", "hacluster", "--to", "hacluster-instance9-0"]);
    expect(r.err).toBe(
      "tusk: PostgresCluster hacluster has no instance hacluster-instance9-0; its instances are hacluster-instance1-0, hacluster-instance1-1\n",
    );
    api.put("postgresclusters", "db", parse(readFileSync(join(FIXTURES, "hippo.yaml"), "utf8")));
    const one = await k(["switchover", "hippo"]);
    expect(one.code).toBe(1);
    expect(one.err).toContain("has one instance; a switchover needs a replica");
    expect(api.writes()).toHaveLength(0);
  });
});

describe("tusk scale", () => {
  it("patches one instance set's replicas with a JSON patch guarded by a test", async () => {
    hacluster();
    const r = await k(["scale", "hacluster", "--instance-set", "instance1", "--replicas", "3"]);
    expect(r.code).toBe(0);
    const [patch] = api.writes();
    expect(patch?.contentType).toBe("application/json-patch+json");
    expect(patch?.body).toEqual([
      {
        op: "test",
        path: "/spec/instances/0",
        value: {
          name: "instance1",
          replicas: 2,
          dataVolumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      },
      { op: "replace", path: "/spec/instances/0/replicas", value: 3 },
    ]);
    expect(api.get("postgresclusters", "db", "hacluster")!.spec.instances[0].replicas).toBe(3);
    expect(r.out).toBe("instance set instance1 of hacluster: 2 -> 3 replica(s)\n");
  });

  it("a set changed by someone else in between fails cleanly with the API server's message", async () => {
    hacluster();
    api.onGet = (_key, o) => {
      // Another writer changes the set right after our read.
      queueMicrotask(() => {
        o.spec.instances[0].replicas = 5;
      });
    };
    const r = await k(["scale", "hacluster", "--instance-set", "instance1", "--replicas", "3"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tusk: cannot update PostgresCluster hacluster: .*test failed.* \(HTTP 422\)\n$/);
  });

  it("names the sets when the one asked for does not exist; the same count changes nothing", async () => {
    hacluster();
    const r = await k(["scale", "hacluster", "--instance-set", "big", "--replicas", "3"]);
    expect(r.err).toBe("tusk: PostgresCluster hacluster has no instance set big; its sets are instance1\n");
    const same = await k(["scale", "hacluster", "--instance-set", "instance1", "--replicas", "2"]);
    expect(same.out).toBe("instance set instance1 of hacluster already has 2 replica(s)\n");
    expect(api.writes()).toHaveLength(0);
    const missing = await k(["scale", "hacluster", "--replicas", "2"]);
    expect(missing.code).toBe(2);
  });

  it("finds PGO's default name 00 for an unnamed set", async () => {
    api.put("postgresclusters", "db", {
      apiVersion: "postgres.tusk.dev/v1",
      kind: "PostgresCluster",
      metadata: { name: "pgo" },
      spec: { postgresVersion: 16, instances: [{ dataVolumeClaimSpec: {} }] },
    });
    const r = await k(["scale", "pgo", "--instance-set", "00", "--replicas", "2"]);
    expect(r.code).toBe(0);
    expect(sent(0)[1]).toEqual({ op: "add", path: "/spec/instances/0/replicas", value: 2 });
  });
});

describe("tusk shutdown and start", () => {
  it("set spec.shutdown with a merge patch, and say when there is nothing to do", async () => {
    hacluster();
    const down = await k(["shutdown", "hacluster"]);
    expect(down.code).toBe(0);
    expect(api.writes()[0]).toMatchObject({
      contentType: "application/merge-patch+json",
      body: { spec: { shutdown: true } },
    });
    expect(down.out).toContain("every instance scales to zero, all data is kept");
    const again = await k(["shutdown", "hacluster"]);
    expect(again.out).toBe("hacluster is already shut down\n");
    const up = await k(["start", "hacluster", "-o", "json"]);
    expect(api.writes()[1]?.body).toEqual({ spec: { shutdown: false } });
    expect(JSON.parse(up.out).spec.shutdown).toBe(false);
    expect(api.writes()).toHaveLength(2);
  });
});

describe("tusk delete", () => {
  it("refuses a protected cluster and sends no DELETE", async () => {
    hacluster({ metadata: { name: "hacluster", annotations: { "postgres.tusk.dev/deletion-protection": "true" } } });
    const r = await k(["delete", "hacluster", "--yes"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('is protected from deletion (annotation postgres.tusk.dev/deletion-protection: "true")');
    expect(r.err).toContain("kubectl annotate postgrescluster hacluster -n db postgres.tusk.dev/deletion-protection-");
    expect(api.writes()).toHaveLength(0);
  });

  it("asks first: the name confirms; without a terminal --yes is needed", async () => {
    hacluster();
    const wrong = await k(["delete", "hacluster"], { answers: ["y"] });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("not deleted");
    const script = await k(["delete", "hacluster"]);
    expect(script.code).toBe(1);
    expect(script.err).toContain("run again with --yes");
    expect(api.writes()).toHaveLength(0);
    const ok = await k(["delete", "hacluster"], { answers: ["hacluster"] });
    expect(ok.code).toBe(0);
    expect(api.writes()).toMatchObject([
      { method: "DELETE", path: `${GROUP}/namespaces/db/postgresclusters/hacluster` },
    ]);
    expect(ok.out).toBe("postgrescluster/hacluster deleted (volumes and backup repositories are kept)\n");
  });

  it("--yes deletes without asking", async () => {
    hacluster();
    const r = await k(["delete", "hacluster", "-y"]);
    expect(r.code).toBe(0);
    expect(r.asked).toEqual([]);
    expect(api.get("postgresclusters", "db", "hacluster")).toBeUndefined();
  });
});

describe("tusk apply", () => {
  it("applies every object with server-side apply as field manager tusk", async () => {
    const file = join(EXAMPLES, "postgrescluster-ha.yaml");
    const r = await k(["apply", file]);
    expect(r.code, r.err).toBe(0);
    const writes = api.writes();
    expect(writes.map((w) => [w.method, w.path, w.contentType, w.query.fieldManager, w.query.force])).toEqual([
      ["PATCH", "/api/v1/namespaces/db/secrets/hippo-ha-pgbackrest-s3", "application/apply-patch+yaml", "tusk", "true"],
      ["PATCH", `${GROUP}/namespaces/db/postgresclusters/hippo-ha`, "application/apply-patch+yaml", "tusk", "true"],
    ]);
    const sent = writes[1]?.body as any;
    const original = parseAllDocuments(readFileSync(file, "utf8"))[1]!.toJS();
    expect(sent.spec).toEqual(original.spec);
    expect(sent.metadata.namespace).toBe("db");
    expect(r.out).toBe(
      "secret/hippo-ha-pgbackrest-s3 applied in namespace db\npostgrescluster/hippo-ha applied in namespace db\n",
    );
  });

  it("applies nothing when any object is refused, naming file and line", async () => {
    const file = join(FIXTURES, "invalid.yaml");
    const r = await k(["apply", file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^${file.replace(/[.]/g, "\\.")}:17: spec\\.config\\.parameters\\[ssl\\]: `, "m"));
    expect(r.err).toContain("nothing was applied");
    expect(api.requests).toHaveLength(0);
  });

  it("refuses a namespace in the file that -n contradicts", async () => {
    const r = await k(["apply", "-", "-n", "prod"], {
      stdin: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: staging\n",
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain("-:1: ConfigMap c says namespace staging but -n says prod");
    expect(api.requests).toHaveLength(0);
  });
});

describe("tusk create cluster against a cluster", () => {
  it("creates it, and refuses to overwrite an existing one", async () => {
    const r = await k(["create", "cluster", "fresh", "--replicas", "2", "--backup-repo", "volume:1Gi"]);
    expect(r.code).toBe(0);
    expect(api.writes()).toMatchObject([{ method: "POST", path: `${GROUP}/namespaces/db/postgresclusters` }]);
    expect(api.get("postgresclusters", "db", "fresh")!.spec.instances[0].replicas).toBe(2);
    expect(r.out).toBe("postgrescluster/fresh created in namespace db; follow it with `tusk status fresh`\n");
    const again = await k(["create", "cluster", "fresh"]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("PostgresCluster fresh already exists in namespace db");
  });
});

describe("kubeconfig handling", () => {
  it("--context picks another context (its namespace, else default)", async () => {
    await k(["get", "clusters", "--context", "other"]);
    expect(api.requests.at(-1)?.path).toBe(`${GROUP}/namespaces/default/postgresclusters`);
  });

  it("an unknown context lists the known ones", async () => {
    const r = await k(["get", "clusters", "--context", "prod"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('tusk: context "prod" is not in the kubeconfig; known contexts: fake, other\n');
  });

  it("an unreachable API server is named, without a stack trace", async () => {
    const r = await tusk(["status", "hippo", "--kubeconfig", join(FIXTURES, "kubeconfig-unreachable.yaml")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^tusk: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:2 \(ECONNREFUSED\); check your kubeconfig/,
    );
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("a kubeconfig that is not there", async () => {
    const r = await tusk(["get", "clusters", "--kubeconfig", join(FIXTURES, "no-such-kubeconfig")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tusk: cannot load .*no-such-kubeconfig: /);
  });
});
