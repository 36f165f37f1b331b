/**
 * @module
 * Password generation from an injected random source, so the core stays pure and tests can
 * seed it. Characters are drawn by rejection sampling: a byte is used only when it falls below
 * the largest multiple of the alphabet size, so every character is equally likely.
 */

/** `users[].password.type` in PGO's API. */
export type PasswordType = "ASCII" | "AlphaNumeric";

/**
 * Characters left out of the "ASCII" alphabet. A generated password ends up in connection URIs
 * (`postgresql://user:pass@host/db?x`), libpq conninfo strings (`password=...`), shell commands,
 * YAML and `.pgpass` lines, so anything with a meaning in one of those is excluded:
 * - space, `'`, `"`, `\`, `` ` ``, `$`: quoting, escaping and expansion in shells and conninfo;
 * - `:`, `@`, `/`, `?`, `#`, `[`, `]`, `%`: URI delimiters and percent-encoding;
 * - `&`, `;`, `=`: query-string, shell and conninfo separators;
 * - `:` and `\` are also the `.pgpass` field separator and escape.
 */
export const EXCLUDED_ASCII = " '\"\\`$:@/?#[]%&;=";

function printableAscii(): string {
  let s = "";
  for (let c = 0x21; c <= 0x7e; c++) {
    const ch = String.fromCharCode(c);
    if (!EXCLUDED_ASCII.includes(ch)) s += ch;
  }
  return s;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The characters each password type draws from. */
export const PASSWORD_ALPHABETS: Readonly<Record<PasswordType, string>> = {
  ASCII: printableAscii(),
  AlphaNumeric: ALPHANUMERIC,
};

/**
 * A password of `length` characters drawn uniformly from the alphabet of `type`.
 * `randomBytes(n)` must return `n` bytes from a CSPRNG in production
 * (e.g. `(n) => crypto.getRandomValues(new Uint8Array(n))`).
 */
export function generatePassword(
  randomBytes: (n: number) => Uint8Array,
  type: PasswordType = "ASCII",
  length = 24,
): string {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`password length must be a positive integer`);
  const alphabet = PASSWORD_ALPHABETS[type];
  if (alphabet === undefined) throw new RangeError(`unknown password type ${String(type)}`);
  const n = alphabet.length;
  const limit = 256 - (256 % n);
  let out = "";
  while (out.length < length) {
    // Ask for a little more than needed: about 1 in 10 bytes is rejected for the ASCII alphabet.
    const bytes = randomBytes(length - out.length + 8);
    for (const b of bytes) {
      if (b >= limit) continue;
      out += alphabet[b % n];
      if (out.length === length) break;
    }
  }
  return out;
}
