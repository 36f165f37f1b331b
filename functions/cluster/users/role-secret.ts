/**
 * @module
 * Credentials of the login roles the operator adds for itself (pgBouncer's auth_user, the
 * exporter), each in its own Secret: a password generated once (kept from the observed Secret
 * forever after) and its SCRAM verifier, which the users Job sets on the role, so the plain
 * password never reaches the server.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { generatePassword } from "../../../shared/crypto/password.ts";
import type { ClusterDeps } from "../deps.ts";
import { secret } from "../objects/secret.ts";
import { scramVerifierFor } from "./verifier.ts";

/** Alphanumeric: these passwords end up in URLs and ini files, where other characters need quoting. */
const PASSWORD_LENGTH = 32;

export const ROLE_SECRET_KEYS = { username: "username", password: "password", verifier: "verifier" } as const;

export interface RoleCredentials {
  role: string;
  password: string;
  verifier: string;
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
  const verifier = await scramVerifierFor(password, observed?.[ROLE_SECRET_KEYS.verifier], deps);
  return { role, password, verifier };
}

export function roleSecret(
  model: ClusterModel,
  name: string,
  component: string,
  credentials: RoleCredentials,
  extra: Record<string, string> = {},
): V1Secret {
  return secret(model, name, component, {
    [ROLE_SECRET_KEYS.username]: credentials.role,
    [ROLE_SECRET_KEYS.password]: credentials.password,
    [ROLE_SECRET_KEYS.verifier]: credentials.verifier,
    ...extra,
  });
}
