/**
 * @module
 * The one builder of status conditions, for every hook. Status is derived from observation and
 * replaced wholesale on every sync, so a condition keeps its previous lastTransitionTime while
 * its status stays the same (the time says when it last changed, not when the hook last ran);
 * a new status takes the time of the observation that changed it, never the hook's clock.
 */
import type { Condition } from "./api/kube.ts";

export interface ConditionContext {
  /** The parent's metadata.generation the condition was computed from. */
  generation?: number | undefined;
  /** The parent's previous conditions: an unchanged status keeps its lastTransitionTime. */
  previous?: readonly Condition[] | undefined;
  /** When the observed change happened (a Job's completionTime, ...). */
  time?: string | undefined;
}

export function condition(
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
  context: ConditionContext = {},
): Condition {
  const prev = context.previous?.find((c) => c.type === type);
  const time = prev && prev.status === status ? prev.lastTransitionTime : context.time;
  return {
    type,
    status,
    reason,
    message,
    ...(context.generation !== undefined ? { observedGeneration: context.generation } : {}),
    ...(time ? { lastTransitionTime: time } : {}),
  };
}
