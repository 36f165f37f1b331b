/**
 * @module
 * SCRAM-SHA-256 verifiers in PostgreSQL's `pg_authid.rolpassword` format (RFC 5802, RFC 7677):
 * `SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>`.
 * Setting a role's password to such a string lets the operator create roles without ever
 * sending the plain password to the server. Web Crypto only, so it runs on Node and Deno.
 */

import { fromBase64, timingSafeEqual, toBase64 } from "./bytes.ts";

const PREFIX = "SCRAM-SHA-256";
const KEY_LENGTH = 32;

const encoder = new TextEncoder();

type Ranges = readonly (readonly [number, number])[];
const inRanges = (cp: number, ranges: Ranges): boolean => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);

// RFC 3454 C.1.2: non-ASCII spaces, mapped to U+0020.
const NON_ASCII_SPACE: Ranges = [
  [0x00a0, 0x00a0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
];
// RFC 3454 B.1: "commonly mapped to nothing".
const MAPPED_TO_NOTHING: Ranges = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200b, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];
// RFC 3454 C.2-C.9: controls, private use, non-characters, surrogates, and the listed
// format, display and tagging code points (C.1.2 spaces are mapped before this check).
const PROHIBITED: Ranges = [
  [0x0000, 0x001f],
  [0x007f, 0x009f],
  [0x0340, 0x0341],
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x180e, 0x180e],
  [0x200c, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0x2ff0, 0x2ffb],
  [0xd800, 0xdfff],
  [0xe000, 0xf8ff],
  [0xfdd0, 0xfdef],
  [0xfeff, 0xfeff],
  [0xfff9, 0xffff],
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
  [0xf0000, 0x10ffff],
];
const isNonCharacter = (cp: number): boolean => (cp & 0xfffe) === 0xfffe;

/**
 * The bytes PostgreSQL hashes for `password`. Like `pg_saslprep`, pure ASCII is used as is;
 * otherwise SASLprep's mapping and NFKC apply, and a string SASLprep would reject is used raw
 * (PostgreSQL falls back to the raw bytes too). Not implemented: the Unicode 3.2 unassigned
 * code point table and the bidirectional rule, which only matter for exotic non-ASCII input.
 */
function saslPrepBytes(password: string): Uint8Array {
  const codePoints = Array.from(password, (c) => c.codePointAt(0)!);
  if (codePoints.every((cp) => cp < 0x80)) return encoder.encode(password);
  // Spaces before B.1, as pg_saslprep does: U+200B is in both and PostgreSQL makes it a space.
  const mapped = codePoints
    .filter((cp) => inRanges(cp, NON_ASCII_SPACE) || !inRanges(cp, MAPPED_TO_NOTHING))
    .map((cp) => (inRanges(cp, NON_ASCII_SPACE) ? " " : String.fromCodePoint(cp)))
    .join("")
    .normalize("NFKC");
  const prohibited = Array.from(mapped, (c) => c.codePointAt(0)!).some(
    (cp) => inRanges(cp, PROHIBITED) || isNonCharacter(cp),
  );
  if (mapped.length === 0 || prohibited) return encoder.encode(password);
  return encoder.encode(mapped);
}

async function hmac(key: Uint8Array, message: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(message)));
}

async function deriveKeys(
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<{ storedKey: Uint8Array; serverKey: Uint8Array }> {
  const base = await crypto.subtle.importKey("raw", saslPrepBytes(password) as BufferSource, "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
      base,
      KEY_LENGTH * 8,
    ),
  );
  const clientKey = await hmac(salted, "Client Key");
  const storedKey = new Uint8Array(await crypto.subtle.digest("SHA-256", clientKey as BufferSource));
  const serverKey = await hmac(salted, "Server Key");
  return { storedKey, serverKey };
}

/**
 * PostgreSQL's `pg_authid.rolpassword` format:
 * `SCRAM-SHA-256$<iter>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>` (RFC 5802/7677, SASLprep of
 * ASCII is identity). PostgreSQL uses a 16-byte random salt and 4096 iterations by default.
 */
export async function scramSha256Verifier(password: string, salt: Uint8Array, iterations = 4096): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError("iterations must be a positive integer");
  if (salt.length === 0) throw new RangeError("salt must not be empty");
  const { storedKey, serverKey } = await deriveKeys(password, salt, iterations);
  return `${PREFIX}$${iterations}:${toBase64(salt)}$${toBase64(storedKey)}:${toBase64(serverKey)}`;
}

const VERIFIER =
  /^SCRAM-SHA-256\$([1-9][0-9]{0,9}):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;

/** The parts of a verifier, or undefined when `v` is not a well-formed SCRAM-SHA-256 verifier. */
export function parseScramVerifier(
  v: string,
): { iterations: number; salt: Uint8Array; storedKey: Uint8Array; serverKey: Uint8Array } | undefined {
  const m = VERIFIER.exec(v);
  if (!m) return undefined;
  const iterations = Number(m[1]);
  const salt = fromBase64(m[2]!);
  const storedKey = fromBase64(m[3]!);
  const serverKey = fromBase64(m[4]!);
  if (
    iterations > 0x7fffffff ||
    !salt?.length ||
    storedKey?.length !== KEY_LENGTH ||
    serverKey?.length !== KEY_LENGTH
  ) {
    return undefined;
  }
  return { iterations, salt, storedKey, serverKey };
}

/** True when `verifier` was computed from `password` (re-derives with the verifier's own salt). */
export async function verifierMatches(verifier: string, password: string): Promise<boolean> {
  const parsed = parseScramVerifier(verifier);
  if (!parsed) return false;
  const { storedKey, serverKey } = await deriveKeys(password, parsed.salt, parsed.iterations);
  // Both keys are compared: each alone identifies the password, together they catch a verifier
  // whose halves were edited independently.
  return timingSafeEqual(storedKey, parsed.storedKey) && timingSafeEqual(serverKey, parsed.serverKey);
}
