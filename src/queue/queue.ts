/**
 * Queue, LifoQueue, PriorityQueue and SimpleQueue: Python's `queue` module, in shared
 * memory, so that every thread that holds a queue puts and gets directly.
 *
 * As in CPython's Lib/queue.py, one mutex guards the items and three conditions wait on
 * them (not empty, not full, all tasks done); here the mutex is a robust word
 * (core/mutex.ts), each condition a sequence cell with a waiter count, so a `put` pays
 * for a wake-up only when a getter is parked. Items are encoded outside the mutex
 * (queue/codec.ts) and copied in and out of the store (queue/stores.ts) under it.
 *
 * Layout (Int32 cells of one heap block):
 *   [0] MUTEX, [1] its holder        [2] NOT_EMPTY sequence   [3] GETTERS parked
 *   [4] NOT_FULL sequence            [5] PUTTERS parked       [6] COUNT items
 *   [7] UNFINISHED tasks             [8] ALL_DONE sequence    [9] SHUT (1 after shutdown)
 *   [10] MAXSIZE (0 unbounded)       [11] KIND                [12..17] the store's cells
 */
import { Empty, Full, ShutDown, ValueError } from "../core/errors.js";
import { QUEUE_DESTRUCTOR, allocateBlock, blockOf, ownBlock, registerDestructor, setDestructor, type SharedBlock } from "../core/memory.js";
import { lockMutex, unlockMutex } from "../core/mutex.js";
import { assertMayBlock, parkAsync, parkSync } from "../core/parking.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { adoptBlock, describeBlock, registerShareable, toDescriptor, type SharedDescriptor } from "../transport/shareable.js";
import { ItemWriter, decodeItem } from "./codec.js";
import { Scratch, StoreView, checkOrderable, fifoStore, lifoStore, priorityStore, STORE_CELLS, type ItemStore, type TakenItem } from "./stores.js";

const MUTEX = 0;
const NOT_EMPTY = 2;
const GETTERS = 3;
const NOT_FULL = 4;
const PUTTERS = 5;
const COUNT = 6;
const UNFINISHED = 7;
const ALL_DONE = 8;
const SHUT = 9;
const MAXSIZE = 10;
const KIND = 11;
const STORE_BASE = 12;
const CELLS = STORE_BASE + STORE_CELLS;

const FIFO = 0;
const LIFO = 1;
const PRIORITY = 2;
const SIMPLE = 3;

const STORES: readonly ItemStore[] = [fifoStore, lifoStore, priorityStore, fifoStore];

/** How many times a getter re-reads the count before it parks (a kernel wake-up costs ~46 µs). */
const GET_SPINS = 20000;

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
const scratch = new Scratch();

registerDestructor(QUEUE_DESTRUCTOR, (block) => {
  const cells = cellsOf(block);
  STORES[cells[KIND]].destroy(cells, STORE_BASE);
});

/** A put that will not happen: release the references the encoded item holds, then throw. */
function failPut(bytes: Uint8Array, error: unknown): never {
  decodeItem(bytes, 0);
  throw error;
}

function cellsOf(block: SharedBlock): Int32Array {
  return new Int32Array(block.buffer, block.byteOffset, CELLS);
}

/** What every queue kind shares. */
abstract class QueueBase<T> {
  /** @internal */
  readonly cells: Int32Array;
  readonly #store: ItemStore;
  readonly #view = new StoreView();

  protected constructor(kind: number, maxsize: number, arrived: SharedDescriptor | undefined) {
    if (arrived !== undefined) {
      this.cells = cellsOf(adoptBlock(this, arrived));
    } else {
      const block = allocateBlock(CELLS * 4);
      ownBlock(this, block);
      setDestructor(block, QUEUE_DESTRUCTOR);
      this.cells = cellsOf(block);
      this.cells[KIND] = kind;
      this.cells[MAXSIZE] = maxsize;
    }
    this.#store = STORES[this.cells[KIND]];
  }

  /** Approximate number of items (another thread may change it at once). */
  qsize(): number {
    return Atomics.load(this.cells, COUNT);
  }

  /** True if the queue holds no items right now. */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** Puts `item`, blocking this thread while a bounded queue is full. Not on the main thread: use `put()`. */
  putSync(item: T, options?: QueueWaitOptions): void {
    const deadline = this.#putPrologue(item, options, "putSync");
    if (deadline !== 0) assertMayBlock(`${this.constructor.name}.putSync()`, "queue.put(item)");
    for (;;) {
      const wait = this.#tryPut(writer.bytes, writer.length, deadline, options?.signal);
      if (wait === undefined) return;
      const parked = parkSync(this.cells, NOT_FULL, wait, deadline);
      Atomics.sub(this.cells, PUTTERS, 1);
      if (parked === "timed-out" && remaining(deadline) === 0 && !this.#hasRoom()) failPut(writer.bytes, new Full("queue is full"));
    }
  }

  /** Puts `item`, waiting without blocking the event loop while a bounded queue is full. */
  async put(item: T, options?: QueueWaitOptions): Promise<void> {
    const deadline = this.#putPrologue(item, options, "put");
    const forward = (): void => void this.#wake(NOT_FULL, 1);
    let bytes: Uint8Array = writer.bytes;
    const length = writer.length;
    for (;;) {
      const wait = this.#tryPut(bytes, length, deadline, options?.signal);
      if (wait === undefined) return;
      // Other puts on this thread may run while this one waits: keep a copy of the item.
      if (bytes === writer.bytes) bytes = bytes.slice(0, length);
      let parked;
      try {
        parked = await parkAsync(this.cells, NOT_FULL, wait, deadline, options?.signal, forward);
      } catch (abort) {
        Atomics.sub(this.cells, PUTTERS, 1);
        return failPut(bytes, abort);
      }
      Atomics.sub(this.cells, PUTTERS, 1);
      if (parked === "timed-out" && remaining(deadline) === 0 && !this.#hasRoom()) failPut(bytes, new Full("queue is full"));
    }
  }

  /** Puts `item` if there is room at once, else throws `Full`. */
  putNowait(item: T): void {
    this.putSync(item, { blocking: false });
  }

  /** Removes and returns the next item, blocking this thread while empty. Not on the main thread: use `get()`. */
  getSync(options?: QueueWaitOptions): T {
    const deadline = this.#getPrologue(options, "getSync");
    if (deadline !== 0) assertMayBlock(`${this.constructor.name}.getSync()`, "queue.get()");
    for (;;) {
      if (deadline !== 0) this.#spinForItem();
      const got = this.#tryGet(deadline);
      if (typeof got !== "number") return decodeItem(got.bytes, got.start) as T;
      const parked = parkSync(this.cells, NOT_EMPTY, got, deadline);
      Atomics.sub(this.cells, GETTERS, 1);
      if (parked === "timed-out" && remaining(deadline) === 0 && this.qsize() === 0) throw new Empty("queue is empty");
    }
  }

  /** Removes and returns the next item, waiting without blocking the event loop while empty. */
  async get(options?: QueueWaitOptions): Promise<T> {
    const deadline = this.#getPrologue(options, "get");
    const forward = (): void => void this.#wake(NOT_EMPTY, 1);
    for (;;) {
      const got = this.#tryGet(deadline);
      if (typeof got !== "number") return decodeItem(got.bytes, got.start) as T;
      let parked;
      try {
        parked = await parkAsync(this.cells, NOT_EMPTY, got, deadline, options?.signal, forward);
      } finally {
        Atomics.sub(this.cells, GETTERS, 1);
      }
      if (parked === "timed-out" && remaining(deadline) === 0 && this.qsize() === 0) throw new Empty("queue is empty");
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
    const discarded: TakenItem[] = [];
    lockMutex(cells, MUTEX);
    try {
      Atomics.store(cells, SHUT, 1);
      if (options?.immediate === true) {
        while (cells[COUNT] > 0) {
          const taken = this.#store.pop(cells, STORE_BASE, new Scratch(), this.#view);
          discarded.push(taken);
          Atomics.sub(cells, COUNT, 1);
          if (cells[UNFINISHED] > 0) cells[UNFINISHED]--;
        }
        Atomics.add(cells, ALL_DONE, 1);
      }
      Atomics.add(cells, NOT_EMPTY, 1);
      Atomics.add(cells, NOT_FULL, 1);
    } finally {
      unlockMutex(cells, MUTEX);
    }
    Atomics.notify(cells, ALL_DONE);
    Atomics.notify(cells, NOT_EMPTY);
    Atomics.notify(cells, NOT_FULL);
    // Shared objects inside discarded items hold references: reviving them hands those
    // references to handles that the garbage collector will drop.
    for (const taken of discarded) decodeItem(taken.bytes, taken.start);
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

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("Queue", blockOf(this.cells));
  }

  protected hasRoom(): boolean {
    return this.#hasRoom();
  }

  #hasRoom(): boolean {
    const maxsize = this.cells[MAXSIZE];
    return maxsize <= 0 || Atomics.load(this.cells, COUNT) < maxsize;
  }

  #putPrologue(item: T, options: QueueWaitOptions | undefined, method: string): number {
    const deadline = options === undefined ? Infinity : this.#deadline(options, method);
    if (this.cells[KIND] === PRIORITY) checkOrderable(item);
    writer.encode(item);
    return deadline;
  }

  #getPrologue(options: QueueWaitOptions | undefined, method: string): number {
    return options === undefined ? Infinity : this.#deadline(options, method);
  }

  #deadline(options: QueueWaitOptions, method: string): number {
    const name = `${this.constructor.name}.${method}()`;
    checkOptions(options, name);
    const deadline = options.blocking === false ? 0 : deadlineOf(options.timeout, name);
    throwIfAborted(options.signal);
    return deadline;
  }

  /**
   * Puts the encoded item if it can; otherwise registers as a parked putter and returns the
   * NOT_FULL sequence to park on. Throws `Full` / `ShutDown` (after releasing the item).
   */
  #tryPut(bytes: Uint8Array, length: number, deadline: number, signal: AbortSignal | undefined): number | undefined {
    const cells = this.cells;
    let wakeGetter = false;
    let parkOn: number | undefined;
    let failed = false;
    let failure: unknown;
    lockMutex(cells, MUTEX);
    try {
      if (cells[SHUT] === 1) {
        failed = true;
        failure = new ShutDown("put to a queue that was shut down");
      } else if (!this.#hasRoom()) {
        if (remaining(deadline) === 0 || signal?.aborted) {
          failed = true;
          failure = signal?.aborted ? signal.reason : new Full("queue is full");
        } else {
          Atomics.add(cells, PUTTERS, 1);
          parkOn = Atomics.load(cells, NOT_FULL);
        }
      } else {
        this.#store.push(cells, STORE_BASE, bytes, length, this.#view);
        cells[UNFINISHED]++;
        Atomics.add(cells, COUNT, 1);
        if (Atomics.load(cells, GETTERS) > 0) {
          Atomics.add(cells, NOT_EMPTY, 1);
          wakeGetter = true;
        }
      }
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      unlockMutex(cells, MUTEX);
    }
    if (failed) failPut(bytes, failure);
    if (wakeGetter) Atomics.notify(cells, NOT_EMPTY, 1);
    return parkOn;
  }

  /**
   * Takes the next item if there is one; otherwise registers as a parked getter and
   * returns the NOT_EMPTY sequence to park on. Throws `Empty` / `ShutDown`.
   */
  #tryGet(deadline: number): TakenItem | number {
    const cells = this.cells;
    let wakePutter = false;
    let taken: TakenItem;
    lockMutex(cells, MUTEX);
    try {
      if (cells[COUNT] === 0) {
        if (cells[SHUT] === 1) throw new ShutDown("queue was shut down and is drained");
        if (remaining(deadline) === 0) throw new Empty("queue is empty");
        Atomics.add(cells, GETTERS, 1);
        return Atomics.load(cells, NOT_EMPTY);
      }
      taken = this.#store.pop(cells, STORE_BASE, scratch, this.#view);
      Atomics.sub(cells, COUNT, 1);
      if (Atomics.load(cells, PUTTERS) > 0) {
        Atomics.add(cells, NOT_FULL, 1);
        wakePutter = true;
      }
    } finally {
      unlockMutex(cells, MUTEX);
    }
    if (wakePutter) Atomics.notify(cells, NOT_FULL, 1);
    return taken;
  }

  #spinForItem(): void {
    const cells = this.cells;
    for (let spin = 0; spin < GET_SPINS; spin++) {
      if (Atomics.load(cells, COUNT) !== 0 || Atomics.load(cells, SHUT) !== 0) return;
    }
  }

  #wake(sequence: number, count: number): void {
    Atomics.add(this.cells, sequence, 1);
    Atomics.notify(this.cells, sequence, count);
  }

  /** @internal Task accounting, exposed by the kinds that have it. */
  protected markTaskDone(): void {
    const cells = this.cells;
    let allDone = false;
    lockMutex(cells, MUTEX);
    try {
      const unfinished = cells[UNFINISHED] - 1;
      if (unfinished < 0) throw new ValueError("taskDone() called too many times");
      cells[UNFINISHED] = unfinished;
      if (unfinished === 0) {
        Atomics.add(cells, ALL_DONE, 1);
        allDone = true;
      }
    } finally {
      unlockMutex(cells, MUTEX);
    }
    if (allDone) Atomics.notify(cells, ALL_DONE);
  }

  /** @internal The ALL_DONE sequence to park on, or undefined when no task is unfinished. */
  protected unfinishedSequence(): number | undefined {
    const cells = this.cells;
    lockMutex(cells, MUTEX);
    try {
      return cells[UNFINISHED] === 0 ? undefined : Atomics.load(cells, ALL_DONE);
    } finally {
      unlockMutex(cells, MUTEX);
    }
  }

  /** @internal */
  protected static readonly allDoneCell = ALL_DONE;
}

/** Python's `queue.Queue`: FIFO, optionally bounded, with task tracking. Pass it in `args` to share it. */
export class Queue<T = unknown> extends QueueBase<T> {
  constructor(options?: QueueOptions, /** @internal */ arrived?: SharedDescriptor) {
    super(kindOf(new.target), arrived === undefined ? checkMaxsize(options, new.target.name) : 0, arrived);
  }

  /** The bound given at construction (0: unbounded). */
  get maxsize(): number {
    return this.cells[MAXSIZE];
  }

  /** True if a bounded queue is at its bound right now. */
  full(): boolean {
    return !this.hasRoom();
  }

  /** Marks one item got earlier as processed; more calls than items put: `ValueError`. */
  taskDone(): void {
    this.markTaskDone();
  }

  /** Resolves once every item put has been marked done with `taskDone()`. */
  async join(options?: { signal?: AbortSignal }): Promise<void> {
    checkOptions(options, `${this.constructor.name}.join()`);
    for (;;) {
      const sequence = this.unfinishedSequence();
      if (sequence === undefined) return;
      await parkAsync(this.cells, ALL_DONE, sequence, Infinity, options?.signal);
    }
  }

  /** Blocks this thread until every item put has been marked done. Not on the main thread: use `join()`. */
  joinSync(): void {
    assertMayBlock(`${this.constructor.name}.joinSync()`, "queue.join()");
    for (;;) {
      const sequence = this.unfinishedSequence();
      if (sequence === undefined) return;
      parkSync(this.cells, ALL_DONE, sequence, Infinity);
    }
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
  constructor(/** @internal */ arrived?: SharedDescriptor) {
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
  if (typeof maxsize !== "number" || !Number.isInteger(maxsize) || maxsize > 0x7fffffff) {
    throw new ValueError(`new ${name}(options): options.maxsize must be an integer (0 or less: unbounded), got ${describe(maxsize)}`);
  }
  return Math.max(0, maxsize);
}

registerShareable("Queue", (descriptor) => {
  const kind = cellsOf(descriptor.block as SharedBlock)[KIND];
  switch (kind) {
    case LIFO:
      return new LifoQueue(undefined, descriptor);
    case PRIORITY:
      return new PriorityQueue(undefined, descriptor);
    case SIMPLE:
      return new SimpleQueue(descriptor);
    default:
      return new Queue(undefined, descriptor);
  }
});
