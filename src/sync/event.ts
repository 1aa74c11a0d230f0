/**
 * Event: Python's `threading.Event`, a flag that threads can wait to see set, as two
 * Int32 cells of shared memory.
 *
 * Layout (Int32 cells in a block of the shared heap, core/memory.ts):
 *   [0] STATE    generation << 1 | flag: every set() that raises the flag bumps the
 *                generation, in the same compare-and-swap
 *   [1] WAITERS  threads that may be parked on STATE
 *
 * Why a generation as well as the flag: a `set()` followed at once by `clear()` leaves the
 * flag as it was, but the generation has moved, so every thread that was waiting when
 * `set()` ran wakes up and returns `true`, as Python promises; a waiter that re-checked
 * the flag after waking would miss it. Flag and generation share one word so that a
 * waiter can never see the flag of one `set()` and the generation of another: kept apart,
 * a set's late generation bump woke a *later* wait, for a set that came before it began.
 *
 * A waiter raises WAITERS before it parks and `set()` reads WAITERS after its CAS
 * (sequentially consistent atomics on both sides), so `set()` skips the kernel call when
 * nobody waits without losing a wake-up. `set()` wakes everyone, so an async waiter left
 * parked by an aborted signal needs no forwarding.
 */
import { SPIN_LIMIT, assertMayBlock, unpark } from "../core/parking.js";
import { park, runAsync, runSync, type Wait } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { allocateCells, blockOf } from "../core/memory.js";
import { adoptBlock, describeBlock, registerShareable, toDescriptor, type SharedDescriptor, takeArriving } from "../core/shareable.js";
import { repr } from "../core/repr.js";

const STATE = 0;
const WAITERS = 1;
const CELLS = 2;

const isSet = (state: number): boolean => (state & 1) === 1;
const generation = (state: number): number => state >>> 1;


/** A flag that threads can wait on, usable from every thread; pass it in `args` to share it. */
export class Event {
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;

  /** Takes no arguments: the flag starts cleared. */
  constructor() {
    const arrived = takeArriving();
    if (arrived === undefined && arguments.length !== 0 && arguments[0] !== undefined) {
      throw new TypeError(`new Event(): Event takes no arguments (its flag starts cleared), got ${describe(arguments[0])}`);
    }
    if (arrived !== undefined) {
      const block = adoptBlock(this, arrived);
      this.cells = new Int32Array(block.buffer, block.byteOffset, CELLS);
    } else {
      this.cells = allocateCells(CELLS, this);
    }
  }

  /** True if the flag is set. */
  isSet(): boolean {
    return isSet(Atomics.load(this.cells, STATE));
  }

  /** Sets the flag and wakes every thread waiting for it. */
  set(): void {
    const cells = this.cells;
    for (;;) {
      const state = Atomics.load(cells, STATE);
      if (isSet(state)) return;
      // Even state + 3: the next generation, with the flag raised.
      if (Atomics.compareExchange(cells, STATE, state, (state + 3) | 0) === state) break;
    }
    if (Atomics.load(cells, WAITERS) !== 0) unpark(cells, STATE, Infinity);
  }

  /** Clears the flag; later waits block until the next `set()`. */
  clear(): void {
    const cells = this.cells;
    for (;;) {
      const state = Atomics.load(cells, STATE);
      if (!isSet(state) || Atomics.compareExchange(cells, STATE, state, state & ~1) === state) return;
    }
  }

  /**
   * Blocks this thread until the flag is set or `timeout` elapses. Returns `true` if it
   * was set (even if cleared again since), `false` on timeout. Not on the main thread:
   * use `wait()`.
   */
  waitSync(options?: WaitOptions): boolean {
    checkOptions(options, "Event.waitSync()");
    const deadline = deadlineOf(options?.timeout, "Event.waitSync()");
    assertMayBlock("Event.waitSync()", "event.wait()", options);
    throwIfAborted(options?.signal);
    const cells = this.cells;
    const state = Atomics.load(cells, STATE);
    if (isSet(state)) return true;
    if (remaining(deadline) === 0) return false;
    const gen = generation(state);
    let woken = false;
    for (let spin = 0; spin < SPIN_LIMIT && !woken; spin++) woken = generation(Atomics.load(cells, STATE)) !== gen;
    if (!woken) woken = runSync(this.#waiting(state, deadline), this.#waitSite());
    // A blocked thread cannot see an abort while parked; it checks once it wakes.
    throwIfAborted(options?.signal);
    return woken || this.isSet();
  }

  /**
   * Waits, without blocking the event loop, until the flag is set or `timeout` elapses.
   * Resolves `true` if it was set (even if cleared again since), `false` on timeout;
   * rejects with the signal's reason if `signal` aborts first.
   */
  wait(options?: WaitOptions): Promise<boolean> {
    try {
      checkOptions(options, "Event.wait()");
      const deadline = deadlineOf(options?.timeout, "Event.wait()");
      const signal = options?.signal;
      throwIfAborted(signal);
      const state = Atomics.load(this.cells, STATE);
      if (isSet(state)) return Promise.resolve(true);
      if (remaining(deadline) === 0) return Promise.resolve(false);
      return runAsync(this.#waiting(state, deadline), signal, this.#waitSite());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The slow path of both forms: park while STATE is as sampled, until the generation
   * moves (a set happened) or time runs out. Returns whether the flag is or was set.
   */
  *#waiting(state: number, deadline: number): Wait<boolean> {
    const cells = this.cells;
    const gen = generation(state);
    let woken = false;
    Atomics.add(cells, WAITERS, 1);
    try {
      while (!woken) {
        const result = yield park(cells, STATE, state, deadline);
        state = Atomics.load(cells, STATE);
        woken = generation(state) !== gen;
        if (result === "timed-out") break;
      }
    } finally {
      Atomics.sub(cells, WAITERS, 1);
    }
    return woken || this.isSet();
  }

  #site: WaitSite | undefined;

  #waitSite(): WaitSite {
    return (this.#site ??= { kind: "event", cells: this.cells, label: "Event" });
  }

  /** @internal `util.inspect(event)`: `<Event set>` / `<Event unset>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return repr("Event", this.isSet() ? "set" : "unset");
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("Event", blockOf(this.cells));
  }
}

registerShareable("Event", () => new Event());
