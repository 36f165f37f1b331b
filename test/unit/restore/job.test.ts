import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
/**
 * The restore's Jobs: the pgbackrest argv for every restore shape, the restore container's
 * paths and volumes (agreeing with the instance StatefulSet's claims and Patroni's labels), and
 * every Job valid for the API server and admitted under Pod Security "restricted".
 */
import { describe, expect, it } from "vitest";
import { buildInstanceStatefulSet, instancePodTemplate } from "../../../functions/cluster/instance/statefulset.ts";
import { patroniConfig } from "../../../functions/cluster/patroni/config.ts";
import {
  buildDcsResetJob,
  buildInstanceResetJob,
  buildRestoreJob,
  dcsSelector,
  restoreJobArgs,
} from "../../../functions/restore/job.ts";
import { clusterModel } from "../../../shared/cluster/model.ts";
import { LABEL } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { RESTORE_SCRIPT } from "../../../shared/restore/pod.ts";
import { planFromRestore } from "../../../shared/restore/target.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { clusterObject, clusterSpec } from "./fixtures.ts";

const model = (() => {
  const r = clusterModel(clusterObject() as never);
  if (!r.ok) throw new Error("fixture cluster is invalid");
  return r.model;
})();
const instance = (name: string) => model.instances.find((i) => i.name === name)!;
const ref = { name: "hippo-pitr", namespace: "db", repoName: "repo2" };
const planOf = (spec: Record<string, unknown>) => {
  const r = planFromRestore({ cluster: "hippo", repoName: "repo2", ...spec } as never);
  if (!r.ok) throw new Error(r.message);
  return r.plan;
};

const BASE = [
  "pgbackrest",
  "--no-config",
  "--config-path=/etc/pgbackrest",
  "--stanza=db",
  "--repo=2",
  "--pg1-path=/pgdata/pg16_restore",
];
const TAIL = ["--delta", "--log-level-console=info", "restore"];

describe("restore argv per shape", () => {
  const args = (spec: Record<string, unknown>, i = "hippo-a-1") =>
    restoreJobArgs(model, instance(i), "repo2", planOf(spec));
  it.each([
    ["latest", {}, []],
    [
      "time",
      { target: { type: "time", value: "2026-02-20 12:00:00+00" } },
      ["--type=time", "--target=2026-02-20 12:00:00+00", "--target-action=promote"],
    ],
    [
      "lsn",
      { target: { type: "lsn", value: "0/5000028" } },
      ["--type=lsn", "--target=0/5000028", "--target-action=promote"],
    ],
    [
      "name",
      { target: { type: "name", value: "before-upgrade" } },
      ["--type=name", "--target=before-upgrade", "--target-action=promote"],
    ],
    ["xid", { target: { type: "xid", value: "4711" } }, ["--type=xid", "--target=4711", "--target-action=promote"]],
    ["immediate", { target: { type: "immediate" } }, ["--type=immediate", "--target-action=promote"]],
    [
      "backupSet",
      { backupSet: "20260220-010000F" },
      ["--set=20260220-010000F", "--type=immediate", "--target-action=promote"],
    ],
  ])("%s", (_name, spec, middle) => {
    expect(args(spec)).toEqual([...BASE, ...middle, ...TAIL]);
  });

  it("an instance with a WAL volume maps pg_wal onto it", () => {
    expect(args({}, "hippo-w-0")).toEqual([
      ...BASE,
      "--delta",
      "--link-map=pg_wal=/pgwal/pg16_wal",
      "--log-level-console=info",
      "restore",
    ]);
  });

  it("user options pass one item each (quotes removed), after the restore's own", () => {
    const a = args({ options: ['--process-max="4"', "--target-exclusive"] });
    expect(a.slice(-4)).toEqual(["--process-max=4", "--target-exclusive", "--log-level-console=info", "restore"]);
  });
});

describe("the restore Job", () => {
  const job = buildRestoreJob(ref, model, instance("hippo-w-0"), planOf({ target: { type: "immediate" } }));
  const pod = job.spec!.template.spec!;
  const container = pod.containers[0]!;

  it("is one container running the script with the pgbackrest argv as its arguments", () => {
    expect(pod.containers).toHaveLength(1);
    expect(container.command!.slice(0, 4)).toEqual(["sh", "-c", RESTORE_SCRIPT, "tusk-restore"]);
    expect(container.command!.slice(4)).toEqual(
      restoreJobArgs(model, instance("hippo-w-0"), "repo2", planOf({ target: { type: "immediate" } })),
    );
    expect(container.image).toBe(model.image);
  });

  it("gets every path from its environment", () => {
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e.value]));
    expect(env).toEqual({
      PGDATA: "/pgdata/pg16",
      PG_BIN: "/usr/lib/postgresql/16/bin",
      TUSK_RESTORE_MODE: "in-place",
      TUSK_WAL_DIR: "/pgwal/pg16_wal",
      TUSK_RESTORE_TMP: "/tmp/tusk-restore",
      TUSK_SUPERUSER: "postgres",
      HOME: "/tmp",
    });
  });

  it("mounts the instance's own claims where its pod mounts them, and pgBackRest's instance configuration", () => {
    const mounts = Object.fromEntries(container.volumeMounts!.map((m) => [m.mountPath, m.name]));
    expect(mounts).toEqual({
      "/pgdata": "pgdata",
      "/pgwal": "pgwal",
      "/tmp": "tmp",
      "/etc/pgbackrest/conf.d": "pgbackrest-config",
    });
    const claims = pod.volumes!.flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
    expect(claims).toEqual(["pgdata-hippo-w-0-0", "pgwal-hippo-w-0-0"]);
    const config = pod.volumes!.find((v) => v.name === "pgbackrest-config")!;
    expect(config.projected!.sources![0]!.configMap!.items).toEqual([
      { key: "pgbackrest-instance.conf", path: "~tusk.conf" },
    ]);
    expect(config.projected!.sources!.some((s) => s.secret?.name === "hippo-s3")).toBe(true);
  });

  it("the claim names are the ones the instance StatefulSet's claim templates produce", () => {
    for (const i of model.instances) {
      const set = model.sets.find((s) => s.name === i.set)!;
      const sts = buildInstanceStatefulSet(model, set, i, {
        replicas: 1,
        template: instancePodTemplate(model, set, i).template,
      });
      const produced = sts.spec!.volumeClaimTemplates!.map((t) => `${t.metadata!.name}-${sts.metadata!.name}-0`);
      const expected = [
        names.dataVolumeClaim(i.name),
        ...(set.spec.walVolumeClaimSpec ? [names.walVolumeClaim(i.name)] : []),
      ];
      expect(produced).toEqual(expected);
    }
  });

  it("runs as the instance ServiceAccount without an API token, never restarts in place, and is labelled for its restore", () => {
    expect(pod.serviceAccountName).toBe(names.instanceRbac("hippo"));
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.restartPolicy).toBe("Never");
    expect(job.spec!.template.metadata!.labels![LABEL.restore]).toBe("hippo-pitr");
    expect(job.metadata!.name).toBe(names.restoreJob("hippo-pitr"));
  });

  it("uses the cluster's restore scheduling settings", () => {
    const spec = clusterSpec();
    spec.backups.pgbackrest.restore = {
      enabled: true,
      repoName: "repo2",
      resources: { limits: { cpu: "2" } },
      tolerations: [{ key: "restore", operator: "Exists" }],
      priorityClassName: "batch",
    };
    const m = clusterModel(clusterObject({ spec }) as never);
    if (!m.ok) throw new Error("invalid");
    const j = buildRestoreJob(ref, m.model, m.model.instances[0]!, planOf({}));
    const p = j.spec!.template.spec!;
    expect(p.tolerations).toEqual([{ key: "restore", operator: "Exists" }]);
    expect(p.priorityClassName).toBe("batch");
    expect(p.containers[0]!.resources).toEqual({ limits: { cpu: "2" } });
  });
});

describe("the DCS and reset Jobs", () => {
  it("the DCS Job deletes exactly the objects Patroni labels with this cluster's scope", () => {
    const patroni = patroniConfig(model, { walVolume: false }) as any;
    const labels = { ...patroni.kubernetes.labels, [patroni.kubernetes.scope_label]: patroni.scope };
    expect(dcsSelector(model)).toBe(
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    );
    const job = buildDcsResetJob(ref, model);
    const pod = job.spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.serviceAccountName).toBe(names.instanceRbac("hippo"));
    const env = Object.fromEntries(pod.containers[0]!.env!.map((e) => [e.name, e.value]));
    expect(decodeURIComponent(env.DCS_SELECTOR!)).toBe(dcsSelector(model));
    expect(env.DCS_SELECTOR).not.toMatch(/[/=,]/);
    const script = pod.containers[0]!.command![2]!;
    expect(script).toContain("endpoints configmaps");
    expect(script).toContain("--request DELETE");
  });

  it("a reset Job clears one instance's data and WAL directories on its own claims", () => {
    const job = buildInstanceResetJob(ref, model, instance("hippo-w-0"));
    const pod = job.spec!.template.spec!;
    const env = Object.fromEntries(pod.containers[0]!.env!.map((e) => [e.name, e.value]));
    expect(env).toEqual({ PGDATA: "/pgdata/pg16", TUSK_WAL_DIR: "/pgwal/pg16_wal" });
    expect(pod.volumes!.flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []))).toEqual([
      "pgdata-hippo-w-0-0",
      "pgwal-hippo-w-0-0",
    ]);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(job.metadata!.name).toBe(names.restoreResetJob("hippo-pitr", "hippo-w-0"));
  });

  it("the reset script, run by sh -eu, removes the data directory, its restore leftovers and the WAL directory, nothing beside them", () => {
    const root = mkdtempSync(join(tmpdir(), "tusk-reset-"));
    try {
      const pgdata = join(root, "pgdata", "pg16");
      const wal = join(root, "pgwal", "pg16_wal");
      const keep = join(root, "pgdata", "other");
      for (const d of [pgdata, `${pgdata}_restore`, `${pgdata}_bootstrap`, wal, keep])
        mkdirSync(d, { recursive: true });
      writeFileSync(`${pgdata}.restore.json`, "{}");
      const container = buildInstanceResetJob(ref, model, instance("hippo-w-0")).spec!.template.spec!.containers[0]!;
      const [sh, flag, script] = container.command!;
      expect([sh, flag]).toEqual(["sh", "-c"]);
      const out = execFileSync("sh", ["-c", script!], {
        encoding: "utf8",
        env: { PATH: process.env.PATH, PGDATA: pgdata, TUSK_WAL_DIR: wal },
      });
      expect(out).toContain(`cleared ${pgdata}`);
      for (const gone of [pgdata, `${pgdata}_restore`, `${pgdata}_bootstrap`, `${pgdata}.restore.json`, wal]) {
        expect(existsSync(gone), gone).toBe(false);
      }
      expect(existsSync(keep)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("validity", () => {
  const jobs = [
    buildRestoreJob(
      ref,
      model,
      instance("hippo-a-1"),
      planOf({ target: { type: "time", value: "2026-02-20 12:00:00+00" } }),
    ),
    buildRestoreJob(ref, model, instance("hippo-w-0"), planOf({ backupSet: "20260220-010000F" })),
    buildDcsResetJob(ref, model),
    buildInstanceResetJob(ref, model, instance("hippo-a-0")),
    buildInstanceResetJob(ref, model, instance("hippo-w-0")),
  ];
  it.each(jobs.map((j) => [j.metadata!.name!, j]))("%s validates and passes Pod Security restricted", (_n, job) => {
    expect(validateObject(job)).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
  });

  it("long names stay valid", () => {
    const long = { ...ref, name: `r-${"x".repeat(70)}` };
    for (const job of [
      buildRestoreJob(long, model, instance("hippo-a-1"), planOf({})),
      buildDcsResetJob(long, model),
      buildInstanceResetJob(long, model, instance("hippo-a-0")),
    ])
      expect(validateObject(job)).toEqual([]);
  });
});
