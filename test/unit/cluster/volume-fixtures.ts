/**
 * @module
 * What the volume tests need beyond fixtures.ts: the PVCs the StatefulSet controller would
 * create from the observed StatefulSets' volumeClaimTemplates (same labels, same spec), and a
 * local HTTPS server answering the PVC calls of the claim Jobs as the API server would, so a
 * Job's own container command can run under `sh` with the real curl against it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_SCRIPT, KUBERNETES_API, SERVICE_ACCOUNT_DIR } from "../../../functions/cluster/volumes/claim-access.ts";
import { webCryptoPki } from "../../../shared/crypto/x509.ts";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import type { Json } from "./fixtures.ts";

export const PVC_KEY = "PersistentVolumeClaim.v1";

export interface ClaimState {
  phase?: string;
  /** spec.resources.requests.storage; default: the template's. */
  requested?: string;
  /** status.capacity.storage; default: the request. */
  capacity?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  deleting?: boolean;
}

/** A PVC as the StatefulSet controller makes it from a claim template: `<template>-<sts>-0`. */
function claimFrom(sts: Json, template: Json, state: ClaimState = {}): Json {
  const name = `${template.metadata.name}-${sts.metadata.name}-0`;
  const requested = state.requested ?? template.spec.resources.requests.storage;
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name,
      namespace: "db",
      uid: `uid-${name}`,
      labels: { ...template.metadata.labels },
      ...(state.deleting ? { deletionTimestamp: "2026-03-01T12:00:00Z" } : {}),
    },
    spec: { ...template.spec, resources: { requests: { storage: requested } } },
    status: {
      phase: state.phase ?? "Bound",
      capacity: { storage: state.capacity ?? requested },
      ...(state.conditions ? { conditions: state.conditions } : {}),
    },
  };
}

/** Every claim of the observed StatefulSets, with per-claim state by name. */
export function claimsOf(children: ObjectMap, states: Record<string, ClaimState> = {}): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const sts of Object.values(children["StatefulSet.apps/v1"] ?? {}) as Json[])
    for (const template of sts.spec.volumeClaimTemplates ?? []) {
      const name = `${template.metadata.name}-${sts.metadata.name}-0`;
      out[name] = claimFrom(sts, template, states[name]);
    }
  return out;
}

export function withClaims(related: ObjectMap, claims: Record<string, Json>): ObjectMap {
  return { ...related, [PVC_KEY]: claims };
}

interface ApiRequest {
  method: string;
  path: string;
  authorization?: string;
  contentType?: string;
  body: any;
}

export interface FakeClaimApi {
  /** https://127.0.0.1:<port> */
  url: string;
  /** A service account directory (token, ca.crt) for the Job's script. */
  serviceAccount: string;
  token: string;
  requests: ApiRequest[];
  /** PVCs by name; PATCH merges into them, DELETE removes them. */
  claims: Map<string, Json>;
  /** Makes PATCH answer like the API server for a StorageClass without allowVolumeExpansion. */
  refuseExpansion: boolean;
  stop(): Promise<void>;
}

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  code,
});

function merge(target: any, patch: any): any {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out = { ...(target && typeof target === "object" ? target : {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = merge(out[k], v);
  }
  return out;
}

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const PVC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims\/([^/]+)$/;

export async function startFakeClaimApi(): Promise<FakeClaimApi> {
  const now = new Date("2026-03-01T00:00:00Z");
  const ca = await webCryptoPki.createAuthority({
    commonName: "test-apiserver-ca",
    notBefore: now,
    notAfter: new Date("2036-03-01T00:00:00Z"),
  });
  const cert = await webCryptoPki.issue(ca, {
    commonName: "kube-apiserver",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    usage: "server",
    notBefore: now,
    notAfter: new Date("2036-03-01T00:00:00Z"),
  });
  const dir = mkdtempSync(join(tmpdir(), "tusk-sa-"));
  const token = "test-token-for-the-pvc-jobs";
  writeFileSync(join(dir, "token"), token);
  writeFileSync(join(dir, "ca.crt"), ca.certificate);
  const api: FakeClaimApi = {
    url: "",
    serviceAccount: dir,
    token,
    requests: [],
    claims: new Map(),
    refuseExpansion: false,
    stop: async () => {},
  };
  const server = createServer({ cert: cert.certificate, key: cert.privateKey }, async (req, res) => {
    const text = await read(req);
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    api.requests.push({
      method: req.method ?? "",
      path: req.url ?? "",
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
      body,
    });
    const answer = (code: number, payload: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(`${JSON.stringify(payload)}\n`);
    };
    const m = PVC_PATH.exec(req.url ?? "");
    if (req.headers.authorization !== `Bearer ${token}`)
      return answer(401, status(401, "Unauthorized", "Unauthorized"));
    if (!m) return answer(404, status(404, "NotFound", "the server could not find the requested resource"));
    const name = decodeURIComponent(m[2]!);
    const claim = api.claims.get(name);
    if (!claim) return answer(404, status(404, "NotFound", `persistentvolumeclaims "${name}" not found`));
    if (req.method === "PATCH") {
      if (req.headers["content-type"] !== "application/merge-patch+json")
        return answer(415, status(415, "UnsupportedMediaType", `the body of the request was in an unknown format`));
      if (api.refuseExpansion)
        return answer(
          403,
          status(
            403,
            "Forbidden",
            `persistentvolumeclaims "${name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
          ),
        );
      const next = merge(claim, body);
      api.claims.set(name, next);
      return answer(200, next);
    }
    if (req.method === "DELETE") {
      const uid = body?.preconditions?.uid;
      if (uid !== undefined && uid !== claim.metadata.uid)
        return answer(
          409,
          status(
            409,
            "Conflict",
            `Operation cannot be fulfilled on persistentvolumeclaims "${name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${claim.metadata.uid}`,
          ),
        );
      api.claims.delete(name);
      return answer(200, { ...claim, metadata: { ...claim.metadata, deletionTimestamp: now.toISOString() } });
    }
    return answer(
      405,
      status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
      rmSync(dir, { recursive: true, force: true });
    });
  return api;
}

export interface JobRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a claim Job's container command with the real `sh` and `curl`, as its pod would, with
 * two substitutions only a test needs: the service account directory is a temporary one, and
 * the API server's address is the fake's.
 */
export async function runClaimJob(job: Json, api: FakeClaimApi): Promise<JobRun> {
  const container = job.spec.template.spec.containers[0];
  const [shell, flag, script] = container.command as string[];
  if (shell !== "sh" || flag !== "-c" || script !== API_SCRIPT) throw new Error("not a claim Job");
  const env: Record<string, string> = {};
  for (const e of container.env as { name: string; value: string }[]) env[e.name] = e.value;
  const scratch = mkdtempSync(join(tmpdir(), "tusk-job-"));
  env.HOME = scratch;
  env.TMPDIR = scratch;
  env.PATH = process.env.PATH ?? "/usr/bin:/bin";
  env.URL = env.URL!.replace(KUBERNETES_API, api.url);
  const local = script.replace(SERVICE_ACCOUNT_DIR, api.serviceAccount);
  try {
    return await new Promise<JobRun>((resolve, reject) => {
      const child = spawn(shell, [flag, local], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The Job's pod after its container failed, with the termination message Kubernetes would record. */
export function failedJobPod(job: Json, run: JobRun): Json {
  const labels = job.spec.template.metadata.labels;
  const name = job.metadata.name;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${name}-abcde`,
      namespace: "db",
      labels: { ...labels, "batch.kubernetes.io/job-name": name, "job-name": name },
    },
    status: {
      phase: "Failed",
      containerStatuses: [
        {
          name: job.spec.template.spec.containers[0].name,
          state: { terminated: { exitCode: run.code, message: `${run.stdout}${run.stderr}` } },
        },
      ],
    },
  };
}
