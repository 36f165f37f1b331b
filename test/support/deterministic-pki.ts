/**
 * @module
 * A PKI for tests whose certificates are byte-identical for the same seed and the same calls,
 * so golden files can show them: the production X.509 code (shared/crypto/x509.ts) on a seeded
 * KeySource. Same algorithm as production (ECDSA P-256, SHA-256), so what a test sees is what a
 * cluster gets, except where the randomness comes from.
 *
 * Web Crypto generates keys only at random and signs ECDSA with a random nonce, so this source
 * does both itself: a key's scalar comes from the seeded stream, its public point and the
 * signatures from P-256 arithmetic on BigInt, the nonce derived from the key and the message as
 * RFC 6979 specifies (checked against its test vector). Test-only: not constant time.
 */
import * as pkijs from "pkijs";
import { concatBytes } from "../../shared/crypto/bytes.ts";
import { type KeySource, type Pki, x509Pki } from "../../shared/crypto/x509.ts";
import { seededRandomBytes } from "../unit/crypto/seeded.ts";

// P-256 (secp256r1): y² = x³ - 3x + b over GF(P), base point G of order N.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** Jacobian coordinates (x = X/Z², y = Y/Z³), so a multiplication needs one inversion. */
type Jacobian = readonly [bigint, bigint, bigint];
const INFINITY: Jacobian = [0n, 1n, 0n];

function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  const delta = (z * z) % P;
  const gamma = (y * y) % P;
  const beta = (x * gamma) % P;
  const alpha = (3n * (x - delta) * (x + delta)) % P; // a = -3
  const x3 = mod(alpha * alpha - 8n * beta, P);
  const z3 = mod((y + z) ** 2n - gamma - delta, P);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, P);
  return [x3, y3, z3];
}

function addAffine(p: Jacobian, q: { x: bigint; y: bigint }): Jacobian {
  const [x1, y1, z1] = p;
  if (z1 === 0n) return [q.x, q.y, 1n];
  const z1z1 = (z1 * z1) % P;
  const h = mod(q.x * z1z1 - x1, P);
  const r = mod(2n * (((q.y * z1) % P) * z1z1 - y1), P);
  if (h === 0n) return r === 0n ? double(p) : INFINITY;
  const hh = (h * h) % P;
  const i = (4n * hh) % P;
  const j = (h * i) % P;
  const v = (x1 * i) % P;
  const x3 = mod(r * r - j - 2n * v, P);
  const y3 = mod(r * (v - x3) - 2n * y1 * j, P);
  const z3 = mod((z1 + h) ** 2n - z1z1 - hh, P);
  return [x3, y3, z3];
}

/** k·G in affine coordinates. */
function multiplyBase(k: bigint): { x: bigint; y: bigint } {
  let acc = INFINITY;
  for (let bit = 255; bit >= 0; bit--) {
    acc = double(acc);
    if ((k >> BigInt(bit)) & 1n) acc = addAffine(acc, G);
  }
  const zi = inverse(acc[2], P);
  return { x: (acc[0] * zi * zi) % P, y: (((acc[1] * zi * zi) % P) * zi) % P };
}

const toBigInt = (bytes: Uint8Array) =>
  BigInt(`0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("") || "0"}`);
const to32 = (n: bigint) =>
  Uint8Array.from(n.toString(16).padStart(64, "0").match(/../g)!, (h) => Number.parseInt(h, 16));
const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (b) => Number.parseInt(b, 16));

/** The uncompressed public point of private scalar `d`: 0x04 || X || Y. */
export function p256PublicKey(d: bigint): Uint8Array {
  const q = multiplyBase(d);
  return concatBytes(Uint8Array.of(4), to32(q.x), to32(q.y));
}

async function hmac(key: Uint8Array, ...parts: Uint8Array[]): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, concatBytes(...parts) as BufferSource));
}

/** ECDSA P-256 SHA-256 of `data` with the nonce of RFC 6979 section 3.2, as r || s. */
export async function rfc6979Sign(d: bigint, data: Uint8Array): Promise<Uint8Array> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", data as BufferSource));
  const e = toBigInt(h);
  const seed = concatBytes(to32(d), to32(e % N));
  let v: Uint8Array = new Uint8Array(32).fill(1);
  let k: Uint8Array = new Uint8Array(32);
  k = await hmac(k, v, Uint8Array.of(0), seed);
  v = await hmac(k, v);
  k = await hmac(k, v, Uint8Array.of(1), seed);
  v = await hmac(k, v);
  for (;;) {
    v = await hmac(k, v);
    const nonce = toBigInt(v);
    if (nonce >= 1n && nonce < N) {
      const r = multiplyBase(nonce).x % N;
      const s = (inverse(nonce, N) * (e + r * d)) % N;
      if (r !== 0n && s !== 0n) return concatBytes(to32(r), to32(s));
    }
    k = await hmac(k, v, Uint8Array.of(0));
    v = await hmac(k, v);
  }
}

// The DER around a P-256 key, as Web Crypto exports it: PKCS#8 with the public point, and SPKI.
const PKCS8_HEAD = hex("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420");
const PKCS8_PUBLIC = hex("a144034200");
const SPKI_HEAD = hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");

function privateScalar(pkcs8: Uint8Array): bigint {
  const info = pkijs.PrivateKeyInfo.fromBER(pkcs8 as BufferSource);
  if (!(info.parsedKey instanceof pkijs.ECPrivateKey)) throw new Error("not an EC private key");
  return toBigInt(info.parsedKey.privateKey.valueBlock.valueHexView);
}

/** Key pairs and serial numbers from a seeded stream; deterministic signatures. */
export function seededKeys(seed: number): KeySource {
  const bytes = seededRandomBytes(seed);
  return {
    async newKeyPair() {
      let d = 0n;
      while (d === 0n || d >= N) d = toBigInt(bytes(32));
      const point = p256PublicKey(d);
      return { pkcs8: concatBytes(PKCS8_HEAD, to32(d), PKCS8_PUBLIC, point), spki: concatBytes(SPKI_HEAD, point) };
    },
    serialBytes: () => bytes(16),
    sign: (pkcs8, data) => rfc6979Sign(privateScalar(pkcs8), data),
  };
}

/**
 * The PKI tests hand the cluster core: its own stream, apart from `deps.randomBytes`, so a
 * certificate added or dropped never shifts the passwords.
 */
export function deterministicPki(seed = 1): Pki {
  return x509Pki(seededKeys(seed));
}
