/**
 * @module
 * One Secret per user with its password and connection details, and the Secret holding the
 * users Job's SQL. Passwords are generated once, when absent from the observed children, and
 * read back from them forever after.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel, UserModel } from "../../../shared/cluster/model.ts";
import { generatePassword } from "../../../shared/crypto/password.ts";
import { LABEL, labelValue } from "../../../shared/labels.ts";
import { names } from "../../../shared/names.ts";
import type { ClusterDeps } from "../deps.ts";
import { secret } from "../objects/secret.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import type { InternalCredentials } from "./internal-secret.ts";
import { scramVerifierFor } from "./verifier.ts";

const USER_PASSWORD_LENGTH = 24;

export interface UserCredentials {
  user: UserModel;
  password: string;
  verifier: string;
}

function connectionData(model: ClusterModel, user: UserModel, password: string): Record<string, string> {
  const host = `${names.primaryService(model.name)}.${model.namespace}.svc`;
  const port = String(model.port);
  const db = user.databases[0];
  const enc = encodeURIComponent;
  const path = db !== undefined ? `/${enc(db)}` : "";
  return {
    user: user.name,
    password,
    host,
    port,
    ...(db !== undefined ? { dbname: db } : {}),
    uri: `postgresql://${enc(user.name)}:${enc(password)}@${host}:${port}${path}`,
    "jdbc-uri": `jdbc:postgresql://${host}:${port}${path}?password=${enc(password)}&user=${enc(user.name)}`,
    ...pgbouncerConnectionData(model, user, password, path),
  };
}

/**
 * Through pgBouncer, when the cluster has one; not for the superuser, whom pgBouncer's
 * auth_query never authenticates. JDBC must not use server-side prepared statements with
 * transaction pooling, hence prepareThreshold=0 (as PGO does).
 */
function pgbouncerConnectionData(
  model: ClusterModel,
  user: UserModel,
  password: string,
  path: string,
): Record<string, string> {
  const bouncer = model.spec.proxy?.pgBouncer;
  if (!bouncer || user.superuser) return {};
  const host = `${names.pgbouncer(model.name)}.${model.namespace}.svc`;
  const port = String(bouncer.port);
  const enc = encodeURIComponent;
  return {
    "pgbouncer-host": host,
    "pgbouncer-port": port,
    "pgbouncer-uri": `postgresql://${enc(user.name)}:${enc(password)}@${host}:${port}${path}`,
    "pgbouncer-jdbc-uri": `jdbc:postgresql://${host}:${port}${path}?password=${enc(password)}&prepareThreshold=0&user=${enc(user.name)}`,
  };
}

/**
 * One Secret per user with its password and connection details. The `postgres` user gets the
 * superuser's password. The SCRAM verifier is kept while it matches the password, so the users
 * Job (which sets roles' passwords from verifiers) is not re-run for nothing.
 */
export async function userSecrets(
  model: ClusterModel,
  observed: ObservedCluster,
  internal: InternalCredentials,
  deps: ClusterDeps,
): Promise<{ secrets: V1Secret[]; users: UserCredentials[] }> {
  const secrets: V1Secret[] = [];
  const users: UserCredentials[] = [];
  for (const user of model.users) {
    const stored = observed.secrets.get(user.secretName)?.data ?? {};
    const password = user.superuser
      ? internal.superuser
      : stored.password && stored.password.length > 0
        ? stored.password
        : generatePassword(deps.randomBytes, user.passwordType, USER_PASSWORD_LENGTH);
    const verifier = await scramVerifierFor(password, stored.verifier, deps);
    users.push({ user, password, verifier });
    secrets.push(
      secret(
        model,
        user.secretName,
        "pguser",
        { ...connectionData(model, user, password), verifier },
        { labels: { [LABEL.user]: labelValue(user.name) } },
      ),
    );
  }
  return { secrets, users };
}

/** The Secret holding the users Job's SQL (it carries verifiers, so not a ConfigMap). */
export function usersSqlSecret(model: ClusterModel, sql: string): V1Secret {
  return secret(model, names.usersSqlSecret(model.name), "users", { "users.sql": sql });
}
