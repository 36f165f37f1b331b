import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { type CertAndKey, type Pki, verifyCertificate } from "../../../shared/crypto/x509.ts";
import { deterministicPki, p256PublicKey, rfc6979Sign } from "../../support/deterministic-pki.ts";

const run = promisify(execFile);
const notBefore = new Date("2026-01-01T00:00:00Z");
const notAfter = new Date("2036-01-01T00:00:00Z");

async function chain(pki: Pki): Promise<{ ca: CertAndKey; renewed: CertAndKey; server: CertAndKey }> {
  const ca = await pki.createAuthority({ commonName: "db-hippo-ca", notBefore, notAfter });
  const renewed = await pki.renewAuthority(ca, { notBefore, notAfter: new Date("2056-01-01T00:00:00Z") });
  const server = await pki.issue(ca, {
    commonName: "hippo-primary",
    dnsNames: ["localhost", "hippo-primary.db.svc"],
    notBefore,
    notAfter,
    usage: "server",
  });
  return { ca, renewed, server };
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

describe("the deterministic test PKI", () => {
  it("signs as RFC 6979 A.2.5 says (P-256, SHA-256, message 'sample')", async () => {
    const d = 0xc9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721n;
    expect(toHex(p256PublicKey(d))).toBe(
      "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299",
    );
    const signature = await rfc6979Sign(d, new TextEncoder().encode("sample"));
    expect(toHex(signature)).toBe(
      "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716" +
        "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
    );
    // And Web Crypto accepts it.
    const key = await crypto.subtle.importKey(
      "raw",
      p256PublicKey(d) as BufferSource,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      signature as BufferSource,
      new TextEncoder().encode("sample"),
    );
    expect(ok).toBe(true);
  });

  it("gives byte-identical certificates and keys for the same seed, different ones for another", async () => {
    const a = await chain(deterministicPki(7));
    const b = await chain(deterministicPki(7));
    expect(b).toEqual(a);
    const c = await chain(deterministicPki(8));
    expect(c.ca.certificate).not.toBe(a.ca.certificate);
    expect(c.server.privateKey).not.toBe(a.server.privateKey);
  });

  it("issues what production issues: the chain verifies, and OpenSSL accepts certificate and key", async () => {
    const { ca, renewed, server } = await chain(deterministicPki(3));
    const at = new Date("2030-01-01T00:00:00Z");
    expect(await verifyCertificate(server.certificate, ca.certificate, at)).toBe(true);
    expect(await verifyCertificate(server.certificate, renewed.certificate, at)).toBe(true);
    expect(await verifyCertificate(renewed.certificate, renewed.certificate, at)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "tusk-deterministic-pki-"));
    try {
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text, { mode: 0o600 });
        return name;
      };
      const openssl = async (...args: string[]) => (await run("openssl", args, { cwd: dir })).stdout;
      file("ca.pem", ca.certificate);
      file("server.pem", server.certificate);
      file("server.key", server.privateKey);
      expect(await openssl("verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", "ca.pem", "server.pem")).toBe(
        "server.pem: OK\n",
      );
      expect(await openssl("pkey", "-in", "server.key", "-noout", "-check")).toContain("Key is valid");
      expect(await openssl("pkey", "-in", "server.key", "-pubout")).toBe(
        await openssl("x509", "-in", "server.pem", "-noout", "-pubkey"),
      );
      expect(await openssl("x509", "-in", "server.pem", "-noout", "-text")).toMatch(/ecdsa-with-SHA256[\s\S]*P-256/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
