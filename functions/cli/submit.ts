/**
 * @module
 * Before the CLI sends an object it builds (a cluster, a backup, a restore), the admission
 * webhook's own rules judge it locally, so a mistake is reported in terms of the flag the user
 * typed before anything reaches the cluster. The webhook still has the last word.
 */
import { validateAdmission } from "../admission/validate.ts";
import type { Ctx } from "./context.ts";
import type { KubeObject } from "./kube.ts";
import { createReview } from "./validate.ts";

/** True when the admission rules allow `object`; prints refusals and warnings on stderr. */
export function checkBeforeSending(ctx: Ctx, object: KubeObject, namespace = "default"): boolean {
  const review = createReview(object, namespace, "tusk-cli");
  const response = validateAdmission(review).response;
  const what = `${object.kind} ${object.metadata?.name ?? object.metadata?.generateName ?? ""}`.trim();
  for (const w of response.warnings ?? []) ctx.io.err(`warning: ${w}\n`);
  if (response.allowed) return true;
  const causes = response.status?.details?.causes ?? [];
  ctx.io.err(`the admission rules refuse this ${what}:\n`);
  if (causes.length) for (const c of causes) ctx.io.err(`  ${c.field}: ${c.message}\n`);
  else ctx.io.err(`  ${response.status?.message ?? "refused"}\n`);
  return false;
}
