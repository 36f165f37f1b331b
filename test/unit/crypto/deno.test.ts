import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { verifierMatches } from "../../../shared/crypto/scram.ts";
import { certificateInfo, verifyCertificate } from "../../../shared/crypto/x509.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..", "..", "..");
const deno = join(root, "node_modules", "deno", "deno");
const mod = (name: string) => pathToFileURL(join(root, "shared", "crypto", name)).href;

describe.skipIf(!existsSync(deno))("shared/crypto on Deno", () => {
  it("generates a CA, a leaf certificate, a password and a SCRAM verifier that Node and OpenSSL accept", async () => {
    const script = `
      import { verifyCertificate, webCryptoPki } from "${mod("x509.ts")}";
      import { scramSha256Verifier, verifierMatches } from "${mod("scram.ts")}";
      import { generatePassword } from "${mod("password.ts")}";
      const notBefore = new Date("2025-01-01T00:00:00Z"), notAfter = new Date("2035-01-01T00:00:00Z");
      const ca = await webCryptoPki.createAuthority({ commonName: "deno-ca", notBefore, notAfter });
      const leaf = await webCryptoPki.issue(ca, { commonName: "deno-leaf", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], notBefore, notAfter, usage: "server-client" });
      const password = generatePassword((n) => crypto.getRandomValues(new Uint8Array(n)));
      const verifier = await scramSha256Verifier(password, crypto.getRandomValues(new Uint8Array(16)));
      console.log(JSON.stringify({
        runtime: typeof Deno === "object" ? "deno" : "other",
        ca, leaf, password, verifier,
        selfCheck: (await verifyCertificate(leaf.certificate, ca.certificate, new Date("2030-01-01"))) && (await verifierMatches(verifier, password)),
      }));
    `;
    const { stdout } = await run(deno, ["eval", script], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" },
    });
    const out = JSON.parse(stdout);
    expect(out.runtime).toBe("deno");
    expect(out.selfCheck).toBe(true);
    expect(out.password).toHaveLength(24);

    // What Deno produced, checked on Node and by OpenSSL.
    expect(await verifierMatches(out.verifier, out.password)).toBe(true);
    expect(await verifyCertificate(out.leaf.certificate, out.ca.certificate, new Date("2030-01-01"))).toBe(true);
    expect(await certificateInfo(out.leaf.certificate)).toMatchObject({
      subjectCommonName: "deno-leaf",
      dnsNames: ["localhost"],
    });
    const dir = mkdtempSync(join(tmpdir(), "tusk-deno-x509-"));
    try {
      writeFileSync(join(dir, "ca.pem"), out.ca.certificate);
      writeFileSync(join(dir, "leaf.pem"), out.leaf.certificate);
      writeFileSync(join(dir, "leaf.key"), out.leaf.privateKey, { mode: 0o600 });
      const verify = await run(
        "openssl",
        ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", "ca.pem", "leaf.pem"],
        { cwd: dir },
      );
      expect(verify.stdout).toBe("leaf.pem: OK\n");
      const fromKey = await run("openssl", ["pkey", "-in", "leaf.key", "-pubout"], { cwd: dir });
      const fromCert = await run("openssl", ["x509", "-in", "leaf.pem", "-noout", "-pubkey"], { cwd: dir });
      expect(fromKey.stdout).toBe(fromCert.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("type-checks under Deno's TypeScript", async () => {
    const files = ["bytes.ts", "password.ts", "scram.ts", "x509.ts"].map((f) => join("shared", "crypto", f));
    await expect(
      run(deno, ["check", ...files], { cwd: root, env: { ...process.env, NO_COLOR: "1" } }),
    ).resolves.toBeDefined();
  }, 30_000);
});
