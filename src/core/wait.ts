/**
 * Every wait in weft, written once and driven two ways.
 *
 * A primitive states the slow path of a wait once, as a generator (a {@link Wait}): it
 * yields a {@link Park}, "park on this cell while it holds this value, until this
 * deadline", receives the {@link ParkResult}, and returns what the wait gives (true once a
 * lock is held, false when time ran out, an item). Two drivers run it:
 *  - {@link runSync} parks with `Atomics.wait`, blocking the thread (the `*Sync` forms);
 *  - {@link runAsync} parks with `Atomics.waitAsync`, without blocking the event loop, and
 *    honours an AbortSignal.
 * So the blocking and the async form of a wait are the same algorithm and cannot drift
 * apart. Fast paths (one compare-and-swap) stay inline in the primitives, and a primitive
 * may spin before it makes the generator, so an uncontended call never creates one.
 *
 * A wait that must end early (its signal aborts, or a wait hook refuses it: a
 * `DeadlockError`) has the error thrown into the generator at its pending `yield`; the
 * generator's catch or finally undoes what it registered (a waiter count) and rethrows,
 * so nothing is left behind. The drivers also report each wait that parks to the hooks
 * of wait-hooks.ts: once just before its first park, once when it ends.
 *
 * Two platform traps are handled here, once, for every primitive:
 *  - A pending `Atomics.waitAsync` does not keep Node's event loop alive, so while any
 *    async wait is parked a referenced timer is held ({@link holdLoop}).
 *  - An async wait cannot be withdrawn from the kernel-side waiter list when its signal
 *    aborts. The wait rejects at once, but its park stays as a "ghost" until it times out
 *    or is notified; a notify that lands on a ghost was meant for a live waiter, so the
 *    park's `onGhostWake` forwards it.
 *
 * Waits on something this thread is told of rather than on a cell (a future done, a
 * thread ended, a sleep) share one promise helper, {@link settleWithin}.
 */
import { hooked, probeWait, reportWaitEnd, reportWaitStart, type WaitOutcome, type WaitSite } from "./wait-hooks.js";
import { remaining } from "./timeouts.js";
import { waitMode } from "./wait-targets.js";

/** What a park returned: woken by a notify, the cell had already changed, or time ran out. */
export type ParkResult = "ok" | "not-equal" | "timed-out";

/** One park, as a wait's generator asks for it. */
export interface Park {
  readonly cells: Int32Array;
  readonly index: number;
  /** Park only while `cells[index]` is this. */
  readonly expected: number;
  /** `performance.now()` based; `Infinity`: no limit. */
  readonly deadline: number;
  /**
   * Async: runs if this park, abandoned by an abort, is later woken by a notify, so that
   * the primitive passes the wake-up on to a live waiter.
   */
  readonly onGhostWake: (() => void) | undefined;
  /**
   * Async: park once for the whole wait, not in slices (see GHOST_SLICE_MS). A waiter that
   * parks again goes to the back of the kernel's queue, and the primitives that serve
   * their waiters in the order they parked (the fair Lock, Condition) must not lose it.
   */
  readonly keepPlace: boolean;
}

/** A wait's slow path: yields parks, receives their results, returns what the wait gives. */
export type Wait<T> = Generator<Park, T, ParkResult>;

/** Asks to park on `cells[index]` while it is `expected`, until `deadline`. */
export function park(
  cells: Int32Array,
  index: number,
  expected: number,
  deadline: number,
  onGhostWake?: () => void,
  keepPlace = false,
): Park {
  return { cells, index, expected, deadline, onGhostWake, keepPlace };
}

/**
 * Runs `wait`, blocking this thread in each park. `site` is what the hooks hear about.
 * (An abort cannot reach a blocked thread: the `*Sync` forms check their signal on waking.)
 */
export function runSync<T>(wait: Wait<T>, site?: WaitSite): T {
  let step = wait.next();
  if (step.done) return step.value;
  probeWait();
  const reporting = hooked && site !== undefined;
  if (reporting) {
    // Only this driver knows that the wait blocks its thread (on the main thread too, where
    // it is allowed): the hooks record it as such.
    waitMode.blocking = true;
    try {
      startOrAbandon(wait, site);
    } finally {
      waitMode.blocking = false;
    }
  }
  let last: ParkResult | undefined;
  try {
    do {
      const { cells, index, expected, deadline } = step.value;
      last = Atomics.wait(cells, index, expected, remaining(deadline));
      step = wait.next(last);
    } while (!step.done);
  } catch (error) {
    if (reporting) reportWaitEnd(site, thrownOutcome(error, undefined, last));
    throw error;
  }
  if (reporting) reportWaitEnd(site, returnedOutcome(step.value));
  return step.value;
}

/**
 * Runs `wait` without blocking the event loop. If `signal` aborts, the reason is thrown
 * into the generator (which cleans up and rethrows it) and the promise rejects with it.
 */
export function runAsync<T>(wait: Wait<T>, signal?: AbortSignal, site?: WaitSite): Promise<T> {
  let step: IteratorResult<Park, T>;
  probeWait();
  const reporting = hooked && site !== undefined;
  try {
    step = wait.next();
    if (step.done) return Promise.resolve(step.value);
    if (signal?.aborted) abandon(wait, signal.reason);
    if (reporting) startOrAbandon(wait, site);
  } catch (error) {
    return Promise.reject(error);
  }
  const first = step.value;
  return new Promise<T>((resolve, reject) => {
    new AsyncWait(wait, signal, reporting ? site : undefined, resolve, reject).run(first);
  });
}

/** The longest an async wait with a signal parks at a time (see AsyncWait). */
const GHOST_SLICE_MS = 1000;

/**
 * One wait run by {@link runAsync}. A wait with a signal parks GHOST_SLICE_MS at a time
 * (and parks again while the time is not up), so that an abandoned park lingers at most
 * that long: with one long park, every aborted wait on a cell that nobody notified stayed
 * in memory (~2 KiB each) until enough notifies came. Except with `keepPlace`.
 */
class AsyncWait<T> {
  readonly #wait: Wait<T>;
  readonly #signal: AbortSignal | undefined;
  readonly #site: WaitSite | undefined;
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: unknown) => void;
  /** Once set, the pending park (if any) is a ghost. */
  #ended = false;
  #holding = false;
  #last: ParkResult | undefined;

  constructor(
    wait: Wait<T>,
    signal: AbortSignal | undefined,
    site: WaitSite | undefined,
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
  ) {
    this.#wait = wait;
    this.#signal = signal;
    this.#site = site;
    this.#resolve = resolve;
    this.#reject = reject;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Parks as asked, and goes on with the generator for as long as parks return at once. */
  run(next: Park | undefined): void {
    while (next !== undefined) {
      const left = remaining(next.deadline);
      const slice = this.#signal === undefined || next.keepPlace ? left : Math.min(left, GHOST_SLICE_MS);
      const parked = Atomics.waitAsync(next.cells, next.index, next.expected, slice);
      if (parked.async) {
        if (!this.#holding) {
          this.#holding = true;
          holdLoop();
        }
        const asked = next;
        parked.value.then((result) => this.#woke(asked, result, slice < left));
        return;
      }
      next = this.#step(parked.value);
    }
  }

  #woke(asked: Park, result: ParkResult, sliced: boolean): void {
    if (this.#ended) {
      if (result === "ok") asked.onGhostWake?.();
    } else if (result === "timed-out" && sliced && remaining(asked.deadline) > 0) {
      this.run(asked);
    } else {
      this.run(this.#step(result));
    }
  }

  /** Feeds a park's result to the generator; returns the next park, or ends the wait. */
  #step(result: ParkResult): Park | undefined {
    this.#last = result;
    let step: IteratorResult<Park, T>;
    try {
      step = this.#wait.next(result);
    } catch (error) {
      this.#end(thrownOutcome(error, this.#signal, result));
      this.#reject(error);
      return undefined;
    }
    if (!step.done) return step.value;
    this.#end(returnedOutcome(step.value));
    this.#resolve(step.value);
    return undefined;
  }

  readonly #onAbort = (): void => {
    if (this.#ended) return;
    const signal = this.#signal as AbortSignal;
    let error: unknown = signal.reason;
    try {
      abandon(this.#wait, error);
    } catch (thrown) {
      error = thrown;
    }
    this.#end(thrownOutcome(error, signal, this.#last));
    this.#reject(error);
  };

  #end(outcome: WaitOutcome): void {
    this.#ended = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    if (this.#holding) releaseLoop();
    if (this.#site !== undefined) reportWaitEnd(this.#site, outcome);
  }
}

/** Throws `error` into a wait at its `yield`, for it to clean up; then throws it (or what the wait threw). */
function abandon(wait: Wait<unknown>, error: unknown): never {
  const step = wait.throw(error);
  if (!step.done) wait.return(undefined);
  throw error;
}

/** Reports a wait's start; a hook that refuses it (throws) ends the wait with that error. */
function startOrAbandon(wait: Wait<unknown>, site: WaitSite): void {
  try {
    reportWaitStart(site);
  } catch (error) {
    abandon(wait, error);
  }
}

function returnedOutcome(value: unknown): WaitOutcome {
  return value === false ? "timed-out" : "ok";
}

/** A wait that threw: its signal's reason is an abort; an error after a park that timed out (`Empty`, `Full`), a timeout. */
function thrownOutcome(error: unknown, signal: AbortSignal | undefined, last: ParkResult | undefined): WaitOutcome {
  if (signal?.aborted && error === signal.reason) return "aborted";
  return last === "timed-out" ? "timed-out" : "failed";
}

let heldLoops = 0;
/** One timer that never fires, referenced while a wait holds the loop (made once: a ref/unref costs less than a timer per wait). */
let keepAlive: ReturnType<typeof setInterval> | undefined;

/**
 * Keeps this thread's event loop alive until the matching {@link releaseLoop}: for waits
 * that Node does not count as pending work (an `Atomics.waitAsync`, a join on a thread
 * whose worker is unreferenced), as a Python thread blocked in a wait keeps its process.
 */
export function holdLoop(): void {
  if (heldLoops++ === 0) (keepAlive ??= setInterval(() => {}, 0x7fffffff)).ref();
}

/** True while {@link holdLoop} holds this thread's event loop (with one referenced timer). */
export function loopHeld(): boolean {
  return heldLoops > 0;
}

/** Ends one {@link holdLoop}. */
export function releaseLoop(): void {
  if (--heldLoops === 0) keepAlive?.unref();
}

/** What {@link settleWithin} waits for. */
export interface Settling<T> {
  /**
   * Starts watching for the awaited thing and calls `settle(value)` when it happens;
   * returns the function that stops watching (called however the wait ends), if any.
   */
  readonly watch?: (settle: (value: T) => void) => (() => void) | void;
  /** `performance.now()` based; `Infinity`: no limit. */
  readonly deadline: number;
  /** What the wait resolves to once the deadline passes; a throw rejects it. */
  readonly onTimeout: () => T;
  readonly signal?: AbortSignal | undefined;
  /** Runs when the signal aborts (the watch already stopped), before the wait rejects with its reason. */
  readonly onAbort?: () => void;
  /** Hold the event loop meanwhile ({@link holdLoop}): for a wait Node would not count as pending work. */
  readonly keepAlive?: boolean;
  /** What the wait hooks hear about. */
  readonly site?: WaitSite | undefined;
}

/** The longest delay `setTimeout` takes; a longer one fires at once (with a warning). */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * A promise that settles with what `watch` reports, or with `onTimeout()` once the
 * deadline passes, or rejects with the signal's reason if it aborts, whichever comes
 * first; the watch, the timer and the abort listener are all removed when it settles.
 */
export function settleWithin<T>(waiting: Settling<T>): Promise<T> {
  const { signal, site } = waiting;
  if (signal?.aborted) {
    waiting.onAbort?.();
    return Promise.reject(signal.reason);
  }
  probeWait();
  const reporting = hooked && site !== undefined;
  if (reporting) {
    try {
      reportWaitStart(site);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unwatch: (() => void) | void = undefined;
    const finish = (outcome: WaitOutcome): boolean => {
      if (settled) return false;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (unwatch !== undefined) unwatch();
      if (waiting.keepAlive === true) releaseLoop();
      if (reporting) reportWaitEnd(site, outcome);
      return true;
    };
    const onAbort = (): void => {
      if (!finish("aborted")) return;
      waiting.onAbort?.();
      reject(signal?.reason);
    };
    const arm = (): void => {
      const left = remaining(waiting.deadline);
      timer = setTimeout(left > MAX_TIMER_MS ? arm : onTime, Math.min(left, MAX_TIMER_MS));
    };
    const onTime = (): void => {
      if (!finish("timed-out")) return;
      try {
        resolve(waiting.onTimeout());
      } catch (error) {
        reject(error);
      }
    };
    if (waiting.keepAlive === true) holdLoop();
    if (waiting.deadline !== Infinity) arm();
    signal?.addEventListener("abort", onAbort, { once: true });
    unwatch = waiting.watch?.((value) => {
      if (finish("ok")) resolve(value);
    });
    // The watch may have settled the wait at once, before it returned its unwatch.
    if (settled && unwatch !== undefined) unwatch();
  });
}
