/**
 * @module
 * Minimal HTTP(S) client for Patroni's REST API, etcd's JSON gateway and readiness probes.
 * HTTPS certificates are not verified, like the Kubelet's HTTPS probes.
 */
import http from "node:http";
import https from "node:https";
import { connect } from "node:net";

export interface HttpResponse {
  status: number;
  body: string;
}

export function request(
  url: string,
  opts: { method?: string; body?: string; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const req = lib.request(
      u,
      {
        method: opts.method ?? "GET",
        // Patroni's REST server refuses chunked bodies (411), so the length is always sent
        headers: {
          ...(opts.body
            ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(opts.body)) }
            : {}),
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 3000,
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout ${url}`)));
    req.on("error", reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

export async function getJson<T = any>(url: string, timeoutMs = 3000): Promise<T | undefined> {
  try {
    const r = await request(url, { timeoutMs });
    return r.status >= 200 && r.status < 300 ? (JSON.parse(r.body) as T) : undefined;
  } catch {
    return undefined;
  }
}

export async function status(url: string, timeoutMs = 2000): Promise<number> {
  try {
    return (await request(url, { timeoutMs })).status;
  } catch {
    return 0;
  }
}

/** A tcpSocket probe: does a connection to 127.0.0.1:port open (whatever the protocol)? */
export function tcpOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}
