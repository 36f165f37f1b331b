/**
 * A small Kubernetes API server on 127.0.0.1 speaking the paths the CLI uses: Tusk's custom
 * resources (get, list, create with generateName, merge/JSON/apply patches, delete), Pods
 * (list by label) and Secrets/ConfigMaps (server-side apply). It keeps objects in memory,
 * answers errors as Kubernetes `Status` objects, and records every request so tests can check
 * exactly what was sent. Plus a kubeconfig file pointing at it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Obj = Record<string, any>;

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string;
  body: unknown;
  status: number;
}

const GROUP_PREFIX = "/apis/postgres.tusk.dev/v1";
const KINDS: Record<string, string> = {
  postgresclusters: "PostgresCluster",
  postgresbackups: "PostgresBackup",
  postgresrestores: "PostgresRestore",
  pods: "Pod",
  secrets: "Secret",
  configmaps: "ConfigMap",
};

function status(code: number, reason: string, message: string): Obj {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Obj = typeof target === "object" && target !== null && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  return path
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** RFC 6902 JSON patch (add, remove, replace, test); throws on a failed test or bad path. */
function jsonPatch(doc: Obj, ops: { op: string; path: string; value?: unknown }[]): Obj {
  const out = structuredClone(doc);
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop() as string;
    let parent: any = out;
    for (const p of parts) {
      parent = parent?.[Array.isArray(parent) ? Number(p) : p];
      if (parent === undefined) throw new Error(`path ${op.path} does not exist`);
    }
    const key = Array.isArray(parent) ? Number(last) : last;
    if (op.op === "test") {
      if (JSON.stringify(parent[key]) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
    } else if (op.op === "remove") delete parent[key];
    else if (op.op === "add" || op.op === "replace") {
      if (op.op === "replace" && !(key in parent)) throw new Error(`replace of missing ${op.path}`);
      parent[key] = op.value;
    } else throw new Error(`unsupported op ${op.op}`);
  }
  return out;
}

function matchesSelector(o: Obj, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const [k, v] = term.split("=");
    return o.metadata?.labels?.[k as string] === v;
  });
}

export class FakeApiServer {
  readonly requests: Recorded[] = [];
  /** Objects by `<plural>/<namespace>/<name>`. */
  readonly objects = new Map<string, Obj>();
  /** Called on every GET of one object; may change it (e.g. advance its phase). */
  onGet?: (key: string, object: Obj) => void;
  /** Plurals the server pretends not to know (a cluster without Tusk's CRDs). */
  readonly unknownPlurals = new Set<string>();
  /** Plurals the kubeconfig's user may not read (403, as RBAC answers). */
  readonly forbiddenPlurals = new Set<string>();
  private server?: Server;
  private dir?: string;
  private counter = 0;
  url = "";
  kubeconfig = "";

  put(plural: string, namespace: string, object: Obj): Obj {
    const stored = structuredClone(object);
    stored.kind ??= KINDS[plural];
    stored.metadata = {
      namespace,
      uid: `uid-${++this.counter}`,
      resourceVersion: String(this.counter),
      creationTimestamp: "2026-01-15T11:00:00Z",
      ...stored.metadata,
    };
    this.objects.set(`${plural}/${namespace}/${stored.metadata.name}`, stored);
    return stored;
  }

  get(plural: string, namespace: string, name: string): Obj | undefined {
    return this.objects.get(`${plural}/${namespace}/${name}`);
  }

  /** Requests other than the reads: what the command changed. */
  writes(): Recorded[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), "tusk-cli-"));
    this.kubeconfig = join(this.dir, "kubeconfig");
    writeFileSync(
      this.kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "  - name: fake",
        `    cluster: { server: "${this.url}", insecure-skip-tls-verify: true }`,
        "users:",
        "  - name: tester",
        "    user: { token: test-token }",
        "contexts:",
        "  - name: fake",
        "    context: { cluster: fake, user: tester, namespace: db }",
        "  - name: other",
        "    context: { cluster: fake, user: tester }",
        "current-context: fake",
        "",
      ].join("\n"),
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const url = new URL(req.url ?? "/", this.url);
    const record: Recorded = {
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: String(req.headers["content-type"] ?? ""),
      body,
      status: 0,
    };
    this.requests.push(record);
    const send = (code: number, payload: unknown) => {
      record.status = code;
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    try {
      const [code, payload] = this.route(record);
      send(code, payload);
    } catch (error) {
      send(500, status(500, "InternalError", String(error)));
    }
  }

  private route(r: Recorded): [number, unknown] {
    const m =
      /^\/apis\/postgres\.tusk\.dev\/v1(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(r.path) ??
      /^\/api\/v1(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(r.path);
    const notFound: [number, unknown] = [
      404,
      status(404, "NotFound", "the server could not find the requested resource"),
    ];
    if (!m) return notFound;
    const [, namespace, plural, name] = m as unknown as [string, string | undefined, string, string | undefined];
    const tusk = r.path.startsWith(GROUP_PREFIX);
    if (!(plural in KINDS) || this.unknownPlurals.has(plural)) return notFound;
    if (this.forbiddenPlurals.has(plural))
      return [
        403,
        status(403, "Forbidden", `${plural} "${name}" is forbidden: User "tester" cannot get resource "${plural}"`),
      ];
    const group = tusk ? `${plural}.postgres.tusk.dev` : plural;
    const key = `${plural}/${namespace}/${name}`;
    const missing: [number, unknown] = [404, status(404, "NotFound", `${group} "${name}" not found`)];

    if (r.method === "GET" && name === undefined) {
      const items = [...this.objects.entries()]
        .filter(([k]) => k.startsWith(`${plural}/${namespace === undefined ? "" : `${namespace}/`}`))
        .map(([, o]) => o)
        .filter((o) => matchesSelector(o, r.query.labelSelector));
      return [
        200,
        { apiVersion: tusk ? "postgres.tusk.dev/v1" : "v1", kind: `${KINDS[plural]}List`, metadata: {}, items },
      ];
    }
    if (namespace === undefined) return notFound;
    if (r.method === "GET") {
      const o = this.objects.get(key);
      if (!o) return missing;
      this.onGet?.(key, o);
      return [200, o];
    }
    if (r.method === "POST" && name === undefined) {
      const o = structuredClone(r.body as Obj);
      if (!o.metadata?.name && o.metadata?.generateName) {
        o.metadata.name = `${o.metadata.generateName}${String(++this.counter).padStart(5, "x")}`;
      }
      if (this.objects.has(`${plural}/${namespace}/${o.metadata?.name}`)) {
        return [409, status(409, "AlreadyExists", `${group} "${o.metadata.name}" already exists`)];
      }
      return [201, this.put(plural, namespace, o)];
    }
    if (r.method === "PATCH" && name !== undefined) {
      const current = this.objects.get(key);
      const type = r.contentType.split(";")[0];
      if (type === "application/apply-patch+yaml") {
        const merged = mergePatch(current ?? {}, r.body) as Obj;
        if (current) {
          this.objects.set(key, merged);
          return [200, merged];
        }
        return [201, this.put(plural, namespace, merged)];
      }
      if (!current) return missing;
      if (type === "application/merge-patch+json") {
        const merged = mergePatch(current, r.body) as Obj;
        this.objects.set(key, merged);
        return [200, merged];
      }
      if (type === "application/json-patch+json") {
        try {
          const patched = jsonPatch(current, r.body as { op: string; path: string }[]);
          this.objects.set(key, patched);
          return [200, patched];
        } catch (error) {
          return [
            422,
            status(422, "Invalid", `the server rejected our request due to an error in our request: ${String(error)}`),
          ];
        }
      }
      return [415, status(415, "UnsupportedMediaType", `the body of the request was in an unknown format: ${type}`)];
    }
    if (r.method === "DELETE" && name !== undefined) {
      if (!this.objects.delete(key)) return missing;
      return [200, status(200, "", "")];
    }
    return [405, status(405, "MethodNotAllowed", `${r.method} is not supported here`)];
  }
}
