/**
 * @module
 * The small subset of ASN.1 DER that X.509 certificates need: an encoder that builds
 * tag-length-value bytes directly, and a reader that walks them. Single-byte tags and definite
 * lengths only, which is all DER certificates use for the fields Tusk writes and reads.
 */

import { concatBytes } from "./bytes.ts";

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(tag), encodeLength(content.length), content);
}

export const sequence = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, concatBytes(...items));
export const set = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SET, concatBytes(...items));
export const boolean = (value: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0));
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, bytes);
export const utf8String = (s: string): Uint8Array => tlv(TAG.UTF8_STRING, new TextEncoder().encode(s));
/** `[n] EXPLICIT`: a constructed context tag wrapping a whole element. */
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner);
/** `[n] IMPLICIT` for a primitive type: the context tag replaces the type's own. */
export const implicit = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

/** An unsigned big-endian integer, made minimal and kept positive as DER requires. */
export function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  if (trimmed.length === 0) return tlv(TAG.INTEGER, Uint8Array.of(0));
  return tlv(TAG.INTEGER, trimmed[0]! & 0x80 ? concatBytes(Uint8Array.of(0), trimmed) : trimmed);
}

export function smallInteger(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`integer out of range: ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return unsignedInteger(Uint8Array.from(bytes));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isInteger(a) || a < 0)) throw new Error(`bad OID ${dotted}`);
  const out: number[] = [];
  const push = (v: number): void => {
    const chunk = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f));
    out.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** A BIT STRING holding whole bytes (public keys, signatures). */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, concatBytes(Uint8Array.of(0), bytes));

/** A named-bit BIT STRING (KeyUsage): bit 0 is the most significant; DER drops trailing zero bits. */
export function namedBits(bits: number[]): Uint8Array {
  if (bits.length === 0) return tlv(TAG.BIT_STRING, Uint8Array.of(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return tlv(TAG.BIT_STRING, concatBytes(Uint8Array.of(7 - (highest & 7)), bytes));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in whole seconds, Z. */
export function time(date: Date): Uint8Array {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date");
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`year out of range: ${year}`);
  return year >= 1950 && year < 2050
    ? tlv(TAG.UTC_TIME, ascii(`${digits.slice(2)}Z`))
    : tlv(TAG.GENERALIZED_TIME, ascii(`${digits}Z`));
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface Element {
  tag: number;
  /** The whole TLV, for re-hashing or copying verbatim (TBSCertificate, Names). */
  raw: Uint8Array;
  content: Uint8Array;
}

export class DerError extends Error {}

/** Reads one element at `offset`; `end` is where the next one starts. */
export function read(bytes: Uint8Array, offset = 0): Element & { end: number } {
  if (offset + 2 > bytes.length) throw new DerError("truncated DER");
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not supported");
  let length = bytes[offset + 1]!;
  let at = offset + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4) throw new DerError("unsupported length encoding");
    length = 0;
    for (let i = 0; i < n; i++) {
      if (at >= bytes.length) throw new DerError("truncated DER");
      length = length * 256 + bytes[at++]!;
    }
  }
  const end = at + length;
  if (end > bytes.length) throw new DerError("truncated DER");
  return { tag, raw: bytes.subarray(offset, end), content: bytes.subarray(at, end), end };
}

/** Reads `bytes` as exactly one element. */
export function readOne(bytes: Uint8Array): Element {
  const e = read(bytes);
  if (e.end !== bytes.length) throw new DerError("trailing bytes after DER element");
  return e;
}

/** The elements inside a constructed element's content. */
export function children(e: Element): Element[] {
  const out: Element[] = [];
  for (let at = 0; at < e.content.length; ) {
    const c = read(e.content, at);
    out.push(c);
    at = c.end;
  }
  return out;
}

export function expectTag(e: Element | undefined, tag: number, what: string): Element {
  if (!e || e.tag !== tag) throw new DerError(`expected ${what}`);
  return e;
}

export function readOid(e: Element): string {
  expectTag(e, TAG.OID, "OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let v = 0;
  for (const b of e.content) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

export function readString(e: Element): string {
  switch (e.tag) {
    case TAG.UTF8_STRING:
      return new TextDecoder("utf-8", { fatal: true }).decode(e.content);
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING: // treated as Latin-1, as most toolkits do
      return String.fromCharCode(...e.content);
    case TAG.BMP_STRING: {
      let s = "";
      for (let i = 0; i + 1 < e.content.length; i += 2)
        s += String.fromCharCode((e.content[i]! << 8) | e.content[i + 1]!);
      return s;
    }
    default:
      throw new DerError(`unsupported string tag 0x${e.tag.toString(16)}`);
  }
}

export function readTime(e: Element): Date {
  const s = String.fromCharCode(...e.content);
  const m =
    e.tag === TAG.UTC_TIME
      ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)
      : e.tag === TAG.GENERALIZED_TIME
        ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)
        : null;
  if (!m) throw new DerError(`unsupported time ${s}`);
  let year = Number(m[1]);
  if (e.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** The bytes of a BIT STRING with no unused bits (keys, signatures). */
export function readBitStringBytes(e: Element): Uint8Array {
  expectTag(e, TAG.BIT_STRING, "BIT STRING");
  if (e.content[0] !== 0) throw new DerError("BIT STRING with unused bits");
  return e.content.subarray(1);
}

export function readBoolean(e: Element): boolean {
  expectTag(e, TAG.BOOLEAN, "BOOLEAN");
  return e.content[0] !== 0;
}

/** An INTEGER's magnitude as unsigned big-endian bytes without leading zeros. */
export function readUnsignedInteger(e: Element): Uint8Array {
  expectTag(e, TAG.INTEGER, "INTEGER");
  let i = 0;
  while (i < e.content.length - 1 && e.content[i] === 0) i++;
  return e.content.subarray(i);
}
