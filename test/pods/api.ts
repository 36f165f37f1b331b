/**
 * @module
 * The few Kubernetes API calls the test kubelet makes, over HTTPS with a bearer token: JSON in,
 * JSON out, the status code kept so callers can tell a conflict or a NotFound from a failure.
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";

export type Obj = Record<string, any>;

export interface ApiResponse {
  code: number;
  body: Obj;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: Obj,
    what: string,
  ) {
    super(`${what}: ${code} ${body?.reason ?? ""} ${body?.message ?? JSON.stringify(body).slice(0, 300)}`);
  }
}

export class Api {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(
    server: string,
    caFile: string,
    private readonly token: string,
    /** who is calling, for error messages */
    readonly who: string,
  ) {
    this.url = new URL(server);
    this.agent = new Agent({ keepAlive: true, maxSockets: 4, ca: readFileSync(caFile) });
  }

  /** Any status; rejects only when the server cannot be reached. */
  raw(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<ApiResponse> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          agent: this.agent,
          timeout: 30_000,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: "application/json",
            ...(data ? { "Content-Type": contentType, "Content-Length": data.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: Obj = {};
            try {
              parsed = text ? (JSON.parse(text) as Obj) : {};
            } catch {
              parsed = { message: text };
            }
            resolve({ code: res.statusCode ?? 0, body: parsed });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      if (data) req.write(data);
      req.end();
    });
  }

  /** 2xx or throws ApiError. */
  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<Obj> {
    const r = await this.raw(method, path, body, contentType);
    if (r.code < 200 || r.code >= 300) throw new ApiError(r.code, r.body, `${this.who} ${method} ${path}`);
    return r.body;
  }

  get(path: string): Promise<Obj> {
    return this.call("GET", path);
  }

  /** undefined on 404. */
  async find(path: string): Promise<Obj | undefined> {
    const r = await this.raw("GET", path);
    if (r.code === 404) return undefined;
    if (r.code < 200 || r.code >= 300) throw new ApiError(r.code, r.body, `${this.who} GET ${path}`);
    return r.body;
  }

  mergePatch(path: string, body: unknown): Promise<Obj> {
    return this.call("PATCH", path, body, "application/merge-patch+json");
  }

  close(): void {
    this.agent.destroy();
  }
}
