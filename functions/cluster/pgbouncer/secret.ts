/**
 * @module
 * `<cluster>-pgbouncer`: the auth_user's credentials (users/role-secret.ts) and pgBouncer's
 * `auth_file`, where the auth_user's entry must be the PLAIN password: pgBouncer 1.18 cannot log
 * in with a SCRAM verifier when no client SCRAM exchange is there to reuse
 * (docs/dataplane-notes.md G1).
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { names } from "../../../shared/names.ts";
import { ROLES } from "../../../shared/pod-layout.ts";
import type { ClusterDeps } from "../deps.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { type RoleCredentials, roleCredentials, roleSecret } from "../users/role-secret.ts";

/** The pgBouncer Secret's auth_file key. */
export const AUTH_FILE_KEY = "users.txt";

/** pgBouncer's auth_file line format: both fields double-quoted, a `"` doubled. */
function authFile(entries: { user: string; password: string }[]): string {
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  return entries.map((e) => `${q(e.user)} ${q(e.password)}\n`).join("");
}

/** `<cluster>-pgbouncer`: the auth_user's credentials and pgBouncer's auth_file. */
export async function pgbouncerSecret(
  model: ClusterModel,
  observed: ObservedCluster,
  deps: ClusterDeps,
): Promise<{ secret: V1Secret; credentials: RoleCredentials }> {
  const name = names.pgbouncer(model.name);
  const credentials = await roleCredentials(ROLES.pgbouncer, observed.secrets.get(name)?.data, deps);
  const secret = roleSecret(model, name, "pgbouncer", credentials, {
    [AUTH_FILE_KEY]: authFile([{ user: credentials.role, password: credentials.password }]),
  });
  return { secret, credentials };
}
