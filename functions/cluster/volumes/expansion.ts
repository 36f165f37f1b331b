/**
 * @module
 * Volume expansion when an instance set's `dataVolumeClaimSpec` or `walVolumeClaimSpec` asks
 * for more storage. The StatefulSets' volumeClaimTemplates are immutable (instance/statefulset.ts keeps
 * the observed ones), so the existing claims are patched instead: for each claim whose
 * `spec.resources.requests.storage` is below the spec (compared exactly, shared/quantity.ts), a
 * Job named by a hash of (claim, size) sends a merge patch to the API (volumes/claim-access.ts).
 *
 * What happens next is Kubernetes': the external resizer grows the volume (the claim's
 * `Resizing` condition), then the kubelet grows the file system, online while the pod runs
 * (`FileSystemResizePending` until it has), so no restart is triggered here. A StorageClass
 * without `allowVolumeExpansion: true` makes the API refuse the patch ("only dynamically
 * provisioned pvc can be resized and the storageclass that provisions the pvc must support
 * resize"): the Job fails, and the VolumesResizing condition carries that answer. Since
 * admission refuses shrinking the spec back, the way out is to allow expansion on the
 * StorageClass (the field is mutable) and delete the failed Job, which the next sync creates
 * again. A smaller spec than a claim (admission refuses it; it can still come from a
 * claim grown by hand) is never applied: the condition says it was ignored.
 *
 * The VolumesResizing condition appears only while there is something to say, so a cluster
 * that never resizes carries no extra condition.
 */
import type { V1Job } from "@kubernetes/client-node";
import type { Condition } from "../../../shared/api/kube.ts";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import { compareQuantities, parseQuantity, type Quantity } from "../../../shared/quantity.ts";
import { jobChild } from "../objects/job.ts";
import type { ObservedClaim } from "../observe/claims.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import type { JobReport } from "../part.ts";
import {
  apiError,
  buildApiJob,
  claimPath,
  grantedPatch,
  type InstanceClaim,
  instanceClaimName,
  instanceClaimOf,
} from "./claim-access.ts";

export const VOLUMES_RESIZING = "VolumesResizing";

/** Why a claim is not yet the size the spec asks for; the first in this order names the condition. */
const REASONS = [
  "ResizeFailed",
  "ResizeRequested",
  "Resizing",
  "FileSystemResizePending",
  "WaitingForBinding",
] as const;
type Reason = (typeof REASONS)[number];

export interface ClaimNote {
  claim: string;
  reason: Reason | "ShrinkIgnored";
  message: string;
}

export interface ExpansionPlan {
  /** Resize Jobs, as they go out this sync (observed ones unchanged). */
  jobs: Record<string, unknown>[];
  reports: JobReport[];
  /** Claims the resize Jobs may patch (the Role grants get/patch on exactly these). */
  patch: string[];
  notes: ClaimNote[];
}

const storageOf = (spec: Record<string, unknown> | undefined): string | number | undefined =>
  (spec?.resources as { requests?: { storage?: string | number } } | undefined)?.requests?.storage;

/** The merge patch a resize Job sends: the size exactly as the spec writes it. */
export function resizePatch(size: string): Record<string, unknown> {
  return { spec: { resources: { requests: { storage: size } } } };
}

export function buildResizeJob(model: ClusterModel, claim: string, size: string): V1Job {
  return buildApiJob(
    model,
    (hash) => names.resizeJob(model.name, hash),
    "pvc-resize",
    {
      method: "PATCH",
      path: claimPath(model, claim),
      contentType: "application/merge-patch+json",
      body: resizePatch(size),
      accept: [200],
    },
    { claim, size },
  );
}

const isTrue = (c: ObservedClaim, type: string) => c.conditions.some((x) => x.type === type && x.status === "True");
const conditionMessage = (c: ObservedClaim, types: string[]) =>
  c.conditions.find((x) => types.includes(x.type) && x.status === "True")?.message;

/** Claim conditions an expansion failure leaves (Kubernetes 1.31+ RecoverVolumeExpansionFailure). */
const ERROR_CONDITIONS = ["ControllerResizeError", "NodeResizeError"];

export function planVolumeExpansion(model: ClusterModel, observed: ObservedCluster): ExpansionPlan {
  const plan: ExpansionPlan = { jobs: [], reports: [], patch: [], notes: [] };
  for (const set of model.sets) {
    const specs: [InstanceClaim, Record<string, unknown> | undefined][] = [
      ["pgdata", set.spec.dataVolumeClaimSpec],
      ["pgwal", set.spec.walVolumeClaimSpec],
    ];
    for (const [template, spec] of specs) {
      const size = storageOf(spec);
      const wanted = parseQuantity(size);
      if (size === undefined || !wanted) continue;
      for (const instance of set.instances) {
        const claim = observed.claims.get(instanceClaimName(template, instance.name));
        // Not created yet (the StatefulSet makes it from its template), going away, or not
        // labelled as this instance's (then it is not one the hook manages).
        if (!claim || claim.terminating || instanceClaimOf(model, claim)?.instance !== instance.name) continue;
        expandClaim(model, observed, claim, String(size), wanted, plan);
      }
    }
  }
  return plan;
}

function expandClaim(
  model: ClusterModel,
  observed: ObservedCluster,
  claim: ObservedClaim,
  size: string,
  wanted: Quantity,
  plan: ExpansionPlan,
): void {
  const note = (reason: ClaimNote["reason"], message: string) =>
    plan.notes.push({ claim: claim.name, reason, message: `${claim.name}: ${message}` });
  const requested = parseQuantity(claim.requested);
  if (!requested) return;
  const order = compareQuantities(wanted, requested);
  if (order < 0) {
    note(
      "ShrinkIgnored",
      `the spec asks for ${size}, less than its ${claim.requested}; volumes only grow, so it stays`,
    );
    return;
  }
  if (order > 0) {
    // The API keeps an unbound claim's requests immutable: wait until it is bound.
    if (claim.phase !== "Bound") {
      note("WaitingForBinding", `waiting for it to be bound before expanding it from ${claim.requested} to ${size}`);
      return;
    }
    const job = buildResizeJob(model, claim.name, size);
    const out = jobChild(
      observed,
      job,
      `expanding ${claim.name} to ${size}`,
      grantedPatch(observed, model, claim.name),
    );
    plan.patch.push(claim.name);
    if (out.child) plan.jobs.push(out.child);
    if (out.report) plan.reports.push(out.report);
    const jobName = job.metadata!.name!;
    if (out.state === "failed") {
      const error = apiError(observed, jobName);
      note(
        "ResizeFailed",
        `expanding from ${claim.requested} to ${size} failed${error ? `: ${error}` : ""} (Job ${jobName}; if the StorageClass refused, set allowVolumeExpansion: true on it and delete the Job to retry)`,
      );
    } else {
      note("ResizeRequested", `expanding from ${claim.requested} to ${size} (Job ${jobName})`);
    }
    return;
  }
  // The claim asks for enough; Kubernetes is still growing the volume or its file system.
  const error = conditionMessage(claim, ERROR_CONDITIONS);
  const capacity = parseQuantity(claim.capacity);
  if (error !== undefined || ERROR_CONDITIONS.some((t) => isTrue(claim, t)))
    note("ResizeFailed", `Kubernetes could not expand it to ${size}${error ? `: ${error}` : ""}`);
  else if (isTrue(claim, "FileSystemResizePending"))
    note(
      "FileSystemResizePending",
      `the volume has grown to ${size}; the kubelet grows the file system while the pod runs (or when it next starts)`,
    );
  else if (isTrue(claim, "Resizing") || (capacity && compareQuantities(capacity, wanted) < 0))
    note(
      "Resizing",
      `the storage provider is expanding it to ${size}${claim.capacity ? ` (now ${claim.capacity})` : ""}`,
    );
}

/** The VolumesResizing condition, or none when every claim is the size the spec asks for. */
export function expansionCondition(notes: ClaimNote[], generation: number | undefined): Condition | undefined {
  if (notes.length === 0) return undefined;
  const working = notes.filter((n) => n.reason !== "ShrinkIgnored");
  const reason = REASONS.find((r) => working.some((n) => n.reason === r)) ?? "ShrinkIgnored";
  const ordered = [...working, ...notes.filter((n) => n.reason === "ShrinkIgnored")];
  return {
    type: VOLUMES_RESIZING,
    status: working.length ? "True" : "False",
    reason,
    message: ordered.map((n) => n.message).join("; "),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}
