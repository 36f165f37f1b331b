#!/usr/bin/env node
// s3rver (fake S3) over HTTPS on 127.0.0.1 with a pre-created bucket, for pgBackRest (which
// speaks only HTTPS to S3, docs/dataplane-notes.md B2) and the repository reader.
// Usage: node s3rver-run.mjs <dataDir> <key> <cert> <port> <bucket>
import fs from "node:fs";
import S3rver from "s3rver";

const [dataDir, keyFile, certFile, port, bucket] = process.argv.slice(2);
if (!bucket) {
  console.error("usage: s3rver-run.mjs <dataDir> <key> <cert> <port> <bucket>");
  process.exit(2);
}
fs.mkdirSync(dataDir, { recursive: true });

const server = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  key: fs.readFileSync(keyFile),
  cert: fs.readFileSync(certFile),
  directory: dataDir,
  silent: process.env.S3RVER_SILENT === "1",
  vhostBuckets: false, // path-style URIs (docs/dataplane-notes.md B3)
  configureBuckets: [{ name: bucket, configs: [] }],
});

server.run().then(({ address, port: p }) => {
  console.log(`s3rver listening on https://${address}:${p} bucket=${bucket}`);
});

const stop = () => server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
