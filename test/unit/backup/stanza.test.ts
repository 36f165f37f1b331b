import { describe, expect, it } from "vitest";
import { buildStanzaCreateJob, stanzaFingerprint } from "../../../functions/cluster/pgbackrest/stanza-job.ts";
import { validateObject } from "../../support/k8s-validate.ts";
import { podSecurityRestrictedViolations } from "../../support/pod-security.ts";
import { cluster, SCENARIOS } from "../pgbackrest/scenarios.ts";
import type { Json } from "./fixtures.ts";

describe("stanza-create Job", () => {
  it("is valid, restricted, retries stanza-create, and mounts every volume repo next to the repo host", () => {
    const job = buildStanzaCreateJob(SCENARIOS.minio!) as Json;
    expect(validateObject(job)).toEqual([]);
    expect(podSecurityRestrictedViolations(job)).toEqual([]);
    const pod = job.spec.template.spec;
    expect(pod.containers[0].command[2]).toMatch(
      /run pgbackrest --no-config --config-path=\/etc\/pgbackrest --stanza=db stanza-create/,
    );
    expect(
      pod.volumes.filter((v: Json) => v.persistentVolumeClaim).map((v: Json) => v.persistentVolumeClaim.claimName),
    ).toEqual(["repo1-hippo-repo-host-0"]);
    expect(pod.affinity.podAffinity).toBeDefined();
    const s3 = (buildStanzaCreateJob(SCENARIOS["s3-only"]!) as Json).spec.template.spec;
    expect(s3.affinity).toBeUndefined();
  });

  it("gets a new name when a repository changes, and keeps it otherwise", () => {
    const base = SCENARIOS["s3-only"]!;
    const a = buildStanzaCreateJob(base)!.metadata!.name;
    expect(buildStanzaCreateJob(cluster(JSON.parse(JSON.stringify(base.spec))))!.metadata!.name).toBe(a);
    const moved = JSON.parse(JSON.stringify(base.spec));
    moved.backups.pgbackrest.global = { "repo1-path": "/pgbackrest/other" };
    expect(stanzaFingerprint(cluster(moved))).not.toBe(stanzaFingerprint(base));
    const scaled = JSON.parse(JSON.stringify(base.spec));
    scaled.instances[0].replicas = 5;
    expect(stanzaFingerprint(cluster(scaled))).toBe(stanzaFingerprint(base));
  });

  it("is not needed without repositories", () => {
    expect(
      buildStanzaCreateJob(cluster({ postgresVersion: 15, instances: [{ dataVolumeClaimSpec: {} }] })),
    ).toBeUndefined();
  });
});
