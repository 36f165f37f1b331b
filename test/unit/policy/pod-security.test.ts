/**
 * Every pod built around a cluster's data gets its security context from the one builder in
 * shared/pod-security.ts, so cluster settings such as supplementalGroups (needed to reach a
 * group-owned NFS export, for one) reach instances, the repository host, pgBouncer and every
 * Job alike. The pgBackRest Jobs once had a copy without supplementalGroups.
 */
import { describe, expect, it } from "vitest";
import { PostgresClusterSpec } from "../../../shared/api/postgres-cluster.ts";
import { pgbackrestJobSpec } from "../../../shared/pgbackrest/job-pod.ts";
import { podSecurity, restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { cluster, type Json, steadyState } from "../cluster/fixtures.ts";

const SPEC = {
  supplementalGroups: [1000, 2000],
  backups: {
    pgbackrest: {
      repos: [
        {
          name: "repo1",
          volume: { volumeClaimSpec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
          schedules: { full: "0 1 * * *" },
        },
      ],
    },
  },
  proxy: { pgBouncer: {} },
  monitoring: { pgmonitor: { exporter: {} } },
};

function podSpecs(children: Json[]): [string, Json][] {
  return children.flatMap((c): [string, Json][] => {
    const spec =
      c.kind === "CronJob"
        ? c.spec.jobTemplate.spec.template.spec
        : ["StatefulSet", "Deployment", "Job"].includes(c.kind)
          ? c.spec.template.spec
          : undefined;
    return spec ? [[`${c.kind} ${c.metadata.name}`, spec]] : [];
  });
}

describe("pod security contexts", () => {
  it.each([false, true])(
    "are the same builder's in every pod the cluster hook builds (openshift: %s)",
    async (openshift) => {
      const parent = cluster({ ...SPEC, ...(openshift ? { openshift: true } : {}) });
      const { res } = await steadyState(parent);
      const pods = podSpecs(res.children as Json[]);
      const kinds = new Set(pods.map(([what]) => what.split(" ")[0]));
      expect([...kinds].sort()).toEqual(["CronJob", "Deployment", "Job", "StatefulSet"]);
      const expected = podSecurity({ spec: PostgresClusterSpec.parse(parent.spec) });
      expect(expected?.supplementalGroups).toEqual([1000, 2000]);
      for (const [what, spec] of pods) {
        expect(spec.securityContext, what).toEqual(expected);
        for (const c of [...(spec.initContainers ?? []), ...spec.containers])
          expect(c.securityContext, `${what} ${c.name}`).toEqual(restrictedContainerSecurity);
      }
    },
  );

  it("pgBackRest Job pods (backup, expire, stanza-create) carry supplementalGroups", () => {
    const spec = PostgresClusterSpec.parse(cluster(SPEC).spec);
    const job = pgbackrestJobSpec({
      cluster: { name: "hippo", namespace: "db", spec },
      command: ["true"],
      repos: [],
      labels: {},
    });
    expect(job.template.spec?.securityContext).toEqual(podSecurity({ spec }));
    expect(job.template.spec?.securityContext?.supplementalGroups).toEqual([1000, 2000]);
  });
});
