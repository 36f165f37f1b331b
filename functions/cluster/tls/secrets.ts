/**
 * @module
 * The cluster's PKI: the certificate authority and the server, replication, pgBackRest client
 * and pgBouncer certificates it signs. Generated when absent, kept while valid, renewed when due
 * (tls/renewal.ts); a user's own certificates (customTLSSecret, customReplicationTLSSecret) are
 * projected by the pods instead.
 */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterModel } from "../../../shared/cluster/model.ts";
import type { CertAndKey, Pki } from "../../../shared/crypto/x509.ts";
import { boundedName, names } from "../../../shared/names.ts";
import { clientCommonName } from "../../../shared/pgbackrest/layout.ts";
import { ROLES } from "../../../shared/pod-layout.ts";
import type { ClusterDeps } from "../deps.ts";
import { secret } from "../objects/secret.ts";
import type { ObservedCluster } from "../observe/cluster.ts";
import { renewalDue, replacementAnnotations } from "./renewal.ts";

const CA_YEARS = 20;
const LEAF_YEARS = 10;

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

/**
 * The first certificate of a PEM text, without its line breaks: an edit that changes only the
 * layout (CRLF line ends, another line length) or appends a certificate to the bundle leaves
 * the CA the same, and must not reissue every leaf.
 */
function firstCertificate(pem: string | undefined): string | undefined {
  const body = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/.exec(pem ?? "")?.[1];
  return body?.replace(/\s+/g, "");
}

const sameSet = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

async function certificateAuthority(
  model: ClusterModel,
  observed: ObservedCluster,
  deps: ClusterDeps,
  pki: Pki,
): Promise<CertAndKey> {
  const stored = observed.secrets.get(names.caSecret(model.name))?.data;
  if (stored?.["ca.crt"] && stored["ca.key"]) {
    const info = await pki.inspect(stored["ca.crt"]).catch(() => undefined);
    const kept = { certificate: stored["ca.crt"], privateKey: stored["ca.key"] };
    if (info?.isCA && !renewalDue(info.notAfter, deps.now(), "ca")) return kept;
    // Same key pair: what the old CA certificate signed stays trusted (tls/renewal.ts).
    if (info?.isCA) {
      const from = notBefore(deps);
      return pki.renewAuthority(kept, { notBefore: from, notAfter: addYears(from, CA_YEARS) });
    }
  }
  const from = notBefore(deps);
  return pki.createAuthority({
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
  pki: Pki,
): Promise<CertAndKey> {
  if (
    observed?.["tls.crt"] &&
    observed["tls.key"] &&
    firstCertificate(observed["ca.crt"]) === firstCertificate(ca.certificate)
  ) {
    const info = await pki.inspect(observed["tls.crt"]).catch(() => undefined);
    if (
      info &&
      info.subjectCommonName === want.commonName &&
      sameSet(info.dnsNames, want.dnsNames) &&
      !renewalDue(info.notAfter, deps.now(), "leaf")
    )
      return { certificate: observed["tls.crt"], privateKey: observed["tls.key"] };
  }
  const caInfo = await pki.inspect(ca.certificate);
  const from = notBefore(deps);
  const until = addYears(from, LEAF_YEARS);
  return pki.issue(ca, {
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
export async function tlsSecrets(
  model: ClusterModel,
  observed: ObservedCluster,
  deps: ClusterDeps,
): Promise<V1Secret[]> {
  const { pki } = deps;
  const ca = await certificateAuthority(model, observed, deps, pki);
  const out: V1Secret[] = [
    secret(model, names.caSecret(model.name), "pki", { "ca.crt": ca.certificate, "ca.key": ca.privateKey }),
  ];
  if (!model.spec.customTLSSecret) {
    const name = names.serverCertSecret(model.name);
    const stored = observed.secrets.get(name)?.data;
    const cert = await leafCertificate(
      ca,
      stored,
      { commonName: names.primaryService(model.name), dnsNames: serverDnsNames(model), usage: "server" },
      deps,
      pki,
    );
    // A replaced server certificate makes Postgres reload (tls/reload-job.ts).
    out.push(
      tlsSecret(model, name, ca, cert, replacementAnnotations(observed, name, stored?.["tls.crt"], cert.certificate)),
    );
  }
  if (model.spec.backups?.pgbackrest) {
    // pgBackRest's TLS client (backup Jobs, the repo host, archive-push to the repo host):
    // its CN is what every pgBackRest TLS server authorises (tls-server-auth).
    const name = names.pgbackrestClientSecret(model.name);
    const cert = await leafCertificate(
      ca,
      observed.secrets.get(name)?.data,
      { commonName: clientCommonName(model.name), dnsNames: [], usage: "client" },
      deps,
      pki,
    );
    out.push(tlsSecret(model, name, ca, cert));
  }
  const bouncer = model.spec.proxy?.pgBouncer;
  if (bouncer && !bouncer.customTLSSecret) {
    // What pgBouncer shows its clients: its Service's names (the server certificate's are the instances').
    const name = names.pgbouncerCertSecret(model.name);
    const stored = observed.secrets.get(name)?.data;
    const cert = await leafCertificate(
      ca,
      stored,
      {
        commonName: names.pgbouncer(model.name),
        dnsNames: serviceDnsNames(names.pgbouncer(model.name), model.namespace),
        usage: "server",
      },
      deps,
      pki,
    );
    // A replaced certificate restarts pgBouncer (pgbouncer/children.ts).
    out.push(
      tlsSecret(model, name, ca, cert, replacementAnnotations(observed, name, stored?.["tls.crt"], cert.certificate)),
    );
  }
  if (!model.spec.customReplicationTLSSecret) {
    const name = names.replicationCertSecret(model.name);
    const cert = await leafCertificate(
      ca,
      observed.secrets.get(name)?.data,
      { commonName: ROLES.replication, dnsNames: [], usage: "client" },
      deps,
      pki,
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
