import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertAndKey, certificateInfo, verifyCertificate, webCryptoPki } from "../../../shared/crypto/x509.ts";

const run = promisify(execFile);
const notBefore = new Date("2025-01-01T00:00:00.500Z");
const notAfter = new Date("2035-01-01T00:00:00Z");
const during = new Date("2030-06-01T00:00:00Z");

let dir: string;
let ca: CertAndKey;
let server: CertAndKey;
let client: CertAndKey;
let both: CertAndKey;

const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};
const openssl = async (...args: string[]) => (await run("openssl", args, { cwd: dir })).stdout;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tusk-x509-"));
  ca = await webCryptoPki.createAuthority({ commonName: "hippo-ca", notBefore, notAfter });
  server = await webCryptoPki.issue(ca, {
    commonName: "hippo-primary",
    dnsNames: ["localhost", "hippo-primary", "hippo-primary.db.svc.cluster.local", "*.hippo-pods.db.svc"],
    ipAddresses: ["127.0.0.1", "::1"],
    notBefore,
    notAfter,
    usage: "server",
  });
  client = await webCryptoPki.issue(ca, { commonName: "app", dnsNames: [], notBefore, notAfter, usage: "client" });
  both = await webCryptoPki.issue(ca, {
    commonName: "pgbackrest",
    dnsNames: ["hippo-repo-host-0"],
    notBefore,
    notAfter,
    usage: "server-client",
  });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("certificates (structure)", () => {
  it("writes PEM certificates and PKCS#8 private keys", () => {
    for (const c of [ca, server, client]) {
      expect(c.certificate).toMatch(
        /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/,
      );
      expect(c.privateKey).toMatch(
        /^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PRIVATE KEY-----\n$/,
      );
    }
  });

  it("certificateInfo reads back names, SANs, validity (whole seconds) and CA-ness", async () => {
    expect(await certificateInfo(ca.certificate)).toEqual({
      subjectCommonName: "hippo-ca",
      issuerCommonName: "hippo-ca",
      dnsNames: [],
      notBefore: new Date("2025-01-01T00:00:00Z"),
      notAfter,
      isCA: true,
    });
    expect(await certificateInfo(server.certificate)).toEqual({
      subjectCommonName: "hippo-primary",
      issuerCommonName: "hippo-ca",
      dnsNames: ["localhost", "hippo-primary", "hippo-primary.db.svc.cluster.local", "*.hippo-pods.db.svc"],
      notBefore: new Date("2025-01-01T00:00:00Z"),
      notAfter,
      isCA: false,
    });
    expect((await certificateInfo(client.certificate)).subjectCommonName).toBe("app");
  });

  it("uses GeneralizedTime from 2050 on", async () => {
    const far = new Date("2075-03-04T05:06:07Z");
    const longCa = await webCryptoPki.createAuthority({ commonName: "long", notBefore, notAfter: far });
    expect((await certificateInfo(longCa.certificate)).notAfter).toEqual(far);
    expect(await openssl("x509", "-noout", "-enddate", "-in", file("long.pem", longCa.certificate))).toContain(
      "Mar  4 05:06:07 2075 GMT",
    );
  });

  it("every certificate gets a fresh key and a fresh serial number", async () => {
    const again = await webCryptoPki.createAuthority({ commonName: "hippo-ca", notBefore, notAfter });
    expect(again.privateKey).not.toBe(ca.privateKey);
    const serial = async (pem: string) =>
      (await openssl("x509", "-noout", "-serial", "-in", file("s.pem", pem))).trim();
    const a = await serial(ca.certificate);
    const b = await serial(again.certificate);
    expect(a).toMatch(/^serial=[0-7][0-9A-F]{31}$/); // 16 bytes, positive
    expect(b).not.toBe(a);
  });

  it("encodes IPv4 and IPv6 SANs, including :: and embedded IPv4", async () => {
    const leaf = await webCryptoPki.issue(ca, {
      commonName: "ips",
      dnsNames: [],
      ipAddresses: ["10.0.0.1", "::", "fe80::1:2", "2001:db8:0:0:1:0:0:ff", "1::", "::ffff:192.168.1.2"],
      notBefore,
      notAfter,
      usage: "server",
    });
    const text = await openssl("x509", "-noout", "-ext", "subjectAltName", "-in", file("ips.pem", leaf.certificate));
    expect(text).toContain(
      [
        "IP Address:10.0.0.1",
        "IP Address:0:0:0:0:0:0:0:0",
        "IP Address:FE80:0:0:0:0:0:1:2",
        "IP Address:2001:DB8:0:0:1:0:0:FF",
        "IP Address:1:0:0:0:0:0:0:0",
        "IP Address:0:0:0:0:0:FFFF:C0A8:102",
      ].join(", "),
    );
  });

  it("rejects bad input", async () => {
    await expect(
      webCryptoPki.createAuthority({ commonName: "x", notBefore: notAfter, notAfter: notBefore }),
    ).rejects.toThrow();
    await expect(webCryptoPki.createAuthority({ commonName: "", notBefore, notAfter })).rejects.toThrow();
    const leaf = (extra: object) =>
      webCryptoPki.issue(ca, { commonName: "x", dnsNames: [], notBefore, notAfter, usage: "server", ...extra });
    await expect(leaf({ ipAddresses: ["300.1.1.1"] })).rejects.toThrow(/IP address/);
    for (const bad of [
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "01.2.3.4",
      "1.2.3",
      "g::1",
      "1:2:3:4:5:6:7::8",
    ]) {
      await expect(leaf({ ipAddresses: [bad] }), bad).rejects.toThrow(/IP address/);
    }
    await expect(leaf({ dnsNames: ["has space"] })).rejects.toThrow(/DNS name/);
    await expect(certificateInfo("not a certificate")).rejects.toThrow();
  });
});

describe("verifyCertificate", () => {
  it("accepts a certificate signed by the CA within validity, and the CA itself", async () => {
    expect(await verifyCertificate(server.certificate, ca.certificate, during)).toBe(true);
    expect(await verifyCertificate(client.certificate, ca.certificate, notBefore)).toBe(true);
    expect(await verifyCertificate(ca.certificate, ca.certificate, during)).toBe(true);
  });

  it("rejects it outside its validity", async () => {
    expect(await verifyCertificate(server.certificate, ca.certificate, new Date("2024-12-31T23:59:59Z"))).toBe(false);
    expect(await verifyCertificate(server.certificate, ca.certificate, new Date("2035-01-01T00:00:01Z"))).toBe(false);
  });

  it("rejects another CA's key, even with the same name", async () => {
    const impostor = await webCryptoPki.createAuthority({ commonName: "hippo-ca", notBefore, notAfter });
    expect(await verifyCertificate(server.certificate, impostor.certificate, during)).toBe(false);
    const forged = await webCryptoPki.issue(impostor, {
      commonName: "x",
      dnsNames: [],
      notBefore,
      notAfter,
      usage: "server",
    });
    expect(await verifyCertificate(forged.certificate, impostor.certificate, during)).toBe(true);
    expect(await verifyCertificate(forged.certificate, ca.certificate, during)).toBe(false);
  });

  it("rejects a leaf used as the issuer, a tampered certificate and garbage", async () => {
    const fake = await webCryptoPki.issue(
      { certificate: server.certificate, privateKey: server.privateKey },
      { commonName: "x", dnsNames: [], notBefore, notAfter, usage: "server" },
    );
    expect(await verifyCertificate(fake.certificate, server.certificate, during)).toBe(false);
    // Change one character inside the base64 of the TBS (the subject CN area).
    const b64 = server.certificate.split("\n").slice(1, -2).join("");
    const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const at = new TextDecoder("latin1").decode(der).indexOf("hippo-primary");
    der[at] = "H".charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE-----\n${btoa(String.fromCharCode(...der))}\n-----END CERTIFICATE-----\n`;
    expect((await certificateInfo(tampered)).subjectCommonName).toBe("Hippo-primary");
    expect(await verifyCertificate(tampered, ca.certificate, during)).toBe(false);
    expect(await verifyCertificate("garbage", ca.certificate, during)).toBe(false);
    expect(await verifyCertificate(server.certificate, "garbage", during)).toBe(false);
  });

  it("verifies certificates from OpenSSL CAs (ECDSA P-384 and RSA) and reads their names", async () => {
    for (const [label, keyArgs] of [
      ["ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-sha384"]],
      ["rsa", ["-newkey", "rsa:2048", "-sha256"]],
    ] as const) {
      await openssl(
        "req",
        "-x509",
        ...keyArgs,
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/O=Acme/CN=Custom CA",
        ...["-keyout", `${label}-ca.key`, "-out", `${label}-ca.pem`],
      );
      await openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=db",
        ...["-keyout", `${label}-leaf.key`, "-out", `${label}-leaf.csr`],
      );
      file(`${label}-ext.cnf`, "subjectAltName=DNS:db.example,DNS:db\n");
      await openssl(
        "x509",
        "-req",
        "-in",
        `${label}-leaf.csr`,
        "-CA",
        `${label}-ca.pem`,
        "-CAkey",
        `${label}-ca.key`,
        ...["-days", "1", "-extfile", `${label}-ext.cnf`, "-out", `${label}-leaf.pem`],
      );
      const { readFileSync } = await import("node:fs");
      const caPem = readFileSync(join(dir, `${label}-ca.pem`), "utf8");
      const leafPem = readFileSync(join(dir, `${label}-leaf.pem`), "utf8");
      expect(await verifyCertificate(leafPem, caPem, new Date()), label).toBe(true);
      expect(await verifyCertificate(leafPem, ca.certificate, new Date()), label).toBe(false);
      const info = await certificateInfo(leafPem);
      expect(info, label).toMatchObject({ subjectCommonName: "db", issuerCommonName: "Custom CA", isCA: false });
      expect(info.dnsNames, label).toEqual(["db.example", "db"]);
      expect((await certificateInfo(caPem)).isCA, label).toBe(true);
    }
  });
});

describe("certificates checked by OpenSSL", () => {
  it("openssl verify accepts each leaf for its purpose, strictly, and only for its purpose", async () => {
    const caFile = file("ca.pem", ca.certificate);
    const verify = (pem: string, purpose: string) =>
      openssl("verify", "-x509_strict", "-purpose", purpose, "-CAfile", caFile, file("leaf.pem", pem));
    await expect(verify(server.certificate, "sslserver")).resolves.toContain(": OK");
    await expect(verify(client.certificate, "sslclient")).resolves.toContain(": OK");
    await expect(verify(both.certificate, "sslserver")).resolves.toContain(": OK");
    await expect(verify(both.certificate, "sslclient")).resolves.toContain(": OK");
    await expect(verify(client.certificate, "sslserver")).rejects.toThrow(/unsuitable certificate purpose/);
    await expect(verify(server.certificate, "sslclient")).rejects.toThrow(/unsuitable certificate purpose/);
    const other = await webCryptoPki.createAuthority({ commonName: "hippo-ca", notBefore, notAfter });
    await expect(
      openssl("verify", "-CAfile", file("other.pem", other.certificate), file("leaf.pem", server.certificate)),
    ).rejects.toThrow();
  });

  it("openssl x509 -text shows the extensions", async () => {
    const caText = await openssl("x509", "-noout", "-text", "-in", file("ca.pem", ca.certificate));
    expect(caText).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(caText).toMatch(/NIST CURVE: P-256/);
    expect(caText).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(caText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(caText).toMatch(/Subject Key Identifier/);

    const text = await openssl("x509", "-noout", "-text", "-in", file("server.pem", server.certificate));
    expect(text).toMatch(/Issuer: CN ?= ?hippo-ca/);
    expect(text).toMatch(/Subject: CN ?= ?hippo-primary/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Extended Key Usage: *\n\s+TLS Web Server Authentication\n/);
    expect(text).toContain(
      "DNS:localhost, DNS:hippo-primary, DNS:hippo-primary.db.svc.cluster.local, DNS:*.hippo-pods.db.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    // The AKI is the CA's SKI.
    const ski = /Subject Key Identifier: *\n\s+([0-9A-F:]+)/.exec(caText)?.[1];
    expect(ski).toBeTruthy();
    expect(text).toMatch(new RegExp(`Authority Key Identifier: *\\n\\s+(keyid:)?${ski}`));

    const bothText = await openssl("x509", "-noout", "-text", "-in", file("both.pem", both.certificate));
    expect(bothText).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
    const clientText = await openssl("x509", "-noout", "-text", "-in", file("client.pem", client.certificate));
    expect(clientText).toMatch(/Extended Key Usage: *\n\s+TLS Web Client Authentication\n/);
    expect(clientText).not.toContain("Subject Alternative Name");
  });

  it("the private key is a valid P-256 PKCS#8 key matching the certificate", async () => {
    const keyFile = file("server.key", server.privateKey);
    expect(await openssl("pkey", "-in", keyFile, "-noout", "-check")).toContain("Key is valid");
    expect(await openssl("pkey", "-in", keyFile, "-noout", "-text")).toContain("NIST CURVE: P-256");
    const fromKey = await openssl("pkey", "-in", keyFile, "-pubout");
    const fromCert = await openssl("x509", "-in", file("server.pem", server.certificate), "-noout", "-pubkey");
    expect(fromKey).toBe(fromCert);
  });
});

describe("a real TLS handshake (node:tls)", () => {
  async function handshake(
    opts: { servername?: string; host?: string; ca?: string; cert?: CertAndKey },
    serverCert: CertAndKey = server,
  ): Promise<{ error?: string; clientCN?: string; authorizedClient?: boolean }> {
    const srv = createServer({
      cert: serverCert.certificate,
      key: serverCert.privateKey,
      ca: ca.certificate,
      requestCert: true,
      rejectUnauthorized: false,
    });
    const seen = new Promise<{ clientCN?: string; authorizedClient: boolean }>((resolve) =>
      srv.on("secureConnection", (s: TLSSocket) => {
        resolve({
          clientCN: (s.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN,
          authorizedClient: s.authorized,
        });
        s.end("hello");
      }),
    );
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const port = (srv.address() as { port: number }).port;
    try {
      const result = await new Promise<{ error?: string }>((resolve) => {
        const sock = connect({
          host: opts.host ?? "127.0.0.1",
          port,
          servername: opts.servername,
          ca: opts.ca ?? ca.certificate,
          cert: opts.cert?.certificate,
          key: opts.cert?.privateKey,
          rejectUnauthorized: true,
        });
        sock.on("secureConnect", () => {
          sock.once("data", () => {
            sock.end();
            resolve({});
          });
        });
        sock.on("error", (e) => resolve({ error: e.message }));
      });
      if (result.error) return result;
      return { ...(await seen) };
    } finally {
      srv.close();
    }
  }

  it("a client trusting the CA connects and verifies the host name", async () => {
    for (const servername of ["localhost", "hippo-primary.db.svc.cluster.local", "hippo-0.hippo-pods.db.svc"]) {
      // No client certificate: the server sees an anonymous client.
      expect(await handshake({ servername }), servername).toEqual({ clientCN: undefined, authorizedClient: false });
    }
  });

  it("an IP address is checked against the IP SANs", async () => {
    expect(await handshake({})).toEqual({ clientCN: undefined, authorizedClient: false }); // 127.0.0.1, no servername
  });

  it("a host name outside the SANs, or another CA, is refused", async () => {
    expect((await handshake({ servername: "evil.example" })).error).toMatch(/altnames|Host/);
    const other = await webCryptoPki.createAuthority({ commonName: "hippo-ca", notBefore, notAfter });
    expect((await handshake({ servername: "localhost", ca: other.certificate })).error).toMatch(/certificate/);
  });

  it("mutual TLS: the server sees the client certificate's CN and trusts it", async () => {
    expect(await handshake({ servername: "localhost", cert: client })).toEqual({
      clientCN: "app",
      authorizedClient: true,
    });
  });

  it("a server-client certificate works on both ends", async () => {
    expect(await handshake({ servername: "hippo-repo-host-0", cert: both }, both)).toEqual({
      clientCN: "pgbackrest",
      authorizedClient: true,
    });
  });
});
