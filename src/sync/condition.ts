/**
 * Condition: Python's `threading.Condition`, a condition variable over a Lock or RLock.
 *
 * Layout (Int32 cells in a block of the shared heap, core/memory.ts; the lock has its own):
 *   [0] SEQ      the notify sequence: bumped by every notify that may wake someone
 *   [1] WAITERS  threads between sampling SEQ and waking up (changed only as below)
 *
 * Why a sequence, sampled before unlocking: a waiter reads SEQ while it still holds the
 * lock, then releases the lock and parks "while SEQ is still what I read". A notify needs
 * the lock, so it cannot run before the sample; if it runs in the gap between the unlock
 * and the park, it has already moved SEQ and the park returns at once. Either way the
 * waiter sees it: no wake-up is lost, which is what a condition variable that samples
 * after unlocking (or checks a flag after waking) gets wrong.
 *
 * `notify(n)` bumps SEQ and wakes n parked threads, in the order they parked. Waiters that
 * sampled but have not parked yet see the new SEQ and return too, so a notify may wake
 * more than n (Python's documentation allows it); it never wakes fewer than
 * min(n, waiting). WAITERS is raised under the lock before the sample and lowered after
 * waking, so a notify that reads 0 under the lock knows that nobody can be waiting and
 * skips the kernel call.
 *
 * An async wait whose signal aborts stays parked in the kernel as a ghost (see
 * core/parking.ts); if a notify lands on it, it forwards one wake-up to the next parked
 * waiter. A wait that times out or aborts re-acquires the lock before it returns or
 * throws, as in Python, and leaves nothing else behind.
 *
 * Holding: for an RLock the owner is the thread ident recorded by its Lock; for a plain
 * Lock, "holding" means the Lock's recorded owner (`_owner()`) is the current thread's ident. All async
 * tasks on one event loop are one thread, so the default RLock does not keep two async
 * tasks of one thread apart: pass `new Lock()` when tasks on one event loop share a Condition.
 */
import { RuntimeError, ValueError } from "../core/errors.js";
import { currentIdent } from "../core/identity.js";
import { SPIN_LIMIT, assertMayBlock, unpark } from "../core/parking.js";
import { park, runAsync, runSync, type Wait } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";
import {
  checkOptions,
  deadlineOf,
  describe,
  remaining,
  throwIfAborted,
  type AcquireOptions,
  type WaitOptions,
} from "../core/timeouts.js";
import { allocateCells, blockOf } from "../core/memory.js";
import {
  adoptBlock,
  describeBlock,
  registerShareable,
  reviveShareable,
  toDescriptor,
  takeArriving,
  type SharedDescriptor,
} from "../core/shareable.js";
import { Holdable } from "./holdable.js";
import { Lock } from "./lock.js";
import { RLock } from "./rlock.js";
import { inspect } from "node:util";

const SEQ = 0;
const WAITERS = 1;
const CELLS = 2;



/** A condition variable usable from every thread; pass it in `args` to share it (its lock travels with it). */
export class Condition extends Holdable {
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;
  readonly #lock: Lock | RLock;

  /**
   * @param lock the lock to wait with: a `Lock` or an `RLock` (default: a new `RLock`,
   *   as in Python). It may be shared with other conditions.
   */
  constructor(lock?: Lock | RLock) {
    super();
    const arrived = takeArriving();
    if (arrived !== undefined) {
      const block = adoptBlock(this, arrived);
      this.cells = new Int32Array(block.buffer, block.byteOffset, CELLS);
      this.#lock = reviveShareable(arrived.lock as SharedDescriptor) as Lock | RLock;
      return;
    }
    if (lock !== undefined && !(lock instanceof Lock) && !(lock instanceof RLock)) {
      throw new TypeError(`new Condition(lock): lock must be a Lock or an RLock, got ${describe(lock)}`);
    }
    this.#lock = lock ?? new RLock();
    this.cells = allocateCells(CELLS, this);
  }

  /** @internal The underlying lock. */
  get lock(): Lock | RLock {
    return this.#lock;
  }

  /** Acquires the underlying lock without blocking the event loop (see `Lock.acquire`). */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /** Acquires the underlying lock, blocking this thread (see `Lock.acquireSync`). */
  acquireSync(options?: AcquireOptions): boolean {
    return this.#lock.acquireSync(options);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.#lock.release();
  }

  /**
   * Releases the lock, blocks this thread until notified or until `timeout` elapses, then
   * re-acquires the lock. Returns `false` if it timed out, `true` otherwise. The caller
   * must hold the lock (`RuntimeError` otherwise). Not on the main thread: use `wait()`.
   */
  waitSync(options?: WaitOptions): boolean {
    return this._waitSync(options, this.#waitSite());
  }

  /** @internal `waitSync`, reported to the wait hooks as `site` (a Barrier's waits). */
  _waitSync(options: WaitOptions | undefined, site: WaitSite): boolean {
    checkOptions(options, "Condition.waitSync()");
    const deadline = deadlineOf(options?.timeout, "Condition.waitSync()");
    assertMayBlock("Condition.waitSync()", "condition.wait()", options);
    throwIfAborted(options?.signal);
    if (!this.#isOwned()) throw new RuntimeError("cannot wait on un-acquired lock");
    const cells = this.cells;
    Atomics.add(cells, WAITERS, 1);
    const seq = Atomics.load(cells, SEQ);
    const saved = this.#releaseSave();
    let notified = false;
    try {
      for (let spin = 0; spin < SPIN_LIMIT && !notified; spin++) notified = Atomics.load(cells, SEQ) !== seq;
      if (!notified) notified = runSync(this.#waiting(seq, deadline), site);
    } finally {
      Atomics.sub(cells, WAITERS, 1);
      this.#acquireRestoreSync(saved);
    }
    // A blocked thread cannot see an abort while parked; it checks once it holds the lock again.
    throwIfAborted(options?.signal);
    return notified;
  }

  /**
   * Releases the lock, waits without blocking the event loop until notified or until
   * `timeout` elapses, then re-acquires the lock. Resolves `false` if it timed out,
   * `true` otherwise; if `signal` aborts, re-acquires the lock and rejects with its
   * reason. The caller must hold the lock (`RuntimeError` otherwise).
   */
  wait(options?: WaitOptions): Promise<boolean> {
    return this._wait(options, this.#waitSite());
  }

  /** @internal `wait`, reported to the wait hooks as `site` (a Barrier's waits). */
  async _wait(options: WaitOptions | undefined, site: WaitSite): Promise<boolean> {
    checkOptions(options, "Condition.wait()");
    const deadline = deadlineOf(options?.timeout, "Condition.wait()");
    const signal = options?.signal;
    throwIfAborted(signal);
    if (!this.#isOwned()) throw new RuntimeError("cannot wait on un-acquired lock");
    const cells = this.cells;
    Atomics.add(cells, WAITERS, 1);
    const seq = Atomics.load(cells, SEQ);
    const saved = this.#releaseSave();
    try {
      return await runAsync(this.#waiting(seq, deadline), signal, site);
    } finally {
      Atomics.sub(cells, WAITERS, 1);
      await this.#acquireRestore(saved);
    }
  }

  /**
   * The wait of both forms, between the release and the re-acquisition of the lock: one
   * park while SEQ is still what was sampled. Waiters are woken in the order they parked,
   * so the park keeps its place; an abandoned async park that a notify lands on passes the
   * wake-up on. "ok" without a change of SEQ is such a forwarded wake-up: it counts as a
   * notify.
   */
  *#waiting(seq: number, deadline: number): Wait<boolean> {
    const cells = this.cells;
    const result = yield park(cells, SEQ, seq, deadline, () => void unpark(cells, SEQ, 1), true);
    return result !== "timed-out" || Atomics.load(cells, SEQ) !== seq;
  }

  /**
   * Waits, blocking this thread, until `predicate()` returns a truthy value or `timeout`
   * elapses (over all the waits), and returns the predicate's last value. The predicate
   * runs in this thread with the lock held. Not on the main thread: use `waitFor()`.
   */
  waitForSync<T>(predicate: () => T, options?: WaitOptions): T {
    return this._waitForSync(predicate, options, this.#waitSite());
  }

  /** @internal `waitForSync`, reported to the wait hooks as `site`. */
  _waitForSync<T>(predicate: () => T, options: WaitOptions | undefined, site: WaitSite): T {
    if (typeof predicate !== "function") {
      throw new TypeError(`Condition.waitForSync(predicate): predicate must be a function, got ${describe(predicate)}`);
    }
    checkOptions(options, "Condition.waitForSync()");
    const deadline = deadlineOf(options?.timeout, "Condition.waitForSync()");
    let result = predicate();
    while (!result) {
      const left = remaining(deadline);
      if (left === 0) break;
      this._waitSync({ timeout: left, signal: options?.signal }, site);
      result = predicate();
    }
    return result;
  }

  /**
   * Waits, without blocking the event loop, until `predicate()` returns (or resolves to)
   * a truthy value or `timeout` elapses, and resolves to the predicate's last value. The
   * predicate runs in this thread with the lock held.
   */
  waitFor<T>(predicate: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return this._waitFor(predicate, options, this.#waitSite());
  }

  /** @internal `waitFor`, reported to the wait hooks as `site`. */
  async _waitFor<T>(predicate: () => T | PromiseLike<T>, options: WaitOptions | undefined, site: WaitSite): Promise<T> {
    if (typeof predicate !== "function") {
      throw new TypeError(`Condition.waitFor(predicate): predicate must be a function, got ${describe(predicate)}`);
    }
    checkOptions(options, "Condition.waitFor()");
    const deadline = deadlineOf(options?.timeout, "Condition.waitFor()");
    let result = await predicate();
    while (!result) {
      const left = remaining(deadline);
      if (left === 0) break;
      await this._wait({ timeout: left, signal: options?.signal }, site);
      result = await predicate();
    }
    return result;
  }

  /**
   * Wakes up to `n` threads waiting on this condition (possibly, rarely, a few more).
   * The caller must hold the lock (`RuntimeError` otherwise).
   */
  notify(n = 1): void {
    if (typeof n !== "number") throw new TypeError(`Condition.notify(n): n must be a number, got ${describe(n)}`);
    if (!(n >= 0) || (!Number.isInteger(n) && n !== Infinity)) {
      throw new ValueError(`Condition.notify(n): n must be a non-negative integer, got ${describe(n)}`);
    }
    if (!this.#isOwned()) throw new RuntimeError("cannot notify on un-acquired lock");
    this.#wake(n);
  }

  /** Wakes every thread waiting on this condition. The caller must hold the lock. */
  notifyAll(): void {
    if (!this.#isOwned()) throw new RuntimeError("cannot notify on un-acquired lock");
    this.#wake(Infinity);
  }

  #wake(n: number): void {
    const cells = this.cells;
    if (n === 0 || Atomics.load(cells, WAITERS) === 0) return;
    Atomics.add(cells, SEQ, 1);
    unpark(cells, SEQ, n);
  }

  #site: WaitSite | undefined;

  #waitSite(): WaitSite {
    return (this.#site ??= { kind: "condition", cells: this.cells, label: "Condition" });
  }

  #isOwned(): boolean {
    const lock = this.#lock;
    if (lock instanceof RLock) return lock._isOwned();
    return lock._owner() === currentIdent;
  }

  #releaseSave(): number {
    const lock = this.#lock;
    if (lock instanceof RLock) return lock._releaseSave();
    lock.release();
    return 1;
  }

  #acquireRestoreSync(saved: number): void {
    const lock = this.#lock;
    if (lock instanceof RLock) lock._acquireRestoreSync(saved);
    else lock.acquireSync();
  }

  async #acquireRestore(saved: number): Promise<void> {
    const lock = this.#lock;
    if (lock instanceof RLock) await lock._acquireRestore(saved);
    else await lock.acquire();
  }

  /** @internal `util.inspect(condition)`: `<Condition(<RLock unlocked>, waiters=0)>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `<Condition(${inspect(this.#lock)}, waiters=${Atomics.load(this.cells, WAITERS)})>`;
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("Condition", blockOf(this.cells), { lock: this.#lock[toDescriptor]() });
  }
}

registerShareable("Condition", () => new Condition());
