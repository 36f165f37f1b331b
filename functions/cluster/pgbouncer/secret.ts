/**
 * @module
 * Credentials of the roles the operator adds for pgBouncer and the exporter, each in its own
 * Secret: a password generated once (kept from the observed Secret forever after) and its SCRAM
 * verifier, which the users Job sets on the role, so the plain password never reaches the
 * server. pgBouncer's Secret also holds its `auth_file`, where the auth_user's entry must be the
 * PLAIN password: pgBouncer 1.18 cannot log in with a SCRAM verifier when no client SCRAM
 * exchange is there to reuse (docs/dataplane-notes.md G1).
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { toBase64 } from "../../../shared/crypto/bytes.ts";
import { generatePassword } from "../../../shared/crypto/password.ts";
import { parseScramVerifier, scramSha256Verifier, verifierMatches } from "../../../shared/crypto/scram.ts";
import { clusterLabels } from "../../../shared/labels.ts";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import { names } from "../../../shared/names.ts";
import { ROLES } from "../../../shared/pod-layout.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { observedSecretData } from "../observe/observed.ts";
import type { ClusterDeps } from "../users/secrets.ts";

/** Alphanumeric: these passwords end up in URLs and ini files, where other characters need quoting. */
const PASSWORD_LENGTH = 32;
const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;

export const ROLE_SECRET_KEYS = { username: "username", password: "password", verifier: "verifier" } as const;

/** The pgBouncer Secret's auth_file key. */
export const AUTH_FILE_KEY = "users.txt";

export interface RoleCredentials {
  role: string;
  password: string;
  verifier: string;
}

function encodeData(data: Record<string, string>): Record<string, string> {
  const encoder = new TextEncoder();
  return Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((k) => [k, toBase64(encoder.encode(data[k]!))]),
  );
}

/** The observed password, or a new one; its observed verifier while it still matches. */
export async function roleCredentials(
  role: string,
  observed: Record<string, string> | undefined,
  deps: ClusterDeps,
): Promise<RoleCredentials> {
  const password =
    observed?.[ROLE_SECRET_KEYS.password] && observed[ROLE_SECRET_KEYS.password]!.length > 0
      ? observed[ROLE_SECRET_KEYS.password]!
      : generatePassword(deps.randomBytes, "AlphaNumeric", PASSWORD_LENGTH);
  const kept = observed?.[ROLE_SECRET_KEYS.verifier];
  const parsed = kept ? parseScramVerifier(kept) : undefined;
  const verifier =
    kept && parsed && parsed.iterations <= 100_000 && (await verifierMatches(kept, password))
      ? kept
      : await scramSha256Verifier(password, deps.randomBytes(SALT_BYTES), SCRAM_ITERATIONS);
  return { role, password, verifier };
}

export function roleSecret(
  model: ClusterModel,
  name: string,
  component: string,
  credentials: RoleCredentials,
  extra: Record<string, string> = {},
): V1Secret {
  return withKind("Secret", {
    metadata: childMeta(model, name, clusterLabels(model.name, component)),
    type: "Opaque",
    data: encodeData({
      [ROLE_SECRET_KEYS.username]: credentials.role,
      [ROLE_SECRET_KEYS.password]: credentials.password,
      [ROLE_SECRET_KEYS.verifier]: credentials.verifier,
      ...extra,
    }),
  });
}

/** pgBouncer's auth_file line format: both fields double-quoted, a `"` doubled. */
export function authFile(entries: { user: string; password: string }[]): string {
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  return entries.map((e) => `${q(e.user)} ${q(e.password)}\n`).join("");
}

/** `<cluster>-pgbouncer`: the auth_user's credentials and pgBouncer's auth_file. */
export async function pgbouncerSecret(
  model: ClusterModel,
  children: ObjectMap,
  deps: ClusterDeps,
): Promise<{ secret: V1Secret; credentials: RoleCredentials }> {
  const name = names.pgbouncer(model.name);
  const credentials = await roleCredentials(ROLES.pgbouncer, observedSecretData(children, name), deps);
  const secret = roleSecret(model, name, "pgbouncer", credentials, {
    [AUTH_FILE_KEY]: authFile([{ user: credentials.role, password: credentials.password }]),
  });
  return { secret, credentials };
}
