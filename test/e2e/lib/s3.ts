/**
 * @module
 * An S3-compatible server for backup scenarios: s3rver over HTTPS on 127.0.0.1 with a
 * self-signed certificate whose DNS SAN is `localhost` (pgBackRest 2.45 checks DNS SANs only,
 * docs/dataplane-notes.md B1), credentials S3RVER/S3RVER (s3rver checks SigV4 with them, B5).
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "./http.ts";
import { type Daemon, forgetDaemon, freePort, RUN, run, startDaemon, stopPid } from "./proc.ts";
import { waitFor } from "./wait.ts";

export interface S3Server {
  /** `localhost:<port>`: what a user writes as the repo's `s3.endpoint`. */
  endpoint: string;
  port: number;
  bucket: string;
  accessKey: string;
  secretKey: string;
  caPem: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startS3(bucket = "pgbackrest"): Promise<S3Server> {
  const dir = join(RUN, "s3");
  const port = await freePort();
  const key = join(dir, "s3.key");
  const cert = join(dir, "s3.crt");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const r = await run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  if (r.code !== 0) throw new Error(`openssl: ${r.stderr}`);
  // a fresh store per server: a bucket left by another scenario holds another cluster's stanza
  const dataDir = mkdtempSync(join(dir, "data-"));
  const daemon: Daemon = startDaemon(
    "s3rver",
    ["node", join(import.meta.dirname, "s3rver-run.mjs"), dataDir, key, cert, String(port), bucket],
    { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", S3RVER_SILENT: "1" } },
  );
  await waitFor(
    "s3rver to serve the bucket",
    async () => {
      const res = await request(`https://127.0.0.1:${port}/`).catch(() => undefined);
      return res?.body.includes(`<Name>${bucket}</Name>`);
    },
    { timeoutMs: 60_000 },
  );
  return {
    endpoint: `localhost:${port}`,
    port,
    bucket,
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    caPem: readFileSync(cert, "utf8"),
    dataDir,
    async stop() {
      await stopPid(daemon.pid, "SIGTERM", 20_000);
      forgetDaemon("s3rver");
    },
  };
}

/** A repo on this server, as a user writes it in `backups.pgbackrest.repos`. */
export function s3Repo(s3: S3Server, name = "repo1") {
  return { name, s3: { bucket: s3.bucket, endpoint: s3.endpoint, region: "us-east-1" } };
}

/** What a user applies beside the cluster: a Secret `<cluster>-s3` with the repo's credentials and CA. */
export function s3CredentialsSecret(s3: S3Server, cluster: string, repo = "repo1") {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `${cluster}-s3`, namespace: "e2e" },
    stringData: {
      "s3.conf": `[global]\n${repo}-s3-key=${s3.accessKey}\n${repo}-s3-key-secret=${s3.secretKey}\n`,
      "ca.crt": s3.caPem,
    },
  };
}

/** `backups.pgbackrest.configuration` projecting that Secret into pgBackRest's conf.d. */
export function s3Configuration(cluster: string, repo = "repo1") {
  return [
    {
      secret: {
        name: `${cluster}-s3`,
        items: [
          { key: "s3.conf", path: "s3.conf" },
          { key: "ca.crt", path: `${repo}-ca.crt` },
        ],
      },
    },
  ];
}
