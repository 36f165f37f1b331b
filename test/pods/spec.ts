/**
 * @module
 * The bits of Kubernetes semantics the test kubelets reproduce exactly as the API server and the
 * Kubelet would (the end-to-end suite's pod runner and test/pods/kubelet.ts share them): Secret `data` decoding (and `stringData` folding), container environment
 * resolution (`value`, `fieldRef`, `secretKeyRef`, `configMapKeyRef`, `envFrom`, `$(VAR)`
 * expansion), label selectors, and the files a Secret/ConfigMap/projected volume holds.
 */
import type { V1Container, V1EnvVar, V1LabelSelector, V1Volume } from "@kubernetes/client-node";

export type Obj = Record<string, any>;

/** What the API server stores: `stringData` is folded into base64 `data`. */
export function asStored(obj: Obj): Obj {
  if (obj.kind !== "Secret" || !obj.stringData) return obj;
  const data = { ...(obj.data ?? {}) };
  for (const [k, v] of Object.entries(obj.stringData as Record<string, string>))
    data[k] = Buffer.from(v).toString("base64");
  const { stringData: _, ...rest } = obj;
  return { ...rest, data };
}

function secretValue(secret: Obj | undefined, key: string): string | undefined {
  const b64 = secret?.data?.[key];
  return typeof b64 === "string" ? Buffer.from(b64, "base64").toString("utf8") : undefined;
}

function secretBytes(secret: Obj | undefined, key: string): Buffer | undefined {
  const b64 = secret?.data?.[key];
  return typeof b64 === "string" ? Buffer.from(b64, "base64") : undefined;
}

export interface ObjectSource {
  secret(name: string): Obj | undefined;
  configMap(name: string): Obj | undefined;
  /**
   * The token a projected `serviceAccountToken` source holds; the Kubelet asks the TokenRequest
   * API for it, so a source that can must have fetched it before the (synchronous) volume is laid out.
   */
  serviceAccountToken?(source: { audience?: string; expirationSeconds?: number; path: string }): string;
}

export interface PodFacts {
  name: string;
  namespace: string;
  podIP: string;
  hostIP?: string;
  nodeName?: string;
  serviceAccountName?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  uid?: string;
}

function fieldPath(path: string, pod: PodFacts): string {
  switch (path) {
    case "metadata.name":
      return pod.name;
    case "metadata.namespace":
      return pod.namespace;
    case "metadata.uid":
      return pod.uid ?? "00000000-0000-0000-0000-000000000000";
    case "status.podIP":
      return pod.podIP;
    case "status.podIPs":
      return pod.podIP;
    case "status.hostIP":
      return pod.hostIP ?? pod.podIP;
    case "spec.nodeName":
      return pod.nodeName ?? "e2e-node";
    case "spec.serviceAccountName":
      return pod.serviceAccountName ?? "default";
  }
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.labels : pod.annotations)[m[2]!] ?? "";
  throw new Error(`fieldRef ${path} is not supported by the Kubelet`);
}

/**
 * Kubelet's `$(VAR)` expansion: references to variables defined earlier in the list (or by
 * envFrom) are replaced, `$$` escapes, and unresolvable references stay as written.
 */
export function expandVars(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => {
    if (all === "$$") return "$";
    return name !== undefined && name in env ? env[name]! : all;
  });
}

/** The environment a container sees, in Kubelet's order; throws on a missing required ref. */
export function resolveEnv(container: V1Container, pod: PodFacts, src: ObjectSource): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.secretRef) {
      const s = src.secret(from.secretRef.name!);
      if (!s && !from.secretRef.optional) throw new Error(`envFrom: Secret ${from.secretRef.name} not found`);
      for (const k of Object.keys(s?.data ?? {})) env[prefix + k] = secretValue(s, k)!;
    }
    if (from.configMapRef) {
      const c = src.configMap(from.configMapRef.name!);
      if (!c && !from.configMapRef.optional) throw new Error(`envFrom: ConfigMap ${from.configMapRef.name} not found`);
      for (const [k, v] of Object.entries((c?.data ?? {}) as Record<string, string>)) env[prefix + k] = v;
    }
  }
  for (const e of container.env ?? ([] as V1EnvVar[])) {
    if (e.value !== undefined) {
      env[e.name] = expandVars(e.value, env);
      continue;
    }
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = "";
      continue;
    }
    if (vf.fieldRef) env[e.name] = fieldPath(vf.fieldRef.fieldPath, pod);
    else if (vf.secretKeyRef) {
      const s = src.secret(vf.secretKeyRef.name!);
      const v = secretValue(s, vf.secretKeyRef.key);
      if (v === undefined) {
        if (vf.secretKeyRef.optional) continue;
        throw new Error(`env ${e.name}: secretKeyRef ${vf.secretKeyRef.name}/${vf.secretKeyRef.key} not found`);
      }
      env[e.name] = v;
    } else if (vf.configMapKeyRef) {
      const c = src.configMap(vf.configMapKeyRef.name!);
      const v = c?.data?.[vf.configMapKeyRef.key];
      if (v === undefined) {
        if (vf.configMapKeyRef.optional) continue;
        throw new Error(
          `env ${e.name}: configMapKeyRef ${vf.configMapKeyRef.name}/${vf.configMapKeyRef.key} not found`,
        );
      }
      env[e.name] = v;
    } else if (vf.resourceFieldRef) env[e.name] = "0";
  }
  return env;
}

/** Kubelet expands `$(VAR)` in command and args with the container's resolved environment. */
export function resolveArgv(container: V1Container, env: Record<string, string>): string[] {
  return [...(container.command ?? []), ...(container.args ?? [])].map((a) => expandVars(a, env));
}

export function matches(
  selector: V1LabelSelector | Record<string, string> | undefined,
  labels: Record<string, string>,
) {
  if (!selector) return false;
  const sel = selector as V1LabelSelector;
  const matchLabels: Record<string, string> =
    sel.matchLabels || sel.matchExpressions ? (sel.matchLabels ?? {}) : (selector as Record<string, string>);
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const ex of sel.matchExpressions ?? []) {
    const has = ex.key in labels;
    const val = labels[ex.key];
    switch (ex.operator) {
      case "In":
        if (!has || !(ex.values ?? []).includes(val!)) return false;
        break;
      case "NotIn":
        if (has && (ex.values ?? []).includes(val!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}

export interface VolumeFile {
  /** Path relative to the volume root. */
  path: string;
  content: Buffer;
  mode: number;
}

/** One file per key (or per listed item), as the Kubelet's atomic writer lays them out. */
export function volumeFiles(volume: V1Volume, src: ObjectSource, pod: PodFacts): VolumeFile[] | undefined {
  const out: VolumeFile[] = [];
  const fromData = (
    data: Record<string, Buffer>,
    items: { key: string; path: string; mode?: number }[] | undefined,
    defaultMode: number,
    what: string,
  ) => {
    if (items?.length) {
      for (const it of items) {
        const content = data[it.key];
        if (!content) throw new Error(`volume ${volume.name}: ${what} has no key ${it.key}`);
        out.push({ path: it.path, content, mode: it.mode ?? defaultMode });
      }
    } else {
      for (const [k, content] of Object.entries(data)) out.push({ path: k, content, mode: defaultMode });
    }
  };
  const secretData = (name: string, optional: boolean | undefined): Record<string, Buffer> => {
    const s = src.secret(name);
    if (!s) {
      if (optional) return {};
      throw new Error(`volume ${volume.name}: Secret ${name} not found (the pod would stay ContainerCreating)`);
    }
    return Object.fromEntries(Object.keys(s.data ?? {}).map((k) => [k, secretBytes(s, k)!]));
  };
  const configData = (name: string, optional: boolean | undefined): Record<string, Buffer> => {
    const c = src.configMap(name);
    if (!c) {
      if (optional) return {};
      throw new Error(`volume ${volume.name}: ConfigMap ${name} not found (the pod would stay ContainerCreating)`);
    }
    return Object.fromEntries(
      Object.entries((c.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v)]),
    );
  };
  if (volume.secret) {
    fromData(
      secretData(volume.secret.secretName!, volume.secret.optional),
      volume.secret.items as any,
      volume.secret.defaultMode ?? 0o644,
      `Secret ${volume.secret.secretName}`,
    );
    return out;
  }
  if (volume.configMap) {
    fromData(
      configData(volume.configMap.name!, volume.configMap.optional),
      volume.configMap.items as any,
      volume.configMap.defaultMode ?? 0o644,
      `ConfigMap ${volume.configMap.name}`,
    );
    return out;
  }
  if (volume.projected) {
    const defaultMode = volume.projected.defaultMode ?? 0o644;
    for (const s of volume.projected.sources ?? []) {
      if (s.secret)
        fromData(
          secretData(s.secret.name!, s.secret.optional),
          s.secret.items as any,
          defaultMode,
          `Secret ${s.secret.name}`,
        );
      else if (s.configMap)
        fromData(
          configData(s.configMap.name!, s.configMap.optional),
          s.configMap.items as any,
          defaultMode,
          `ConfigMap ${s.configMap.name}`,
        );
      else if (s.downwardAPI)
        for (const it of s.downwardAPI.items ?? [])
          out.push({
            path: it.path,
            content: Buffer.from(it.fieldRef ? fieldPath(it.fieldRef.fieldPath, pod) : ""),
            mode: it.mode ?? defaultMode,
          });
      else if (s.serviceAccountToken)
        out.push({
          path: s.serviceAccountToken.path,
          content: Buffer.from(src.serviceAccountToken?.(s.serviceAccountToken) ?? "e2e-token"),
          mode: defaultMode,
        });
    }
    return out;
  }
  if (volume.downwardAPI) {
    for (const it of volume.downwardAPI.items ?? [])
      out.push({
        path: it.path,
        content: Buffer.from(it.fieldRef ? fieldPath(it.fieldRef.fieldPath, pod) : ""),
        mode: it.mode ?? volume.downwardAPI.defaultMode ?? 0o644,
      });
    return out;
  }
  return undefined;
}

export function decodeSecretData(secret: Obj | undefined): Record<string, string> {
  return Object.fromEntries(Object.keys(secret?.data ?? {}).map((k) => [k, secretValue(secret, k)!]));
}
