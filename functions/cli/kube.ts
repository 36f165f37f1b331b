/**
 * @module
 * The few Kubernetes calls the CLI's cluster commands make, behind a small interface, and its
 * implementation with `@kubernetes/client-node` (CustomObjectsApi for Tusk's kinds, CoreV1Api
 * for Pods, the Secrets/ConfigMaps that travel with a manifest, and those a cluster's
 * `backups.pgbackrest.configuration` names). client-node is imported
 * only when a cluster command runs, so the offline commands start fast and need nothing of it.
 */
import { GROUP, VERSION } from "../../shared/api/crd.ts";
import { CliError } from "./errors.ts";

export type TuskKind = "PostgresCluster" | "PostgresBackup" | "PostgresRestore";

export const PLURALS: Record<TuskKind, string> = {
  PostgresCluster: "postgresclusters",
  PostgresBackup: "postgresbackups",
  PostgresRestore: "postgresrestores",
};

export const API_VERSION = `${GROUP}/${VERSION}`;

export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    generateName?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    resourceVersion?: string;
    uid?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

/** One JSON Patch (RFC 6902) operation. */
interface JsonPatchOp {
  op: "add" | "remove" | "replace" | "test";
  path: string;
  value?: unknown;
}

export interface Kube {
  /** The namespace commands use: `-n`, else the context's, else `default`. */
  readonly namespace: string;
  /** The API server URL, for messages. */
  readonly server: string;
  /** The object, or undefined when it does not exist. */
  get(kind: TuskKind, namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Objects of a kind in a namespace, or in every namespace when `namespace` is undefined. */
  list(kind: TuskKind, namespace: string | undefined, labelSelector?: string): Promise<KubeObject[]>;
  create(kind: TuskKind, namespace: string, object: KubeObject): Promise<KubeObject>;
  mergePatch(kind: TuskKind, namespace: string, name: string, patch: Record<string, unknown>): Promise<KubeObject>;
  jsonPatch(kind: TuskKind, namespace: string, name: string, ops: JsonPatchOp[]): Promise<KubeObject>;
  /** Server-side apply (field manager `tusk`) of a Tusk object, Secret or ConfigMap. */
  apply(object: KubeObject, namespace: string): Promise<KubeObject>;
  delete(kind: TuskKind, namespace: string, name: string): Promise<void>;
  listPods(namespace: string, labelSelector: string): Promise<KubeObject[]>;
  /** A Secret or ConfigMap, or undefined when it does not exist (`tusk backups`: a repo's key, as the pods get it). */
  getConfigObject(kind: "Secret" | "ConfigMap", namespace: string, name: string): Promise<KubeObject | undefined>;
}

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** A refusal from the API server, with its HTTP status and the Status message. */
export class KubeApiError extends CliError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

/** The API server could not be reached at all. */
export class KubeUnreachable extends CliError {
  constructor(message: string) {
    super(message);
    this.name = "KubeUnreachable";
  }
}

const FIELD_MANAGER = "tusk";

const CORE_KINDS = new Set(["Secret", "ConfigMap"]);
const TUSK_KINDS = new Set<string>(Object.keys(PLURALS));

export function isTuskKind(kind: unknown): kind is TuskKind {
  return typeof kind === "string" && TUSK_KINDS.has(kind);
}

function plain<T>(value: T): T {
  // client-node's typed models carry Date objects; the commands read raw JSON like kubectl does.
  return value === undefined || value === null ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function statusOf(body: unknown): { message?: string; reason?: string } {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return { message: body.trim().slice(0, 300) };
    }
  }
  if (typeof value === "object" && value !== null) {
    const v = value as { message?: unknown; reason?: unknown };
    return {
      ...(typeof v.message === "string" ? { message: v.message } : {}),
      ...(typeof v.reason === "string" ? { reason: v.reason } : {}),
    };
  }
  return {};
}

/** Turns what client-node throws into a message that says what happened. */
function kubeError(error: unknown, server: string, what: string): CliError {
  if (error instanceof CliError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number") {
    const status = statusOf((error as { body?: unknown }).body);
    const message = status.message ?? `HTTP ${code}`;
    return new KubeApiError(code, status.reason ?? "", `${what}: ${message} (HTTP ${code})`);
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new KubeUnreachable(
    `cannot reach the Kubernetes API at ${server} (${why}); check your kubeconfig (--kubeconfig, --context) or that the cluster is up`,
  );
}

/** Connects with the kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster, as kubectl does). */
export async function connectKube(options: KubeOptions): Promise<Kube> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    const where = options.kubeconfig ?? "the default kubeconfig";
    throw new CliError(`cannot load ${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new CliError(
        `context ${JSON.stringify(options.context)} is not in the kubeconfig; known contexts: ${known.join(", ") || "none"}`,
      );
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  const server = cluster?.server ?? "(no server in kubeconfig)";
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const namespace = options.namespace ?? contextNamespace ?? "default";
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const header = (type: string) => k8s.setHeaderOptions("Content-Type", type);

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return plain(await fn());
    } catch (error) {
      throw kubeError(error, server, what);
    }
  };
  const ref = (kind: TuskKind, ns: string) => ({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: PLURALS[kind],
  });

  return {
    namespace,
    server,
    async get(kind, ns, name) {
      try {
        return plain(await custom.getNamespacedCustomObject({ ...ref(kind, ns), name })) as KubeObject;
      } catch (error) {
        const e = kubeError(error, server, `cannot read ${kind} ${name}`);
        if (e instanceof KubeApiError && e.status === 404 && e.reason !== "" && !/requested resource/.test(e.message))
          return undefined;
        if (e instanceof KubeApiError && e.status === 404) throw notInstalled(kind, server);
        throw e;
      }
    },
    async list(kind, ns, labelSelector) {
      const selector = labelSelector ? { labelSelector } : {};
      const what = `cannot list ${PLURALS[kind]}`;
      try {
        const list = (
          ns === undefined
            ? await custom.listCustomObjectForAllNamespaces({
                group: GROUP,
                version: VERSION,
                resourcePlural: PLURALS[kind],
                ...selector,
              })
            : await custom.listNamespacedCustomObject({ ...ref(kind, ns), ...selector })
        ) as { items?: KubeObject[] };
        return plain(list.items ?? []);
      } catch (error) {
        const e = kubeError(error, server, what);
        if (e instanceof KubeApiError && e.status === 404) throw notInstalled(kind, server);
        throw e;
      }
    },
    create: (kind, ns, object) =>
      call(`cannot create ${kind} ${object.metadata?.name ?? object.metadata?.generateName ?? ""}`.trim(), async () => {
        return (await custom.createNamespacedCustomObject({ ...ref(kind, ns), body: object })) as KubeObject;
      }),
    mergePatch: (kind, ns, name, patch) =>
      call(`cannot update ${kind} ${name}`, async () => {
        return (await custom.patchNamespacedCustomObject(
          { ...ref(kind, ns), name, body: patch, fieldManager: FIELD_MANAGER },
          header(k8s.PatchStrategy.MergePatch),
        )) as KubeObject;
      }),
    jsonPatch: (kind, ns, name, ops) =>
      call(`cannot update ${kind} ${name}`, async () => {
        return (await custom.patchNamespacedCustomObject(
          { ...ref(kind, ns), name, body: ops, fieldManager: FIELD_MANAGER },
          header(k8s.PatchStrategy.JsonPatch),
        )) as KubeObject;
      }),
    async apply(object, ns) {
      const kind = object.kind;
      const name = object.metadata?.name ?? "";
      const what = `cannot apply ${kind} ${name}`;
      const ssa = header(k8s.PatchStrategy.ServerSideApply);
      const body = { ...object, metadata: { ...object.metadata, namespace: ns } };
      const params = { namespace: ns, name, fieldManager: FIELD_MANAGER, force: true };
      if (isTuskKind(kind)) {
        return call(what, async () => {
          return (await custom.patchNamespacedCustomObject({ ...ref(kind, ns), ...params, body }, ssa)) as KubeObject;
        });
      }
      if (kind === "Secret") {
        return call(what, async () => (await core.patchNamespacedSecret({ ...params, body }, ssa)) as KubeObject);
      }
      if (kind === "ConfigMap") {
        return call(what, async () => (await core.patchNamespacedConfigMap({ ...params, body }, ssa)) as KubeObject);
      }
      throw new CliError(
        `${what}: tusk applies ${[...TUSK_KINDS, ...CORE_KINDS].join(", ")}; use kubectl apply for a ${String(kind)}`,
      );
    },
    delete: async (kind, ns, name) => {
      await call(`cannot delete ${kind} ${name}`, () =>
        custom.deleteNamespacedCustomObject({ ...ref(kind, ns), name }),
      );
    },
    async getConfigObject(kind, ns, name) {
      try {
        const object =
          kind === "Secret"
            ? await core.readNamespacedSecret({ namespace: ns, name })
            : await core.readNamespacedConfigMap({ namespace: ns, name });
        return plain(object) as unknown as KubeObject;
      } catch (error) {
        const e = kubeError(error, server, `cannot read ${kind} ${name} in namespace ${ns}`);
        if (e instanceof KubeApiError && e.status === 404) return undefined;
        throw e;
      }
    },
    listPods: (ns, labelSelector) =>
      call(`cannot list pods`, async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector });
        return (list.items ?? []) as unknown as KubeObject[];
      }),
  };
}

function notInstalled(kind: TuskKind, server: string): CliError {
  return new CliError(
    `the API server at ${server} does not know ${kind} (${PLURALS[kind]}.${GROUP}): install Tusk's CRDs first, e.g. \`tusk crd | kubectl apply -f -\``,
  );
}
