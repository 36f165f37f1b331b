/**
 * @module
 * Drives the real hooks (functions/server.ts, in process) the way Metacontroller would for the
 * examples in manifests/examples/, so the tests can compare what the hooks emit and ask for
 * with what the CompositeControllers and RBAC declare.
 */
import { readFileSync } from "node:fs";
import { createServer, serverOptionsFromEnv } from "../../../functions/server.ts";
import { LABEL, PATRONI_LEADER_VALUE, PATRONI_REPLICA_VALUE } from "../../../shared/labels.ts";
import { containerEnv, ofKind } from "./builds.ts";
import { filesUnder, type KubeDoc, parseYamlDocs } from "./kustomize.ts";

const app = createServer({ log: () => {} });

/**
 * POSTs to the in-process server. `env` is the environment of the workload that serves the
 * route in an install: the server is then built from it as the entries build theirs.
 */
export async function post(
  path: string,
  body: unknown,
  env?: Record<string, string>,
): Promise<{ status: number; body: any }> {
  const server = env ? createServer({ ...serverOptionsFromEnv(env), log: () => {} }) : app;
  const res = await server.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

/** Kind of each plural resource that appears in Tusk's controllers, customize answers and RBAC. */
export const KIND_OF_RESOURCE: Record<string, string> = {
  statefulsets: "StatefulSet",
  deployments: "Deployment",
  services: "Service",
  configmaps: "ConfigMap",
  secrets: "Secret",
  serviceaccounts: "ServiceAccount",
  roles: "Role",
  rolebindings: "RoleBinding",
  poddisruptionbudgets: "PodDisruptionBudget",
  jobs: "Job",
  cronjobs: "CronJob",
  pingsources: "PingSource",
  podmonitors: "PodMonitor",
  pods: "Pod",
  endpoints: "Endpoints",
  persistentvolumeclaims: "PersistentVolumeClaim",
  postgresclusters: "PostgresCluster",
  postgresbackups: "PostgresBackup",
  postgresrestores: "PostgresRestore",
};

export const resourceOfKind = (kind: string): string => {
  const entry = Object.entries(KIND_OF_RESOURCE).find(([, k]) => k === kind);
  if (!entry) throw new Error(`no resource known for kind ${kind}`);
  return entry[0];
};

export interface ChildRule {
  apiVersion: string;
  resource: string;
  updateStrategy?: { method?: string };
}

export const EXAMPLE_NAMESPACE = "db";

/** The Tusk objects in manifests/examples/, as Metacontroller would see them once created. */
export function examples(): KubeDoc[] {
  const out: KubeDoc[] = [];
  for (const file of filesUnder("manifests/examples", [".yaml"])) {
    for (const doc of parseYamlDocs(readFileSync(file, "utf8"), file) as KubeDoc[]) {
      if (!doc.apiVersion.startsWith("postgres.tusk.dev/")) continue;
      out.push(asStored(doc, `${file}`));
    }
  }
  return out;
}

function asStored(doc: KubeDoc, source: string): KubeDoc {
  let h = 0;
  for (const c of `${doc.kind}/${doc.metadata.name}`) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const uid = `00000000-0000-4000-8000-${h.toString(16).padStart(12, "0")}`;
  return {
    ...doc,
    metadata: {
      ...doc.metadata,
      namespace: EXAMPLE_NAMESPACE,
      uid,
      generation: 1,
      resourceVersion: "1",
      creationTimestamp: "2026-01-01T00:00:00Z",
      annotations: { ...(doc.metadata.annotations as object), "test.tusk.dev/source": source },
    },
  };
}

function groupKey(kind: string, apiVersion: string): string {
  return `${kind}.${apiVersion}`;
}

/** The children map Metacontroller sends: one (possibly empty) group per child rule. */
function emptyChildren(rules: ChildRule[]): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    rules.map((r) => [groupKey(KIND_OF_RESOURCE[r.resource] ?? `?${r.resource}`, r.apiVersion), {}]),
  );
}

/**
 * What the API server and the built-in controllers would add once a child exists and its pods
 * run: enough for a hook that waits on readiness to move on to its next step.
 */
function asObserved(child: any, parent: KubeDoc): any {
  const out = structuredClone(child);
  out.metadata = {
    ...out.metadata,
    namespace: out.metadata?.namespace ?? parent.metadata.namespace,
    uid: `uid-${out.kind}-${out.metadata?.name}`,
    generation: 1,
    resourceVersion: "1",
    creationTimestamp: "2026-01-01T00:00:00Z",
  };
  const replicas = out.spec?.replicas ?? 1;
  if (out.kind === "StatefulSet" || out.kind === "Deployment") {
    out.status = {
      observedGeneration: 1,
      replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      updatedReplicas: replicas,
      currentReplicas: replicas,
    };
  }
  if (out.kind === "Job") {
    out.status = {
      succeeded: 1,
      startTime: "2026-01-01T00:00:00Z",
      completionTime: "2026-01-01T00:01:00Z",
      conditions: [{ type: "Complete", status: "True" }],
    };
  }
  return out;
}

export const CONTROLLER_OF = {
  cluster: { name: "tusk-postgrescluster", parentKind: "PostgresCluster" },
  backup: { name: "tusk-postgresbackup", parentKind: "PostgresBackup" },
  restore: { name: "tusk-postgresrestore", parentKind: "PostgresRestore" },
} as const;

export type HookFunction = keyof typeof CONTROLLER_OF;

export interface HookRun {
  /** Every child returned by a sync, with the example it came from. */
  children: { example: string; child: any }[];
  /** Every related-resource rule a customize hook asked for. */
  related: { apiVersion: string; resource: string }[];
  /** Problems met while driving the hooks (non-200 answers, malformed responses). */
  errors: string[];
}

interface RelatedRule {
  apiVersion: string;
  resource: string;
  names?: string[];
  labelSelector?: { matchLabels?: Record<string, string> };
}

function matchesRule(obj: KubeDoc, rule: RelatedRule): boolean {
  if (obj.apiVersion !== rule.apiVersion || obj.kind !== KIND_OF_RESOURCE[rule.resource]) return false;
  if (rule.names && !rule.names.includes(obj.metadata.name)) return false;
  const wanted = rule.labelSelector?.matchLabels ?? {};
  return Object.entries(wanted).every(([k, v]) => obj.metadata.labels?.[k] === v);
}

/**
 * Calls a function's hooks for every example of its parent kind as Metacontroller would under
 * the given CompositeController: customize first (when configured), then sync three times,
 * each time observing the children of the previous answer as created and ready.
 */
/**
 * The environment of the workload a CompositeController's sync hook URL reaches in `docs`
 * (a Knative Service by name, or the Deployment behind a Service).
 */
export function hookEnv(docs: KubeDoc[], controller: KubeDoc): Record<string, string> {
  const host = new URL(controller.spec.hooks.sync.webhook.url).hostname.split(".")[0];
  const knative = docs.find(
    (d) => d.apiVersion === "serving.knative.dev/v1" && d.kind === "Service" && d.metadata.name === host,
  );
  if (knative) return containerEnv(knative);
  const service = docs.find((d) => d.apiVersion === "v1" && d.kind === "Service" && d.metadata.name === host);
  if (!service) throw new Error(`no Service ${host} for ${controller.metadata.name}`);
  const deployment = ofKind(docs, "Deployment").find((d) =>
    Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels?.[k] === v),
  );
  if (!deployment) throw new Error(`no Deployment behind Service ${host}`);
  return containerEnv(deployment);
}

export async function runHooks(
  controller: KubeDoc,
  fn: HookFunction,
  env: Record<string, string> = {},
  rounds = 4,
): Promise<HookRun> {
  const run: HookRun = { children: [], related: [], errors: [] };
  const childRules = controller.spec.childResources as ChildRule[];
  const all = examples();
  for (const parent of all.filter((e) => e.kind === CONTROLLER_OF[fn].parentKind)) {
    const name = parent.metadata.name;
    const withFinalizer = {
      ...parent,
      metadata: {
        ...parent.metadata,
        finalizers: [`metacontroller.io/compositecontroller-${controller.metadata.name}`],
      },
    };
    let relatedRules: RelatedRule[] = [];
    if (controller.spec.hooks.customize) {
      const res = await post(`/${fn}/customize`, { controller, parent: withFinalizer }, env);
      if (res.status !== 200 || !Array.isArray(res.body?.relatedResources)) {
        run.errors.push(`${fn}/customize ${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        continue;
      }
      relatedRules = res.body.relatedResources;
      for (const rule of relatedRules) run.related.push({ apiVersion: rule.apiVersion, resource: rule.resource });
    }
    let children = emptyChildren(childRules);
    for (let round = 0; round < rounds; round++) {
      // Related objects: the other examples, and the Pods the observed StatefulSets run.
      const candidates = [...all.filter((o) => o !== parent), ...runningPods(children)];
      const related: Record<string, Record<string, unknown>> = {};
      for (const rule of relatedRules) {
        const key = groupKey(KIND_OF_RESOURCE[rule.resource] ?? `?${rule.resource}`, rule.apiVersion);
        const group = related[key] ?? {};
        related[key] = group;
        for (const obj of candidates.filter((o) => matchesRule(o, rule))) group[obj.metadata.name] = obj;
      }
      const res = await post(
        `/${fn}/sync`,
        {
          controller,
          parent: withFinalizer,
          children,
          related,
          finalizing: false,
        },
        env,
      );
      if (res.status !== 200 || !Array.isArray(res.body?.children)) {
        run.errors.push(`${fn}/sync ${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        break;
      }
      const next = emptyChildren(childRules);
      for (const child of res.body.children) {
        run.children.push({ example: name, child });
        const group = next[groupKey(child.kind, child.apiVersion)];
        if (group) group[child.metadata?.name] = asObserved(child, parent);
      }
      children = next;
    }
  }
  return run;
}

/**
 * The Pods the StatefulSet controller would run for the observed StatefulSets (`<sts>-0`, from
 * the template), ready, with the role label Patroni puts on them: the first instance leads.
 */
function runningPods(children: Record<string, Record<string, any>>): KubeDoc[] {
  const sets = Object.values(children[groupKey("StatefulSet", "apps/v1")] ?? {}).sort((a, b) =>
    a.metadata.name.localeCompare(b.metadata.name),
  );
  const leaders = new Set<string>();
  return sets.map((sts) => {
    const template = sts.spec?.template ?? {};
    const cluster = template.metadata?.labels?.[LABEL.cluster] ?? "";
    const leads = !leaders.has(cluster);
    leaders.add(cluster);
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${sts.metadata.name}-0`,
        namespace: sts.metadata.namespace,
        uid: `uid-pod-${sts.metadata.name}-0`,
        labels: {
          ...template.metadata?.labels,
          [LABEL.patroniRole]: leads ? PATRONI_LEADER_VALUE : PATRONI_REPLICA_VALUE,
        },
        annotations: { ...template.metadata?.annotations },
      },
      spec: template.spec ?? {},
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    } as KubeDoc;
  });
}
