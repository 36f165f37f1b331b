/**
 * @module
 * What the cluster hook's core is handed instead of reaching for it: randomness and the clock.
 */

/** Randomness and time, injected; used only to generate what is absent. */
export interface ClusterDeps {
  randomBytes(n: number): Uint8Array;
  now(): Date;
}
