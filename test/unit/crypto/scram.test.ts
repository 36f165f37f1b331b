import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseScramVerifier, scramSha256Verifier, verifierMatches } from "../../../shared/crypto/scram.ts";
import { psql, skipReason, startPostgres, type TempPostgres } from "./postgres-harness.ts";

const salt = Uint8Array.from({ length: 16 }, (_, i) => i * 17);

describe("scramSha256Verifier", () => {
  it("has PostgreSQL's rolpassword shape and parses back to its parts", async () => {
    const v = await scramSha256Verifier("secret", salt);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    const parsed = parseScramVerifier(v)!;
    expect(parsed.iterations).toBe(4096);
    expect(parsed.salt).toEqual(salt);
    expect(parsed.storedKey).toHaveLength(32);
    expect(parsed.serverKey).toHaveLength(32);
  });

  it("matches the RFC 7677 test vector", async () => {
    // RFC 7677 section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, i=4096;
    // its ServerSignature v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4= is HMAC(ServerKey, AuthMessage).
    const rfcSalt = Uint8Array.from(atob("W22ZaJ0SNY7soEsUEjb6gQ=="), (c) => c.charCodeAt(0));
    const { serverKey } = parseScramVerifier(await scramSha256Verifier("pencil", rfcSalt, 4096))!;
    const authMessage =
      "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const key = await crypto.subtle.importKey(
      "raw",
      serverKey as BufferSource,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(authMessage)));
    expect(btoa(String.fromCharCode(...sig))).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });

  it("is deterministic for a given salt and depends on password, salt and iterations", async () => {
    const v = await scramSha256Verifier("secret", salt);
    expect(await scramSha256Verifier("secret", salt)).toBe(v);
    expect(await scramSha256Verifier("secreT", salt)).not.toBe(v);
    expect(
      await scramSha256Verifier(
        "secret",
        salt.map((b) => b ^ 1),
      ),
    ).not.toBe(v);
    expect(await scramSha256Verifier("secret", salt, 4097)).not.toBe(v);
  });

  it("verifierMatches the right password only", async () => {
    const v = await scramSha256Verifier("correct horse", salt, 1000);
    expect(await verifierMatches(v, "correct horse")).toBe(true);
    expect(await verifierMatches(v, "correct horsE")).toBe(false);
    expect(await verifierMatches(v, "")).toBe(false);
    expect(await verifierMatches("md5abcdef", "correct horse")).toBe(false);
  });

  it("parseScramVerifier rejects malformed verifiers", async () => {
    const v = await scramSha256Verifier("x", salt);
    const [head, keys] = [v.slice(0, v.lastIndexOf("$")), v.slice(v.lastIndexOf("$") + 1)];
    for (const bad of [
      "",
      `md5${"0".repeat(32)}`,
      v.replace("SCRAM-SHA-256", "SCRAM-SHA-1"),
      v.replace("$4096:", "$0:"),
      v.replace("$4096:", "$-1:"),
      v.replace("$4096:", "$:"),
      `${head}$${keys.split(":")[0]}`, // no ServerKey
      `${head}$AAAA:${keys.split(":")[1]}`, // StoredKey of the wrong length
      `${v}x`,
      v.replace("=$", "$"), // salt without its padding
    ]) {
      expect(parseScramVerifier(bad), bad).toBeUndefined();
      expect(await verifierMatches(bad, "x")).toBe(false);
    }
  });
});

const skip = skipReason();
if (skip) console.warn(`skipping SCRAM tests against PostgreSQL: ${skip}`);

describe.skipIf(skip !== undefined)("SCRAM verifiers against a real PostgreSQL 15", () => {
  let pg: TempPostgres;
  beforeAll(async () => {
    pg = await startPostgres({ hba: ["host all all 127.0.0.1/32 scram-sha-256"] });
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  const login = (role: string, password: string) =>
    psql(`host=127.0.0.1 port=${pg.port} user=${role} dbname=postgres`, "SELECT current_user", {
      PGPASSWORD: password,
      PGCLIENTENCODING: "UTF8",
    });
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

  it("a role whose password is set to our verifier logs in with the plain password over TCP", async () => {
    const password = "Tusk-pw_1!~{x}*";
    const verifier = await scramSha256Verifier(password, crypto.getRandomValues(new Uint8Array(16)));
    await pg.sql(`CREATE ROLE alice LOGIN PASSWORD ${quote(verifier)}`);
    // PostgreSQL stores a pre-computed verifier as is instead of hashing it again.
    expect(await pg.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'")).toBe(verifier);
    const ok = await login("alice", password);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe("alice");
    const wrong = await login("alice", `${password}x`);
    expect(wrong.ok).toBe(false);
    expect(wrong.stderr).toMatch(/password authentication failed/);
  });

  it("ALTER ROLE with our verifier changes the password", async () => {
    await pg.sql(`CREATE ROLE bob LOGIN PASSWORD ${quote(await scramSha256Verifier("old", salt))}`);
    await pg.sql(`ALTER ROLE bob PASSWORD ${quote(await scramSha256Verifier("new", salt, 8192))}`);
    expect((await login("bob", "new")).stdout).toBe("bob");
    expect((await login("bob", "old")).ok).toBe(false);
  });

  it("PostgreSQL's own verifiers are recognised, and re-derived byte for byte", async () => {
    for (const [i, password] of [
      "x",
      "p@ss:w/o'rd",
      "ＰＡＳＳ\u00ADword", // fullwidth letters (NFKC) and a soft hyphen (mapped to nothing)
      "a\u00A0b\u200Bc", // non-ASCII spaces mapped to U+0020
      "caf\u0065\u0301", // combining accent, composed by NFKC
    ].entries()) {
      const role = `known${i}`;
      await pg.sql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${role} LOGIN PASSWORD ${quote(password)}`);
      const theirs = await pg.sql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${role}'`);
      expect(theirs).toMatch(/^SCRAM-SHA-256\$/);
      expect(await verifierMatches(theirs, password), password).toBe(true);
      expect(await verifierMatches(theirs, `${password}!`), password).toBe(false);
      const { salt: theirSalt, iterations } = parseScramVerifier(theirs)!;
      expect(await scramSha256Verifier(password, theirSalt, iterations), password).toBe(theirs);
    }
  });

  it("a non-ASCII password set through our verifier works with libpq's SASLprep", async () => {
    const password = "ＰＡＳＳ\u00A0wörd";
    await pg.sql(`CREATE ROLE carol LOGIN PASSWORD ${quote(await scramSha256Verifier(password, salt))}`);
    expect((await login("carol", password)).stdout).toBe("carol");
    expect((await login("carol", "PASS wörd")).stdout).toBe("carol"); // the SASLprep'd form is the same password
  });
});
