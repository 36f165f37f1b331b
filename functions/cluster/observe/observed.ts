/**
 * @module
 * Readers for what Metacontroller observed: the few fields the hook needs from children and
 * related Pods, through small loose schemas (observed objects are raw JSON; anything may be
 * missing on an object that was just created). observe/cluster.ts runs them once per sync.
 */
import * as z from "zod";
import { fromBase64 } from "../../../shared/crypto/bytes.ts";
import { ANNOTATION, LABEL } from "../../../shared/labels.ts";
import { asDesired, type ObjectMap } from "../../../shared/metacontroller.ts";
import { jobState as observedJobState } from "../../../shared/observed-job.ts";
import { type ChildKind, childKey } from "../objects/kinds.ts";

const Meta = z.looseObject({
  name: z.string(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  deletionTimestamp: z.string().optional(),
});

const PodSchema = z.looseObject({
  metadata: Meta,
  status: z
    .looseObject({
      phase: z.string().optional(),
      conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
    })
    .optional(),
});

export interface ObservedPod {
  name: string;
  ready: boolean;
  /** Patroni's role label: `master` on the leader, `replica` on streaming replicas. */
  role?: string;
  /** The config hash of the template the pod was created from. */
  configHash?: string;
  terminating: boolean;
}

/** Related Pods by name (from the customize hook). */
export function observedPods(related: ObjectMap): Map<string, ObservedPod> {
  const out = new Map<string, ObservedPod>();
  for (const raw of Object.values(related[childKey("Pod")] ?? {})) {
    const parsed = PodSchema.safeParse(raw);
    if (!parsed.success) continue;
    const pod = parsed.data;
    // The cluster label also selects the repo host and Job pods; only instances count here.
    if (!pod.metadata.labels?.[LABEL.instance]) continue;
    const role = pod.metadata.labels?.[LABEL.patroniRole];
    const hash = pod.metadata.annotations?.[ANNOTATION.configHash];
    out.set(pod.metadata.name, {
      name: pod.metadata.name,
      ready:
        pod.metadata.deletionTimestamp === undefined &&
        (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
      ...(role ? { role } : {}),
      ...(hash ? { configHash: hash } : {}),
      terminating: pod.metadata.deletionTimestamp !== undefined,
    });
  }
  return out;
}

/** Observed children of one kind, by name. */
export function observedChildren(children: ObjectMap, kind: ChildKind): Record<string, Record<string, unknown>> {
  return children[childKey(kind)] ?? {};
}

const SecretSchema = z.looseObject({ data: z.record(z.string(), z.string()).optional() });

/** A Secret's data decoded to UTF-8 strings; undefined when the Secret was not observed. */
export function observedSecretData(children: ObjectMap, name: string): Record<string, string> | undefined {
  const raw = observedChildren(children, "Secret")[name];
  if (!raw) return undefined;
  const parsed = SecretSchema.safeParse(raw);
  const out: Record<string, string> = {};
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (const [key, value] of Object.entries((parsed.success && parsed.data.data) || {})) {
    const bytes = fromBase64(value);
    if (!bytes) continue;
    try {
      out[key] = decoder.decode(bytes);
    } catch {
      // Not UTF-8: not something the hook wrote; treat the key as absent.
    }
  }
  return out;
}

export type JobState = "absent" | "running" | "succeeded" | "failed";

/** The shared reader's state of a child Job; one not started yet counts as running. */
export function jobState(children: ObjectMap, name: string): JobState {
  const raw = observedChildren(children, "Job")[name];
  if (!raw) return "absent";
  const { state } = observedJobState(raw, []);
  return state === "pending" ? "running" : state;
}

const StatefulSetSchema = z.looseObject({
  metadata: Meta,
  spec: z
    .looseObject({
      template: z.looseObject({ metadata: z.looseObject({}).optional() }).optional(),
    })
    .optional(),
});

export interface ObservedStatefulSet {
  name: string;
  /** The config hash on its pod template: what it was last told to run. */
  configHash?: string;
  raw: Record<string, unknown>;
}

/** The instance StatefulSets (labelled with an instance; other StatefulSets, e.g. a repo host, are not). */
export function observedInstanceStatefulSets(children: ObjectMap): Map<string, ObservedStatefulSet> {
  const out = new Map<string, ObservedStatefulSet>();
  for (const [name, raw] of Object.entries(observedChildren(children, "StatefulSet"))) {
    const parsed = StatefulSetSchema.safeParse(raw);
    if (!parsed.success || parsed.data.metadata.labels?.[LABEL.instance] === undefined) continue;
    const annotations =
      (parsed.data.spec?.template?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
    const hash = annotations[ANNOTATION.configHash];
    out.set(name, { name, ...(typeof hash === "string" ? { configHash: hash } : {}), raw });
  }
  return out;
}

export { asDesired };
