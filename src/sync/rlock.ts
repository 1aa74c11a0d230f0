/**
 * RLock: Python's `threading.RLock`, a lock that the thread holding it may acquire again.
 *
 * Layout: an RLock is a {@link Lock} (its own block, see lock.ts) plus a block of the shared
 * heap (core/memory.ts) with one Int32 cell
 *   [0] COUNT    how many times the owner has acquired it; 0 exactly when the Lock is free
 * The owner is the one the Lock records (`_owner()`: the ident of the thread that acquired it), so the
 * Lock's algorithm, fairness and diagnostics serve the RLock unchanged: only the first
 * acquisition by a thread touches the Lock, the others only count.
 *
 * COUNT is written only by the owner, and read by another thread only after that thread
 * has acquired the Lock (whose atomic operations order it), so plain reads suffice. It is
 * always changed by adding, never by assigning: on an event loop, several async tasks are
 * the same thread, and one may re-enter between another's acquisition and its bookkeeping.
 *
 * "Thread" means a weft thread ident (`core/identity.ts`). All async tasks on one event
 * loop share it, so on the main thread an RLock does not exclude one async task from
 * another; use a {@link Lock} for that.
 */
import { RuntimeError } from "../core/errors.js";
import { currentIdent, isMainThread } from "../core/identity.js";
import { assertMayBlock } from "../core/parking.js";
import { checkOptions, deadlineOf, describe, throwIfAborted, type AcquireOptions } from "../core/timeouts.js";
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
import { lockState, repr } from "../core/repr.js";
import { FOR_RLOCK, Lock, type LockOptions } from "./lock.js";
import type { LockStats } from "../core/lock-stats.js";
import type { WaitSite } from "../core/wait-hooks.js";

const COUNT = 0;
const CELLS = 1;


const MAX_COUNT = 0x7fffffff;

const TRY_ONCE: AcquireOptions = Object.freeze({ blocking: false });


/** A re-entrant lock usable from every thread; pass it in `args` to share it. */
export class RLock extends Holdable {
  /** @internal The Lock that the first acquisition by a thread takes. */
  readonly lock: Lock;
  /** @internal The shared cells; see the layout at the top of this file. */
  readonly cells: Int32Array;

  constructor(options?: LockOptions) {
    super();
    const arrived = takeArriving();
    if (arrived !== undefined) {
      const block = adoptBlock(this, arrived);
      this.cells = new Int32Array(block.buffer, block.byteOffset, CELLS);
      this.lock = reviveShareable(arrived.lock as SharedDescriptor) as Lock;
      this.lock._site = rlockSite(this.lock);
      this.lock._onOwnerDied = () => void (this.cells[COUNT] = 0);
      return;
    }
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new TypeError(`new RLock(options): options must be an object, got ${describe(options)}`);
    }
    if (options?.fair !== undefined && typeof options.fair !== "boolean") {
      throw new TypeError(`new RLock(options): options.fair must be a boolean, got ${describe(options.fair)}`);
    }
    if (options?.name !== undefined && typeof options.name !== "string") {
      throw new TypeError(`new RLock(options): options.name must be a string, got ${describe(options.name)}`);
    }
    this.lock = new Lock({ fair: options?.fair ?? false, name: options?.name, [FOR_RLOCK]: true } as LockOptions);
    this.lock._site = rlockSite(this.lock);
    this.cells = allocateCells(CELLS, this);
    // Owner death: the acquisition that takes the lock over from a dead holder resets the
    // count while it holds the Lock, before it releases it (see lock.ts).
    this.lock._onOwnerDied = () => void (this.cells[COUNT] = 0);
  }

  /** True if the lock grants itself in arrival order. */
  get fair(): boolean {
    return this.lock.fair;
  }

  /** The name given to the constructor, or "RLock#N" (N unique in the process) if none was. */
  get name(): string {
    return this.lock.name;
  }

  /**
   * How the lock has been used (see `Lock.stats()`): the first acquisition by a thread
   * counts, its re-entries do not.
   */
  stats(): LockStats {
    return this.lock.stats();
  }

  /** True if some thread holds the lock. */
  locked(): boolean {
    return this.lock.locked();
  }

  /**
   * Acquires the lock, blocking this thread; returns at once (counting one more level) if
   * this thread holds it already. Returns `false` if `timeout` elapsed or `blocking: false`
   * found it held by another thread. Not on the main thread: use `acquire()`.
   */
  acquireSync(options?: AcquireOptions): boolean {
    // The common case, kept small so that the JIT inlines it: no options, a thread that
    // may block, a lock that this thread holds already or that the Lock's own fast path takes.
    if (options === undefined && !isMainThread) {
      if (this.lock._owner() === currentIdent) return this.#enter();
      this.lock.acquireSync();
      this.cells[COUNT] += 1;
      return true;
    }
    return this.#acquireSyncSlow(options);
  }

  #acquireSyncSlow(options: AcquireOptions | undefined): boolean {
    if (options === undefined) {
      assertMayBlock("RLock.acquireSync()", "rlock.acquire()");
      if (this._isOwned()) return this.#enter();
      this.lock.acquireSync();
      this.cells[COUNT] += 1;
      return true;
    }
    checkOptions(options, "RLock.acquireSync()");
    const blocking = options?.blocking !== false;
    if (blocking) deadlineOf(options?.timeout, "RLock.acquireSync()");
    assertMayBlock("RLock.acquireSync()", "rlock.acquire()", options);
    throwIfAborted(options?.signal);
    if (this._isOwned()) return this.#enter();
    if (!this.lock.acquireSync(TRY_ONCE)) {
      if (!blocking || options?.timeout === 0) return false;
      if (!this.lock.acquireSync(options ?? {})) return false;
    }
    this.cells[COUNT] += 1;
    return true;
  }

  /**
   * Acquires the lock without blocking the event loop; resolves `true` at once if this
   * thread holds it already. Resolves `false` if `timeout` elapsed or `blocking: false`
   * found it held; rejects with the signal's reason if `signal` aborts first.
   */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    checkOptions(options, "RLock.acquire()");
    if (options?.blocking !== false) deadlineOf(options?.timeout, "RLock.acquire()");
    throwIfAborted(options?.signal);
    if (this._isOwned()) return this.#enter();
    if (!(await this.lock.acquire(options))) return false;
    this.cells[COUNT] += 1;
    return true;
  }

  /**
   * Releases one level; the lock is free once every acquisition has been released.
   * By a thread that does not hold it: `RuntimeError`.
   */
  release(): void {
    if (this.lock._owner() !== currentIdent) throw new RuntimeError("cannot release un-acquired lock");
    const cells = this.cells;
    if (--cells[COUNT] === 0) this.lock.release();
  }

  /** @internal True if the current thread holds the lock (Python's `_is_owned`). */
  _isOwned(): boolean {
    return this.lock._owner() === currentIdent;
  }

  /**
   * @internal Releases every level at once and returns how many there were, for
   * `Condition.wait` (Python's `_release_save`). The caller has checked `_isOwned()`.
   */
  _releaseSave(): number {
    const cells = this.cells;
    const count = cells[COUNT];
    cells[COUNT] = 0;
    this.lock.release();
    return count;
  }

  /** @internal Re-acquires, blocking, the levels `_releaseSave` returned (Python's `_acquire_restore`). */
  _acquireRestoreSync(count: number): void {
    this.lock.acquireSync();
    this.cells[COUNT] += count;
  }

  /** @internal Re-acquires, without blocking the event loop, the levels `_releaseSave` returned. */
  async _acquireRestore(count: number): Promise<void> {
    await this.lock.acquire();
    this.cells[COUNT] += count;
  }

  #enter(): boolean {
    const cells = this.cells;
    if (cells[COUNT] === MAX_COUNT) throw new RuntimeError("RLock: too many recursive acquisitions (recursion count overflow)");
    cells[COUNT] += 1;
    return true;
  }

  /** @internal `util.inspect(rlock)`: `<RLock unlocked>`, `<RLock locked by worker-1 count=2>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const owner = this.lock._owner();
    const locked = owner !== 0 || this.lock.locked();
    // COUNT is the owner's (see the top of this file): another thread reads a snapshot.
    return repr("RLock", this.fair ? "fair" : "", lockState(owner, locked), locked ? `count=${this.cells[COUNT]}` : "");
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("RLock", blockOf(this.cells), { lock: this.lock[toDescriptor]() });
  }
}

/** The waits of an RLock are its Lock's: reported as the RLock's, with the Lock's cells (which hold the owner). */
function rlockSite(lock: Lock): WaitSite {
  return { kind: "rlock", cells: lock.cells, label: lock.name };
}

registerShareable("RLock", () => new RLock());
