/**
 * Lock: Python's `threading.Lock`, as four Int32 cells of shared memory.
 *
 * Layout (Int32 cells):
 *   [0] STATE    unfair: 0 free; else the holder's ident shifted left by one, with the low
 *                bit (PARKED) set once a waiter may be parked (Drepper's futex mutex, as
 *                core/mutex.ts). fair: 0 free, 1 held, 2 being handed to a parked waiter
 *   [1] OWNER    fair only: ident of the thread that acquired it, 0 when free
 *   [2] FAIR     1 if the lock grants itself in arrival order
 *   [3] WAITERS  fair only: threads queued for the lock
 *
 * The owner is recorded because RLock and Condition need it, and the diagnostics will. An
 * unfair lock keeps it in the very word it locks: acquisition is still one compare-and-swap,
 * the owner is never stale, and the critical section does not pay for a second store into
 * the lock's cache line (that store cost ~20% of the contended throughput). Any thread may
 * release a Lock, as in Python.
 *
 * Unfair acquisition barges: a thread that finds the lock free takes it, which is what
 * makes the uncontended path a single compare-and-swap. It spins briefly before parking,
 * because a kernel wake-up costs ~46 µs here against ~0.15 µs for a spin hand-off, and
 * backs off between looks (core/parking.ts, `backOff`) so as not to slow the holder.
 *
 * Fair acquisition queues behind any waiter. Release hands the lock straight to the
 * longest-parked waiter (Atomics.notify wakes waiters in FIFO order) by setting STATE to 2;
 * the woken waiter claims it with 2 -> 1. If nobody was asleep to take it, the releaser
 * takes the hand-off back (2 -> 0), so a waiter that timed out cannot strand the lock.
 */
import { RuntimeError } from "../core/errors.js";
import { currentIdent, isMainThread } from "../core/identity.js";
import { BACKOFF_ROUNDS, assertMayBlock, backOff, parkAsync, parkSync, unpark } from "../core/parking.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type AcquireOptions } from "../core/timeouts.js";
import { allocateBlock, blockOf, ownBlock, type SharedBlock } from "../core/memory.js";
import { adoptBlock, describeBlock, registerShareable, toDescriptor, type SharedDescriptor, takeArriving } from "../transport/shareable.js";
import { Holdable } from "./holdable.js";
import { lockState, repr } from "../core/repr.js";

const STATE = 0;
const OWNER = 1;
const FAIR = 2;
const WAITERS = 3;
const CELLS = 4;

/**
 * A fair waiter looks for the lock this many times (backing off up to 2^FAIR_LOOK_MAX_LOG2
 * loop iterations, ~1 µs, between looks: ~50 µs in all, about one kernel wake-up) before it
 * parks. With a short spin a contended fair lock convoys: once a waiter is parked, each
 * release hands the lock to it through the kernel (~46 µs), the releaser, queued again,
 * runs out of spin meanwhile and parks too, and so every hand-off pays a wake-up. Two
 * threads incrementing under a fair lock (bench group 3): 0.15–0.6M incs/s with 200 tight
 * looks, 2.3–3.3M with these; parks fell from ~16k/s to ~50/s per thread.
 */
const FAIR_LOOKS = 60;
const FAIR_LOOK_MAX_LOG2 = 10;

const FREE = 0;
const PARKED = 1; // unfair: the low bit of STATE
const HELD = 1; // fair
const HANDOFF = 2; // fair

/** Options of the {@link Lock} and {@link RLock} constructors. */
export interface LockOptions {
  /** Grant the lock in arrival order, so no thread starves (slower under contention). */
  fair?: boolean;
}


/** A mutual-exclusion lock usable from every thread; pass it in `args` to share it. */
export class Lock extends Holdable {
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;
  readonly #fair: boolean;

  constructor(options?: LockOptions) {
    super();
    const arrived = takeArriving();
    if (arrived !== undefined) {
      this.cells = cellsOf(adoptBlock(this, arrived));
    } else {
      if (options !== undefined && (options === null || typeof options !== "object")) {
        throw new TypeError(`new Lock(options): options must be an object, got ${describe(options)}`);
      }
      const fair = options?.fair ?? false;
      if (typeof fair !== "boolean") throw new TypeError(`new Lock(options): options.fair must be a boolean, got ${describe(fair)}`);
      const block = allocateBlock(CELLS * 4);
      ownBlock(this, block);
      this.cells = cellsOf(block);
      this.cells[FAIR] = fair ? 1 : 0;
    }
    this.#fair = this.cells[FAIR] === 1;
  }

  /** True if the lock grants itself in arrival order. */
  get fair(): boolean {
    return this.#fair;
  }

  /** True if some thread holds the lock. */
  locked(): boolean {
    return Atomics.load(this.cells, STATE) !== FREE;
  }

  /**
   * Acquires the lock, blocking this thread. Returns `true` once held, `false` if
   * `timeout` elapsed or `blocking: false` found it held. Not on the main thread: use `acquire()`.
   */
  acquireSync(options?: AcquireOptions): boolean {
    // The fast path is kept this small so that the JIT inlines it into the caller's loop.
    if (options === undefined && !isMainThread && !this.#fair && Atomics.compareExchange(this.cells, STATE, FREE, currentIdent << 1) === FREE) {
      return true;
    }
    return this.#acquireSyncSlow(options);
  }

  #acquireSyncSlow(options: AcquireOptions | undefined): boolean {
    if (options === undefined) {
      assertMayBlock("Lock.acquireSync()", "lock.acquire()");
      if (this.#tryAcquire()) return true;
      return this.#fair ? this.#acquireFairSync(Infinity) : this.#acquireUnfairSync(Infinity);
    }
    checkOptions(options, "Lock.acquireSync()");
    const deadline = options.blocking === false ? 0 : deadlineOf(options.timeout, "Lock.acquireSync()");
    assertMayBlock("Lock.acquireSync()", "lock.acquire()", options);
    throwIfAborted(options.signal);
    if (this.#tryAcquire()) return true;
    if (remaining(deadline) === 0) return false;
    // A blocking thread cannot observe an abort while parked; it checks again once it wakes.
    const acquired = this.#fair ? this.#acquireFairSync(deadline) : this.#acquireUnfairSync(deadline);
    if (acquired && options.signal?.aborted) {
      this.release();
      throw options.signal.reason;
    }
    return acquired;
  }

  /**
   * Acquires the lock without blocking the event loop. Resolves `true` once held, `false`
   * if `timeout` elapsed or `blocking: false` found it held; rejects with the signal's
   * reason if `signal` aborts first (and then does not hold the lock).
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      checkOptions(options, "Lock.acquire()");
      const deadline = options?.blocking === false ? 0 : deadlineOf(options?.timeout, "Lock.acquire()");
      throwIfAborted(options?.signal);
      if (this.#tryAcquire()) return Promise.resolve(true);
      if (remaining(deadline) === 0) return Promise.resolve(false);
      return this.#fair ? this.#acquireFairAsync(deadline, options?.signal) : this.#acquireUnfairAsync(deadline, options?.signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Releases the lock; any thread may release it, as in Python. Unlocked: `RuntimeError`. */
  release(): void {
    if (this.#fair) return this.#releaseFair();
    const previous = Atomics.exchange(this.cells, STATE, FREE);
    if ((previous & PARKED) !== 0 || previous === FREE) this.#releasedContended(previous);
  }

  /** Unfair release, the rare cases: wake a parked waiter, or the lock was not held. */
  #releasedContended(previous: number): void {
    if (previous === FREE) throw new RuntimeError("release unlocked lock");
    unpark(this.cells, STATE, 1);
  }

  #releaseFair(): void {
    const cells = this.cells;
    if (Atomics.load(cells, STATE) === FREE) throw new RuntimeError("release unlocked lock");
    cells[OWNER] = 0;
    this.#handOff();
  }

  /** @internal The ident of the thread that acquired the lock (core/identity.ts), 0 when free. */
  _owner(): number {
    if (!this.#fair) return Atomics.load(this.cells, STATE) >>> 1;
    return this.#fairOwner();
  }

  #fairOwner(): number {
    const cells = this.cells;
    return Atomics.load(cells, STATE) === FREE ? 0 : Atomics.load(cells, OWNER);
  }

  /** Takes the lock if that needs no waiting (and, if fair, nobody is queued). */
  #tryAcquire(): boolean {
    const cells = this.cells;
    if (!this.#fair) return Atomics.compareExchange(cells, STATE, FREE, currentIdent << 1) === FREE;
    if (Atomics.load(cells, WAITERS) !== 0) return false;
    if (Atomics.compareExchange(cells, STATE, FREE, HELD) !== FREE) return false;
    cells[OWNER] = currentIdent;
    return true;
  }

  #acquireUnfairSync(deadline: number): boolean {
    const cells = this.cells;
    const me = currentIdent << 1;
    for (let round = 0; round < BACKOFF_ROUNDS; round++) {
      backOff(round);
      if (Atomics.load(cells, STATE) === FREE && Atomics.compareExchange(cells, STATE, FREE, me) === FREE) return true;
      if (deadline !== Infinity && remaining(deadline) === 0) return false;
    }
    for (;;) {
      const parkedOn = this.#markParked(me);
      if (parkedOn === FREE) return true;
      if (parkSync(cells, STATE, parkedOn, deadline) === "timed-out") return false;
    }
  }

  async #acquireUnfairAsync(deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    const cells = this.cells;
    const me = currentIdent << 1;
    const forwardWake = (): void => void unpark(cells, STATE, 1);
    for (;;) {
      const parkedOn = this.#markParked(me);
      if (parkedOn === FREE) return true;
      if ((await parkAsync(cells, STATE, parkedOn, deadline, signal, forwardWake)) === "timed-out") return false;
    }
  }

  /**
   * Unfair, before parking: sets the PARKED bit in the holder's word (so that its release
   * wakes someone) and returns the word to park on; or, if the lock is free, takes it and
   * returns FREE. A lock taken here is marked PARKED too, since other waiters may be
   * asleep: at worst one wake-up too many.
   */
  #markParked(me: number): number {
    const cells = this.cells;
    for (;;) {
      const word = Atomics.load(cells, STATE);
      if (word === FREE) {
        if (Atomics.compareExchange(cells, STATE, FREE, me | PARKED) === FREE) return FREE;
      } else if ((word & PARKED) !== 0 || Atomics.compareExchange(cells, STATE, word, word | PARKED) === word) {
        return word | PARKED;
      }
    }
  }

  /**
   * Fair: claim a free lock, or, if `handedOff` (this waiter was just woken by a release),
   * the hand-off meant for it. Only the woken waiter may take a hand-off: if a spinning
   * waiter (the releasing thread coming straight back, typically) could, it would barge
   * past the longest-parked waiter, which then re-parks at the back of the queue.
   */
  #claimQueued(handedOff = false): boolean {
    const cells = this.cells;
    if (
      Atomics.compareExchange(cells, STATE, FREE, HELD) === FREE ||
      (handedOff && Atomics.compareExchange(cells, STATE, HANDOFF, HELD) === HANDOFF)
    ) {
      Atomics.sub(cells, WAITERS, 1);
      cells[OWNER] = currentIdent;
      return true;
    }
    return false;
  }

  /**
   * Fair: the value to park on. During a hand-off to another waiter, park on HANDOFF, so
   * this waiter queues (and the thread, if the hand-off goes to an async waiter on its own
   * event loop, yields to it) instead of retrying until the recipient has claimed it.
   */
  #queueValue(): number {
    return Atomics.load(this.cells, STATE) === HANDOFF ? HANDOFF : HELD;
  }

  #acquireFairSync(deadline: number): boolean {
    const cells = this.cells;
    Atomics.add(cells, WAITERS, 1);
    for (;;) {
      for (let look = 0; look < FAIR_LOOKS; look++) {
        backOff(look < FAIR_LOOK_MAX_LOG2 ? look : FAIR_LOOK_MAX_LOG2);
        if (Atomics.load(cells, STATE) === FREE && this.#claimQueued()) return true;
        if (deadline !== Infinity && remaining(deadline) === 0) return this.#leaveQueue();
      }
      const result = parkSync(cells, STATE, this.#queueValue(), deadline);
      if (result === "ok" && this.#claimQueued(true)) return true;
      if (result === "timed-out") return this.#leaveQueue();
    }
  }

  /** Fair, out of time: one last claim, else no longer queued. */
  #leaveQueue(): boolean {
    if (this.#claimQueued()) return true;
    Atomics.sub(this.cells, WAITERS, 1);
    return false;
  }

  async #acquireFairAsync(deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    const cells = this.cells;
    Atomics.add(cells, WAITERS, 1);
    // An abandoned waiter woken by a hand-off owns the lock for a moment: pass it on.
    const forwardHandOff = (): void => {
      if (Atomics.compareExchange(cells, STATE, HANDOFF, HELD) === HANDOFF) this.#handOff();
    };
    try {
      for (let woken = false; ; ) {
        if (this.#claimQueued(woken)) return true;
        const result = await parkAsync(cells, STATE, this.#queueValue(), deadline, signal, forwardHandOff, true);
        if (result === "timed-out") return this.#leaveQueue();
        woken = result === "ok";
      }
    } catch (abort) {
      Atomics.sub(cells, WAITERS, 1);
      throw abort;
    }
  }

  /** Fair release: give the lock to the longest-parked waiter, or free it. */
  #handOff(): void {
    const cells = this.cells;
    if (Atomics.load(cells, WAITERS) === 0) {
      Atomics.store(cells, STATE, FREE);
      return;
    }
    Atomics.store(cells, STATE, HANDOFF);
    if (unpark(cells, STATE, 1) === 1) return;
    // Queued waiters are between registering and parking: free the lock for them to claim.
    // One of them may have parked on HANDOFF since the notify found nobody: wake it, or it
    // would sleep on a free lock.
    if (Atomics.compareExchange(cells, STATE, HANDOFF, FREE) === HANDOFF) unpark(cells, STATE, 1);
  }

  /** @internal `util.inspect(lock)`: `<Lock unlocked>`, `<Lock locked by worker-1>`, `<Lock fair unlocked>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const owner = this._owner();
    return repr("Lock", this.#fair ? "fair" : "", lockState(owner, owner !== 0 || this.locked()));
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("Lock", blockOf(this.cells));
  }
}

function cellsOf(block: SharedBlock): Int32Array {
  return new Int32Array(block.buffer, block.byteOffset, CELLS);
}

registerShareable("Lock", () => new Lock());
