/**
 * The raw baseline for locks: a bare futex-style lock (Drepper's mutex) on one Int32 cell,
 * written out inline where it is measured so the JIT sees nothing but Atomics.
 *
 *   acquire: CAS 0 -> 1; if that fails, spin (200 tight re-reads, the textbook way), then
 *            mark the word 2 ("maybe parked waiters") with exchange and Atomics.wait while
 *            it is 2.
 *   release: exchange to 0; Atomics.notify one waiter only if the word was 2.
 *
 * A second slow path spins as weft's Lock does, backing off between looks, so that the
 * contended table shows what the back-off gains apart from what weft's own code costs.
 * Only the slow paths live here; the fast paths are written inline in each loop.
 */

/** Tight re-reads before the plain baseline parks. */
export const BARE_SPIN = 200;

/**
 * The same bare lock with weft's back-off between looks (core/parking.ts, `backOff`),
 * so that the table separates what the back-off gains from what weft's own code costs.
 */
export function bareAcquireSlowBackOff(word: Int32Array): void {
  for (let round = 0; round < BACKOFF_ROUNDS; round++) {
    backOff(round);
    if (Atomics.load(word, 0) === 0 && Atomics.compareExchange(word, 0, 0, 1) === 0) return;
  }
  while (Atomics.exchange(word, 0, 2) !== 0) Atomics.wait(word, 0, 2);
}

let sink = 0;
/** A copy of weft's back-off (bench code does not import weft's internals). */
function backOff(round: number): void {
  const iterations = 1 << Math.min(round, 12);
  for (let i = 0; i < iterations; i++) sink = (sink + i) | 0;
}
const BACKOFF_ROUNDS = 16;

/** The contended acquisition of the bare lock (the CAS 0 -> 1 already failed). */
export function bareAcquireSlow(word: Int32Array): void {
  for (let spin = 0; spin < BARE_SPIN; spin++) {
    if (Atomics.load(word, 0) === 0 && Atomics.compareExchange(word, 0, 0, 1) === 0) return;
  }
  while (Atomics.exchange(word, 0, 2) !== 0) Atomics.wait(word, 0, 2);
}
