/**
 * @module
 * A cluster's certificate authority and the server/client certificates it issues: ECDSA P-256
 * keys, SHA-256 signatures, PEM output with PKCS#8 private keys (`-----BEGIN PRIVATE KEY-----`),
 * which PostgreSQL, pgBackRest, pgBouncer and Patroni all read. Built on Web Crypto and a small
 * DER encoder, so it runs unchanged on Node and Deno and adds no dependency.
 *
 * Certificates and keys are random (key pairs, serial numbers): callers generate them once and
 * keep them in a Secret, as they do passwords.
 */

import { fromBase64, timingSafeEqual, toBase64 } from "./bytes.ts";
import {
  bitString,
  boolean,
  children,
  type Element,
  expectTag,
  explicit,
  implicit,
  namedBits,
  octetString,
  oid,
  readBitStringBytes,
  readBoolean,
  readOid,
  readOne,
  readString,
  readTime,
  readUnsignedInteger,
  sequence,
  set,
  smallInteger,
  TAG,
  time,
  unsignedInteger,
  utf8String,
} from "./der.ts";

export interface CertAndKey {
  certificate: string;
  privateKey: string;
}

export interface CertificateInfo {
  subjectCommonName: string;
  issuerCommonName: string;
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
}

const OID = {
  commonName: "2.5.4.3",
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  p384: "1.3.132.0.34",
  p521: "1.3.132.0.35",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  rsaEncryption: "1.2.840.113549.1.1.1",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  sha384WithRsa: "1.2.840.113549.1.1.12",
  sha512WithRsa: "1.2.840.113549.1.1.13",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

// RFC 5280 4.2.1.3 bit positions.
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN_P256 = { name: "ECDSA", hash: "SHA-256" } as const;

// ---------------------------------------------------------------------------------------------
// PEM

function pem(label: string, der: Uint8Array): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER of the first `label` block in `text`. */
function unpem(text: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  const der = m ? fromBase64(m[1]!.replace(/\s+/g, "")) : undefined;
  if (!der) throw new Error(`no ${label} PEM block`);
  return der;
}

// ---------------------------------------------------------------------------------------------
// Reading certificates

interface ParsedCertificate {
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  issuer: Element;
  subject: Element;
  notBefore: Date;
  notAfter: Date;
  spki: Element;
  extensions: Map<string, { critical: boolean; value: Uint8Array }>;
}

function parseCertificate(der: Uint8Array): ParsedCertificate {
  const [tbsEl, algEl, sigEl] = children(expectTag(readOne(der), TAG.SEQUENCE, "Certificate"));
  const tbs = expectTag(tbsEl, TAG.SEQUENCE, "TBSCertificate");
  const fields = children(tbs);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  i++; // serialNumber
  i++; // signature algorithm (repeated outside the TBS, read there)
  const issuer = expectTag(fields[i++], TAG.SEQUENCE, "issuer Name");
  const [nb, na] = children(expectTag(fields[i++], TAG.SEQUENCE, "Validity"));
  const subject = expectTag(fields[i++], TAG.SEQUENCE, "subject Name");
  const spki = expectTag(fields[i++], TAG.SEQUENCE, "SubjectPublicKeyInfo");
  const extensions = new Map<string, { critical: boolean; value: Uint8Array }>();
  for (const f of fields.slice(i)) {
    if (f.tag !== 0xa3) continue; // [1] and [2] unique identifiers are ignored
    for (const ext of children(expectTag(children(f)[0], TAG.SEQUENCE, "Extensions"))) {
      const parts = children(ext);
      const critical = parts.length === 3 ? readBoolean(parts[1]!) : false;
      const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, "extnValue").content;
      extensions.set(readOid(parts[0]!), { critical, value });
    }
  }
  return {
    tbs: tbs.raw,
    signatureAlgorithm: readOid(children(expectTag(algEl, TAG.SEQUENCE, "AlgorithmIdentifier"))[0]!),
    signature: readBitStringBytes(expectTag(sigEl, TAG.BIT_STRING, "signature")),
    issuer,
    subject,
    notBefore: readTime(nb!),
    notAfter: readTime(na!),
    spki,
    extensions,
  };
}

function commonName(name: Element): string {
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type && value && readOid(type) === OID.commonName) return readString(value);
    }
  }
  return "";
}

function isCA(cert: ParsedCertificate): boolean {
  const bc = cert.extensions.get(OID.basicConstraints);
  if (!bc) return false;
  const first = children(readOne(bc.value))[0];
  return first?.tag === TAG.BOOLEAN && readBoolean(first);
}

function dnsNames(cert: ParsedCertificate): string[] {
  const san = cert.extensions.get(OID.subjectAltName);
  if (!san) return [];
  return children(readOne(san.value))
    .filter((g) => g.tag === 0x82) // [2] dNSName
    .map((g) => String.fromCharCode(...g.content));
}

/** Subject and issuer CN, DNS SANs, validity (whole seconds) and whether it is a CA. */
export async function certificateInfo(pemText: string): Promise<CertificateInfo> {
  const cert = parseCertificate(unpem(pemText, "CERTIFICATE"));
  return {
    subjectCommonName: commonName(cert.subject),
    issuerCommonName: commonName(cert.issuer),
    dnsNames: dnsNames(cert),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCA: isCA(cert),
  };
}

// ---------------------------------------------------------------------------------------------
// Signatures

/** Web Crypto's ECDSA signatures are r||s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }. */
function ecdsaToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

function ecdsaFromDer(der: Uint8Array, size: number): Uint8Array {
  const [r, s] = children(expectTag(readOne(der), TAG.SEQUENCE, "ECDSA signature")).map(readUnsignedInteger);
  if (!r || !s || r.length > size || s.length > size) throw new Error("bad ECDSA signature");
  const out = new Uint8Array(size * 2);
  out.set(r, size - r.length);
  out.set(s, size * 2 - s.length);
  return out;
}

const EC_CURVES: Record<string, { namedCurve: string; size: number }> = {
  [OID.p256]: { namedCurve: "P-256", size: 32 },
  [OID.p384]: { namedCurve: "P-384", size: 48 },
  [OID.p521]: { namedCurve: "P-521", size: 66 },
};

const SIGNATURE_ALGORITHMS: Record<string, { kind: "EC" | "RSA"; hash: string }> = {
  [OID.ecdsaWithSha256]: { kind: "EC", hash: "SHA-256" },
  [OID.ecdsaWithSha384]: { kind: "EC", hash: "SHA-384" },
  [OID.ecdsaWithSha512]: { kind: "EC", hash: "SHA-512" },
  [OID.sha256WithRsa]: { kind: "RSA", hash: "SHA-256" },
  [OID.sha384WithRsa]: { kind: "RSA", hash: "SHA-384" },
  [OID.sha512WithRsa]: { kind: "RSA", hash: "SHA-512" },
};

/** Checks `cert`'s signature with `issuerSpki`; ECDSA and RSA PKCS#1 v1.5, so custom CAs work too. */
async function signatureValid(cert: ParsedCertificate, issuerSpki: Element): Promise<boolean> {
  const alg = SIGNATURE_ALGORITHMS[cert.signatureAlgorithm];
  if (!alg) return false;
  const [keyAlg] = children(issuerSpki);
  const [keyOid, keyParam] = children(expectTag(keyAlg, TAG.SEQUENCE, "AlgorithmIdentifier"));
  const keyType = readOid(keyOid!);
  if (alg.kind === "EC") {
    const curve = keyType === OID.ecPublicKey && keyParam?.tag === TAG.OID ? EC_CURVES[readOid(keyParam)] : undefined;
    if (!curve) return false;
    const key = await crypto.subtle.importKey(
      "spki",
      issuerSpki.raw as BufferSource,
      { name: "ECDSA", namedCurve: curve.namedCurve },
      false,
      ["verify"],
    );
    const sig = ecdsaFromDer(cert.signature, curve.size);
    return crypto.subtle.verify({ name: "ECDSA", hash: alg.hash }, key, sig as BufferSource, cert.tbs as BufferSource);
  }
  if (keyType !== OID.rsaEncryption) return false;
  const key = await crypto.subtle.importKey(
    "spki",
    issuerSpki.raw as BufferSource,
    { name: "RSASSA-PKCS1-v1_5", hash: alg.hash },
    false,
    ["verify"],
  );
  return crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, cert.signature as BufferSource, cert.tbs as BufferSource);
}

/**
 * True when `cert` is signed by `ca`'s key and within validity at `at`. Also requires `ca` to
 * be a CA valid at `at` and the issuer name to match the CA's subject, as a TLS peer would.
 * Malformed input gives false rather than an error.
 */
export async function verifyCertificate(certPem: string, caPem: string, at: Date): Promise<boolean> {
  try {
    const cert = parseCertificate(unpem(certPem, "CERTIFICATE"));
    const ca = parseCertificate(unpem(caPem, "CERTIFICATE"));
    const t = at.getTime();
    const within = (c: ParsedCertificate) => c.notBefore.getTime() <= t && t <= c.notAfter.getTime();
    if (!within(cert) || !within(ca) || !isCA(ca)) return false;
    if (!timingSafeEqual(cert.issuer.raw, ca.subject.raw)) return false;
    return await signatureValid(cert, ca.spki);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Issuing

function name(cn: string): Uint8Array {
  if (cn.length === 0 || cn.length > 64) throw new RangeError("commonName must be 1 to 64 characters");
  return sequence(set(sequence(oid(OID.commonName), utf8String(cn))));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, as OpenSSL computes it. */
async function keyIdentifier(spki: Element): Promise<Uint8Array> {
  const keyBits = readBitStringBytes(children(spki)[1]!);
  return new Uint8Array(await crypto.subtle.digest("SHA-1", keyBits as BufferSource));
}

function randomSerial(): Uint8Array {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  // Positive, and a non-zero first byte keeps the DER INTEGER exactly 16 bytes long.
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial;
}

function ipAddressBytes(ip: string): Uint8Array {
  const v4 = (s: string): number[] | undefined => {
    const parts = s.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)) return undefined;
    return parts.map(Number);
  };
  const four = v4(ip);
  if (four) return Uint8Array.from(four);
  if (ip.includes(":")) {
    let text = ip;
    const tail: number[] = [];
    const lastColon = text.lastIndexOf(":");
    if (text.slice(lastColon + 1).includes(".")) {
      const embedded = v4(text.slice(lastColon + 1));
      if (embedded) {
        tail.push(...embedded);
        text = `${text.slice(0, lastColon + 1)}0:0`; // placeholder groups, replaced below
      }
    }
    const halves = text.split("::");
    if (halves.length <= 2) {
      const groups = (s: string) => (s === "" ? [] : s.split(":"));
      const head = groups(halves[0]!);
      const rest = halves.length === 2 ? groups(halves[1]!) : [];
      const missing = 8 - head.length - rest.length;
      const all = halves.length === 2 ? [...head, ...Array(missing).fill("0"), ...rest] : head;
      if (all.length === 8 && (halves.length === 1 || missing >= 1) && all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) {
        const bytes = new Uint8Array(16);
        all.forEach((g, k) => {
          const v = Number.parseInt(g, 16);
          bytes[k * 2] = v >> 8;
          bytes[k * 2 + 1] = v & 0xff;
        });
        if (tail.length) bytes.set(tail, 12);
        return bytes;
      }
    }
  }
  throw new RangeError(`not an IP address: ${ip}`);
}

function checkValidity(notBefore: Date, notAfter: Date): void {
  if (!(notBefore.getTime() < notAfter.getTime())) throw new RangeError("notBefore must be before notAfter");
}

async function newKeyPair(): Promise<{ keys: CryptoKeyPair; spki: Element }> {
  const keys = (await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = readOne(new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)));
  return { keys, spki };
}

async function signCertificate(
  fields: {
    issuer: Uint8Array;
    subject: Uint8Array;
    notBefore: Date;
    notAfter: Date;
    spki: Element;
    extensions: Uint8Array[];
  },
  signer: CryptoKey,
): Promise<string> {
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(randomSerial()),
    algorithm,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.spki.raw,
    explicit(3, sequence(...fields.extensions)),
  );
  const raw = new Uint8Array(await crypto.subtle.sign(SIGN_P256, signer, tbs as BufferSource));
  return pem("CERTIFICATE", sequence(tbs, algorithm, bitString(ecdsaToDer(raw))));
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  return pem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key)));
}

/** A self-signed CA: basicConstraints CA:true (critical), keyUsage keyCertSign and cRLSign. */
export async function createCertificateAuthority(opts: {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
}): Promise<CertAndKey> {
  checkValidity(opts.notBefore, opts.notAfter);
  const { keys, spki } = await newKeyPair();
  const subject = name(opts.commonName);
  const certificate = await signCertificate(
    {
      issuer: subject,
      subject,
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      spki,
      extensions: [
        extension(OID.basicConstraints, true, sequence(boolean(true))),
        extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
        extension(OID.subjectKeyIdentifier, false, octetString(await keyIdentifier(spki))),
      ],
    },
    keys.privateKey,
  );
  return { certificate, privateKey: await exportPrivateKey(keys.privateKey) };
}

/**
 * The same CA with a new validity: same subject, same key pair, same extensions (so the same
 * subjectKeyIdentifier), a new serial number. Certificates issued under the old one verify
 * under the new one and the other way round, so peers and clients that still hold the old CA
 * keep working while the new one spreads (until the old one expires).
 */
export async function renewCertificateAuthority(
  ca: CertAndKey,
  opts: { notBefore: Date; notAfter: Date },
): Promise<CertAndKey> {
  checkValidity(opts.notBefore, opts.notAfter);
  const caCert = parseCertificate(unpem(ca.certificate, "CERTIFICATE"));
  if (!isCA(caCert)) throw new RangeError("not a CA certificate");
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    unpem(ca.privateKey, "PRIVATE KEY") as BufferSource,
    EC_P256,
    false,
    ["sign"],
  );
  const certificate = await signCertificate(
    {
      issuer: caCert.subject.raw,
      subject: caCert.subject.raw,
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      spki: caCert.spki,
      extensions: [...caCert.extensions].map(([id, e]) => extension(id, e.critical, e.value)),
    },
    caKey,
  );
  return { certificate, privateKey: ca.privateKey };
}

/**
 * A leaf certificate signed by `ca`: basicConstraints CA:false, keyUsage digitalSignature (all
 * an ECDSA key needs), extendedKeyUsage from `usage`, SANs from `dnsNames` and `ipAddresses`.
 * For PostgreSQL `cert` authentication the client certificate's commonName is the role name.
 */
export async function issueCertificate(
  ca: CertAndKey,
  opts: {
    commonName: string;
    dnsNames: string[];
    ipAddresses?: string[];
    notBefore: Date;
    notAfter: Date;
    usage: "server" | "client" | "server-client";
  },
): Promise<CertAndKey> {
  checkValidity(opts.notBefore, opts.notAfter);
  const caCert = parseCertificate(unpem(ca.certificate, "CERTIFICATE"));
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    unpem(ca.privateKey, "PRIVATE KEY") as BufferSource,
    EC_P256,
    false,
    ["sign"],
  );
  const authorityKeyId = caCert.extensions.get(OID.subjectKeyIdentifier)?.value;
  const { keys, spki } = await newKeyPair();

  const sans = [
    ...opts.dnsNames.map((dns) => {
      if (!/^[\x21-\x7e]+$/.test(dns)) throw new RangeError(`not a DNS name: ${dns}`);
      return implicit(
        2,
        Uint8Array.from(dns, (c) => c.charCodeAt(0)),
      );
    }),
    ...(opts.ipAddresses ?? []).map((ip) => implicit(7, ipAddressBytes(ip))),
  ];
  const purposes = {
    server: [OID.serverAuth],
    client: [OID.clientAuth],
    "server-client": [OID.serverAuth, OID.clientAuth],
  }[opts.usage];
  if (!purposes) throw new RangeError(`unknown usage ${String(opts.usage)}`);

  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])),
    extension(OID.extKeyUsage, false, sequence(...purposes.map(oid))),
    ...(sans.length ? [extension(OID.subjectAltName, false, sequence(...sans))] : []),
    extension(OID.subjectKeyIdentifier, false, octetString(await keyIdentifier(spki))),
    extension(
      OID.authorityKeyIdentifier,
      false,
      // The CA's own SKI when it has one (a custom CA may compute it differently), else ours.
      sequence(implicit(0, authorityKeyId ? readOne(authorityKeyId).content : await keyIdentifier(caCert.spki))),
    ),
  ];
  const certificate = await signCertificate(
    {
      issuer: caCert.subject.raw,
      subject: name(opts.commonName),
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      spki,
      extensions,
    },
    caKey,
  );
  return { certificate, privateKey: await exportPrivateKey(keys.privateKey) };
}
