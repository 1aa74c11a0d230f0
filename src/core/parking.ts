/**
 * The parking word: every weft primitive is a few Int32 cells of shared memory, and a
 * thread that must wait parks on one of them (Atomics.wait in a thread, Atomics.waitAsync
 * on an event loop), as in WebKit's WTF::Lock and Rust's parking_lot.
 *
 * Two platform traps are handled here, once, for every primitive:
 *  - A pending `Atomics.waitAsync` does not keep Node's event loop alive, so while any
 *    async waiter is parked we hold a referenced timer.
 *  - An async wait cannot be withdrawn from the kernel-side waiter list when its
 *    AbortSignal fires. The promise rejects at once, but the waiter stays parked as a
 *    "ghost" until it times out or is notified. A notify that lands on a ghost was meant
 *    for a live waiter, so the primitive passes an `onGhostWake` that forwards it.
 */
import { currentConfig } from "./config.js";
import { MainThreadBlockingError } from "./errors.js";
import { isMainThread } from "./identity.js";
import { remaining } from "./timeouts.js";

/** What a park returned: woken by a notify, the cell had already changed, or time ran out. */
export type ParkResult = "ok" | "not-equal" | "timed-out";

/** The longest an async wait with a signal parks at a time (see parkAsync). */
const GHOST_SLICE_MS = 1000;

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

/** Blocks this thread while `cells[index] === expected`, until notified or `deadline`. */
export function parkSync(cells: Int32Array, index: number, expected: number, deadline: number): ParkResult {
  return Atomics.wait(cells, index, expected, remaining(deadline));
}

/** Wakes up to `count` threads parked on `cells[index]`; returns how many woke. */
export function unpark(cells: Int32Array, index: number, count = 1): number {
  return Atomics.notify(cells, index, count);
}

let asyncParked = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

/**
 * Keeps this thread's event loop alive until the matching {@link releaseLoop}: for waits
 * that Node does not count as pending work (an `Atomics.waitAsync`, a join on a thread
 * whose worker is unreferenced), as a Python thread blocked in a wait keeps its process.
 */
export function holdLoop(): void {
  if (asyncParked++ === 0) keepAlive = setInterval(() => {}, 0x7fffffff);
}

/** Ends one {@link holdLoop}. */
export function releaseLoop(): void {
  if (--asyncParked === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/**
 * Waits without blocking the event loop while `cells[index] === expected`.
 *
 * If `signal` aborts first, the promise rejects with its reason; should the abandoned
 * wait later be woken by a notify, `onGhostWake` runs so the primitive can pass the
 * wake-up on to a live waiter. A wait with a signal parks GHOST_SLICE_MS at a time (and
 * parks again while the time is not up), so that an abandoned wait lingers at most that
 * long: with one long park, every aborted wait on a cell that nobody notified stayed in
 * memory (~2 KiB each) until enough notifies came. Except with `keepPlace`: a waiter that
 * parks again goes to the back of the kernel's queue, and the primitives that serve their
 * waiters in the order they parked (the fair Lock, Condition) must not lose that order.
 */
export function parkAsync(
  cells: Int32Array,
  index: number,
  expected: number,
  deadline: number,
  signal?: AbortSignal,
  onGhostWake?: () => void,
  keepPlace = false,
): Promise<ParkResult> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const slice = keepPlace ? Infinity : GHOST_SLICE_MS;
  if (signal === undefined) {
    const parked = Atomics.waitAsync(cells, index, expected, remaining(deadline));
    if (!parked.async) return Promise.resolve(parked.value);
    holdLoop();
    return parked.value.then((result) => {
      releaseLoop();
      return result;
    });
  }
  return new Promise<ParkResult>((resolve, reject) => {
    let abandoned = false;
    const finish = (result: ParkResult): void => {
      signal.removeEventListener("abort", onAbort);
      releaseLoop();
      resolve(result);
    };
    const onAbort = (): void => {
      abandoned = true;
      releaseLoop();
      reject(signal.reason);
    };
    const park = (): void => {
      const parked = Atomics.waitAsync(cells, index, expected, Math.min(remaining(deadline), slice));
      if (!parked.async) return finish(parked.value);
      parked.value.then((result) => {
        if (abandoned) {
          if (result === "ok") onGhostWake?.();
        } else if (result === "timed-out" && remaining(deadline) > 0) {
          park();
        } else {
          finish(result);
        }
      });
    };
    holdLoop();
    signal.addEventListener("abort", onAbort, { once: true });
    park();
  });
}
