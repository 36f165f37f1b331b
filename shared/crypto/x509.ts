/**
 * @module
 * A cluster's certificate authority and the server/client certificates it issues: ECDSA P-256
 * keys, SHA-256 signatures, PEM output with PKCS#8 private keys (`-----BEGIN PRIVATE KEY-----`),
 * which PostgreSQL, pgBackRest, pgBouncer and Patroni all read. The X.509 structures are pkijs's
 * (pure JavaScript on Web Crypto, no WebAssembly), so this runs unchanged on Node and Deno.
 *
 * Issuing is behind the `Pki` interface so that a core is handed its PKI like its clock: what
 * makes a certificate random (its key pair, serial number and ECDSA signature) comes from a
 * `KeySource`. Production uses Web Crypto's (`webCryptoPki`); tests build a `Pki` on a seeded
 * source with deterministic signatures, and then the same inputs give byte-identical PEM.
 * Callers generate certificates once and keep them in a Secret, as they do passwords.
 */

import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { fromBase64, toBase64 } from "./bytes.ts";

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

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

export interface LeafRequest extends Validity {
  /** For PostgreSQL `cert` authentication the client certificate's commonName is the role name. */
  commonName: string;
  dnsNames: string[];
  ipAddresses?: string[];
  usage: "server" | "client" | "server-client";
}

/** Everything a core does with certificates. */
export interface Pki {
  /** A self-signed CA: basicConstraints CA:true (critical), keyUsage keyCertSign and cRLSign. */
  createAuthority(opts: Validity & { commonName: string }): Promise<CertAndKey>;
  /**
   * The same CA with a new validity: same subject, same key pair, same extensions (so the same
   * subjectKeyIdentifier), a new serial number. Certificates issued under the old one verify
   * under the new one and the other way round, so peers and clients that still hold the old CA
   * keep working while the new one spreads (until the old one expires).
   */
  renewAuthority(ca: CertAndKey, validity: Validity): Promise<CertAndKey>;
  /**
   * A leaf certificate signed by `ca`: basicConstraints CA:false, keyUsage digitalSignature (all
   * an ECDSA key needs), extendedKeyUsage from `usage`, SANs from `dnsNames` and `ipAddresses`.
   */
  issue(ca: CertAndKey, request: LeafRequest): Promise<CertAndKey>;
  /** What a PEM certificate says (rejects what is not one). */
  inspect(certificate: string): Promise<CertificateInfo>;
}

/** The random part of issuing: ECDSA P-256 key pairs, serial numbers, signatures. */
export interface KeySource {
  /** A new key pair, DER: the PKCS#8 private key and the SubjectPublicKeyInfo. */
  newKeyPair(): Promise<{ pkcs8: Uint8Array; spki: Uint8Array }>;
  /** 16 bytes to make a serial number of. */
  serialBytes(): Uint8Array;
  /** ECDSA with SHA-256 over `data` with a PKCS#8 key, as Web Crypto returns it (r || s). */
  sign(pkcs8: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
}

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

export const webCryptoKeys: KeySource = {
  async newKeyPair() {
    const keys = (await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
    return {
      pkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
      spki: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
    };
  },
  serialBytes: () => crypto.getRandomValues(new Uint8Array(16)),
  async sign(pkcs8, data) {
    const key = await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, EC_P256, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, data as BufferSource));
  },
};

const OID = {
  commonName: "2.5.4.3",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

// RFC 5280 4.2.1.3 bit positions.
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

// Verification only; an explicit engine rather than the one pkijs picks from the global scope.
const engine = new pkijs.CryptoEngine({ name: "webcrypto", crypto: globalThis.crypto });

// ---------------------------------------------------------------------------------------------
// PEM and reading

function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  const lines = toBase64(new Uint8Array(der)).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER of the first `label` block in `text`. */
function unpem(text: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  const der = m ? fromBase64(m[1]!.replace(/\s+/g, "")) : undefined;
  if (!der) throw new Error(`no ${label} PEM block`);
  return der;
}

const parse = (text: string): pkijs.Certificate =>
  pkijs.Certificate.fromBER(unpem(text, "CERTIFICATE") as BufferSource);

const extensionOf = (cert: pkijs.Certificate, id: string) => cert.extensions?.find((e) => e.extnID === id);

function commonName(name: pkijs.RelativeDistinguishedNames): string {
  const value = name.typesAndValues.find((t) => t.type === OID.commonName)?.value;
  return value ? String(value.valueBlock.value) : "";
}

function isCA(cert: pkijs.Certificate): boolean {
  return (extensionOf(cert, pkijs.id_BasicConstraints)?.parsedValue as pkijs.BasicConstraints | undefined)?.cA === true;
}

/** Subject and issuer CN, DNS SANs, validity (whole seconds) and whether it is a CA. */
export async function certificateInfo(pemText: string): Promise<CertificateInfo> {
  const cert = parse(pemText);
  const san = extensionOf(cert, pkijs.id_SubjectAltName)?.parsedValue as pkijs.AltName | undefined;
  return {
    subjectCommonName: commonName(cert.subject),
    issuerCommonName: commonName(cert.issuer),
    dnsNames: (san?.altNames ?? []).filter((g) => g.type === 2).map((g) => String(g.value)),
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    isCA: isCA(cert),
  };
}

/**
 * True when `cert` is signed by `ca`'s key and within validity at `at`. Also requires `ca` to
 * be a CA valid at `at` and the issuer name to match the CA's subject, as a TLS peer would.
 * ECDSA and RSA, so custom CAs work too. Malformed input gives false rather than an error.
 */
export async function verifyCertificate(certPem: string, caPem: string, at: Date): Promise<boolean> {
  try {
    const cert = parse(certPem);
    const ca = parse(caPem);
    const t = at.getTime();
    const within = (c: pkijs.Certificate) => c.notBefore.value.getTime() <= t && t <= c.notAfter.value.getTime();
    if (!within(cert) || !within(ca) || !isCA(ca) || !cert.issuer.isEqual(ca.subject)) return false;
    return await cert.verify(ca, engine);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Issuing

function name(cn: string): pkijs.RelativeDistinguishedNames {
  if (cn.length === 0 || cn.length > 64) throw new RangeError("commonName must be 1 to 64 characters");
  const atv = new pkijs.AttributeTypeAndValue({ type: OID.commonName, value: new asn1js.Utf8String({ value: cn }) });
  return new pkijs.RelativeDistinguishedNames({ typesAndValues: [atv] });
}

function extension(extnID: string, critical: boolean, value: asn1js.BaseBlock): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

/** RFC 5280 4.2.1.3 named bits: bit 0 is the most significant; DER drops trailing zero bits. */
function keyUsage(bits: number[]): asn1js.BitString {
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return new asn1js.BitString({ valueHex: bytes, unusedBits: 7 - (highest & 7) });
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, as OpenSSL computes it. */
async function keyIdentifier(spki: pkijs.PublicKeyInfo): Promise<Uint8Array> {
  const bits = spki.subjectPublicKey.valueBlock.valueHexView;
  return new Uint8Array(await crypto.subtle.digest("SHA-1", bits as BufferSource));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, in whole seconds. */
function time(date: Date): pkijs.Time {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date");
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`year out of range: ${year}`);
  const type = year >= 1950 && year < 2050 ? pkijs.TimeType.UTCTime : pkijs.TimeType.GeneralizedTime;
  return new pkijs.Time({ type, value: new Date(Math.floor(date.getTime() / 1000) * 1000) });
}

function checkValidity(v: Validity): void {
  if (!(v.notBefore.getTime() < v.notAfter.getTime())) throw new RangeError("notBefore must be before notAfter");
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

/** A PKI on `keys`: `webCryptoPki` in production, a seeded source in tests. */
export function x509Pki(keys: KeySource): Pki {
  async function signCertificate(
    fields: Validity & {
      issuer: pkijs.RelativeDistinguishedNames;
      subject: pkijs.RelativeDistinguishedNames;
      spki: pkijs.PublicKeyInfo;
      extensions: pkijs.Extension[];
    },
    signer: Uint8Array,
  ): Promise<string> {
    const serial = keys.serialBytes().slice(0, 16);
    // Positive, and a non-zero first byte keeps the DER INTEGER exactly 16 bytes long.
    serial[0] = serial[0]! & 0x7f || 0x01;
    const algorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 });
    const cert = new pkijs.Certificate({
      version: 2, // v3
      serialNumber: new asn1js.Integer({ valueHex: serial }),
      signature: algorithm,
      issuer: fields.issuer,
      notBefore: time(fields.notBefore),
      notAfter: time(fields.notAfter),
      subject: fields.subject,
      subjectPublicKeyInfo: fields.spki,
      extensions: fields.extensions,
    });
    // Signed here rather than with Certificate.sign so that the signature comes from `keys` too.
    cert.tbsView = new Uint8Array(cert.encodeTBS().toBER());
    cert.signatureAlgorithm = algorithm;
    const raw = await keys.sign(signer, cert.tbsView);
    cert.signatureValue = new asn1js.BitString({ valueHex: pkijs.createCMSECDSASignature(raw.slice().buffer) });
    return pem("CERTIFICATE", cert.toSchema().toBER(false));
  }

  async function newKeyPair() {
    const { pkcs8, spki } = await keys.newKeyPair();
    return { pkcs8, spki: pkijs.PublicKeyInfo.fromBER(spki as BufferSource), privateKey: pem("PRIVATE KEY", pkcs8) };
  }

  return {
    async createAuthority(opts) {
      checkValidity(opts);
      const subject = name(opts.commonName);
      const { pkcs8, spki, privateKey } = await newKeyPair();
      const certificate = await signCertificate(
        {
          notBefore: opts.notBefore,
          notAfter: opts.notAfter,
          issuer: subject,
          subject,
          spki,
          extensions: [
            extension(pkijs.id_BasicConstraints, true, new pkijs.BasicConstraints({ cA: true }).toSchema()),
            extension(pkijs.id_KeyUsage, true, keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
            extension(
              pkijs.id_SubjectKeyIdentifier,
              false,
              new asn1js.OctetString({ valueHex: await keyIdentifier(spki) }),
            ),
          ],
        },
        pkcs8,
      );
      return { certificate, privateKey };
    },

    async renewAuthority(ca, validity) {
      checkValidity(validity);
      const cert = parse(ca.certificate);
      if (!isCA(cert)) throw new RangeError("not a CA certificate");
      const certificate = await signCertificate(
        {
          notBefore: validity.notBefore,
          notAfter: validity.notAfter,
          issuer: cert.subject,
          subject: cert.subject,
          spki: cert.subjectPublicKeyInfo,
          extensions: cert.extensions ?? [],
        },
        unpem(ca.privateKey, "PRIVATE KEY"),
      );
      return { certificate, privateKey: ca.privateKey };
    },

    async issue(ca, request) {
      checkValidity(request);
      const subject = name(request.commonName);
      const caCert = parse(ca.certificate);
      const sans = [
        ...request.dnsNames.map((value) => {
          if (!/^[\x21-\x7e]+$/.test(value)) throw new RangeError(`not a DNS name: ${value}`);
          return new pkijs.GeneralName({ type: 2, value });
        }),
        ...(request.ipAddresses ?? []).map(
          (ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipAddressBytes(ip) }) }),
        ),
      ];
      const purposes = {
        server: [OID.serverAuth],
        client: [OID.clientAuth],
        "server-client": [OID.serverAuth, OID.clientAuth],
      }[request.usage];
      if (!purposes) throw new RangeError(`unknown usage ${String(request.usage)}`);
      const { spki, privateKey } = await newKeyPair();
      // The CA's own SKI when it has one (a custom CA may compute it differently), else ours.
      const caKeyId = extensionOf(caCert, pkijs.id_SubjectKeyIdentifier)?.parsedValue as asn1js.OctetString | undefined;
      const authorityKeyId = caKeyId?.valueBlock.valueHexView ?? (await keyIdentifier(caCert.subjectPublicKeyInfo));
      const extensions = [
        extension(pkijs.id_BasicConstraints, true, new pkijs.BasicConstraints({}).toSchema()),
        extension(pkijs.id_KeyUsage, true, keyUsage([KEY_USAGE.digitalSignature])),
        extension(pkijs.id_ExtKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: purposes }).toSchema()),
        ...(sans.length
          ? [extension(pkijs.id_SubjectAltName, false, new pkijs.AltName({ altNames: sans }).toSchema())]
          : []),
        extension(
          pkijs.id_SubjectKeyIdentifier,
          false,
          new asn1js.OctetString({ valueHex: await keyIdentifier(spki) }),
        ),
        extension(
          pkijs.id_AuthorityKeyIdentifier,
          false,
          new pkijs.AuthorityKeyIdentifier({
            keyIdentifier: new asn1js.OctetString({ valueHex: authorityKeyId }),
          }).toSchema(),
        ),
      ];
      const certificate = await signCertificate(
        { notBefore: request.notBefore, notAfter: request.notAfter, issuer: caCert.subject, subject, spki, extensions },
        unpem(ca.privateKey, "PRIVATE KEY"),
      );
      return { certificate, privateKey };
    },

    inspect: certificateInfo,
  };
}

/** Production: Web Crypto's key pairs, serial numbers and (randomised) ECDSA signatures. */
export const webCryptoPki: Pki = x509Pki(webCryptoKeys);
