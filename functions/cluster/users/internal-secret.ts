/**
 * @module
 * The internal credentials: superuser, replication, rewind and the Patroni REST API user.
 * Generated once, when absent from the observed children, and read back from them forever
 * after (a hook that regenerated would change passwords on every sync).
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import { generatePassword } from "../../../shared/crypto/password.ts";
import { names } from "../../../shared/names.ts";
import { ROLES } from "../../../shared/pod-layout.ts";
import type { ClusterDeps } from "../deps.ts";
import { secret } from "../objects/secret.ts";
import type { ObservedCluster } from "../observe/cluster.ts";

export const INTERNAL_KEYS = {
  superuserUsername: "superuser-username",
  superuserPassword: "superuser-password",
  replicationUsername: "replication-username",
  replicationPassword: "replication-password",
  rewindUsername: "rewind-username",
  rewindPassword: "rewind-password",
  patroniUsername: "patroni-username",
  patroniPassword: "patroni-password",
} as const;

/** Who may call Patroni's unsafe REST endpoints (PUT /config, POST /switchover). */
const PATRONI_API_USER = "tusk";

const INTERNAL_PASSWORD_LENGTH = 32;

export interface InternalCredentials {
  superuser: string;
  replication: string;
  rewind: string;
  patroni: string;
}

export function internalSecret(
  model: ClusterModel,
  observed: ObservedCluster,
  deps: ClusterDeps,
): { secret: V1Secret; credentials: InternalCredentials } {
  const stored = observed.secrets.get(names.internalSecret(model.name))?.data ?? {};
  const keep = (key: string) =>
    stored[key] && stored[key].length > 0
      ? stored[key]
      : generatePassword(deps.randomBytes, "AlphaNumeric", INTERNAL_PASSWORD_LENGTH);
  const credentials = {
    superuser: keep(INTERNAL_KEYS.superuserPassword),
    replication: keep(INTERNAL_KEYS.replicationPassword),
    rewind: keep(INTERNAL_KEYS.rewindPassword),
    patroni: keep(INTERNAL_KEYS.patroniPassword),
  };
  const data = {
    [INTERNAL_KEYS.superuserUsername]: ROLES.superuser,
    [INTERNAL_KEYS.superuserPassword]: credentials.superuser,
    [INTERNAL_KEYS.replicationUsername]: ROLES.replication,
    [INTERNAL_KEYS.replicationPassword]: credentials.replication,
    [INTERNAL_KEYS.rewindUsername]: ROLES.rewind,
    [INTERNAL_KEYS.rewindPassword]: credentials.rewind,
    [INTERNAL_KEYS.patroniUsername]: PATRONI_API_USER,
    [INTERNAL_KEYS.patroniPassword]: credentials.patroni,
  };
  return { secret: secret(model, names.internalSecret(model.name), "internal", data), credentials };
}
