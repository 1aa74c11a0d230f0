/**
 * Semaphore and BoundedSemaphore: Python's `threading.Semaphore` / `BoundedSemaphore`,
 * as three Int32 cells of shared memory.
 *
 * Layout (Int32 cells in a block of the shared heap, core/memory.ts):
 *   [0] VALUE    permits available now (never negative)
 *   [1] WAITERS  threads that may be parked on VALUE
 *   [2] BOUND    BoundedSemaphore: the initial value, which release may not exceed; -1 if unbounded
 *
 * Acquiring is a compare-and-swap that takes one permit if VALUE > 0. A thread that finds
 * none raises WAITERS, tries once more, and parks while VALUE is 0. Releasing adds to
 * VALUE and then reads WAITERS: because both sides write their cell before reading the
 * other's (sequentially consistent atomics), either the waiter's last try sees the permit
 * or the releaser sees the waiter and wakes it. So release skips the kernel call when
 * nobody waits, without losing a wake-up.
 *
 * A woken thread competes for the permit with threads that have just arrived (as Python's
 * does); if it loses, it parks again. An async waiter whose signal aborted stays parked as
 * a ghost (see core/parking.ts) and forwards any wake-up it gets to the next waiter.
 */
import { ValueError } from "../core/errors.js";
import { BACKOFF_ROUNDS, assertMayBlock, backOff, unpark } from "../core/parking.js";
import { park, runAsync, runSync, type Wait } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type AcquireOptions } from "../core/timeouts.js";
import { allocateCells, blockOf } from "../core/memory.js";
import { adoptBlock, describeBlock, registerShareable, toDescriptor, type SharedDescriptor, takeArriving } from "../core/shareable.js";
import { Holdable } from "./holdable.js";
import { repr } from "../core/repr.js";

const VALUE = 0;
const WAITERS = 1;
const BOUND = 2;
const CELLS = 3;

const UNBOUNDED = -1;
const MAX_VALUE = 0x7fffffff;


/** A counter of permits usable from every thread; pass it in `args` to share it. */
export class Semaphore extends Holdable {
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;

  /** @param value the initial number of permits: a non-negative integer (default 1). */
  constructor(value = 1) {
    super();
    const arrived = takeArriving();
    if (arrived !== undefined) {
      const block = adoptBlock(this, arrived);
      this.cells = new Int32Array(block.buffer, block.byteOffset, CELLS);
      return;
    }
    const name = new.target === BoundedSemaphore ? "BoundedSemaphore" : "Semaphore";
    checkCount(value, `new ${name}(value)`, "value", 0);
    this.cells = allocateCells(CELLS, this);
    this.cells[VALUE] = value;
    this.cells[BOUND] = new.target === BoundedSemaphore ? value : UNBOUNDED;
  }

  /**
   * Takes a permit, blocking this thread until one is free. Returns `false` if `timeout`
   * elapsed or `blocking: false` found none. Not on the main thread: use `acquire()`.
   */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = this.#deadline(options, "acquireSync");
    assertMayBlock(() => `${this.constructor.name}.acquireSync()`, "semaphore.acquire()", options);
    throwIfAborted(options?.signal);
    if (this.#tryAcquire()) return true;
    if (remaining(deadline) === 0) return false;
    const cells = this.cells;
    for (let round = 0; round < BACKOFF_ROUNDS; round++) {
      backOff(round);
      if (Atomics.load(cells, VALUE) > 0 && this.#tryAcquire()) return true;
    }
    // A blocked thread cannot see an abort while parked; it checks once it wakes.
    return this.#checkAbort(runSync(this.#acquiring(deadline), this.#waitSite()), options?.signal);
  }

  /**
   * Takes a permit without blocking the event loop. Resolves `false` if `timeout` elapsed
   * or `blocking: false` found none; rejects with the signal's reason if `signal` aborts
   * first, and then has taken nothing.
   */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const deadline = this.#deadline(options, "acquire");
    const signal = options?.signal;
    throwIfAborted(signal);
    if (this.#tryAcquire()) return true;
    if (remaining(deadline) === 0) return false;
    return this.#checkAbort(await runAsync(this.#acquiring(deadline), signal, this.#waitSite()), signal);
  }

  /** Checks the options of both forms alike and returns the deadline (0 for `blocking: false`). */
  #deadline(options: AcquireOptions | undefined, form: string): number {
    if (options === undefined) return Infinity;
    const method = `${this.constructor.name}.${form}()`;
    checkOptions(options, method);
    return options.blocking === false ? 0 : deadlineOf(options.timeout, method);
  }

  /**
   * The slow path of both forms: count itself in WAITERS, then take a permit or park
   * while there is none. An abandoned async park forwards the wake-up it got.
   */
  *#acquiring(deadline: number): Wait<boolean> {
    const cells = this.cells;
    const forwardWake = (): void => void unpark(cells, VALUE, 1);
    Atomics.add(cells, WAITERS, 1);
    try {
      for (;;) {
        if (this.#tryAcquire()) return true;
        if ((yield park(cells, VALUE, 0, deadline, forwardWake)) === "timed-out") return this.#tryAcquire();
      }
    } finally {
      Atomics.sub(cells, WAITERS, 1);
    }
  }

  /** A permit taken as the signal aborted is given back, and the abort thrown. */
  #checkAbort(acquired: boolean, signal: AbortSignal | undefined): boolean {
    if (acquired && signal?.aborted) {
      this.#giveBack(1);
      throw signal.reason;
    }
    return acquired;
  }

  #site: WaitSite | undefined;

  #waitSite(): WaitSite {
    return (this.#site ??= { kind: "semaphore", cells: this.cells, label: this.constructor.name });
  }

  /**
   * Returns `n` permits (default 1), waking up to `n` waiting threads. `n` must be a
   * positive integer (`ValueError`); a BoundedSemaphore raises `ValueError` if the value
   * would exceed its initial value.
   */
  release(n = 1): void {
    checkCount(n, `${this.constructor.name}.release(n)`, "n", 1);
    this.#giveBack(n);
  }

  #giveBack(n: number): void {
    const cells = this.cells;
    const bound = cells[BOUND];
    const limit = bound === UNBOUNDED ? MAX_VALUE : bound;
    let value = Atomics.load(cells, VALUE);
    for (;;) {
      if (value > limit - n) {
        throw new ValueError(
          bound === UNBOUNDED
            ? `Semaphore.release(n): the value would exceed ${MAX_VALUE}`
            : "Semaphore released too many times",
        );
      }
      const seen = Atomics.compareExchange(cells, VALUE, value, value + n);
      if (seen === value) break;
      value = seen;
    }
    if (Atomics.load(cells, WAITERS) !== 0) unpark(cells, VALUE, n);
  }

  #tryAcquire(): boolean {
    const cells = this.cells;
    let value = Atomics.load(cells, VALUE);
    while (value > 0) {
      const seen = Atomics.compareExchange(cells, VALUE, value, value - 1);
      if (seen === value) return true;
      value = seen;
    }
    return false;
  }

  /** @internal `util.inspect(semaphore)`: `<Semaphore value=3>`, `<BoundedSemaphore value=1/3>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const bound = this.cells[BOUND];
    const value = Atomics.load(this.cells, VALUE);
    return repr(this.constructor.name, bound === UNBOUNDED ? `value=${value}` : `value=${value}/${bound}`);
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock(this.cells[BOUND] === UNBOUNDED ? "Semaphore" : "BoundedSemaphore", blockOf(this.cells));
  }
}

/**
 * A semaphore whose value may never exceed its initial value: releasing more than was
 * acquired raises `ValueError("Semaphore released too many times")`, catching the bug early.
 */
export class BoundedSemaphore extends Semaphore {}

function checkCount(value: unknown, method: string, argName: string, min: number): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${method}: ${argName} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > MAX_VALUE) {
    throw new ValueError(
      `${method}: ${argName} must be ${min === 0 ? "a non-negative" : "a positive"} integer (at most ${MAX_VALUE}), got ${describe(value)}`,
    );
  }
}

registerShareable("Semaphore", () => new Semaphore());
registerShareable("BoundedSemaphore", () => new BoundedSemaphore());
