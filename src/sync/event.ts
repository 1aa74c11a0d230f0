/**
 * Event: Python's `threading.Event`, a flag that threads can wait to see set, as three
 * Int32 cells of shared memory.
 *
 * Layout (Int32 cells in a block of the shared heap, core/memory.ts):
 *   [0] FLAG     1 set, 0 clear
 *   [1] GEN      generation: bumped by every set() that changes FLAG from 0 to 1
 *   [2] WAITERS  threads that may be parked on GEN
 *
 * Why a generation as well as the flag: waiters park on GEN, not on FLAG, and decide by
 * comparing GEN with what they read before checking FLAG. A `set()` followed at once by
 * `clear()` leaves FLAG as it was, but GEN has moved, so every thread that was waiting
 * when `set()` ran wakes up and returns `true`, as Python promises; a waiter that
 * re-checked FLAG after waking would miss it.
 *
 * A waiter raises WAITERS before it parks and `set()` reads WAITERS after bumping GEN
 * (sequentially consistent atomics on both sides), so `set()` skips the kernel call when
 * nobody waits without losing a wake-up. `set()` wakes everyone, so an async waiter left
 * parked by an aborted signal needs no forwarding.
 */
import { SPIN_LIMIT, assertMayBlock, parkAsync, parkSync, unpark } from "../core/parking.js";
import { checkOptions, deadlineOf, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { allocateCells, blockOf } from "../core/memory.js";
import { adoptBlock, describeBlock, registerShareable, toDescriptor, type SharedDescriptor } from "../transport/shareable.js";

const FLAG = 0;
const GEN = 1;
const WAITERS = 2;
const CELLS = 3;

/** A flag that threads can wait on, usable from every thread; pass it in `args` to share it. */
export class Event {
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;

  constructor(/** @internal */ arrived?: SharedDescriptor) {
    if (arrived !== undefined) {
      const block = adoptBlock(this, arrived);
      this.cells = new Int32Array(block.buffer, block.byteOffset, CELLS);
    } else {
      this.cells = allocateCells(CELLS, this);
    }
  }

  /** True if the flag is set. */
  isSet(): boolean {
    return Atomics.load(this.cells, FLAG) === 1;
  }

  /** Sets the flag and wakes every thread waiting for it. */
  set(): void {
    const cells = this.cells;
    if (Atomics.exchange(cells, FLAG, 1) === 1) return;
    Atomics.add(cells, GEN, 1);
    if (Atomics.load(cells, WAITERS) !== 0) unpark(cells, GEN, Infinity);
  }

  /** Clears the flag; later waits block until the next `set()`. */
  clear(): void {
    Atomics.store(this.cells, FLAG, 0);
  }

  /**
   * Blocks this thread until the flag is set or `timeout` elapses. Returns `true` if it
   * was set (even if cleared again since), `false` on timeout. Not on the main thread
   * (unless the flag is already set): use `wait()`.
   */
  waitSync(options?: WaitOptions): boolean {
    checkOptions(options, "Event.waitSync()");
    const deadline = deadlineOf(options?.timeout, "Event.waitSync()");
    assertMayBlock("Event.waitSync()", "event.wait()", options);
    throwIfAborted(options?.signal);
    const cells = this.cells;
    const gen = Atomics.load(cells, GEN);
    if (Atomics.load(cells, FLAG) === 1) return true;
    if (remaining(deadline) === 0) return false;
    let woken = false;
    for (let spin = 0; spin < SPIN_LIMIT && !woken; spin++) woken = Atomics.load(cells, GEN) !== gen;
    if (!woken) {
      Atomics.add(cells, WAITERS, 1);
      try {
        while (!woken) {
          const result = parkSync(cells, GEN, gen, deadline);
          woken = Atomics.load(cells, GEN) !== gen;
          if (result === "timed-out") break;
        }
      } finally {
        Atomics.sub(cells, WAITERS, 1);
      }
    }
    // A blocked thread cannot see an abort while parked; it checks once it wakes.
    throwIfAborted(options?.signal);
    return woken || Atomics.load(cells, FLAG) === 1;
  }

  /**
   * Waits, without blocking the event loop, until the flag is set or `timeout` elapses.
   * Resolves `true` if it was set (even if cleared again since), `false` on timeout;
   * rejects with the signal's reason if `signal` aborts first.
   */
  async wait(options?: WaitOptions): Promise<boolean> {
    checkOptions(options, "Event.wait()");
    const deadline = deadlineOf(options?.timeout, "Event.wait()");
    const signal = options?.signal;
    throwIfAborted(signal);
    const cells = this.cells;
    const gen = Atomics.load(cells, GEN);
    if (Atomics.load(cells, FLAG) === 1) return true;
    if (remaining(deadline) === 0) return false;
    let woken = false;
    Atomics.add(cells, WAITERS, 1);
    try {
      while (!woken) {
        const result = await parkAsync(cells, GEN, gen, deadline, signal);
        woken = Atomics.load(cells, GEN) !== gen;
        if (result === "timed-out") break;
      }
    } finally {
      Atomics.sub(cells, WAITERS, 1);
    }
    return woken || Atomics.load(cells, FLAG) === 1;
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("Event", blockOf(this.cells));
  }
}

registerShareable("Event", (descriptor) => new Event(descriptor));
