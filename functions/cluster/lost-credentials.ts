/**
 * @module
 * Credentials a cluster holding data has lost. The internal passwords are set in the database
 * only when Patroni bootstraps it, and every leaf certificate, client and pinned trust store
 * hangs off the CA: a hook that quietly generated new ones would lock the instances out of
 * each other at their next restart, or make every client refuse the server. So when a cluster
 * that has run (observe/cluster.ts `initialized`) is missing them, the hook changes nothing and
 * says what is missing; a person either restores the Secret or asks for new credentials with
 * the annotation postgres.tusk.dev/regenerate-credentials (`internal`, `ca`, or both).
 */

import type { ClusterModel } from "../../shared/cluster/model.ts";
import type { Pki } from "../../shared/crypto/x509.ts";
import { ANNOTATION } from "../../shared/labels.ts";
import { names } from "../../shared/names.ts";
import type { ObservedCluster } from "./observe/cluster.ts";
import { INTERNAL_KEYS } from "./users/internal-secret.ts";

export type RegenerableCredentials = "internal" | "ca";

export interface LostCredentials {
  what: RegenerableCredentials;
  secret: string;
  /** The keys missing, empty or unreadable. */
  keys: string[];
}

const INTERNAL_PASSWORDS = [
  INTERNAL_KEYS.superuserPassword,
  INTERNAL_KEYS.replicationPassword,
  INTERNAL_KEYS.rewindPassword,
  INTERNAL_KEYS.patroniPassword,
];

/** What the annotation allows to be generated again. */
export function regenerationAllowed(observed: ObservedCluster): Set<string> {
  return new Set(
    (observed.annotations[ANNOTATION.regenerateCredentials] ?? "")
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean),
  );
}

export async function lostCredentials(
  model: ClusterModel,
  observed: ObservedCluster,
  pki: Pki,
): Promise<LostCredentials[]> {
  if (!observed.initialized) return [];
  const allowed = regenerationAllowed(observed);
  const lost: LostCredentials[] = [];

  const internal = names.internalSecret(model.name);
  const data = observed.secrets.get(internal)?.data ?? {};
  const missing = INTERNAL_PASSWORDS.filter((key) => !data[key]);
  if (missing.length && !allowed.has("internal")) lost.push({ what: "internal", secret: internal, keys: missing });

  const caName = names.caSecret(model.name);
  const ca = observed.secrets.get(caName)?.data ?? {};
  const caProblems: string[] = [];
  const info = ca["ca.crt"] ? await pki.inspect(ca["ca.crt"]).catch(() => undefined) : undefined;
  if (!info?.isCA) caProblems.push("ca.crt");
  if (!ca["ca.key"]) caProblems.push("ca.key");
  if (caProblems.length && !allowed.has("ca")) lost.push({ what: "ca", secret: caName, keys: caProblems });
  return lost;
}

/** For the status: what is missing, why nothing was changed, and the two ways out. */
export function lostCredentialsMessage(lost: LostCredentials[]): string {
  const items = lost.map((l) => `Secret ${l.secret} lacks ${l.keys.join(", ")}`).join("; ");
  const what = [...new Set(lost.map((l) => l.what))].join(",");
  return `${items}. The cluster already holds data: new ${what === "ca" ? "certificates" : "credentials"} would not match what its database and clients have, so nothing was changed. Restore the Secret's keys, or annotate the cluster ${ANNOTATION.regenerateCredentials}=${what} to generate new ones (then set the new passwords in the database, and give clients the new CA)`;
}
