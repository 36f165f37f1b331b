/**
 * @module
 * The PVCs of instances a scale-down removed. The instance StatefulSets retain their claims
 * (persistentVolumeClaimRetentionPolicy Retain), so by default they stay: a later scale-up
 * of the same instance reuses them (Patroni rejoins that data as a replica), and the
 * VolumeClaimsRetained condition lists them so a person can delete them.
 *
 * Opt-in: the annotation `postgres.tusk.dev/delete-pvcs-on-scale-down: "true"` on the cluster
 * (PGO has no spec field for this: it always deletes a removed instance's PVCs). Then a Job
 * per claim deletes it through the API (volumes/claim-access.ts; the Role grants `delete` on exactly
 * those claims), with a uid precondition so a claim created again under the same name is
 * never touched. A claim qualifies only when all of these hold:
 * - it is one of this cluster's instance claims (labels and the name the StatefulSet gives it);
 * - its instance is not in the spec any more;
 * - neither its StatefulSet nor its pod is observed (a retiring leader keeps both until the
 *   switchover, and a shut-down cluster keeps every StatefulSet);
 * - it is not already being deleted.
 */
import type { V1Job } from "@kubernetes/client-node";
import type { Condition } from "../../../shared/api/kube.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { ANNOTATION } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { jobChild } from "../objects/job.ts";
import type { ObservedClaim } from "../observe/claims.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import type { ObservedPod } from "../observe/observed.ts";
import type { JobReport } from "../part.ts";
import { apiError, buildApiJob, claimPath, grantedDelete, instanceClaimOf } from "./claim-access.ts";

export const VOLUME_CLAIMS_RETAINED = "VolumeClaimsRetained";

export function deletesClaimsOnScaleDown(annotations: Record<string, string> | undefined): boolean {
  return annotations?.[ANNOTATION.deletePvcsOnScaleDown] === "true";
}

/** Claims of instances that are gone: no longer in the spec, no StatefulSet, no pod. */
function orphanedClaims(
  model: ClusterModel,
  claims: Map<string, ObservedClaim>,
  statefulSets: ReadonlySet<string>,
  pods: Map<string, ObservedPod>,
): ObservedClaim[] {
  const desired = new Set(model.instances.map((i) => i.name));
  return [...claims.values()]
    .filter((claim) => {
      const of = instanceClaimOf(model, claim);
      return (
        of !== undefined &&
        !desired.has(of.instance) &&
        !statefulSets.has(of.instance) &&
        !pods.has(`${of.instance}-0`) &&
        !claim.terminating
      );
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Deletes exactly the observed claim: a claim made again under its name has another uid. */
function buildClaimDeleteJob(model: ClusterModel, claim: string, uid: string | undefined): V1Job {
  return buildApiJob(
    model,
    (hash) => names.pvcDeleteJob(model.name, hash),
    "pvc-delete",
    {
      method: "DELETE",
      path: claimPath(model, claim),
      contentType: "application/json",
      body: {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Background",
        ...(uid ? { preconditions: { uid } } : {}),
      },
      // 404: already gone; 409: the uid no longer matches, so the claim it was for is gone.
      accept: [200, 202, 404, 409],
    },
    { claim, uid },
  );
}

export interface CleanupPlan {
  jobs: Record<string, unknown>[];
  reports: JobReport[];
  /** Claims the delete Jobs may delete (the Role grants delete on exactly these). */
  delete: string[];
  condition?: Condition;
}

export function planClaimCleanup(model: ClusterModel, observed: ObservedCluster): CleanupPlan {
  const orphans = orphanedClaims(model, observed.claims, observed.statefulSetNames, observed.pods);
  const plan: CleanupPlan = { jobs: [], reports: [], delete: [] };
  if (orphans.length === 0) return plan;
  const generation = model.generation !== undefined ? { observedGeneration: model.generation } : {};
  const list = orphans.map((c) => c.name).join(", ");
  if (!deletesClaimsOnScaleDown(observed.annotations)) {
    plan.condition = {
      type: VOLUME_CLAIMS_RETAINED,
      status: "True",
      reason: "ScaledDown",
      message: `the PVCs of removed instances are kept (a scale-up reuses them): ${list}; delete them with kubectl delete pvc, or annotate the cluster ${ANNOTATION.deletePvcsOnScaleDown}="true" to have them deleted`,
      ...generation,
    };
    return plan;
  }
  const failed: string[] = [];
  for (const claim of orphans) {
    const job = buildClaimDeleteJob(model, claim.name, claim.uid);
    const out = jobChild(observed, job, `deleting ${claim.name}`, grantedDelete(observed, model, claim.name));
    plan.delete.push(claim.name);
    if (out.child) plan.jobs.push(out.child);
    if (out.report) plan.reports.push(out.report);
    if (out.state === "failed") {
      const error = apiError(observed, job.metadata!.name!);
      failed.push(`${claim.name}${error ? ` (${error})` : ""}: delete Job ${job.metadata!.name} to retry`);
    }
  }
  plan.condition = {
    type: VOLUME_CLAIMS_RETAINED,
    status: failed.length ? "True" : "False",
    reason: failed.length ? "DeleteFailed" : "Deleting",
    message: failed.length
      ? `deleting the PVCs of removed instances failed: ${failed.join("; ")}`
      : `deleting the PVCs of removed instances (${ANNOTATION.deletePvcsOnScaleDown}): ${list}`,
    ...generation,
  };
  return plan;
}
