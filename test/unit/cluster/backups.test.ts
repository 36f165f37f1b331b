/**
 * pgBackRest in the cluster's children: configuration, TLS server sidecar, repository host,
 * stanza Job, schedules and manual backups.
 */
import { describe, expect, it } from "vitest";
import { syncCluster } from "../../../functions/cluster/sync.ts";
import { certificateInfo } from "../../../shared/crypto/x509.ts";
import { LABEL } from "../../../shared/labels.ts";
import { clientCommonName } from "../../../shared/pgbackrest/layout.ts";
import { repoVolume } from "../../../shared/pgbackrest/volumes.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import {
  byKind,
  child,
  cluster,
  decode,
  type Json,
  request,
  seededDeps,
  steadyState,
  sync,
  volume,
} from "./fixtures.ts";

const volumeRepo = {
  name: "repo1",
  volume: { volumeClaimSpec: volume },
  schedules: { full: "0 1 * * 0", incremental: "0 */6 * * *" },
};
const s3Repo = { name: "repo2", s3: { bucket: "b", endpoint: "minio.example:9000", region: "us-east-1" } };
const withBackups = (repos: Json[] = [volumeRepo, s3Repo]) =>
  cluster({ backups: { pgbackrest: { repos, manual: { repoName: "repo1", options: ["--type=full"] } } } });

describe("pgBackRest children of a cluster", () => {
  it("renders nothing for pgBackRest without backups", async () => {
    const res = await sync(cluster());
    expect((res.children as Json[]).some((c) => c.metadata.name.includes("pgbackrest"))).toBe(false);
    const sts = child(res, "StatefulSet", "hippo-instance1-0");
    expect(sts.spec.template.spec.containers.map((c: Json) => c.name)).toEqual(["database"]);
  });

  it("emits the configuration for every role and archives through it", async () => {
    const res = await sync(withBackups());
    const cm = child(res, "ConfigMap", "hippo-pgbackrest-config");
    expect(Object.keys(cm.data).sort()).toEqual([
      "pgbackrest-instance.conf",
      "pgbackrest-job.conf",
      "pgbackrest-repo-host.conf",
    ]);
    expect(cm.data["pgbackrest-instance.conf"]).toContain("repo1-host-type=tls");
    expect(JSON.stringify(cm.data)).not.toMatch(/s3-key/);
    const patroni = child(res, "ConfigMap", "hippo-config").data["patroni.yaml"] as string;
    expect(patroni).toContain("--config-path=/etc/pgbackrest");
    expect(patroni).toContain("archive-push");
  });

  it("runs a pgBackRest TLS server beside Postgres, with conf.d mounted in both containers", async () => {
    const res = await sync(withBackups());
    const pod = child(res, "StatefulSet", "hippo-instance1-0").spec.template.spec;
    const [db, sidecar] = pod.containers as Json[];
    expect(sidecar!.name).toBe("pgbackrest");
    expect(sidecar!.command).toEqual(["pgbackrest", "--no-config", "--config-path=/etc/pgbackrest", "server"]);
    expect(sidecar!.ports[0].containerPort).toBe(8432);
    for (const c of [db!, sidecar!])
      expect(c.volumeMounts.map((m: Json) => m.mountPath)).toContain("/etc/pgbackrest/conf.d");
    expect(sidecar!.volumeMounts.map((m: Json) => m.mountPath)).toEqual(
      expect.arrayContaining(["/pgdata", "/tmp/postgres", "/etc/postgres/tls"]),
    );
  });

  it("gives a volume repo a repository host on a retained claim, reachable through the pods Service", async () => {
    const res = await sync(withBackups());
    const host = child(res, "StatefulSet", "hippo-repo-host");
    expect(host.spec.serviceName).toBe("hippo-pods");
    expect(host.spec.volumeClaimTemplates.map((c: Json) => c.metadata.name)).toEqual(["repo1"]);
    // The StatefulSet controller names the claim <template>-<StatefulSet>-<ordinal>: that is the
    // claim the Jobs beside the repo host mount, and the template is what the repo host mounts.
    const claim = `${host.spec.volumeClaimTemplates[0].metadata.name}-${host.metadata.name}-0`;
    expect(repoVolume("hippo", "repo1").persistentVolumeClaim!.claimName).toBe(claim);
    expect(host.spec.template.spec.containers[0].volumeMounts).toContainEqual({
      name: "repo1",
      mountPath: "/pgbackrest/repo1",
    });
    expect(host.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    const selector = child(res, "Service", "hippo-pods").spec.selector as Record<string, string>;
    for (const [k, v] of Object.entries(selector)) expect(host.spec.template.metadata.labels[k]).toBe(v);
    expect(podSecurityRestrictedViolations(host)).toEqual([]);
    const s3only = await sync(withBackups([s3Repo]));
    expect(byKind(s3only, "StatefulSet").map((s) => s.metadata.name)).toEqual([
      "hippo-instance1-0",
      "hippo-instance1-1",
    ]);
  });

  it("issues the TLS client certificate every pgBackRest server authorises", async () => {
    const res = await sync(withBackups());
    const data = decode(child(res, "Secret", "hippo-pgbackrest"));
    const info = await certificateInfo(data["tls.crt"]!);
    expect(info.subjectCommonName).toBe(clientCommonName("hippo"));
    expect(data["ca.crt"]).toBe(decode(child(res, "Secret", "hippo-ca"))["ca.crt"]);
  });

  it("creates the stanza once the primary is ready, and a manual backup per trigger id", async () => {
    const first = await sync(withBackups());
    expect(byKind(first, "Job").some((j) => j.metadata.name.startsWith("hippo-stanza-"))).toBe(false);
    const parent = withBackups();
    parent.metadata.annotations = { "postgres.tusk.dev/pgbackrest-backup": "one" };
    const { res } = await steadyState(parent);
    const jobs = byKind(res, "Job").map((j) => j.metadata.name);
    expect(jobs.some((n) => n.startsWith("hippo-stanza-"))).toBe(true);
    expect(jobs.filter((n) => n.startsWith("hippo-backup-"))).toHaveLength(1);
  });

  it("schedules with CronJobs by default and PingSources with Knative", async () => {
    const cron = await sync(withBackups());
    expect(
      byKind(cron, "CronJob")
        .map((c) => c.spec.schedule)
        .sort(),
    ).toEqual(["0 */6 * * *", "0 1 * * 0"]);
    expect(byKind(cron, "PingSource")).toEqual([]);
    const knative = await syncCluster(request(withBackups()), seededDeps(), { backupScheduler: "knative" });
    expect(byKind(knative, "PingSource")).toHaveLength(2);
    expect(byKind(knative, "CronJob")).toEqual([]);
    const annotated = withBackups();
    annotated.metadata.annotations = { "postgres.tusk.dev/backup-scheduler": "knative" };
    expect(byKind(await sync(annotated), "PingSource")).toHaveLength(2);
  });

  it("every backup child is a valid object and every pod passes Pod Security restricted", async () => {
    const { res } = await steadyState(withBackups());
    for (const c of res.children as Json[]) {
      expect(validateObject(c), `${c.kind} ${c.metadata.name}`).toEqual([]);
      if (["StatefulSet", "Job", "CronJob"].includes(c.kind))
        expect(podSecurityRestrictedViolations(c), `${c.kind} ${c.metadata.name}`).toEqual([]);
    }
    const instancePods = byKind(res, "StatefulSet").filter((s) => s.spec.template.metadata.labels[LABEL.instance]);
    expect(instancePods).toHaveLength(2);
  });
});

describe("removing a backup repository needs a confirmation (PGO's authorizeBackupRemoval)", () => {
  const annotate = (parent: Json, annotations: Record<string, string>) => ({
    ...parent,
    metadata: { ...parent.metadata, annotations },
  });
  const instanceConfig = (res: { children: unknown[] }) =>
    child(res as never, "ConfigMap", "hippo-pgbackrest-config").data["pgbackrest-instance.conf"] as string;

  it("holds everything when a repo or spec.backups is dropped, and says how to confirm", async () => {
    const { res, children, related } = await steadyState(withBackups());
    for (const parent of [withBackups([volumeRepo]), cluster()]) {
      const held = await sync({ ...parent, status: res.status }, children, related);
      expect(held.children).toEqual(res.children);
      const degraded = (held.status.conditions as Json[]).find((c) => c.type === "Degraded")!;
      expect(degraded).toMatchObject({ status: "True", reason: "BackupRemovalNotAuthorized" });
      expect(degraded.message).toContain("repo2");
      expect(degraded.message).toContain("postgres-operator.crunchydata.com/authorizeBackupRemoval");
    }
  });

  it("removes them once confirmed, with PGO's annotation or Tusk's", async () => {
    const { children, related } = await steadyState(withBackups());
    const pgo = await sync(
      annotate(withBackups([volumeRepo]), { "postgres-operator.crunchydata.com/authorizeBackupRemoval": "true" }),
      children,
      related,
    );
    expect(instanceConfig(pgo)).not.toContain("repo2-");
    expect(instanceConfig(pgo)).toContain("repo1-");
    const tusk = await sync(
      annotate(cluster(), { "postgres.tusk.dev/authorize-backup-removal": "true" }),
      children,
      related,
    );
    expect((tusk.children as Json[]).some((c) => c.metadata.name.includes("pgbackrest"))).toBe(false);
  });

  it("adding a repository needs nothing", async () => {
    const { children, related } = await steadyState(withBackups([volumeRepo]));
    const res = await sync(withBackups(), children, related);
    expect(instanceConfig(res)).toContain("repo2-");
  });
});
