import { chownSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webCryptoPki } from "../../../shared/crypto/x509.ts";
import { psql, skipReason, startPostgres, type TempPostgres } from "./postgres-harness.ts";

const skip = skipReason();
if (skip) console.warn(`skipping certificate tests against PostgreSQL: ${skip}`);

const now = Date.now();
const notBefore = new Date(now - 3600_000);
const notAfter = new Date(now + 86400_000);

describe.skipIf(skip !== undefined)("certificates used by a real PostgreSQL 15", () => {
  let pg: TempPostgres;
  let files: {
    ca: string;
    otherCa: string;
    clientCert: string;
    clientKey: string;
    strangerCert: string;
    strangerKey: string;
  };

  beforeAll(async () => {
    const ca = await webCryptoPki.createAuthority({ commonName: "hippo-ca", notBefore, notAfter });
    const otherCa = await webCryptoPki.createAuthority({ commonName: "hippo-ca", notBefore, notAfter });
    // DNS SAN only: connecting to "127.0.0.1" with verify-full must then fail.
    const server = await webCryptoPki.issue(ca, {
      commonName: "hippo-primary",
      dnsNames: ["localhost", "hippo-primary"],
      notBefore,
      notAfter,
      usage: "server",
    });
    const client = await webCryptoPki.issue(ca, {
      commonName: "app",
      dnsNames: [],
      notBefore,
      notAfter,
      usage: "client",
    });
    const stranger = await webCryptoPki.issue(otherCa, {
      commonName: "app",
      dnsNames: [],
      notBefore,
      notAfter,
      usage: "client",
    });
    pg = await startPostgres({
      conf: [
        "ssl = on",
        "ssl_cert_file = '../server.crt'",
        "ssl_key_file = '../server.key'",
        "ssl_ca_file = '../ca.crt'",
      ],
      hba: ["hostssl all app 127.0.0.1/32 cert", "hostssl all postgres 127.0.0.1/32 trust"],
      files: {
        "server.crt": [server.certificate, 0o644],
        "server.key": [server.privateKey, 0o600], // PostgreSQL refuses a key readable by others
        "ca.crt": [ca.certificate, 0o644],
      },
    });
    await pg.sql("CREATE ROLE app LOGIN");
    // Client-side files belong to the test runner (root), like a user's ~/.postgresql: libpq
    // wants its key 0600 and owned by the user running it.
    const mine = (name: string, content: string) => {
      const path = pg.writeFile(name, content, 0o600);
      chownSync(path, 0, 0);
      return path;
    };
    files = {
      ca: mine("client-ca.pem", ca.certificate),
      otherCa: mine("other-ca.pem", otherCa.certificate),
      clientCert: mine("app.crt", client.certificate),
      clientKey: mine("app.key", client.privateKey),
      strangerCert: mine("stranger.crt", stranger.certificate),
      strangerKey: mine("stranger.key", stranger.privateKey),
    };
  }, 60_000);

  afterAll(async () => {
    await pg?.stop();
  });

  const conn = (extra: string) => `host=localhost port=${pg.port} dbname=postgres ${extra}`;

  it("psql with sslmode=verify-full connects to host=localhost (a DNS SAN) over TLS", async () => {
    const r = await psql(
      conn(`user=postgres sslmode=verify-full sslrootcert=${files.ca}`),
      "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("t");
  });

  it("verify-full refuses a host name outside the SANs and a server from another CA", async () => {
    const byIp = await psql(
      `host=127.0.0.1 port=${pg.port} dbname=postgres user=postgres sslmode=verify-full sslrootcert=${files.ca}`,
      "SELECT 1",
    );
    expect(byIp.ok).toBe(false);
    expect(byIp.stderr).toMatch(/does not match host name "127.0.0.1"/);
    const otherCa = await psql(conn(`user=postgres sslmode=verify-full sslrootcert=${files.otherCa}`), "SELECT 1");
    expect(otherCa.ok).toBe(false);
    expect(otherCa.stderr).toMatch(/certificate verify failed/);
  });

  it("cert authentication logs in the role named by the client certificate's CN", async () => {
    const r = await psql(
      conn(
        `user=app sslmode=verify-full sslrootcert=${files.ca} sslcert=${files.clientCert} sslkey=${files.clientKey}`,
      ),
      "SELECT current_user || ' ' || client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("app /CN=app");
  });

  it("cert authentication refuses a client certificate from another CA", async () => {
    const r = await psql(
      conn(
        `user=app sslmode=verify-full sslrootcert=${files.ca} sslcert=${files.strangerCert} sslkey=${files.strangerKey}`,
      ),
      "SELECT 1",
    );
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(/unknown ca|certificate verify failed/);
  });
});
