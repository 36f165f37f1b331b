/**
 * @module
 * A faithful stand-in for Metacontroller's CompositeController loop (the contract:
 * docs/metacontroller-contract.md §1): the hook is called over HTTP through the same Hono app
 * `npm start` serves, with the observed children keyed `Kind.apiVersion` -> name and the related
 * objects its customize hook asks for; the answer's children are validated against the contract
 * and become the observed children of the next call exactly as the API server would store them.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "../../../functions/server.ts";
import { asStored, matches, type Obj } from "../../pods/spec.ts";

export type ObjectMap = Record<string, Record<string, Obj>>;

export interface Hooks {
  post(path: string, body: unknown): Promise<{ status: number; json: any }>;
}

/** The combined app of functions/server.ts, called in-process through `app.request`. */
export function inProcessHooks(): Hooks {
  const app = createServer({ log: () => {} });
  return {
    async post(path, body) {
      const res = await app.request(path, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      const text = await res.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = { raw: text };
      }
      return { status: res.status, json };
    },
  };
}

function groupKey(obj: Obj): string {
  return `${obj.kind}.${obj.apiVersion}`;
}

export interface Change {
  kind: "created" | "updated" | "deleted";
  key: string;
  name: string;
  object: Obj;
  previous?: Obj;
}

/** Strips what the API server and Metacontroller add, to compare desired with observed. */
function desiredShape(obj: Obj): string {
  const { status: _s, ...rest } = obj;
  const md = { ...rest.metadata };
  for (const k of ["uid", "creationTimestamp", "resourceVersion", "ownerReferences", "generation", "namespace"])
    delete md[k];
  if (md.labels) {
    const { "controller-uid": _c, ...labels } = md.labels;
    md.labels = labels;
  }
  return JSON.stringify({ ...rest, metadata: md });
}

export class Metacontroller {
  readonly parent: Obj;
  observed: ObjectMap = {};
  lastResponse: any;
  syncCount = 0;
  private customizeRules: any[] | undefined;
  private created = new Map<string, string>();

  constructor(
    readonly hooks: Hooks,
    parent: Obj,
    readonly paths = { sync: "/cluster/sync", customize: "/cluster/customize" },
  ) {
    this.parent = {
      ...parent,
      metadata: {
        uid: randomUUID(),
        generation: 1,
        creationTimestamp: new Date().toISOString(),
        ...parent.metadata,
      },
    };
  }

  get namespace(): string {
    return this.parent.metadata.namespace;
  }

  /** Changes the parent's spec the way `kubectl apply` would (generation bumps). */
  setSpec(spec: Obj): void {
    this.parent.spec = spec;
    this.parent.metadata.generation += 1;
    this.customizeRules = undefined; // customize is cached per generation
  }

  async relatedRules(): Promise<any[]> {
    if (this.customizeRules) return this.customizeRules;
    const r = await this.hooks.post(this.paths.customize, { controller: {}, parent: this.parent });
    if (r.status !== 200) throw new Error(`customize answered ${r.status}: ${JSON.stringify(r.json)}`);
    this.customizeRules = (r.json.relatedResources ?? []) as any[];
    return this.customizeRules;
  }

  /** Builds `related` from candidate objects, using the customize hook's rules. */
  async related(candidates: Obj[]): Promise<ObjectMap> {
    const out: ObjectMap = {};
    for (const rule of await this.relatedRules()) {
      for (const obj of candidates) {
        if (obj.apiVersion !== rule.apiVersion) continue;
        const plural = `${String(obj.kind).toLowerCase()}s`;
        if (rule.resource !== plural && rule.resource !== String(obj.kind).toLowerCase()) continue;
        if ((obj.metadata.namespace ?? this.namespace) !== (rule.namespace ?? this.namespace)) continue;
        if (rule.names && !rule.names.includes(obj.metadata.name)) continue;
        if (rule.labelSelector && Object.keys(rule.labelSelector).length)
          if (!matches(rule.labelSelector, obj.metadata.labels ?? {})) continue;
        const key = groupKey(obj);
        out[key] ??= {};
        out[key]![obj.metadata.name] = obj;
      }
    }
    return out;
  }

  /**
   * One sync: POST the hook, validate the answer against the Metacontroller contract, and
   * return the children it changed. `statusOf` gives each stored child its live status.
   */
  async sync(candidates: Obj[], statusOf: (o: Obj) => Obj | undefined): Promise<Change[]> {
    // refresh the status of observed children from reality before the hook sees them
    for (const group of Object.values(this.observed))
      for (const [name, obj] of Object.entries(group)) {
        const st = statusOf(obj);
        group[name] = st ? { ...obj, status: st } : obj;
      }
    const body = {
      controller: { metadata: { name: "tusk-postgrescluster" } },
      parent: this.parent,
      children: this.observed,
      related: await this.related(candidates),
      finalizing: false,
    };
    const r = await this.hooks.post(this.paths.sync, body);
    this.syncCount++;
    if (r.status !== 200) throw new Error(`sync answered HTTP ${r.status}: ${JSON.stringify(r.json).slice(0, 2000)}`);
    this.lastResponse = r.json;
    // Metacontroller writes the returned status to the parent, and the next sync sends it back:
    // hooks that carry state in their status (the PostgresRestore phase) depend on it.
    if (r.json?.status !== undefined) this.parent.status = r.json.status;
    const children = r.json.children;
    if (!Array.isArray(children)) throw new Error(`sync response has no children list: ${JSON.stringify(r.json)}`);
    const problems: string[] = [];
    const next: ObjectMap = {};
    for (const c of children as Obj[]) {
      const id = `${c?.kind}/${c?.metadata?.name}`;
      if (!c?.apiVersion || !c?.kind || !c?.metadata?.name)
        problems.push(`${id}: needs apiVersion, kind, metadata.name`);
      if (c.kind === "Secret" && c.stringData) problems.push(`${id}: uses stringData (contract: data only)`);
      if (c.metadata?.labels?.["controller-uid"] && c.metadata.labels["controller-uid"] !== this.parent.metadata.uid)
        problems.push(`${id}: foreign controller-uid label`);
      if (c.metadata?.namespace && c.metadata.namespace !== this.namespace)
        problems.push(`${id}: namespace ${c.metadata.namespace} differs from the parent's`);
      const key = groupKey(c);
      next[key] ??= {};
      if (next[key]![c.metadata.name]) problems.push(`${id}: returned twice`);
      next[key]![c.metadata.name] = this.store(c);
    }
    if (problems.length) throw new Error(`hook answer breaks the Metacontroller contract:\n${problems.join("\n")}`);
    const changes: Change[] = [];
    for (const [key, group] of Object.entries(next))
      for (const [name, obj] of Object.entries(group)) {
        const prev = this.observed[key]?.[name];
        if (!prev) changes.push({ kind: "created", key, name, object: obj });
        else if (desiredShape(prev) !== desiredShape(obj))
          changes.push({ kind: "updated", key, name, object: obj, previous: prev });
        if (prev?.status) obj.status = prev.status;
      }
    for (const [key, group] of Object.entries(this.observed))
      for (const [name, obj] of Object.entries(group))
        if (!next[key]?.[name]) changes.push({ kind: "deleted", key, name, object: obj });
    // every group the hook ever emitted stays declared (an empty map when nothing is owned)
    for (const key of Object.keys(this.observed)) next[key] ??= {};
    this.observed = next;
    return changes;
  }

  /** What the API server would hand back for a desired child. */
  private store(desired: Obj): Obj {
    const obj = asStored(structuredClone(desired));
    const id = `${groupKey(obj)}/${obj.metadata.name}`;
    let uid = this.created.get(id);
    if (!uid) {
      uid = randomUUID();
      this.created.set(id, uid);
    }
    obj.metadata = {
      ...obj.metadata,
      namespace: this.namespace,
      uid,
      labels: { ...(obj.metadata.labels ?? {}), "controller-uid": this.parent.metadata.uid },
      ownerReferences: [
        {
          apiVersion: this.parent.apiVersion,
          kind: this.parent.kind,
          name: this.parent.metadata.name,
          uid: this.parent.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    };
    return obj;
  }

  children(kind: string): Obj[] {
    return Object.entries(this.observed)
      .filter(([k]) => k.split(".")[0] === kind)
      .flatMap(([, g]) => Object.values(g));
  }

  child(kind: string, name: string): Obj | undefined {
    return this.children(kind).find((o) => o.metadata.name === name);
  }
}
