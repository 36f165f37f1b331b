/**
 * @module
 * What a rule reports: a field path in Kubernetes notation, the `StatusCause` reason and a
 * message that says what is wrong and what is allowed.
 */

export type CauseReason =
  | "FieldValueInvalid"
  | "FieldValueRequired"
  | "FieldValueNotSupported"
  | "FieldValueDuplicate"
  | "FieldValueForbidden";

export interface Problem {
  field: string;
  reason: CauseReason;
  message: string;
}

export const invalid = (field: string, message: string): Problem => ({ field, reason: "FieldValueInvalid", message });
export const required = (field: string, message: string): Problem => ({ field, reason: "FieldValueRequired", message });
export const notSupported = (field: string, message: string): Problem => ({
  field,
  reason: "FieldValueNotSupported",
  message,
});
export const duplicate = (field: string, message: string): Problem => ({
  field,
  reason: "FieldValueDuplicate",
  message,
});
export const forbidden = (field: string, message: string): Problem => ({
  field,
  reason: "FieldValueForbidden",
  message,
});

/** `spec.config.parameters[ssl_ciphers]`: map keys in brackets, as Kubernetes' field.Path.Key. */
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

/** A short, printable rendering of a user value for messages (never the whole of a long one). */
export function show(value: unknown, max = 60): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** Control characters (C0 and DEL): newlines in a value would start a new line in a config file. */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
