/**
 * Queue, LifoQueue, PriorityQueue and SimpleQueue: Python's `queue` module, in shared
 * memory, so that every thread that holds a queue puts and gets directly.
 *
 * As in CPython's Lib/queue.py, mutexes guard the items and three conditions wait on them
 * (not empty, not full, all tasks done). Here a FIFO queue has two robust mutexes, one
 * per end (queue/ring.ts), so producers and consumers do not wait for each other; a LIFO
 * or priority queue, whose ends are one, uses the tail mutex alone (queue/stores.ts).
 * Each condition is a sequence cell with a count of parked waiters, so a `put` pays for a
 * wake-up only when a getter is parked. Items are encoded outside the mutexes
 * (queue/codec.ts). The header's layout is in queue/layout.ts.
 */
import { Empty, Full, ShutDown, ValueError } from "../core/errors.js";
import { QUEUE_DESTRUCTOR, allocateBlock, ownBlock, registerDestructor, setDestructor, type SharedBlock } from "../core/memory.js";
import { currentIdent, isMainThread } from "../core/identity.js";
import { isIdentAlive } from "../core/thread-table.js";
import { lockMutex, unlockMutex } from "../core/mutex.js";
import { assertMayBlock, backOff } from "../core/parking.js";
import { park, runAsync, runSync, type ParkResult, type Wait } from "../core/wait.js";
import type { WaitKind, WaitSite } from "../core/wait-hooks.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { UndoLog } from "../core/undo-log.js";
import { gotUp, signalOne } from "../core/eventcount.js";
import { adoptBlock, describeBlock, registerShareable, toDescriptor, type SharedDescriptor, takeArriving } from "../core/shareable.js";
import { ItemWriter, decodeItem } from "./codec.js";
import {
  ALL_DONE, DONE, FIFO, GETTERS, GOT, GOT_SEEN, HEADER_CELLS, HEAD_MUTEX, KIND, LIFO, MAXSIZE, NOT_EMPTY, NOT_FULL, PRIORITY, PUT, PUTTERS,
  NE_WOKEN, NF_WOKEN, SHUT, SIMPLE, SPINNER, TAIL_MUTEX, UNDO_CAPACITY, UNDO_LOG,
} from "./layout.js";
import { RingView, Scratch, destroyRing, finishTake, initRing, repairConsumer, repairProducer, ringPut, ringTake, type TakenItem } from "./ring.js";
import { checkOrderable, freeBlock, lifoStore, priorityStore, type ItemStore } from "./stores.js";
import { repr } from "../core/repr.js";

/**
 * A getter that finds the queue empty looks again every 2^GET_LOOK_LOG2 loop iterations
 * (~1 µs here), GET_LOOKS times (~50 µs, about what a kernel wake-up costs), before it
 * parks. Looking in a tight loop would be worse: each look pulls the producers' cache
 * lines away from them, so a getter that chases the producer one item at a time slows the
 * very puts it waits for; one that looks every microsecond lets the producer run ahead,
 * then takes a batch. 1→1 small ints: 3.7–4.5M items/s looking at once, 5.5–6.3M looking
 * every ~1 µs (measured here, alternating runs).
 */
const GET_LOOKS = 50;
const GET_LOOK_LOG2 = 10;

/** Options of `put` and `get`. */
export interface QueueWaitOptions extends WaitOptions {
  /** `false`: do not wait; throw `Full` / `Empty` at once. Default `true`. */
  blocking?: boolean;
}

/** Options of the queue constructors. */
export interface QueueOptions {
  /** Most items the queue holds before `put` waits; 0 (the default) is unbounded. */
  maxsize?: number;
}

const writer = new ItemWriter();

/** @internal What `_takeNow` returns when the queue is empty. */
export const NOTHING: unique symbol = Symbol("nothing");
const scratch = new Scratch();

function headerOf(block: SharedBlock): Int32Array {
  // Cache-line aligned, so that the producer and consumer lines really are apart.
  const start = (block.byteOffset + 63) & ~63;
  return new Int32Array(block.buffer, start, HEADER_CELLS);
}

registerDestructor(QUEUE_DESTRUCTOR, (block) => {
  const cells = headerOf(block);
  const store = storeOf(cells[KIND]);
  if (store === undefined) destroyRing(cells);
  else store.destroy(cells);
});

function storeOf(kind: number): ItemStore | undefined {
  return kind === LIFO ? lifoStore : kind === PRIORITY ? priorityStore : undefined;
}

/** A put that will not happen: release the references the encoded item holds, then throw. */
function failPut(bytes: Uint8Array, error: unknown): never {
  decodeItem(bytes, 0);
  throw error;
}


/** What every queue kind shares. */
abstract class QueueBase<T> {
  /** @internal */
  readonly cells: Int32Array;
  readonly #block: SharedBlock;
  readonly #store: ItemStore | undefined;
  readonly #ring = new RingView();
  readonly #log: UndoLog;
  /** For ringPut, made once (not a pair of closures per put). */
  readonly #lockHead = (): void => this.#lock(HEAD_MUTEX);
  readonly #unlockHead = (): void => unlockMutex(this.cells, HEAD_MUTEX);
  /**
   * What this thread last read of PUT, so that a get need not read the producers' cache
   * line while items are surely there: when GOT was `#knownBase`, PUT was `#knownAhead`
   * items ahead. GOT only grows, so as long as fewer than `#knownAhead` gets have happened
   * since (by anyone), an item is there. Kept as a distance from a base rather than as PUT
   * itself, so that a comparison never spans the counters' wrap at 2^32.
   */
  #knownBase = 0;
  #knownAhead = 0;
  /** The mutex a get takes: the head's for FIFO, the one mutex otherwise. */
  readonly #getMutex: number;

  /** `kind` and `maxsize` are ignored for a queue being revived (see `takeArriving`). */
  protected constructor(kind: number, maxsize: number, arrived: SharedDescriptor | undefined) {
    if (arrived !== undefined) {
      this.#block = adoptBlock(this, arrived);
      this.cells = headerOf(this.#block);
    } else {
      const block = allocateBlock(HEADER_CELLS * 4 + 64);
      ownBlock(this, block);
      setDestructor(block, QUEUE_DESTRUCTOR);
      this.#block = block;
      this.cells = headerOf(block);
      this.cells[KIND] = kind;
      this.cells[MAXSIZE] = maxsize;
      if (storeOf(kind) === undefined) initRing(this.cells);
    }
    this.#store = storeOf(this.cells[KIND]);
    this.#getMutex = this.#store === undefined ? HEAD_MUTEX : TAIL_MUTEX;
    this.#log = new UndoLog((this.cells.byteOffset >> 2) + UNDO_LOG, UNDO_CAPACITY);
  }

  /** Approximate number of items (another thread may change it at once). */
  qsize(): number {
    return (Atomics.load(this.cells, PUT) - Atomics.load(this.cells, GOT)) | 0;
  }

  /** True if the queue holds no items right now. */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** Puts `item`, blocking this thread while a bounded queue is full. Not on the main thread: use `put()`. */
  putSync(item: T, options?: QueueWaitOptions): void {
    if (options !== undefined || isMainThread) assertMayBlock(() => `${this.constructor.name}.putSync()`, "queue.put(item)", options);
    const deadline = this.#putPrologue(item, options, "putSync");
    const wait = this.#tryPut(writer.bytes, writer.length, deadline, options?.signal);
    if (wait === undefined) return;
    runSync(this.#putting(writer.bytes, writer.length, wait, deadline, options?.signal), this._waitSite("queue-put"));
  }

  /** Puts `item`, waiting without blocking the event loop while a bounded queue is full. */
  async put(item: T, options?: QueueWaitOptions): Promise<void> {
    const deadline = this.#putPrologue(item, options, "put");
    const length = writer.length;
    const wait = this.#tryPut(writer.bytes, length, deadline, options?.signal);
    if (wait === undefined) return;
    // Other puts on this thread may run while this one waits: keep a copy of the item.
    // (Buffer#slice would share memory with the writer: copy with Uint8Array#slice.)
    const bytes: Uint8Array = Uint8Array.prototype.slice.call(writer.bytes, 0, length);
    await runAsync(this.#putting(bytes, length, wait, deadline, options?.signal), options?.signal, this._waitSite("queue-put"));
  }

  /**
   * The slow path of both put forms: park on NOT_FULL (counted in PUTTERS by `#tryPut`)
   * and try again, until the item is in. A put that ends early (abort, refused by a wait
   * hook) releases the references the encoded item holds.
   */
  *#putting(bytes: Uint8Array, length: number, parkOn: number, deadline: number, signal: AbortSignal | undefined): Wait<void> {
    const cells = this.cells;
    for (;;) {
      let parked: ParkResult;
      try {
        parked = yield park(cells, NOT_FULL, parkOn, deadline, this.#forwardNotFull);
      } catch (error) {
        Atomics.sub(cells, PUTTERS, 1);
        failPut(bytes, error);
      }
      this.#unparked(NOT_FULL, parked);
      const wait = this.#tryPut(bytes, length, deadline, signal);
      if (wait === undefined) return;
      parkOn = wait;
    }
  }

  /** Puts `item` if there is room at once, else throws `Full`. */
  putNowait(item: T): void {
    this.putSync(item, { blocking: false });
  }

  /** Removes and returns the next item, blocking this thread while empty. Not on the main thread: use `get()`. */
  getSync(options?: QueueWaitOptions): T {
    if (options !== undefined || isMainThread) assertMayBlock(() => `${this.constructor.name}.getSync()`, "queue.get()", options);
    const deadline = options === undefined ? Infinity : this.#deadline(options, "getSync");
    if (deadline !== 0 && !this.#surelyHasItem(this.cells[GOT])) this.#spinForItem();
    const got = this.#tryGet(deadline, options?.signal);
    if (typeof got !== "number") return this.#finishGet(got);
    return runSync(this.#getting(got, deadline, options?.signal, true), this._waitSite("queue-get"));
  }

  /** Removes and returns the next item, waiting without blocking the event loop while empty. */
  async get(options?: QueueWaitOptions): Promise<T> {
    const deadline = options === undefined ? Infinity : this.#deadline(options, "get");
    const got = this.#tryGet(deadline, options?.signal);
    if (typeof got !== "number") return this.#finishGet(got);
    return runAsync(this.#getting(got, deadline, options?.signal, false), options?.signal, this._waitSite("queue-get"));
  }

  /**
   * The slow path of both get forms: park on NOT_EMPTY (counted in GETTERS by `#tryGet`)
   * and try again, until an item is taken; it is decoded at once, before the shared
   * scratch buffer can be reused. A blocking getter spins for an item between parks
   * (see GET_LOOKS); an async one does not (it would hold up its event loop).
   */
  *#getting(parkOn: number, deadline: number, signal: AbortSignal | undefined, blocking: boolean): Wait<T> {
    const cells = this.cells;
    for (;;) {
      if (blocking) this.#clearDeadSpinner();
      let parked: ParkResult;
      try {
        parked = yield park(cells, NOT_EMPTY, parkOn, deadline, this.#forwardNotEmpty);
      } catch (error) {
        Atomics.sub(cells, GETTERS, 1);
        throw error;
      }
      this.#unparked(NOT_EMPTY, parked);
      if (blocking && deadline !== 0 && !this.#surelyHasItem(cells[GOT])) this.#spinForItem();
      const got = this.#tryGet(deadline, signal);
      if (typeof got !== "number") return this.#finishGet(got);
      parkOn = got;
    }
  }

  /** @internal For executors: puts without options and without waiting (throws `Full` on a full bounded queue). */
  _putNow(item: T): void {
    writer.encode(item);
    this.#tryPut(writer.bytes, writer.length, 0, undefined);
  }

  /** @internal For executors: how many items were ever taken (modulo 2^32). */
  _taken(): number {
    return Atomics.load(this.cells, GOT);
  }

  /** @internal For executors: the next item, or `NOTHING` at once if there is none (no exception thrown). */
  _takeNow(): T | typeof NOTHING {
    const cells = this.cells;
    if (((Atomics.load(cells, PUT) - Atomics.load(cells, GOT)) | 0) <= 0) return NOTHING;
    const mutex = this.#getMutex;
    let taken: TakenItem | undefined;
    this.#lock(mutex);
    try {
      if (((Atomics.load(cells, PUT) - cells[GOT]) | 0) > 0) taken = this.#take(scratch);
    } finally {
      unlockMutex(cells, mutex);
    }
    if (taken === undefined) return NOTHING;
    if (Atomics.load(cells, PUTTERS) > 0) this.#wake(NOT_FULL);
    return this.#finishGet(taken);
  }

  /** @internal For executors: resolves once an item may be there (or the queue was shut down), taking nothing. */
  _whenNotEmpty(signal?: AbortSignal): Promise<void> {
    return runAsync(this.#untilNotEmpty(), signal, this._waitSite("queue-get"));
  }

  *#untilNotEmpty(): Wait<void> {
    const cells = this.cells;
    for (;;) {
      Atomics.add(cells, GETTERS, 1);
      const sequence = Atomics.load(cells, NOT_EMPTY);
      if (((Atomics.load(cells, PUT) - Atomics.load(cells, GOT)) | 0) > 0 || Atomics.load(cells, SHUT) === 1) {
        Atomics.sub(cells, GETTERS, 1);
        return;
      }
      let parked: ParkResult;
      try {
        parked = yield park(cells, NOT_EMPTY, sequence, Infinity, this.#forwardNotEmpty);
      } catch (error) {
        Atomics.sub(cells, GETTERS, 1);
        throw error;
      }
      this.#unparked(NOT_EMPTY, parked);
      if (parked === "ok") return;
    }
  }

  /** Removes and returns an item if one is there at once, else throws `Empty`. */
  getNowait(): T {
    return this.getSync({ blocking: false });
  }

  /**
   * Shuts the queue down (Python 3.13): `put` throws `ShutDown` from now on, `get` drains
   * what is left and then throws `ShutDown`; blocked putters and getters wake. With
   * `immediate`, the items left are discarded and `join()` returns.
   */
  shutdown(options?: { immediate?: boolean }): void {
    if (options !== undefined && (options === null || typeof options !== "object")) {
      throw new TypeError(`${this.constructor.name}.shutdown(options): options must be an object, got ${describe(options)}`);
    }
    const cells = this.cells;
    const discarded: unknown[] = [];
    this.#lock(TAIL_MUTEX);
    if (this.#getMutex !== TAIL_MUTEX) this.#lock(HEAD_MUTEX);
    try {
      Atomics.store(cells, SHUT, 1);
      if (options?.immediate === true) {
        let count = 0;
        for (; this.qsize() > 0; count++) {
          const taken = this.#take(new Scratch());
          discarded.push(taken);
        }
        // Discarded items count as done, so that join() returns (as in Python).
        for (;;) {
          const done = Atomics.load(cells, DONE);
          const unfinished = (Atomics.load(cells, PUT) - done) | 0;
          if (Atomics.compareExchange(cells, DONE, done, (done + Math.min(count, Math.max(0, unfinished))) | 0) === done) break;
        }
      }
      Atomics.add(cells, NOT_EMPTY, 1);
      Atomics.add(cells, NOT_FULL, 1);
      Atomics.add(cells, ALL_DONE, 1);
    } finally {
      if (this.#getMutex !== TAIL_MUTEX) unlockMutex(cells, HEAD_MUTEX);
      unlockMutex(cells, TAIL_MUTEX);
    }
    Atomics.notify(cells, ALL_DONE);
    Atomics.add(cells, NE_WOKEN, Atomics.notify(cells, NOT_EMPTY));
    Atomics.add(cells, NF_WOKEN, Atomics.notify(cells, NOT_FULL));
    // Shared objects inside discarded items hold references: reviving them hands those
    // to handles that the garbage collector will drop.
    for (const taken of discarded as TakenItem[]) {
      decodeItem(taken.bytes, 0);
      finishTake(taken);
    }
  }

  /** True once `shutdown()` was called. */
  get isShutdown(): boolean {
    return Atomics.load(this.cells, SHUT) === 1;
  }

  /** Yields items as they come, until the queue is shut down and drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      try {
        yield await this.get();
      } catch (error) {
        if (error instanceof ShutDown) return;
        throw error;
      }
    }
  }

  /** @internal `util.inspect(queue)`: `<Queue qsize=3 maxsize=10>` (0: unbounded), `shutdown` once shut down. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const cells = this.cells;
    return repr(
      this.constructor.name,
      `qsize=${Math.max(0, this.qsize())}`,
      cells[KIND] === SIMPLE ? "" : `maxsize=${cells[MAXSIZE]}`,
      this.isShutdown ? "shutdown" : "",
    );
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("Queue", this.#block);
  }

  /** True if an item surely waits (see `#knownBase`), given the GOT just read. */
  #surelyHasItem(got: number): boolean {
    return ((got - this.#knownBase) >>> 0) < this.#knownAhead;
  }

  /** Reads PUT (the get mutex is held, GOT is `got`); true if an item is there. */
  #refreshKnown(got: number): boolean {
    this.#knownBase = got;
    this.#knownAhead = Math.max(0, (Atomics.load(this.cells, PUT) - got) | 0);
    return this.#knownAhead > 0;
  }

  /**
   * Whether a put fits (the tail mutex is held). GOT only grows, so a GOT read earlier
   * overstates the size: the producers keep the last one they read in GOT_SEEN, on their
   * own cache line, and re-read the consumers' line only when the queue looks full. Under
   * the mutex PUT - GOT_SEEN stays between 0 and maxsize, so it never spans the wrap.
   */
  protected hasRoom(): boolean {
    const cells = this.cells;
    const maxsize = cells[MAXSIZE];
    if (maxsize <= 0) return true;
    const put = cells[PUT];
    if (((put - cells[GOT_SEEN]) >>> 0) < maxsize) return true;
    const got = Atomics.load(cells, GOT);
    cells[GOT_SEEN] = got;
    return ((put - got) | 0) < maxsize;
  }

  /** Takes a mutex, repairing what a dead holder left behind. */
  #lock(mutex: number): void {
    if (!lockMutex(this.cells, mutex)) return;
    if (this.#store !== undefined) this.#log.rollback();
    else if (mutex === TAIL_MUTEX) repairProducer(this.cells);
    else repairConsumer(this.cells);
  }

  #putPrologue(item: T, options: QueueWaitOptions | undefined, method: string): number {
    const deadline = options === undefined ? Infinity : this.#deadline(options, method);
    if (this.cells[KIND] === PRIORITY) checkOrderable(item);
    writer.encode(item);
    return deadline;
  }

  #deadline(options: QueueWaitOptions, method: string): number {
    const name = `${this.constructor.name}.${method}()`;
    checkOptions(options, name);
    const deadline = options.blocking === false ? 0 : deadlineOf(options.timeout, name);
    throwIfAborted(options.signal);
    return deadline;
  }

  /**
   * Puts the encoded item if it can; otherwise counts itself as a parked putter and
   * returns the NOT_FULL sequence to park on. Throws `Full` / `ShutDown` (after releasing
   * the item's references).
   */
  #tryPut(bytes: Uint8Array, length: number, deadline: number, signal: AbortSignal | undefined): number | undefined {
    const cells = this.cells;
    let failure: { error: unknown } | undefined;
    let parkOn: number | undefined;
    this.#lock(TAIL_MUTEX);
    try {
      if (cells[SHUT] === 1) failure = { error: new ShutDown("put to a queue that was shut down") };
      else if (!this.hasRoom()) {
        if (remaining(deadline) === 0) failure = { error: new Full("queue is full") };
        else if (signal?.aborted) failure = { error: signal.reason };
        else {
          // Count ourselves before sampling and re-checking, so a get in between wakes us.
          Atomics.add(cells, PUTTERS, 1);
          parkOn = Atomics.load(cells, NOT_FULL);
          if (this.hasRoom()) {
            Atomics.sub(cells, PUTTERS, 1);
            parkOn = undefined;
          }
        }
      }
      if (failure === undefined && parkOn === undefined) this.#insert(bytes, length);
    } catch (error) {
      failure = { error };
    } finally {
      unlockMutex(cells, TAIL_MUTEX);
    }
    if (failure !== undefined) failPut(bytes, failure.error);
    if (parkOn !== undefined) return parkOn;
    if (Atomics.load(cells, GETTERS) > 0) this.#wake(NOT_EMPTY);
    return undefined;
  }

  #insert(bytes: Uint8Array, length: number): void {
    const cells = this.cells;
    if (this.#store === undefined) {
      ringPut(cells, bytes, length, this.#ring, this.#lockHead, this.#unlockHead);
      return;
    }
    const old = this.#store.push(cells, bytes, length, this.#log);
    Atomics.store(cells, PUT, (cells[PUT] + 1) | 0);
    this.#log.commit();
    if (old !== undefined) freeBlock(old.offset, old.size);
  }

  /** Takes the next item (the get mutex is held and an item is there). */
  #take(into: Scratch): TakenItem {
    const cells = this.cells;
    if (this.#store === undefined) return ringTake(cells, into, this.#ring);
    const taken = this.#store.pop(cells, into, this.#log);
    Atomics.store(cells, GOT, (cells[GOT] + 1) | 0);
    this.#log.commit();
    return taken;
  }

  /**
   * Takes the next item if there is one; otherwise counts itself as a parked getter and
   * returns the NOT_EMPTY sequence to park on. Throws `Empty` / `ShutDown`.
   */
  #tryGet(deadline: number, signal: AbortSignal | undefined): TakenItem | number {
    const cells = this.cells;
    const mutex = this.#getMutex;
    for (;;) {
      let taken: TakenItem | undefined;
      let parkOn = 0;
      this.#lock(mutex);
      try {
        const got = cells[GOT];
        if (this.#surelyHasItem(got) || this.#refreshKnown(got)) {
          taken = this.#take(scratch);
        } else {
          if (cells[SHUT] === 1) throw new ShutDown("queue was shut down and is drained");
          if (remaining(deadline) === 0) throw new Empty("queue is empty");
          if (signal?.aborted) throw signal.reason;
          // Count ourselves before sampling and re-checking, so a put in between wakes us.
          Atomics.add(cells, GETTERS, 1);
          parkOn = Atomics.load(cells, NOT_EMPTY);
        }
      } finally {
        unlockMutex(cells, mutex);
      }
      if (taken !== undefined) {
        if (Atomics.load(cells, PUTTERS) > 0) this.#wake(NOT_FULL);
        return taken;
      }
      if (Atomics.load(cells, PUT) === Atomics.load(cells, GOT) && Atomics.load(cells, SHUT) === 0) return parkOn;
      Atomics.sub(cells, GETTERS, 1);
    }
  }

  #finishGet(taken: TakenItem): T {
    const item = decodeItem(taken.bytes, 0) as T;
    finishTake(taken);
    return item;
  }

  /**
   * Spins briefly for an item before a getter pays for a kernel sleep (see GET_LOOKS), but
   * only one getter at a time: with more threads than cores, several spinners would starve
   * the producers.
   */
  #spinForItem(): void {
    const cells = this.cells;
    if (Atomics.load(cells, PUT) !== Atomics.load(cells, GOT) || Atomics.compareExchange(cells, SPINNER, 0, currentIdent) !== 0) return;
    for (let look = 0; look < GET_LOOKS; look++) {
      backOff(GET_LOOK_LOG2);
      if (Atomics.load(cells, PUT) !== Atomics.load(cells, GOT) || Atomics.load(cells, SHUT) !== 0) break;
    }
    Atomics.store(cells, SPINNER, 0);
  }

  /**
   * A getter that died while spinning (a terminated worker) would leave SPINNER taken and
   * no getter would spin again: one about to park anyway checks on the spinner (a scan of
   * the thread table, cheap next to a kernel sleep) and frees the flag if it is dead.
   */
  #clearDeadSpinner(): void {
    const cells = this.cells;
    const spinner = Atomics.load(cells, SPINNER);
    if (spinner !== 0 && !isIdentAlive(spinner)) Atomics.compareExchange(cells, SPINNER, spinner, 0);
  }

  /**
   * Wakes one parked getter (NOT_EMPTY) or putter (NOT_FULL), unless every parked one has
   * been signalled already and is on its way: a burst of puts then costs one kernel call,
   * not one each (core/eventcount.ts).
   */
  #wake(sequence: number): void {
    if (sequence === NOT_EMPTY) signalOne(this.cells, NOT_EMPTY, GETTERS, NE_WOKEN);
    else signalOne(this.cells, NOT_FULL, PUTTERS, NF_WOKEN);
  }

  /** Bookkeeping after a park: no longer parked, and no longer owed a wake-up if it got one. */
  #unparked(sequence: number, result: ParkResult): void {
    if (sequence === NOT_EMPTY) gotUp(this.cells, GETTERS, NE_WOKEN, result);
    else gotUp(this.cells, PUTTERS, NF_WOKEN, result);
  }

  /** An abandoned async wait took a wake-up meant for a live waiter: pass it on. */
  #forward(sequence: number): void {
    Atomics.sub(this.cells, sequence === NOT_EMPTY ? NE_WOKEN : NF_WOKEN, 1);
    this.#wake(sequence);
  }

  readonly #forwardNotEmpty = (): void => this.#forward(NOT_EMPTY);
  readonly #forwardNotFull = (): void => this.#forward(NOT_FULL);
  #sites: Partial<Record<WaitKind, WaitSite>> | undefined;

  /** @internal What the wait hooks hear this queue's waits of `kind` as. */
  _waitSite(kind: WaitKind): WaitSite {
    const sites = (this.#sites ??= {});
    return (sites[kind] ??= { kind, cells: this.cells, label: this.constructor.name });
  }

  /** @internal Task accounting, exposed by the kinds that have it. */
  protected markTaskDone(): void {
    const cells = this.cells;
    for (;;) {
      const done = Atomics.load(cells, DONE);
      if (((Atomics.load(cells, PUT) - done) | 0) <= 0) throw new ValueError("taskDone() called too many times");
      if (Atomics.compareExchange(cells, DONE, done, (done + 1) | 0) === done) break;
    }
    if (this.unfinished() === 0) {
      Atomics.add(cells, ALL_DONE, 1);
      Atomics.notify(cells, ALL_DONE);
    }
  }

  /** @internal The wait of both join forms: park on ALL_DONE until no task is unfinished. */
  protected *joining(): Wait<void> {
    for (;;) {
      const sequence = Atomics.load(this.cells, ALL_DONE);
      if (this.unfinished() <= 0) return;
      yield park(this.cells, ALL_DONE, sequence, Infinity);
    }
  }

  /** @internal Tasks put and not yet marked done. */
  protected unfinished(): number {
    return (Atomics.load(this.cells, PUT) - Atomics.load(this.cells, DONE)) | 0;
  }
}

/** Python's `queue.Queue`: FIFO, optionally bounded, with task tracking. Pass it in `args` to share it. */
export class Queue<T = unknown> extends QueueBase<T> {
  constructor(options?: QueueOptions) {
    const arrived = takeArriving();
    super(kindOf(new.target), arrived === undefined ? checkMaxsize(options, new.target.name) : 0, arrived);
  }

  /** The bound given at construction (0: unbounded). */
  get maxsize(): number {
    return this.cells[MAXSIZE];
  }

  /** True if a bounded queue is at its bound right now. */
  full(): boolean {
    const maxsize = this.cells[MAXSIZE];
    return maxsize > 0 && this.qsize() >= maxsize;
  }

  /** Marks one item got earlier as processed; more calls than items put: `ValueError`. */
  taskDone(): void {
    this.markTaskDone();
  }

  /** Resolves once every item put has been marked done with `taskDone()`. */
  join(options?: { signal?: AbortSignal }): Promise<void> {
    try {
      checkOptions(options, `${this.constructor.name}.join()`);
    } catch (error) {
      return Promise.reject(error);
    }
    return runAsync(this.joining(), options?.signal, this._waitSite("queue-join"));
  }

  /** Blocks this thread until every item put has been marked done. Not on the main thread: use `join()`. */
  joinSync(): void {
    assertMayBlock(`${this.constructor.name}.joinSync()`, "queue.join()");
    runSync(this.joining(), this._waitSite("queue-join"));
  }
}

/** Python's `queue.LifoQueue`: the last item put is the first got. */
export class LifoQueue<T = unknown> extends Queue<T> {}

/**
 * Python's `queue.PriorityQueue`: the smallest item first. Numbers, strings and bigints
 * compare naturally, arrays element by element (`[priority, data]`); equal items stay FIFO.
 */
export class PriorityQueue<T = unknown> extends Queue<T> {}

/** Python's `queue.SimpleQueue`: unbounded FIFO without task tracking. */
export class SimpleQueue<T = unknown> extends QueueBase<T> {
  /** Takes no arguments: a SimpleQueue is unbounded (there is no `maxsize`). */
  constructor() {
    const arrived = takeArriving();
    if (arrived === undefined && arguments.length !== 0 && arguments[0] !== undefined) {
      throw new TypeError(
        `new SimpleQueue(): SimpleQueue takes no arguments; it is unbounded and has no maxsize ` +
          `(use new Queue({ maxsize }) for a bounded queue), got ${describe(arguments[0])}`,
      );
    }
    super(SIMPLE, 0, arrived);
  }
}

function kindOf(cls: abstract new (...args: never[]) => unknown): number {
  if (cls === LifoQueue || cls.prototype instanceof LifoQueue) return LIFO;
  if (cls === PriorityQueue || cls.prototype instanceof PriorityQueue) return PRIORITY;
  return FIFO;
}

function checkMaxsize(options: QueueOptions | undefined, name: string): number {
  if (options === undefined) return 0;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`new ${name}(options): options must be an object, got ${describe(options)}`);
  }
  const maxsize = options.maxsize ?? 0;
  if (typeof maxsize !== "number") throw new TypeError(`new ${name}(options): options.maxsize must be a number, got ${describe(maxsize)}`);
  if (!Number.isInteger(maxsize) || maxsize > 0x7fffffff) {
    throw new ValueError(`new ${name}(options): options.maxsize must be an integer (0 or less: unbounded), got ${describe(maxsize)}`);
  }
  return Math.max(0, maxsize);
}

registerShareable("Queue", (descriptor) => {
  const kind = headerOf(descriptor.block as SharedBlock)[KIND];
  switch (kind) {
    case LIFO:
      return new LifoQueue();
    case PRIORITY:
      return new PriorityQueue();
    case SIMPLE:
      return new SimpleQueue();
    default:
      return new Queue();
  }
});
