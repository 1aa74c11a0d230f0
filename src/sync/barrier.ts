/**
 * Barrier: Python's `threading.Barrier`, a rendezvous for a fixed number of threads.
 *
 * Built on this project's own shared-memory Lock and Condition, plus four Int32 cells in a
 * block of the shared heap (core/memory.ts):
 *   [0] STATE    FILLING 0: parties are arriving; DRAINING 1: a round was released and its
 *                parties are leaving; RESETTING -1: reset() while parties waited, they are
 *                leaving with BrokenBarrierError; BROKEN -2: broken until reset()
 *   [1] COUNT    parties inside wait(): arrived and not yet left
 *   [2] GEN      rounds released so far
 *   [3] PARTIES  the number of parties (fixed)
 * Every cell is read and written under the lock, except the lock-free getters
 * (`nWaiting`, `broken`), which read a snapshot.
 *
 * The state machine is Python's: arrival k (0-based) of a round gets index k; the last
 * (index parties-1) runs the action and releases the round, which then DRAINs: threads
 * arriving for the next round wait until every party of the released one has left, and
 * likewise while RESETTING. So a round cannot end, and the next one begin, behind the
 * back of a slow party that has not woken yet. A party decides from GEN, which only a
 * release moves: if GEN moved since it arrived it was released (even if the barrier was
 * aborted a moment later), otherwise it was broken, reset, or timed out. A break followed
 * by a reset can therefore never pass for a release.
 *
 * A wait that times out breaks the barrier, as in Python. So does a wait whose signal
 * aborts (the waiter throws the signal's reason, the others BrokenBarrierError): the
 * arrivals of a round cannot be taken back without reusing indices, and the parties still
 * waiting would otherwise wait for a party that has gone. A signal already aborted when
 * `wait` is called, or one that aborts while the previous round drains, leaves no trace.
 *
 * The action is shipped by source, as a thread's target is, so whichever thread arrives
 * last can run it: it must be self-contained. The transport describes and revives it
 * (`functionShipping` in core/shareable.ts); the barrier only keeps and calls it. It runs with the
 * barrier's lock held, before any party is released; if it throws, the barrier breaks and
 * the error is thrown in the thread that ran it. `wait()` awaits a promise it returns;
 * `waitSync()` does not.
 */
import { currentConfig } from "../core/config.js";
import { BrokenBarrierError, ValueError } from "../core/errors.js";
import { isMainThread } from "../core/identity.js";
import { assertMayBlock } from "../core/parking.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { allocateCells, blockOf } from "../core/memory.js";
import {
  adoptBlock,
  describeBlock,
  registerShareable,
  reviveShareable,
  toDescriptor,
  takeArriving,
  functionShipping,
  type SharedDescriptor,
} from "../core/shareable.js";
import type { WaitSite } from "../core/wait-hooks.js";
import { Condition } from "./condition.js";
import { Lock } from "./lock.js";
import { repr } from "../core/repr.js";

const STATE = 0;
const COUNT = 1;
const GEN = 2;
const PARTIES = 3;
const CELLS = 4;

const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

const MAX_PARTIES = 0x7fffffff;

/** A step of a party's passage: the last party runs the action. */
const ACTION: unique symbol = Symbol("weft.barrierAction");

/** A step of a party's passage: it waits until `until()` holds (false back if `timeout` ms pass first). */
interface Until {
  readonly until: () => boolean;
  readonly timeout: number | undefined;
}

/** Options of the {@link Barrier} constructor. */
export interface BarrierOptions {
  /**
   * Runs once per round, in the last thread to arrive, before any is released. A
   * self-contained function: it is shipped by source to whichever thread runs it, so it
   * may use globals but not variables of the module it was written in (not even in the
   * thread that created the barrier, so that it behaves the same wherever it runs).
   */
  action?: () => unknown;
  /** Default `timeout` of `wait()` in milliseconds; omitted or `Infinity`: forever. */
  timeout?: number;
}


/** A rendezvous for `parties` threads, usable from every thread; pass it in `args` to share it. */
export class Barrier {
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;
  readonly #lock: Lock;
  readonly #condition: Condition;
  readonly #timeout: number;
  /** The action as the transport describes it (sendable data), or null. */
  readonly #action: unknown;
  /** The action, revived in this thread on first use. */
  #runAction: (() => unknown) | undefined;
  #site: WaitSite | undefined;

  /**
   * @param parties how many threads must call `wait()` before all are released: a
   *   positive integer.
   */
  constructor(parties: number, options?: BarrierOptions) {
    const arrived = takeArriving();
    if (arrived !== undefined) {
      const block = adoptBlock(this, arrived);
      this.cells = new Int32Array(block.buffer, block.byteOffset, CELLS);
      this.#condition = reviveShareable(arrived.condition as SharedDescriptor) as Condition;
      this.#lock = this.#condition.lock as Lock;
      this.#timeout = arrived.timeout as number;
      this.#action = arrived.action ?? null;
      return;
    }
    const method = "new Barrier(parties, options)";
    if (typeof parties !== "number") throw new TypeError(`${method}: parties must be a number, got ${describe(parties)}`);
    if (!Number.isInteger(parties) || parties < 1 || parties > MAX_PARTIES) {
      throw new ValueError(`${method}: parties must be a positive integer, got ${describe(parties)}`);
    }
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new TypeError(`${method}: options must be an object, got ${describe(options)}`);
    }
    const action = options?.action;
    if (action !== undefined && typeof action !== "function") {
      throw new TypeError(`${method}: options.action must be a function, got ${describe(action)}`);
    }
    const timeout = options?.timeout ?? Infinity;
    deadlineOf(timeout, method);
    this.#action = action === undefined ? null : functionShipping().describe(action, `${method}: options.action`);
    this.#timeout = timeout;
    this.#lock = new Lock();
    this.#condition = new Condition(this.#lock);
    this.cells = allocateCells(CELLS, this);
    this.cells[PARTIES] = parties;
  }

  /** The number of threads required to pass the barrier. */
  get parties(): number {
    return this.cells[PARTIES];
  }

  /** The number of threads waiting in the current round (a snapshot). */
  get nWaiting(): number {
    return Atomics.load(this.cells, STATE) === FILLING ? Atomics.load(this.cells, COUNT) : 0;
  }

  /** True if the barrier is broken (until `reset()`). */
  get broken(): boolean {
    return Atomics.load(this.cells, STATE) === BROKEN;
  }

  /**
   * Waits, blocking this thread, until `parties` threads have called `wait`/`waitSync`, and
   * returns this thread's arrival index (0 .. parties-1). Throws `BrokenBarrierError` if
   * the barrier is or becomes broken, is reset, or `timeout` (default: the barrier's)
   * elapses, which breaks it. Not on the main thread: use `wait()`.
   */
  waitSync(options?: WaitOptions): number {
    checkOptions(options, "Barrier.waitSync()");
    const deadline = deadlineOf(options?.timeout ?? this.#timeout, "Barrier.waitSync()");
    const signal = options?.signal;
    assertMayBlock("Barrier.waitSync()", "barrier.wait()", options);
    throwIfAborted(signal);
    const condition = this.#condition;
    condition.acquireSync();
    try {
      const passage = this.#passage(deadline);
      for (let step = passage.next(); ; ) {
        if (step.done) return step.value;
        let outcome: boolean | undefined;
        try {
          // The action's result is not awaited here (a blocked thread cannot).
          if (step.value === ACTION) this.#callAction();
          else outcome = condition._waitForSync(step.value.until, { timeout: step.value.timeout, signal }, this.#waitSite());
        } catch (error) {
          step = passage.throw(error);
          continue;
        }
        step = passage.next(outcome);
      }
    } finally {
      condition.release();
    }
  }

  /**
   * Waits, without blocking the event loop, until `parties` threads have called
   * `wait`/`waitSync`, and resolves to this thread's arrival index (0 .. parties-1).
   * Rejects with `BrokenBarrierError` if the barrier is or becomes broken, is reset, or
   * `timeout` (default: the barrier's) elapses, which breaks it.
   */
  async wait(options?: WaitOptions): Promise<number> {
    checkOptions(options, "Barrier.wait()");
    const deadline = deadlineOf(options?.timeout ?? this.#timeout, "Barrier.wait()");
    const signal = options?.signal;
    throwIfAborted(signal);
    const condition = this.#condition;
    await condition.acquire({ signal });
    try {
      const passage = this.#passage(deadline);
      for (let step = passage.next(); ; ) {
        if (step.done) return step.value;
        let outcome: boolean | undefined;
        try {
          if (step.value === ACTION) {
            const result = this.#callAction();
            if (isThenable(result)) await result;
          } else {
            outcome = await condition._waitFor(step.value.until, { timeout: step.value.timeout, signal }, this.#waitSite());
          }
        } catch (error) {
          step = passage.throw(error);
          continue;
        }
        step = passage.next(outcome);
      }
    } finally {
      condition.release();
    }
  }

  /**
   * Lock held: one party's way through the barrier, written once for both forms of
   * `wait`. It yields what the party waits for (a condition to hold, until a timeout) or
   * ACTION (the last party runs the action); the form's driver does the waiting, sends
   * back whether the condition held in time, and throws into it what the wait or the
   * action threw. It returns the party's arrival index.
   */
  *#passage(deadline: number): Generator<typeof ACTION | Until, number, boolean | undefined> {
    const cells = this.cells;
    yield { until: () => this.#mayEnter(), timeout: undefined };
    const index = this.#arrive();
    try {
      const gen = Atomics.load(cells, GEN);
      if (index + 1 === this.parties) {
        try {
          yield ACTION;
        } catch (error) {
          this.#break();
          throw error;
        }
        this.#releaseRound();
      } else {
        let passed: boolean;
        try {
          passed = (yield { until: () => this.#roundOver(gen), timeout: remaining(deadline) }) === true;
        } catch (error) {
          if (Atomics.load(cells, GEN) !== gen) return index;
          this.#break();
          throw error;
        }
        this.#checkReleased(gen, passed);
      }
      return index;
    } finally {
      this.#leave();
    }
  }

  /**
   * Returns the barrier to its initial, unbroken state. Threads waiting in it get
   * `BrokenBarrierError`; the barrier is usable again once they have left. Takes the
   * barrier's internal lock for a moment (on the main thread it spins for it, which lasts
   * as long as an action another thread may be running).
   */
  reset(): void {
    const cells = this.cells;
    this.#lockBriefly();
    try {
      if (Atomics.load(cells, COUNT) > 0) {
        const state = Atomics.load(cells, STATE);
        if (state === FILLING || state === BROKEN) Atomics.store(cells, STATE, RESETTING);
      } else {
        Atomics.store(cells, STATE, FILLING);
      }
      this.#condition.notifyAll();
    } finally {
      this.#lock.release();
    }
  }

  /**
   * Breaks the barrier: threads waiting in it, and any that call `wait` until `reset()`,
   * get `BrokenBarrierError`. Takes the internal lock for a moment, as `reset()` does.
   */
  abort(): void {
    this.#lockBriefly();
    try {
      this.#break();
    } finally {
      this.#lock.release();
    }
  }

  /** Lock held: may a thread arrive now? (Not while a released round drains or a reset completes.) */
  #mayEnter(): boolean {
    const state = Atomics.load(this.cells, STATE);
    return state !== DRAINING && state !== RESETTING;
  }

  /** Lock held: counts this thread in, or throws if the barrier is broken. */
  #arrive(): number {
    if (Atomics.load(this.cells, STATE) === BROKEN) throw new BrokenBarrierError("Barrier: the barrier is broken");
    return Atomics.add(this.cells, COUNT, 1);
  }

  /** Lock held: has the round that started at generation `gen` ended, one way or another? */
  #roundOver(gen: number): boolean {
    return Atomics.load(this.cells, GEN) !== gen || Atomics.load(this.cells, STATE) < 0;
  }

  /** Lock held: after waiting for the round of generation `gen`, returns if it was released, else throws. */
  #checkReleased(gen: number, passed: boolean): void {
    if (Atomics.load(this.cells, GEN) !== gen) return;
    if (!passed) {
      this.#break();
      throw new BrokenBarrierError("Barrier: timed out waiting for the other parties (the barrier is now broken)");
    }
    throw new BrokenBarrierError(
      Atomics.load(this.cells, STATE) === RESETTING
        ? "Barrier: the barrier was reset while waiting"
        : "Barrier: the barrier was broken while waiting",
    );
  }

  /** Lock held: the last party, its action run, releases the round. */
  #releaseRound(): void {
    const cells = this.cells;
    Atomics.store(cells, STATE, DRAINING);
    Atomics.add(cells, GEN, 1);
    this.#condition.notifyAll();
  }

  /** Lock held: this thread leaves; the last to leave a released or reset round reopens the barrier. */
  #leave(): void {
    const cells = this.cells;
    if (Atomics.sub(cells, COUNT, 1) === 1) {
      const state = Atomics.load(cells, STATE);
      if (state === DRAINING || state === RESETTING) {
        Atomics.store(cells, STATE, FILLING);
        this.#condition.notifyAll();
      }
    }
  }

  /** Lock held. */
  #break(): void {
    Atomics.store(this.cells, STATE, BROKEN);
    this.#condition.notifyAll();
  }

  #callAction(): unknown {
    if (this.#action === null) return undefined;
    this.#runAction ??= functionShipping().revive(this.#action);
    return this.#runAction();
  }

  #waitSite(): WaitSite {
    return (this.#site ??= { kind: "barrier", cells: this.cells, label: "Barrier" });
  }

  /**
   * Takes the barrier's internal lock for a short critical section. It is held only for a
   * few instructions (or while an action runs), so the main thread may spin for it.
   */
  #lockBriefly(): void {
    const lock = this.#lock;
    if (lock.acquireSync({ blocking: false })) return;
    if (!isMainThread || currentConfig().allowMainThreadBlocking) {
      lock.acquireSync();
      return;
    }
    while (!lock.acquireSync({ blocking: false })) {
      // spin
    }
  }

  /** @internal `util.inspect(barrier)`: `<Barrier waiting=1/3>`, `<Barrier waiting=0/3 broken>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return repr("Barrier", `waiting=${this.nWaiting}/${this.parties}`, this.broken ? "broken" : "");
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("Barrier", blockOf(this.cells), {
      condition: this.#condition[toDescriptor](),
      timeout: this.#timeout,
      action: this.#action,
    });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

registerShareable("Barrier", () => new Barrier(1));
