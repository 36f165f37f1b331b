/**
 * @module
 * Kubernetes quantities (`10Gi`, `1.5G`, `500m`, `1e3`) parsed exactly, as fractions of
 * BigInts, so `10Gi` equals `10240Mi` and no float rounding decides whether a volume shrank.
 * Grammar from k8s.io/apimachinery `resource.Quantity`:
 *   <quantity> ::= <sign>? <number> <suffix>
 *   <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 *   <suffix>   ::= Ki|Mi|Gi|Ti|Pi|Ei | m|""|k|M|G|T|P|E | (e|E)<sign>?<digits>
 */

/** An exact rational value: numerator / denominator, denominator > 0. */
export interface Quantity {
  num: bigint;
  den: bigint;
}

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

const DECIMAL: Record<string, number> = { m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** A bound on the exponent so a hostile `1e999999999` cannot make us build a huge BigInt. */
const MAX_EXPONENT = 1000;

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;

/** Parses a quantity given as a string or a JSON number; undefined when it is not one. */
export function parseQuantity(value: unknown): Quantity | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    // JSON numbers arrive as their shortest decimal text, which is what the user wrote.
    return parseQuantity(String(value).replace(/e\+?/, "e"));
  }
  if (typeof value !== "string" || value.length === 0 || value.length > 256) return undefined;
  const m = NUMBER.exec(value);
  if (!m) return undefined;
  const [, sign = "", whole = "", fraction, suffix = ""] = m;
  if (whole === "" && (fraction === undefined || fraction === "")) return undefined;
  let num = BigInt(`${whole}${fraction ?? ""}` || "0");
  let den = 10n ** BigInt(fraction?.length ?? 0);
  if (sign === "-") num = -num;

  const binary = BINARY[suffix];
  const decimal = DECIMAL[suffix];
  if (binary !== undefined) {
    num *= binary;
  } else if (decimal !== undefined) {
    if (decimal >= 0) num *= 10n ** BigInt(decimal);
    else den *= 10n ** BigInt(-decimal);
  } else {
    // `1E` is exa (handled above); `1E3`/`1e-3` are exponents.
    const exp = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!exp?.[1]) return undefined;
    const e = Number(exp[1]);
    if (!Number.isSafeInteger(e) || Math.abs(e) > MAX_EXPONENT) return undefined;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  }
  return { num, den };
}

/** -1, 0 or 1 as a is smaller than, equal to or larger than b. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function isPositive(q: Quantity): boolean {
  return q.num > 0n;
}
