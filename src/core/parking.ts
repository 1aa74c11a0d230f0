/**
 * The parking word: every weft primitive is a few Int32 cells of shared memory, and a
 * thread that must wait parks on one of them (Atomics.wait in a thread, Atomics.waitAsync
 * on an event loop), as in WebKit's WTF::Lock and Rust's parking_lot.
 *
 * This module holds what comes before and after a park: how long to spin and back off
 * before paying for a kernel wake-up, the check that a blocking call may block, and the
 * notify. The parks themselves are driven by core/wait.ts, one algorithm per wait.
 */
import { currentConfig } from "./config.js";
import { MainThreadBlockingError } from "./errors.js";
import { isMainThread } from "./identity.js";

/** How many times a waiter re-reads a cell before it pays for a kernel wake-up (~46 µs here). */
export const SPIN_LIMIT = 200;

/** How many looks a contended lock takes, with {@link backOff} between them, before it parks. */
export const BACKOFF_ROUNDS = 16;
const BACKOFF_MAX_LOG2 = 12;
let backOffSink = 0;

/**
 * Waits a little between two looks at a contended lock word, twice as long each round
 * (1, 2, 4 … 4096 loop iterations, about 20 µs over {@link BACKOFF_ROUNDS}, under the
 * ~46 µs a kernel wake-up costs here). A waiter that re-reads the word in a tight loop
 * keeps pulling its cache line away from the holder and slows the very thread it waits
 * for; one that backs off lets the holder run on, so the lock changes hands (and cores)
 * less often. Two threads incrementing under a bare futex lock: ~10M/s with tight
 * re-reads, ~20M/s with this back-off (measured here; bench group 3 shows both).
 * The loop touches only this thread's memory.
 */
export function backOff(round: number): void {
  const iterations = 1 << (round < BACKOFF_MAX_LOG2 ? round : BACKOFF_MAX_LOG2);
  let sink = backOffSink;
  for (let i = 0; i < iterations; i++) sink = (sink + i) | 0;
  backOffSink = sink;
}

/**
 * Throws `MainThreadBlockingError` when a `*Sync` method that may wait is called on the
 * main thread without `configure({ allowMainThreadBlocking: true })`. Whether it would
 * wait this time does not matter (a lock that is free today is contended tomorrow); only
 * a call that cannot wait (`blocking: false`, `timeout: 0`) is let through.
 */
export function assertMayBlock(
  method: string | (() => string),
  asyncForm: string,
  options?: { readonly blocking?: boolean; readonly timeout?: number },
): void {
  if (!isMainThread || currentConfig().allowMainThreadBlocking) return;
  if (options !== undefined && (options.blocking === false || options.timeout === 0)) return;
  throw new MainThreadBlockingError(
    `${typeof method === "function" ? method() : method} would block the main thread's event loop; use \`await ${asyncForm}\` instead ` +
      `(or call configure({ allowMainThreadBlocking: true }) to allow it)`,
  );
}

/** Wakes up to `count` threads parked on `cells[index]`; returns how many woke. */
export function unpark(cells: Int32Array, index: number, count = 1): number {
  return Atomics.notify(cells, index, count);
}
