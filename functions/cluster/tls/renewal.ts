/**
 * @module
 * Renewal of the certificates the hook generated (users/secrets.ts), and the mark a replaced server
 * certificate leaves for the Postgres reload (tls/reload-job.ts).
 *
 * When: a leaf (server, replication, pgBackRest client) within 30 days of its notAfter, the CA
 * within a year of its own. Renewal is generation, so it uses the injected clock, and only to
 * judge a certificate read back from an observed Secret. The CA is renewed with the SAME key
 * pair (Pki.renewAuthority in shared/crypto/x509.ts): every certificate issued under the old CA
 * certificate verifies under the new one and the other way round, so pods that see the new
 * files at different moments, and clients still holding the old ca.crt, keep trusting each
 * other. The leaves are issued again with it (users/secrets.ts keeps a leaf only while its Secret's
 * ca.crt is the current CA certificate).
 *
 * Determinism: the hook's output depends on the clock only at the renewal moment. Two calls
 * with the same request on either side of a certificate's renewal threshold give different
 * output; everywhere else the same request gives byte-identical output. Renewal is
 * idempotent: the renewed certificate goes into the Secret, the next sync reads it back, and
 * it is far from its own threshold.
 *
 * Reload: a replaced server certificate needs Postgres to reload; tls/reload-job.ts. When the
 * hook replaces an observed server certificate, the new Secret carries the annotation
 * `postgres.tusk.dev/replaced-certificate` (a hash of the one it replaced), kept while the
 * new certificate stays (replacementAnnotations).
 */
import { ANNOTATION } from "../../../shared/labels.ts";
import { shortHash } from "../../../shared/names.ts";
import type { ObservedCluster } from "../observe/cluster.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
export const LEAF_RENEWAL_DAYS = 30;
export const CA_RENEWAL_DAYS = 365;

/** Whether a certificate expiring at `notAfter` is due for renewal at `now`. */
export function renewalDue(notAfter: Date, now: Date, kind: "ca" | "leaf"): boolean {
  const window = (kind === "ca" ? CA_RENEWAL_DAYS : LEAF_RENEWAL_DAYS) * DAY_MS;
  return notAfter.getTime() - now.getTime() < window;
}

/**
 * The annotations of a TLS Secret about to be emitted with `certificate`: a hash of the observed
 * certificate when this one replaces it, the observed annotation while the certificate is
 * kept, none for a first certificate.
 */
export function replacementAnnotations(
  observed: ObservedCluster,
  secretName: string,
  observedCertificate: string | undefined,
  certificate: string,
): Record<string, string> | undefined {
  if (observedCertificate === undefined || observedCertificate === "") return undefined;
  if (observedCertificate !== certificate)
    return { [ANNOTATION.replacedCertificate]: shortHash(observedCertificate, 16) };
  const kept = observed.secrets.get(secretName)?.annotations[ANNOTATION.replacedCertificate];
  return kept ? { [ANNOTATION.replacedCertificate]: kept } : undefined;
}
