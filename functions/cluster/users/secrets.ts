/**
 * @module
 * The cluster's Secrets: internal credentials (superuser, replication, rewind, Patroni REST
 * API), the certificate authority with the server and replication certificates, and one Secret
 * per user. Everything random is generated once, when absent from the observed children, and
 * read back from them forever after (a hook that regenerated would change passwords on every
 * sync). Payloads go in `data` (base64), never `stringData` (docs/metacontroller-contract.md §2.6).
 */

import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel, UserModel } from "../../../shared/cluster/model.ts";
import { toBase64 } from "../../../shared/crypto/bytes.ts";
import { generatePassword } from "../../../shared/crypto/password.ts";
import { parseScramVerifier, scramSha256Verifier, verifierMatches } from "../../../shared/crypto/scram.ts";
import {
  type CertAndKey,
  certificateInfo,
  createCertificateAuthority,
  issueCertificate,
  renewCertificateAuthority,
} from "../../../shared/crypto/x509.ts";
import { clusterLabels, LABEL, labelValue } from "../../../shared/labels.ts";
import type { ObjectMap } from "../../../shared/metacontroller.ts";
import { boundedName, names } from "../../../shared/names.ts";
import { clientCommonName } from "../../../shared/pgbackrest/layout.ts";
import { ROLES } from "../../../shared/pod-layout.ts";
import { withKind } from "../objects/kinds.ts";
import { childMeta } from "../objects/metadata.ts";
import { observedSecretData } from "../observe/observed.ts";
import { renewalDue, replacementAnnotations } from "../tls/renewal.ts";

/** Randomness and time, injected; used only to generate what is absent. */
export interface ClusterDeps {
  randomBytes(n: number): Uint8Array;
  now(): Date;
}

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
export const PATRONI_API_USER = "tusk";

const INTERNAL_PASSWORD_LENGTH = 32;
const USER_PASSWORD_LENGTH = 24;
const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;
const CA_YEARS = 20;
const LEAF_YEARS = 10;

function encodeData(data: Record<string, string>): Record<string, string> {
  const encoder = new TextEncoder();
  const out: Record<string, string> = {};
  for (const key of Object.keys(data).sort()) out[key] = toBase64(encoder.encode(data[key]!));
  return out;
}

function secret(
  model: ClusterModel,
  name: string,
  component: string,
  data: Record<string, string>,
  options: { type?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Secret {
  return withKind("Secret", {
    metadata: childMeta(
      model,
      name,
      { ...clusterLabels(model.name, component), ...options.labels },
      options.annotations ? { annotations: options.annotations } : {},
    ),
    type: options.type ?? "Opaque",
    data: encodeData(data),
  });
}

export interface InternalCredentials {
  superuser: string;
  replication: string;
  rewind: string;
  patroni: string;
}

export function internalSecret(
  model: ClusterModel,
  children: ObjectMap,
  deps: ClusterDeps,
): { secret: V1Secret; credentials: InternalCredentials } {
  const observed = observedSecretData(children, names.internalSecret(model.name)) ?? {};
  const keep = (key: string) =>
    observed[key] && observed[key].length > 0
      ? observed[key]
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

/** `<name>`, `<name>.<ns>`, `<name>.<ns>.svc`, `<name>.<ns>.svc.cluster.local`. */
function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/** Every name a client or peer may use to reach Postgres: the Services and each pod. */
export function serverDnsNames(model: ClusterModel): string[] {
  const ns = model.namespace;
  const pods = names.podsService(model.name);
  return [
    ...[
      names.primaryService(model.name),
      names.replicaService(model.name),
      pods,
      names.patroniScope(model.name),
    ].flatMap((s) => serviceDnsNames(s, ns)),
    `*.${pods}`,
    `*.${pods}.${ns}`,
    `*.${pods}.${ns}.svc`,
    `*.${pods}.${ns}.svc.cluster.local`,
    "localhost",
  ];
}

function addYears(date: Date, years: number): Date {
  const out = new Date(date.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}

/** A little before now, so a node with a slightly slow clock accepts a fresh certificate. */
function notBefore(deps: ClusterDeps): Date {
  return new Date(deps.now().getTime() - 60 * 60 * 1000);
}

const sameSet = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

async function certificateAuthority(model: ClusterModel, children: ObjectMap, deps: ClusterDeps): Promise<CertAndKey> {
  const observed = observedSecretData(children, names.caSecret(model.name));
  if (observed?.["ca.crt"] && observed["ca.key"]) {
    const info = await certificateInfo(observed["ca.crt"]).catch(() => undefined);
    const kept = { certificate: observed["ca.crt"], privateKey: observed["ca.key"] };
    if (info?.isCA && !renewalDue(info.notAfter, deps.now(), "ca")) return kept;
    // Same key pair: what the old CA certificate signed stays trusted (tls/renewal.ts).
    if (info?.isCA) {
      const from = notBefore(deps);
      return renewCertificateAuthority(kept, { notBefore: from, notAfter: addYears(from, CA_YEARS) });
    }
  }
  const from = notBefore(deps);
  return createCertificateAuthority({
    // X.509 limits a commonName to 64 characters; long names shorten with a stable hash.
    commonName: boundedName([model.namespace, model.name, "ca"], 64),
    notBefore: from,
    notAfter: addYears(from, CA_YEARS),
  });
}

/**
 * Keeps an observed leaf while it is from the current CA, names what it must and is not due for
 * renewal (tls/renewal.ts); else issues one.
 */
async function leafCertificate(
  ca: CertAndKey,
  observed: Record<string, string> | undefined,
  want: { commonName: string; dnsNames: string[]; usage: "server" | "client" },
  deps: ClusterDeps,
): Promise<CertAndKey> {
  if (observed?.["tls.crt"] && observed["tls.key"] && observed["ca.crt"] === ca.certificate) {
    const info = await certificateInfo(observed["tls.crt"]).catch(() => undefined);
    if (
      info &&
      info.subjectCommonName === want.commonName &&
      sameSet(info.dnsNames, want.dnsNames) &&
      !renewalDue(info.notAfter, deps.now(), "leaf")
    )
      return { certificate: observed["tls.crt"], privateKey: observed["tls.key"] };
  }
  const caInfo = await certificateInfo(ca.certificate);
  const from = notBefore(deps);
  const until = addYears(from, LEAF_YEARS);
  return issueCertificate(ca, {
    ...want,
    notBefore: from,
    notAfter: new Date(Math.min(until.getTime(), caInfo.notAfter.getTime())),
  });
}

/**
 * The CA Secret (always: later TLS work such as pgBackRest's server uses it), and the server
 * and replication certificates unless the user brings their own (customTLSSecret,
 * customReplicationTLSSecret), which the pods then project instead.
 */
export async function tlsSecrets(model: ClusterModel, children: ObjectMap, deps: ClusterDeps): Promise<V1Secret[]> {
  const ca = await certificateAuthority(model, children, deps);
  const out: V1Secret[] = [
    secret(model, names.caSecret(model.name), "pki", { "ca.crt": ca.certificate, "ca.key": ca.privateKey }),
  ];
  if (!model.spec.customTLSSecret) {
    const name = names.serverCertSecret(model.name);
    const observed = observedSecretData(children, name);
    const cert = await leafCertificate(
      ca,
      observed,
      { commonName: names.primaryService(model.name), dnsNames: serverDnsNames(model), usage: "server" },
      deps,
    );
    // A replaced server certificate makes Postgres reload (tls/reload-job.ts).
    out.push(
      tlsSecret(model, name, ca, cert, replacementAnnotations(children, name, observed?.["tls.crt"], cert.certificate)),
    );
  }
  if (model.spec.backups?.pgbackrest) {
    // pgBackRest's TLS client (backup Jobs, the repo host, archive-push to the repo host):
    // its CN is what every pgBackRest TLS server authorises (tls-server-auth).
    const name = names.pgbackrestClientSecret(model.name);
    const cert = await leafCertificate(
      ca,
      observedSecretData(children, name),
      { commonName: clientCommonName(model.name), dnsNames: [], usage: "client" },
      deps,
    );
    out.push(tlsSecret(model, name, ca, cert));
  }
  const bouncer = model.spec.proxy?.pgBouncer;
  if (bouncer && !bouncer.customTLSSecret) {
    // What pgBouncer shows its clients: its Service's names (the server certificate's are the instances').
    const name = names.pgbouncerCertSecret(model.name);
    const observed = observedSecretData(children, name);
    const cert = await leafCertificate(
      ca,
      observed,
      {
        commonName: names.pgbouncer(model.name),
        dnsNames: serviceDnsNames(names.pgbouncer(model.name), model.namespace),
        usage: "server",
      },
      deps,
    );
    // A replaced certificate restarts pgBouncer (pgbouncer/children.ts).
    out.push(
      tlsSecret(model, name, ca, cert, replacementAnnotations(children, name, observed?.["tls.crt"], cert.certificate)),
    );
  }
  if (!model.spec.customReplicationTLSSecret) {
    const name = names.replicationCertSecret(model.name);
    const cert = await leafCertificate(
      ca,
      observedSecretData(children, name),
      { commonName: ROLES.replication, dnsNames: [], usage: "client" },
      deps,
    );
    out.push(tlsSecret(model, name, ca, cert));
  }
  return out;
}

function tlsSecret(
  model: ClusterModel,
  name: string,
  ca: CertAndKey,
  cert: CertAndKey,
  annotations?: Record<string, string>,
): V1Secret {
  return secret(
    model,
    name,
    "pki",
    { "tls.crt": cert.certificate, "tls.key": cert.privateKey, "ca.crt": ca.certificate },
    { type: "kubernetes.io/tls", ...(annotations ? { annotations } : {}) },
  );
}

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

/** An observed verifier is kept while it matches; an absurd iteration count is not worth checking. */
async function keepVerifier(verifier: string, password: string): Promise<boolean> {
  const parsed = parseScramVerifier(verifier);
  if (!parsed || parsed.iterations > 100_000) return false;
  return verifierMatches(verifier, password);
}

/**
 * One Secret per user with its password and connection details. The `postgres` user gets the
 * superuser's password. The SCRAM verifier is kept while it matches the password, so the users
 * Job (which sets roles' passwords from verifiers) is not re-run for nothing.
 */
export async function userSecrets(
  model: ClusterModel,
  children: ObjectMap,
  internal: InternalCredentials,
  deps: ClusterDeps,
): Promise<{ secrets: V1Secret[]; users: UserCredentials[] }> {
  const secrets: V1Secret[] = [];
  const users: UserCredentials[] = [];
  for (const user of model.users) {
    const observed = observedSecretData(children, user.secretName) ?? {};
    const password = user.superuser
      ? internal.superuser
      : observed.password && observed.password.length > 0
        ? observed.password
        : generatePassword(deps.randomBytes, user.passwordType, USER_PASSWORD_LENGTH);
    const verifier =
      observed.verifier && (await keepVerifier(observed.verifier, password))
        ? observed.verifier
        : await scramSha256Verifier(password, deps.randomBytes(SALT_BYTES), SCRAM_ITERATIONS);
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
