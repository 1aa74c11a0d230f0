/**
 * Lock: Python's `threading.Lock`, as a few Int32 cells of shared memory.
 *
 * Layout (Int32 cells):
 *   [0] STATE    unfair: 0 free; else the holder's ident shifted left by one, with the low
 *                bit (PARKED) set once a waiter may be parked (Drepper's futex mutex, as
 *                core/mutex.ts); DIED (-1) once its holder is known to have ended.
 *                fair: 0 free, 1 held, 2 being handed to a parked waiter
 *   [1] OWNER    fair only: ident of the thread that acquired it, 0 when free, -1 once
 *                its holder is known to have ended
 *   [2] FAIR     1 if the lock grants itself in arrival order
 *   [3] WAITERS  fair only: threads queued for the lock
 *   [4..6]       ID, FLAGS, NAME_BYTES: its label (core/lock-names.ts); FLAGS also has
 *                DIED_FLAG (fair: the next to claim it must report its holder's death)
 *   [7] DEAD_AT  fair: the ident of the holder that died, for that report
 *   [8..47]      statistics, per thread (core/lock-stats.ts), written by the holder
 *   [48..]       the name's UTF-8 bytes
 *
 * Owner death (POSIX robust mutexes' EOWNERDEAD): a thread that ends holding the lock
 * leaves its ident in it. A waiter checks, before each park, whether the holder is alive
 * (core/thread-table.ts); when a thread ends, the waiters recorded on locks it held are
 * marked and woken (core/wait-targets.ts), so one already parked learns of it at once.
 * The acquisition that takes such a lock over releases it again (an RLock's count reset
 * first) and throws LockOwnerDiedError: it does not hold the lock, which is free for the
 * next acquisition, and that one works as usual.
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
import { currentConfig } from "../core/config.js";
import { LockOwnerDiedError, RuntimeError } from "../core/errors.js";
import { currentIdent, isMainThread } from "../core/identity.js";
import { BACKOFF_ROUNDS, assertMayBlock, backOff, unpark } from "../core/parking.js";
import { park, runAsync, runSync, type Wait } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type AcquireOptions } from "../core/timeouts.js";
import { allocateBlock, blockOf, ownBlock, type SharedBlock } from "../core/memory.js";
import { adoptBlock, describeBlock, registerShareable, toDescriptor, type SharedDescriptor, takeArriving } from "../core/shareable.js";
import { Holdable } from "./holdable.js";
import { lockState, repr } from "../core/repr.js";
import { acquisitionsOf, countAcquisition, entryOf, readStats, timesOf, type LockStats } from "../core/lock-stats.js";
import { FLAGS, NAME_AT, cellsWithName, encodeName, labelAt, writeLabel } from "../core/lock-names.js";
import { isIdentAlive, nameOrEnded } from "../core/thread-table.js";
import { registerWaitTarget, waitMode, type WaitTargetKind } from "../core/wait-targets.js";
import { EV, onTraceSwitch, traceLock } from "../core/trace-buffer.js";

const STATE = 0;
const OWNER = 1;
const FAIR = 2;
const WAITERS = 3;

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
/** Unfair STATE, fair OWNER: the holder ended without releasing. */
const DIED = -1;
/** Fair, in FLAGS: the holder ended; whoever claims the lock next reports it. */
const DIED_FLAG = 2;

/** Options of the {@link Lock} and {@link RLock} constructors. */
export interface LockOptions {
  /** Grant the lock in arrival order, so no thread starves (slower under contention). */
  fair?: boolean;
  /** How deadlock messages, dumps and errors name the lock (default "Lock#N"; at most 200 UTF-8 bytes kept). */
  name?: string;
}

/** A handle's statistics view before its thread's entry is known. */
const NO_TIMES = new Float64Array(3);

/** @internal Marks the options of the Lock an RLock is built on: it is named "RLock#N". */
export const FOR_RLOCK: unique symbol = Symbol("weft.forRLock");


/** A mutual-exclusion lock usable from every thread; pass it in `args` to share it. */
export class Lock extends Holdable {
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;
  readonly #fair: boolean;
  /** The statistics entry this handle counts in, and its Float64 times (`[0]` counts acquisitions), valid for #statIdent. */
  #statAt = 0;
  #statTimes: Float64Array = NO_TIMES;
  #statIdent = 0;
  /** @internal Set by an RLock: resets its count when an acquisition takes the lock over from a dead holder. */
  _onOwnerDied: (() => void) | undefined = undefined;

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
      const name = options?.name;
      if (name !== undefined && typeof name !== "string") throw new TypeError(`new Lock(options): options.name must be a string, got ${describe(name)}`);
      const encoded = encodeName(name);
      const block = allocateBlock(cellsWithName(encoded) * 4);
      ownBlock(this, block);
      this.cells = cellsOf(block);
      this.cells[FAIR] = fair ? 1 : 0;
      writeLabel(this.cells, encoded, (options as { [FOR_RLOCK]?: boolean } | undefined)?.[FOR_RLOCK] === true);
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
      this.#count();
      return true;
    }
    return this.#acquireSyncSlow(options);
  }

  /** The fast path's statistics: one increment in this thread's entry, once it is known. */
  #count(): void {
    if (this.#statIdent === currentIdent) this.#statTimes[0]++;
    else this.#counted(false, 0);
  }

  /** Counts an acquisition (the caller holds the lock): `contended` if it had to wait, `parkedMs` parked. */
  #counted(contended: boolean, parkedMs: number): void {
    if (this.#statIdent !== currentIdent) {
      this.#statAt = entryOf(this.cells, currentIdent);
      this.#statTimes = timesOf(this.cells, this.#statAt);
      this.#statIdent = currentIdent;
    }
    countAcquisition(this.cells, this.#statAt, this.#statTimes, contended, parkedMs);
  }

  /**
   * How the lock has been used: acquisitions, how many had to wait and how long they were
   * parked (ms), in all and per thread (the first four threads each, the rest together).
   * The same figures in every thread; a snapshot, as other threads may be counting.
   */
  stats(): LockStats {
    return readStats(this.cells);
  }

  /** The lock's name as given to the constructor, or "Lock#N" (N unique in the process) if none was. */
  get name(): string {
    return labelAt(this.cells, 0);
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
    if (remaining(deadline) === 0) return this.#lastTry();
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
      if (remaining(deadline) === 0) return Promise.resolve(this.#lastTry());
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

  /** Takes the lock if that needs no waiting (and, if fair, nobody is queued); counts it. */
  #tryAcquire(): boolean {
    const cells = this.cells;
    if (!this.#fair) {
      if (Atomics.compareExchange(cells, STATE, FREE, currentIdent << 1) !== FREE) return false;
      this.#counted(false, 0);
      return true;
    }
    if (Atomics.load(cells, WAITERS) !== 0) return false;
    if (Atomics.compareExchange(cells, STATE, FREE, HELD) !== FREE) return false;
    cells[OWNER] = currentIdent;
    this.#counted(false, 0);
    this.#reportDeathIfMarked();
    return true;
  }

  /**
   * A wait that may not wait (`blocking: false`, no time left) found the lock held: if its
   * holder has ended, this is the acquisition that finds out. Returns false (not acquired).
   */
  #lastTry(): boolean {
    if (this.#fair) {
      this.#checkFairHolder();
      if (Atomics.load(this.cells, WAITERS) === 0 && this.#tryAcquire()) return true;
    } else {
      const word = Atomics.load(this.cells, STATE);
      if (word === DIED || (word !== FREE && !isIdentAlive(word >>> 1))) this.#takeOver(word);
    }
    return false;
  }

  /**
   * Unfair: the holder of `word` has ended. Takes the lock over (one compare-and-swap: one
   * taker), resets what the lock's user keeps (an RLock's count), releases it and throws
   * LockOwnerDiedError. Returns if another thread took it first.
   */
  #takeOver(word: number): void {
    const cells = this.cells;
    if (Atomics.compareExchange(cells, STATE, word, (currentIdent << 1) | PARKED) !== word) return;
    this._onOwnerDied?.();
    this.release();
    throw this.#ownerDied(word === DIED ? 0 : word >>> 1);
  }

  /** Fair: if the holder has ended, mark the lock so and hand it on (to the next claimer, who reports it). */
  #checkFairHolder(): void {
    if (Atomics.load(this.cells, STATE) !== HELD) return;
    const owner = Atomics.load(this.cells, OWNER);
    if (owner !== 0 && owner !== DIED && !isIdentAlive(owner)) fairOwnerEnded(this.cells, owner);
  }

  /** Fair, just claimed: if the previous holder died, report it (releasing the lock again). */
  #reportDeathIfMarked(): void {
    const cells = this.cells;
    if ((Atomics.load(cells, FLAGS) & DIED_FLAG) === 0) return;
    const dead = cells[DEAD_AT];
    Atomics.and(cells, FLAGS, ~DIED_FLAG);
    this._onOwnerDied?.();
    this.#releaseFair();
    throw this.#ownerDied(dead);
  }

  #ownerDied(dead: number): LockOwnerDiedError {
    const who = dead === 0 ? "its holder" : `its holder ${nameOrEnded(dead)}`;
    return new LockOwnerDiedError(
      `${this.name}: ${who} ended without releasing it. This acquisition does not hold it; the lock is free again ` +
        `(an RLock's count reset), so the next acquisition works. What it protected may be half-updated: check it`,
    );
  }

  #acquireUnfairSync(deadline: number): boolean {
    const cells = this.cells;
    const me = currentIdent << 1;
    for (let round = 0; round < BACKOFF_ROUNDS; round++) {
      backOff(round);
      if (Atomics.load(cells, STATE) === FREE && Atomics.compareExchange(cells, STATE, FREE, me) === FREE) {
        this.#counted(true, 0);
        return true;
      }
      if (deadline !== Infinity && remaining(deadline) === 0) return this.#lastTry();
    }
    return runSync(this.#unfairWait(deadline), this._waitSite());
  }

  #acquireUnfairAsync(deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    return asyncWait((waitSignal) => runAsync(this.#unfairWait(deadline), waitSignal, this._waitSite()), signal);
  }

  /**
   * Unfair, the slow path of both forms: mark the word PARKED and park on it until free.
   * Before each park it checks that the holder is alive (owner death, see the top).
   */
  *#unfairWait(deadline: number): Wait<boolean> {
    const cells = this.cells;
    const me = currentIdent << 1;
    const forwardWake = (): void => void unpark(cells, STATE, 1);
    let parkedSince = 0;
    for (;;) {
      const parkedOn = this.#markParked(me);
      if (parkedOn === FREE) {
        this.#counted(true, parkedSince === 0 ? 0 : performance.now() - parkedSince);
        return true;
      }
      if (parkedOn === DIED || !isIdentAlive(parkedOn >>> 1)) {
        // The word as read: the takeover succeeds only if the dead holder still holds it.
        this.#takeOver(parkedOn);
        continue;
      }
      if (parkedSince === 0) parkedSince = performance.now();
      if ((yield park(cells, STATE, parkedOn, deadline, forwardWake)) === "timed-out") return this.#lastTry();
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
    const acquired = runSync(this.#fairWait(deadline, true), this._waitSite());
    if (acquired) this.#reportDeathIfMarked();
    return acquired;
  }

  #acquireFairAsync(deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    return asyncWait((waitSignal) => runAsync(this.#fairWait(deadline, false), waitSignal, this._waitSite()), signal).then((acquired) => {
      if (acquired) this.#reportDeathIfMarked();
      return acquired;
    });
  }

  /** Fair, claimed after waiting: count it. */
  #claimedAfterWait(parkedSince: number): true {
    this.#counted(true, parkedSince === 0 ? 0 : performance.now() - parkedSince);
    return true;
  }

  /**
   * Fair, the slow path of both forms: queue (WAITERS), then claim the lock when free or
   * handed to this waiter. A blocking waiter looks FAIR_LOOKS times before each park; an
   * async one does not spin (it would hold up its event loop).
   */
  *#fairWait(deadline: number, blocking: boolean): Wait<boolean> {
    const cells = this.cells;
    Atomics.add(cells, WAITERS, 1);
    // An abandoned waiter woken by a hand-off owns the lock for a moment: pass it on.
    const forwardHandOff = (): void => {
      if (Atomics.compareExchange(cells, STATE, HANDOFF, HELD) === HANDOFF) this.#handOff();
    };
    let parkedSince = 0;
    try {
      for (let woken = false; ; ) {
        if (this.#claimQueued(woken)) return this.#claimedAfterWait(parkedSince);
        if (blocking) {
          for (let look = 0; look < FAIR_LOOKS; look++) {
            backOff(look < FAIR_LOOK_MAX_LOG2 ? look : FAIR_LOOK_MAX_LOG2);
            if (Atomics.load(cells, STATE) === FREE && this.#claimQueued()) return this.#claimedAfterWait(parkedSince);
            if (deadline !== Infinity && remaining(deadline) === 0) return this.#leaveQueue();
          }
        }
        this.#checkFairHolder();
        if (Atomics.load(cells, STATE) === FREE) continue;
        if (parkedSince === 0) parkedSince = performance.now();
        const result = yield park(cells, STATE, this.#queueValue(), deadline, forwardHandOff, true);
        if (result === "timed-out") return this.#leaveQueue();
        woken = result === "ok";
      }
    } catch (error) {
      // Aborted, or refused by a wait hook: no longer queued.
      Atomics.sub(cells, WAITERS, 1);
      throw error;
    }
  }

  /** Fair, out of time: one last claim, else no longer queued. */
  #leaveQueue(): boolean {
    if (this.#claimQueued()) return this.#claimedAfterWait(0);
    Atomics.sub(this.cells, WAITERS, 1);
    return false;
  }

  /** Fair release: give the lock to the longest-parked waiter, or free it. */
  #handOff(): void {
    handOff(this.cells);
  }

  /**
   * @internal What the wait hooks hear this lock's waits as. An RLock sets its own on the
   * Lock it is built on (the waits are the RLock's).
   */
  _site: WaitSite | undefined = undefined;

  /** @internal */
  _waitSite(): WaitSite {
    return (this._site ??= { kind: "lock", cells: this.cells, label: this.name });
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
  return new Int32Array(block.buffer, block.byteOffset, block.byteLength >> 2);
}

/**
 * Runs an async wait with a signal that deadlock detection can abort: it confirms a cycle
 * through an event loop only later, and then fails the wait with the DeadlockError
 * (core/wait-targets.ts, waitMode.abort). Without detection, the wait runs as given.
 */
function asyncWait<T>(run: (signal: AbortSignal | undefined) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!currentConfig().deadlockDetection) return run(signal);
  const guard = new AbortController();
  waitMode.abort = guard;
  try {
    return run(signal === undefined ? guard.signal : AbortSignal.any([signal, guard.signal]));
  } finally {
    waitMode.abort = undefined;
  }
}

/** Fair release, on any view of a lock's cells: give the lock to the longest-parked waiter, or free it. */
function handOff(cells: Int32Array): void {
  if (Atomics.load(cells, WAITERS) === 0) {
    Atomics.store(cells, STATE, FREE);
    // A waiter that queued after the look may have seen the lock held and parked on HELD
    // before the store (this thread preempted between the two): wake one to look again.
    // Without it that waiter slept on a free lock for good (seen under load in the stress).
    if (Atomics.load(cells, WAITERS) !== 0) unpark(cells, STATE, 1);
    return;
  }
  Atomics.store(cells, STATE, HANDOFF);
  if (unpark(cells, STATE, 1) === 1) return;
  // Queued waiters are between registering and parking: free the lock for them to claim.
  // One of them may have parked on HANDOFF since the notify found nobody: wake it, or it
  // would sleep on a free lock.
  if (Atomics.compareExchange(cells, STATE, HANDOFF, FREE) === HANDOFF) unpark(cells, STATE, 1);
}

/** Fair: where the ident of a dead holder is kept for the claimer's message (the pad cell of the label's). */
const DEAD_AT = 7;

/**
 * Fair: the holder `owner` has ended. One thread wins OWNER owner -> DIED, marks the lock
 * (DIED_FLAG: the next to claim it reports the death) and hands it on as a release would.
 */
function fairOwnerEnded(cells: Int32Array, owner: number): void {
  if (Atomics.load(cells, STATE) !== HELD || Atomics.compareExchange(cells, OWNER, owner, DIED) !== owner) return;
  cells[DEAD_AT] = owner;
  Atomics.or(cells, FLAGS, DIED_FLAG);
  handOff(cells);
}

/** The owner of the lock whose cells are `cells`, 0 when free or its holder is known dead. */
function ownerOfCells(cells: Int32Array): number {
  if (cells[FAIR] !== 1) {
    const word = Atomics.load(cells, STATE);
    return word === FREE || word === DIED ? 0 : word >>> 1;
  }
  const owner = Atomics.load(cells, STATE) === FREE ? 0 : Atomics.load(cells, OWNER);
  return owner === DIED ? 0 : owner;
}

/** The diagnostics' view of a lock, from its offset in the heap (core/wait-targets.ts). */
const lockTarget: WaitTargetKind = {
  owner: (heap, offset) => ownerOfCells(new Int32Array(heap.buffer, offset, 4)),
  label: (heap, offset) => labelAt(heap, offset >> 2),
  version: (heap, offset) => acquisitionsOf(new Int32Array(heap.buffer, offset, NAME_AT)),
  ownerEnded(heap, offset, ident) {
    const cells = new Int32Array(heap.buffer, offset, 8);
    if (cells[FAIR] === 1) {
      if (Atomics.load(cells, OWNER) === ident) fairOwnerEnded(cells, ident);
      return;
    }
    const word = Atomics.load(cells, STATE);
    if (word !== FREE && word !== DIED && word >>> 1 === ident && Atomics.compareExchange(cells, STATE, word, DIED) === word) {
      unpark(cells, STATE, Infinity);
    }
  },
};

registerWaitTarget("lock", lockTarget);
registerWaitTarget("rlock", lockTarget);

registerShareable("Lock", () => new Lock());

/**
 * Lock holds in a trace. While this thread records a trace (core/trace-buffer.ts), the
 * prototype's `acquireSync`, `acquire` and `release` are wrappers that record each
 * acquisition and release; otherwise they are the plain methods, so the fast paths carry
 * no check at all while tracing is off (a guarded call in them cost 8–10% of the
 * uncontended lock). RLock acquires and releases through its Lock, so it is traced too.
 * A thread learns of a trace at its next recorded event or slow-path wait.
 */
const names = new WeakMap<Lock, string>();
function nameOf(lock: Lock): string {
  let name = names.get(lock);
  if (name === undefined) names.set(lock, (name = lock.name));
  return name;
}
const plain = { acquireSync: Lock.prototype.acquireSync, acquire: Lock.prototype.acquire, release: Lock.prototype.release };
const traced: typeof plain = {
  acquireSync(this: Lock, options?: AcquireOptions): boolean {
    const held = plain.acquireSync.call(this, options);
    if (held) traceLock(EV.ACQUIRE, this.cells, nameOf(this));
    return held;
  },
  acquire(this: Lock, options?: AcquireOptions): Promise<boolean> {
    return plain.acquire.call(this, options).then((held) => {
      if (held) traceLock(EV.ACQUIRE, this.cells, nameOf(this));
      return held;
    });
  },
  release(this: Lock): void {
    // Before the release, so that the next holder's acquisition is stamped after it.
    if (this.locked()) traceLock(EV.RELEASE, this.cells, nameOf(this));
    plain.release.call(this);
  },
};
onTraceSwitch((on) => Object.assign(Lock.prototype, on ? traced : plain));
