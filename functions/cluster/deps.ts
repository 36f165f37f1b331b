/**
 * @module
 * What the cluster hook's core is handed instead of reaching for it: randomness, the clock and
 * the PKI.
 */
import type { Pki } from "../../shared/crypto/x509.ts";

/** Randomness, time and certificate issuing, injected; used only to generate what is absent. */
export interface ClusterDeps {
  randomBytes(n: number): Uint8Array;
  now(): Date;
  /** Issues and reads the cluster's certificates (tls/secrets.ts); tests pass a seeded one. */
  pki: Pki;
}
