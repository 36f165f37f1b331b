/**
 * @module
 * SCRAM verifiers of the passwords the operator keeps. An observed verifier is kept while it
 * matches the password, so the users Job (which sets roles' passwords from verifiers) is not
 * re-run for nothing; a new salt would give a new verifier, hence new SQL, hence a new Job.
 */
import { parseScramVerifier, scramSha256Verifier, verifierMatches } from "../../../shared/crypto/scram.ts";
import type { ClusterDeps } from "../deps.ts";

const SCRAM_ITERATIONS = 4096;
const SALT_BYTES = 16;
/** Checking an observed verifier costs its iteration count; an absurd one is not worth checking. */
const MAX_CHECKED_ITERATIONS = 100_000;

export async function scramVerifierFor(
  password: string,
  observed: string | undefined,
  deps: ClusterDeps,
): Promise<string> {
  if (observed) {
    const parsed = parseScramVerifier(observed);
    if (parsed && parsed.iterations <= MAX_CHECKED_ITERATIONS && (await verifierMatches(observed, password)))
      return observed;
  }
  return scramSha256Verifier(password, deps.randomBytes(SALT_BYTES), SCRAM_ITERATIONS);
}
