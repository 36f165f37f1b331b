/**
 * @module
 * The cluster's PersistentVolumeClaims and the one way the hook changes them. The claims are
 * not children: the instance StatefulSets' volumeClaimTemplates create them (with the cluster,
 * instance set and instance labels of the template, so the customize hook finds them by the
 * cluster label), and a StatefulSet's templates are immutable. To expand or delete a claim the
 * hook emits a Job that calls the Kubernetes API with its own ServiceAccount token; the Role
 * beside it grants exactly the verbs the current Jobs need on exactly the claims they name
 * (resourceNames), and a Job starts only once that Role is observed, so it never races its
 * own permissions.
 */
import type { V1Job, V1Role, V1RoleBinding, V1ServiceAccount } from "@kubernetes/client-node";
import * as z from "zod";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { clusterLabels, LABEL, labelValue } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import { podSecurity, restrictedContainerSecurity } from "../../../shared/pod-security.ts";
import { contentHash } from "../objects/canonical.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import type { ObservedClaim } from "../observe/claims.ts";
import type { ObservedCluster } from "../observe/cluster.ts";

/** The claim templates of an instance StatefulSet (instance/statefulset.ts), also their `data` label. */
const INSTANCE_CLAIMS = ["pgdata", "pgwal"] as const;
export type InstanceClaim = (typeof INSTANCE_CLAIMS)[number];

/** The StatefulSet controller names a claim `<template>-<statefulset>-<ordinal>`; instances have one pod. */
export function instanceClaimName(template: InstanceClaim, statefulSet: string): string {
  return `${template}-${statefulSet}-0`;
}

const JOB_HASH_LENGTH = 10;
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
export const KUBERNETES_API = "https://kubernetes.default.svc";

/**
 * Whether a claim is one of this cluster's instance claims, as a volumeClaimTemplate made it:
 * the cluster's labels, a data label naming the template, and the name the StatefulSet
 * controller gives it. The instance name comes from the label.
 */
export function instanceClaimOf(
  model: ClusterModel,
  claim: ObservedClaim,
): { instance: string; template: InstanceClaim } | undefined {
  const template = claim.labels[LABEL.data] as InstanceClaim | undefined;
  const instance = claim.labels[LABEL.instance];
  if (claim.labels[LABEL.cluster] !== labelValue(model.name)) return undefined;
  if (!template || !INSTANCE_CLAIMS.includes(template) || !instance) return undefined;
  if (claim.name !== instanceClaimName(template, instance)) return undefined;
  return { instance, template };
}

/** What the Jobs of this sync may do: verbs on claims, by name. */
export interface ClaimGrants {
  /** get and patch (expansion). */
  patch: string[];
  /** delete (cleanup after a scale-down). */
  delete: string[];
}

const PATCH_VERBS = ["get", "patch"];
const DELETE_VERBS = ["delete"];

function rules(grants: ClaimGrants): V1Role["rules"] {
  const rule = (verbs: string[], claims: string[]) =>
    claims.length
      ? [{ apiGroups: [""], resources: ["persistentvolumeclaims"], verbs, resourceNames: [...new Set(claims)].sort() }]
      : [];
  return [...rule(PATCH_VERBS, grants.patch), ...rule(DELETE_VERBS, grants.delete)];
}

/** The identity of the claim Jobs: nothing but the verbs and claims in `grants`. */
export function buildClaimRbac(model: ClusterModel, grants: ClaimGrants): [V1ServiceAccount, V1Role, V1RoleBinding] {
  const name = names.pvcJobs(model.name);
  const meta = () => childMeta(model, name, clusterLabels(model.name, "pvc"));
  return [
    withKind("ServiceAccount", { metadata: meta(), automountServiceAccountToken: false }),
    withKind("Role", { metadata: meta(), rules: rules(grants) }),
    withKind("RoleBinding", {
      metadata: meta(),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: model.namespace }],
    }),
  ];
}

const RoleSchema = z.looseObject({
  rules: z
    .array(
      z.looseObject({
        resources: z.array(z.string()).optional(),
        verbs: z.array(z.string()).optional(),
        resourceNames: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

/** Whether the observed Role, RoleBinding and ServiceAccount already let a Job use `verbs` on `claim`. */
function granted(observed: ObservedCluster, model: ClusterModel, verbs: string[], claim: string): boolean {
  const name = names.pvcJobs(model.name);
  if (!observed.has("ServiceAccount", name) || !observed.has("RoleBinding", name)) return false;
  const parsed = RoleSchema.safeParse(observed.child("Role", name));
  if (!parsed.success) return false;
  return verbs.every((verb) =>
    (parsed.data.rules ?? []).some(
      (r) =>
        (r.resources ?? []).includes("persistentvolumeclaims") &&
        (r.verbs ?? []).includes(verb) &&
        (r.resourceNames ?? []).includes(claim),
    ),
  );
}

export const grantedPatch = (observed: ObservedCluster, model: ClusterModel, claim: string) =>
  granted(observed, model, PATCH_VERBS, claim);
export const grantedDelete = (observed: ObservedCluster, model: ClusterModel, claim: string) =>
  granted(observed, model, DELETE_VERBS, claim);

/**
 * One request to the Kubernetes API as the Job's ServiceAccount. Everything variable comes
 * from the environment, never from the script text, so no value can change the command. An
 * answer outside ACCEPT fails the container with the API's answer as its last log line, which
 * `terminationMessagePolicy: FallbackToLogsOnError` turns into the termination message the
 * status reports (apiError below).
 */
export const API_SCRIPT = [
  "set -eu",
  `sa=${SERVICE_ACCOUNT_DIR}`,
  "response=$(mktemp)",
  `code=$(curl --silent --show-error --max-time 30 --retry 5 --retry-delay 2 --retry-connrefused --cacert "$sa/ca.crt" --header "Authorization: Bearer $(cat "$sa/token")" --header "Content-Type: $CONTENT_TYPE" --request "$METHOD" --data "$BODY" --output "$response" --write-out '%{http_code}' "$URL")`,
  'for ok in $ACCEPT; do if [ "$code" = "$ok" ]; then echo "$METHOD $URL: HTTP $code"; exit 0; fi; done',
  'echo "$METHOD $URL: HTTP $code: $(cat "$response")" >&2',
  "exit 1",
].join("\n");

export interface ApiCall {
  method: "PATCH" | "DELETE";
  /** Path under the API server, e.g. /api/v1/namespaces/db/persistentvolumeclaims/x. */
  path: string;
  contentType: string;
  body: unknown;
  /** HTTP status codes that mean the work is done. */
  accept: number[];
}

export function claimPath(model: ClusterModel, claim: string): string {
  return `/api/v1/namespaces/${model.namespace}/persistentvolumeclaims/${claim}`;
}

/** A Job making one API call with the claim Jobs' ServiceAccount; named by a hash of `work`. */
export function buildApiJob(
  model: ClusterModel,
  nameFor: (hash: string) => string,
  component: string,
  call: ApiCall,
  work: unknown,
): V1Job {
  const labels = clusterLabels(model.name, component);
  const name = nameFor(contentHash(work, JOB_HASH_LENGTH));
  const env = {
    METHOD: call.method,
    URL: `${KUBERNETES_API}${call.path}`,
    CONTENT_TYPE: call.contentType,
    BODY: JSON.stringify(call.body),
    ACCEPT: call.accept.join(" "),
  };
  return withKind("Job", {
    metadata: childMeta(model, name, labels),
    spec: {
      // A refusal (expansion not allowed by the StorageClass) does not improve with retries.
      backoffLimit: 3,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "OnFailure",
          serviceAccountName: names.pvcJobs(model.name),
          // The token is what the Job is for; the Role limits it to the claims it names.
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          securityContext: podSecurity(model),
          containers: [
            {
              name: component,
              image: model.image,
              ...(model.spec.imagePullPolicy ? { imagePullPolicy: model.spec.imagePullPolicy } : {}),
              command: ["sh", "-c", API_SCRIPT],
              env: [{ name: "HOME", value: "/tmp" }, ...Object.entries(env).map(([k, value]) => ({ name: k, value }))],
              securityContext: restrictedContainerSecurity,
              terminationMessagePolicy: "FallbackToLogsOnError",
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }],
          ...(model.spec.imagePullSecrets?.length ? { imagePullSecrets: model.spec.imagePullSecrets } : {}),
        },
      },
    },
  });
}

const MAX_ERROR = 300;

/**
 * The API's answer to a failed claim Job, from its pods' termination messages (the Job's pods
 * carry the cluster label, so the customize hook's Pod rule returns them): the `message` of
 * the Kubernetes Status in it when there is one, else the last line, shortened.
 */
export function apiError(observed: ObservedCluster, job: string): string | undefined {
  const messages: string[] = [];
  for (const pod of observed.jobPods(job)) {
    for (const s of pod.status?.containerStatuses ?? []) {
      // A restarted container's message is in lastState (the schema reads only state).
      const last = (s as { lastState?: { terminated?: { message?: string } } }).lastState;
      const message = s.state?.terminated?.message ?? last?.terminated?.message;
      if (message?.trim()) messages.push(message.trim());
    }
  }
  const last = messages.sort().at(-1);
  if (!last) return undefined;
  const text =
    statusMessage(last) ??
    last
      .split("\n")
      .filter((l) => l.trim() !== "")
      .at(-1) ??
    last;
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR - 3)}...` : text;
}

/** The `message` of a Kubernetes Status object somewhere in the output. */
function statusMessage(line: string): string | undefined {
  const quoted = /"message":\s*("(?:[^"\\]|\\.)*")/.exec(line)?.[1];
  if (quoted === undefined) return undefined;
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return undefined;
  }
}
