/**
 * ThreadPoolExecutor: Python's `concurrent.futures.ThreadPoolExecutor`, with the workers on
 * weft threads and the whole hand-off in shared memory.
 *
 * `submit()` encodes the task straight into a shared queue (queue/ring.ts) that the
 * workers take from; they put outcomes in a second queue, which the submitting thread
 * drains in batches, one event-loop wake-up for as many results as have arrived. No task
 * or result crosses a postMessage, and a busy pool wakes nobody: workers find the next
 * task with a spin, the submitter finds results waiting.
 *
 * A target is announced to the workers once (its index then travels with each task).
 * Each task has a state cell (futures/protocol.ts) through which a worker's start and a
 * cancel race with one compare-and-swap, and each worker a cell naming the task it runs:
 * if its thread dies, exactly that task fails with WorkerCrashedError and a new worker
 * takes its place. Tasks still queued are untouched.
 */
import type { ResourceLimits } from "node:worker_threads";
import { BrokenExecutorError, RuntimeError, WorkerCrashedError } from "../core/errors.js";
import { checkOptions, type WaitOptions } from "../core/timeouts.js";
import { SimpleQueue, NOTHING } from "../queue/queue.js";
import { allocateBlock, blockOf, ownBlock, releaseBlock, retainBlock } from "../core/memory.js";
import { Thread, quietThread } from "../threads/thread.js";
import { checkSendable } from "../transport/encode.js";
import { decodeError, type EncodedError } from "../transport/errors.js";
import { describeTarget, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";
import { Future } from "./future.js";
import { checkUnhandledHook, UnhandledFailures, WatchedFuture, watchAwaits, type UnhandledFailureHook } from "./unhandled.js";
import { MapIterator } from "./map-iterator.js";
import { parseMapArguments, parsePoolOptions, type MapOptions } from "./pool-arguments.js";
import { BELL_CELLS, LIVE, SPINNER, ring } from "./doorbell.js";
import { ABORT_MARK, BROKEN, CANCELLED, CHUNK, CHUNK_SPREAD, ID_MASK, OK, PENDING, RUNNING, SLOTS, STOP, stateWord } from "./protocol.js";
import { INITIALIZING, LEFT_IDLE, type PoolWorkerSetup } from "./pool-worker.js";
import { carrierModule } from "../threads/carrier.js";
import { repr } from "../core/repr.js";
import { EV, TRACE_ON, traceEvent, traceFlags } from "../core/trace-buffer.js";
import type { SendableArgs } from "../transport/sendable.js";

export type { MapOptions } from "./pool-arguments.js";
export type { UnhandledFailure, UnhandledFailureHook } from "./unhandled.js";

/** Options of {@link ThreadPoolExecutor}. */
export interface ThreadPoolOptions {
  /** Most worker threads (default: `os.availableParallelism()`). */
  maxWorkers?: number;
  /** Workers kept even when idle past `idleTimeout` (default 0). */
  minWorkers?: number;
  /** Worker thread names: `${prefix}_${n}` (default "ThreadPoolExecutor-N"). */
  threadNamePrefix?: string;
  /** Runs in each worker before its first task; if it throws, the pool is broken. */
  initializer?: ((...args: never[]) => unknown) | ModuleTarget;
  /** Arguments for `initializer`. */
  initargs?: unknown[];
  /** A worker leaves after this many tasks and a fresh one replaces it (default: never). */
  maxTasksPerChild?: number;
  /** A worker idle this long (ms) leaves, down to `minWorkers` (default: never). */
  idleTimeout?: number;
  /** V8 heap limits of each worker thread. */
  resourceLimits?: ResourceLimits;
  /**
   * Called once for each task that failed and whose failure nobody asked for: no `result()`,
   * `exception()`, `await`/`then` or `addDoneCallback` on its future by the time the pool has
   * shut down (`shutdown()`, `await using`) and its last task has ended. Default: none, as in
   * Python, whose futures keep an exception nobody retrieves to themselves. Tasks of `map`
   * are never reported (the iteration throws the first failure), nor futures failed with
   * `BrokenExecutorError` (the pool's breaking is one event, not one per task). A hook that
   * throws is reported on stderr.
   */
  onUnhandledFailure?: UnhandledFailureHook;
}

/** An input of `map`: any iterable or async iterable. */
export type MapInput<T> = Iterable<T> | AsyncIterable<T>;

/** The inputs of `map` for a target taking `A`: one iterable per parameter, zipped. */
export type MapInputs<A extends readonly unknown[]> = { [K in keyof A]: MapInput<A[K]> };

/** How a task's `args` are called: once (0), once per item (CHUNK), once per item spread as arguments (CHUNK_SPREAD). */
type Chunking = 0 | typeof CHUNK | typeof CHUNK_SPREAD;
type Task = [id: number, target: number, args: unknown[], chunked?: Chunking] | typeof STOP;
type Outcome = [id: number, status: number, value: unknown];
type AnyFunction = (...args: never[]) => unknown;

const workerTarget: ModuleTarget = { module: carrierModule("../futures/pool-worker.js"), export: "runPoolWorker" };
let poolCounter = 0;
/** How long after a worker's death its orphaned task (if any) is looked for (ms). */
const ORPHAN_CHECK_MS = 200;

interface Worker {
  readonly thread: Thread;
  readonly current: Int32Array;
  readonly targets: SimpleQueue<[number, TargetDescriptor]>;
}

/** A task as the workers get it, its id set at dispatch. */
type QueuedTask = [number, number, unknown[], Chunking?];

/**
 * A pool future: its start and its cancel are decided in shared memory. Its fields are few
 * on purpose: a burst of submits keeps every pending future alive through young-generation
 * collections, which copy each one (see Future's constructor).
 */
class PoolFuture<T> extends WatchedFuture<T> {
  /** @internal The task id, once handed to the workers (0 while on the submitting side). */
  id = 0;
  /** @internal Its place among the tasks put in the shared queue (modulo 2^32). */
  seq = 0;
  /** @internal The pool's task state cells. */
  states: Int32Array | undefined;
  /** @internal The task to hand to the workers, kept on the future until it is dispatched (no wrapper object per task). */
  task: QueuedTask | undefined;
  /** @internal The shared cell that tells a running task its AbortSignal fired (tasks given a signal). */
  abortCell: Int32Array | undefined;
  override running(): boolean {
    this.#catchUp();
    return super.running();
  }

  override cancel(): boolean {
    const states = this.states;
    if (states !== undefined && this.id !== 0 && !this.done()) {
      const slot = this.id & (SLOTS - 1);
      const pending = stateWord(this.id, PENDING);
      if (Atomics.compareExchange(states, slot, pending, stateWord(this.id, CANCELLED)) !== pending) {
        this.#catchUp();
        return super.cancel();
      }
    }
    return super.cancel();
  }

  /**
   * Python's repr. A task a worker has started shows as running even before this side has
   * caught up with it (`#catchUp`), without catching up: a repr changes nothing.
   */
  override toString(): string {
    const shown = super.toString();
    const states = this.states;
    if (!shown.endsWith(" state=pending>") || states === undefined || this.id === 0) return shown;
    if (Atomics.load(states, this.id & (SLOTS - 1)) !== stateWord(this.id, RUNNING)) return shown;
    return `${shown.slice(0, -"pending>".length)}running>`;
  }

  /** Mirrors a worker's start into the local state. */
  #catchUp(): void {
    const states = this.states;
    if (states === undefined || this.id === 0 || this.done() || super.running()) return;
    if (Atomics.load(states, this.id & (SLOTS - 1)) === stateWord(this.id, RUNNING)) this.setRunningOrNotifyCancel();
  }
}

watchAwaits(PoolFuture);

/** A pool of worker threads running tasks, with Python's `ThreadPoolExecutor` semantics. */
export class ThreadPoolExecutor {
  readonly #maxWorkers: number;
  readonly #minWorkers: number;
  readonly #prefix: string;
  readonly #initializer: TargetDescriptor | null;
  readonly #initargs: unknown[];
  readonly #maxTasks: number;
  readonly #idleMs: number;
  readonly #resourceLimits: ResourceLimits | undefined;
  /** Failed futures nobody has asked about yet (`onUnhandledFailure`). */
  readonly #unhandled: UnhandledFailures;

  readonly #tasks = new SimpleQueue<Task>();
  readonly #results = new SimpleQueue<Outcome>();
  readonly #states = sharedCells(SLOTS);
  /** Where idle workers sleep (futures/doorbell.ts); [LIVE] counts the workers alive. */
  readonly #bell = sharedCells(BELL_CELLS);
  readonly #slots: (PoolFuture<unknown> | undefined)[] = new Array(SLOTS);
  /** Tasks waiting for a free slot, oldest first: a deque as an array and a head index. */
  #backlog: PoolFuture<unknown>[] = [];
  #backlogHead = 0;
  readonly #targetIndex = new Map<string, number>();
  readonly #functionIndex = new WeakMap<AnyFunction, number>();
  readonly #descriptors: TargetDescriptor[] = [];
  readonly #workers = new Set<Worker>();
  #workerCounter = 0;
  #nextId = 0;
  /** Tasks put in the shared queue so far (modulo 2^32): the queue's GOT counts how many were taken. */
  #dispatched = 0;
  #unfinished = 0;
  #pumping = false;
  #shutdown = false;
  #stopsSent = false;
  #broken: BrokenExecutorError | undefined;
  #allDone: Promise<void> = Promise.resolve();
  #resolveAllDone: (() => void) | undefined;

  constructor(options: ThreadPoolOptions = {}) {
    const settings = parsePoolOptions(options, "ThreadPoolExecutor", checkSendable);
    this.#maxWorkers = settings.maxWorkers;
    this.#minWorkers = settings.minWorkers;
    this.#prefix = settings.prefix ?? `ThreadPoolExecutor-${poolCounter++}`;
    this.#initializer = settings.initializer;
    this.#initargs = settings.initargs;
    this.#maxTasks = settings.maxTasks;
    this.#idleMs = settings.idleMs;
    this.#resourceLimits = options.resourceLimits;
    this.#unhandled = new UnhandledFailures(checkUnhandledHook(options.onUnhandledFailure, "new ThreadPoolExecutor(options)"));
  }

  /**
   * Schedules `target(...args)` on a worker and returns its Future. Arguments that cannot
   * be sent throw a `TypeError` naming their path; after `shutdown()`, `RuntimeError`.
   */
  submit<A extends unknown[], R>(target: ((...args: A) => R) | ModuleTarget, ...args: SendableArgs<A>): Future<Awaited<R>> {
    const future = this.#submit(target as AnyFunction | ModuleTarget, args, 0);
    return future as unknown as Future<Awaited<R>>;
  }

  /**
   * Python's `executor.map(fn, *iterables)`: runs `target(a, b, ...)` for each item of the
   * iterables, zipped as Python's `zip` (it stops at the shortest, and closes the others
   * then), and yields the results in input order. Options go last, as a plain object:
   * `map(fn, xs, ys, { chunksize, timeout, signal, buffersize })`. The input is read lazily,
   * at most `buffersize` tasks ahead of the results, so an endless generator works; the
   * first failure is thrown at its position. Bad arguments, a pool that is shut down or
   * broken, and an already aborted `signal` throw here, at the call, as Python's `map`
   * raises at its call. With no iterable at all, nothing runs and nothing is yielded, as in
   * Python.
   */
  map<T, R>(target: ((item: T) => R) | ModuleTarget, iterable: MapInput<T>, options?: MapOptions): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(target: ((...args: A) => R) | ModuleTarget, ...iterables: MapInputs<A>): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(
    target: ((...args: A) => R) | ModuleTarget,
    ...iterablesAndOptions: [...iterables: MapInputs<A>, options: MapOptions | undefined]
  ): AsyncIterableIterator<Awaited<R>>;
  map(target: AnyFunction | ModuleTarget, ...rest: unknown[]): AsyncIterableIterator<unknown> {
    const { iterables, chunksize, buffersize, deadline, signal } = parseMapArguments(rest, "ThreadPoolExecutor", (chunksize) => defaultWindow(chunksize, this.#maxWorkers));
    if (this.#broken !== undefined) throw new BrokenExecutorError(this.#broken.message);
    if (this.#shutdown) throw new RuntimeError("cannot schedule new futures after shutdown");
    signal?.throwIfAborted();
    describeTarget(target, "ThreadPoolExecutor.map(target)");
    // One iterable: a task's args are [item], or a chunk of items (one argument each).
    // Several: each item is the zipped tuple, a task's args, or a chunk of tuples to spread.
    const spread = iterables.length > 1;
    const chunking: Chunking = chunksize === 1 ? 0 : spread ? CHUNK_SPREAD : CHUNK;
    // The iteration reports the first failure; the others are its collateral, as cancellations are.
    // map rings the workers' doorbell itself, once per batch of chunks (see MapIterator).
    const submit = (items: unknown[]): PoolFuture<unknown> => this.#submit(target, chunking === 0 && spread ? (items[0] as unknown[]) : items, chunking, true, false);
    const wake = (): void => ring(this.#bell);
    return new MapIterator<unknown, unknown>(submit, iterables, { chunksize, windowLimit: buffersize, deadline, signal, wake });
  }

  /**
   * Stops taking tasks. With `cancelFutures`, tasks that have not started are cancelled;
   * the rest run to the end. With `wait` (the default), resolves once they have and the
   * workers have left.
   */
  async shutdown(options: { wait?: boolean; cancelFutures?: boolean } = {}): Promise<void> {
    checkOptions(options, "ThreadPoolExecutor.shutdown()");
    this.#shutdown = true;
    if (options.cancelFutures === true) {
      for (const queued of this.#takeBacklog()) queued.cancel();
      for (const future of this.#slots) future?.cancel();
    }
    if (this.#unfinished === 0) this.#sendStops();
    if (options.wait === false) return;
    await this.#allDone;
    await Promise.all([...this.#workers].map((worker) => worker.thread.join()));
  }

  /**
   * @internal `util.inspect(pool)`: `<ThreadPoolExecutor maxWorkers=2 workers=1 pending=0>`,
   * then `shutdown` once shut down, or `broken` once an initializer failed. `pending`
   * counts the tasks submitted and not yet done (running or waiting).
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const state = this.#broken !== undefined ? "broken" : this.#shutdown ? "shutdown" : "";
    return repr("ThreadPoolExecutor", `maxWorkers=${this.#maxWorkers}`, `workers=${this.#workers.size}`, `pending=${this.#unfinished}`, state);
  }

  /** `await using pool = new ThreadPoolExecutor()`: shuts down and waits at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /**
   * `owned`: map's task, whose failure the iteration reports (never `onUnhandledFailure`).
   * `wake`: ring the workers' doorbell now; map rings once after a batch instead.
   */
  #submit(target: AnyFunction | ModuleTarget, taskArgs: unknown[], chunked: Chunking, owned = false, wake = true): PoolFuture<unknown> {
    let args = taskArgs;
    if (this.#broken !== undefined) throw new BrokenExecutorError(this.#broken.message);
    if (this.#shutdown) throw new RuntimeError("cannot schedule new futures after shutdown");
    const index = this.#indexOf(target);
    const future = new PoolFuture<unknown>();
    future.states = this.#states;
    // Before the dispatch: a spinning worker may run the task and this call settle it before returning.
    future.observed = owned;
    if (chunked === 0 && hasSignal(args)) {
      // Already aborted: cancelled before any worker can take it.
      if (args.some((arg) => arg instanceof AbortSignal && arg.aborted)) {
        future.cancel();
        return future;
      }
      args = this.#withAbortCells(args, future);
    }
    future.task = chunked !== 0 ? [0, index, args, chunked] : [0, index, args];
    if (this.#backlog.length > this.#backlogHead || !this.#dispatch(future)) {
      checkSendable(args, "args");
      this.#backlog.push(future);
      future.onCancel = this.#backlogCancel;
    }
    this.#unfinished++;
    if (this.#unfinished === 1) this.#allDone = new Promise((resolve) => (this.#resolveAllDone = resolve));
    this.#ensureWorkers();
    if (wake) ring(this.#bell);
    if (!this.#pumping) void this.#pump();
    return future;
  }

  /**
   * Replaces each AbortSignal argument with a shared cell. Aborting cancels the task if it
   * has not started; if it runs, the cell tells the worker, which aborts the signal it gave
   * the task (a task that takes no notice runs to its end).
   */
  #withAbortCells(args: unknown[], future: PoolFuture<unknown>): unknown[] {
    const cell = sharedCells(1);
    future.abortCell = cell;
    const signals = args.filter((arg): arg is AbortSignal => arg instanceof AbortSignal);
    const onAbort = (): void => {
      if (!future.cancel()) Atomics.store(cell, 0, 1);
    };
    for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });
    // The base method: the pool's own callback does not count as asking for the outcome.
    Future.prototype.addDoneCallback.call(future, () => {
      for (const signal of signals) signal.removeEventListener("abort", onAbort);
    });
    return args.map((arg) => (arg instanceof AbortSignal ? { [ABORT_MARK]: cell.byteOffset } : arg));
  }

  /**
   * The index the workers know `target` by, announcing it first if it is new. Functions
   * are known by their source, so `submit(x => x + 1, i)` in a loop, a new closure each
   * time, is still one target; a WeakMap spares the `toString()` for the same function.
   */
  #indexOf(target: AnyFunction | ModuleTarget): number {
    if (typeof target === "function") {
      const known = this.#functionIndex.get(target);
      if (known !== undefined) return known;
    }
    const descriptor = describeTarget(target, "ThreadPoolExecutor.submit(target)");
    const key = descriptor.kind === "source" ? `source:${descriptor.source}` : `module:${descriptor.module}#${descriptor.export}`;
    let index = this.#targetIndex.get(key);
    if (index === undefined) {
      index = this.#descriptors.length;
      this.#descriptors.push(descriptor);
      this.#targetIndex.set(key, index);
      for (const worker of this.#workers) worker.targets._putNow([index, descriptor]);
    }
    if (typeof target === "function") this.#functionIndex.set(target, index);
    return index;
  }

  /** Hands a task to the workers if its slot is free; false if it must wait. */
  #dispatch(future: PoolFuture<unknown>): boolean {
    const id = (this.#nextId & ID_MASK) + 1;
    const slot = id & (SLOTS - 1);
    if (this.#slots[slot] !== undefined) return false;
    this.#nextId = id;
    const task = future.task as QueuedTask;
    task[0] = id;
    Atomics.store(this.#states, slot, stateWord(id, PENDING));
    // The reference that travels with the task's abort cell: the worker's view adopts it.
    const abortCell = future.abortCell;
    if (abortCell !== undefined) retainBlock(blockOf(abortCell));
    try {
      this.#tasks._putNow(task);
    } catch (error) {
      Atomics.store(this.#states, slot, 0);
      if (abortCell !== undefined) releaseBlock(blockOf(abortCell));
      if (error instanceof TypeError) checkSendable(task[2], "args");
      throw error;
    }
    this.#slots[slot] = future;
    future.task = undefined;
    future.id = id;
    if (traceFlags[TRACE_ON] !== 0) traceEvent(EV.TASK_SUBMIT, id, undefined, this.#states.byteOffset);
    future.seq = this.#dispatched;
    this.#dispatched = (this.#dispatched + 1) | 0;
    future.onCancel = this.#dispatchedCancel;
    return true;
  }

  /**
   * The cancel hook of every dispatched future (called on the future): one function for
   * all, since a closure per task is garbage the collector pays for at 100k tasks a second.
   */
  readonly #dispatchedCancel = ((pool: ThreadPoolExecutor) =>
    function (this: PoolFuture<unknown>): void {
      pool.#cancelledDispatched(this);
    })(this);

  /** The cancel hook of every future in the backlog: one function for all, as above. */
  readonly #backlogCancel = ((pool: ThreadPoolExecutor) =>
    function (this: PoolFuture<unknown>): void {
      pool.#cancelledBacklogged(this);
    })(this);

  #cancelledBacklogged(future: PoolFuture<unknown>): void {
    const backlog = this.#backlog;
    for (let at = this.#backlogHead; at < backlog.length; at++) {
      if (backlog[at] === future) {
        backlog.splice(at, 1);
        break;
      }
    }
    this.#taskEnded();
  }

  #cancelledDispatched(future: PoolFuture<unknown>): void {
    const slot = future.id & (SLOTS - 1);
    if (this.#slots[slot] === future) this.#slots[slot] = undefined;
    this.#taskEnded();
  }

  #feedBacklog(): void {
    const backlog = this.#backlog;
    const head = this.#backlogHead;
    while (this.#backlogHead < backlog.length && this.#dispatch(backlog[this.#backlogHead])) backlog[this.#backlogHead++] = undefined as never;
    if (this.#backlogHead !== head) ring(this.#bell);
    if (this.#backlogHead === backlog.length) {
      this.#backlog = [];
      this.#backlogHead = 0;
    } else if (this.#backlogHead > 4096 && this.#backlogHead * 2 > backlog.length) {
      this.#backlog = backlog.slice(this.#backlogHead);
      this.#backlogHead = 0;
    }
  }

  /** Empties the backlog, returning what it held. */
  #takeBacklog(): PoolFuture<unknown>[] {
    const taken = this.#backlog.slice(this.#backlogHead);
    this.#backlog = [];
    this.#backlogHead = 0;
    return taken;
  }

  #ensureWorkers(): void {
    if (this.#broken !== undefined) return;
    const wanted = Math.min(this.#maxWorkers, Math.max(this.#minWorkers, this.#unfinished));
    while (this.#workers.size < wanted) this.#startWorker();
  }

  #startWorker(): void {
    const current = sharedCells(1);
    current[0] = INITIALIZING; // until the worker is ready
    const targets = new SimpleQueue<[number, TargetDescriptor]>();
    const setup: PoolWorkerSetup = {
      tasks: this.#tasks as unknown as PoolWorkerSetup["tasks"],
      results: this.#results,
      targets,
      known: this.#descriptors.slice(),
      states: this.#states,
      current,
      worker: this.#workerCounter,
      initializer: this.#initializer,
      initargs: this.#initargs,
      maxTasks: this.#maxTasks,
      idleMs: this.#idleMs,
      bell: this.#bell,
      minWorkers: this.#minWorkers,
    };
    const thread = new Thread({
      target: workerTarget,
      args: [setup],
      name: `${this.#prefix}_${this.#workerCounter++}`,
      daemon: true,
      resourceLimits: this.#resourceLimits,
    });
    quietThread(thread);
    const worker: Worker = { thread, current, targets };
    thread.start(); // throws, with nothing to undo, if no worker can be started at all
    this.#workers.add(worker);
    Atomics.add(this.#bell, LIVE, 1);
    // Not a join: a pending join keeps the process alive, and an idle pool must not.
    thread._onEnd(() => this.#workerLeft(worker));
  }

  /** A worker thread ended: by plan (stop, idle, task quota) or by dying. */
  #workerLeft(worker: Worker): void {
    if (!this.#workers.delete(worker)) return;
    // An idle worker counted itself out already; for any other exit, main does.
    if (worker.thread.result !== LEFT_IDLE) Atomics.sub(this.#bell, LIVE, 1);
    // One that died spinning for a task (terminated) would keep `ring` from waking anyone.
    const ident = worker.thread.ident;
    if (ident !== null && Atomics.compareExchange(this.#bell, SPINNER, ident, 0) === ident) ring(this.#bell);
    const id = Atomics.load(worker.current, 0);
    if (id === INITIALIZING) {
      // It died before it was ready, in its initializer (process.exit, out of memory, an
      // error from a timer) or as it started: as a failing initializer, this breaks the
      // pool; a replacement would most likely die the same way, again and again.
      const cause = worker.thread.error;
      const where = this.#initializer === null ? "as it started" : "in its initializer";
      const crash = new WorkerCrashedError(`worker ${worker.thread.name} died ${where}${cause instanceof Error ? `: ${cause.message}` : ` (it exited with code ${worker.thread._exitCode ?? 0})`}`);
      this.#breakPool(crash, this.#initializer === null ? "A worker thread died as it started" : undefined);
    }
    // A worker clears `current` after each task, so one that ended with it set died mid-task
    // (also by `process.exit(0)`, which leaves no error on the thread).
    if (id !== 0) {
      const future = this.#slots[id & (SLOTS - 1)];
      if (future !== undefined && future.id === id) {
        this.#slots[id & (SLOTS - 1)] = undefined;
        const cause = worker.thread.error;
        const crash =
          cause instanceof WorkerCrashedError
            ? cause
            : cause === undefined
              ? new WorkerCrashedError(`worker ${worker.thread.name} exited with code ${worker.thread._exitCode ?? 0} while running the task`)
              : new WorkerCrashedError(`worker ${worker.thread.name} died running the task: ${cause instanceof Error ? cause.message : String(cause)}`);
        if (!future.done()) {
          future.onCancel = undefined;
          future.setRunningOrNotifyCancel();
          this.#fail(future, crash);
        }
        this.#taskEnded();
      }
    }
    // A worker that died between taking a task and marking it (a decode and a compare-and-swap:
    // say, out of memory while decoding huge arguments) named no task: look for orphans.
    if (id === 0 && worker.thread.error !== undefined && this.#unfinished > 0) setTimeout(() => this.#failOrphans(worker.thread), ORPHAN_CHECK_MS);
    // Take what the worker left (a failed initializer reports the pool broken that way)
    // before replacing it, pump or no pump: else a pool whose initializer fails would
    // replace its workers forever (idle), or once more before its pump got to the report.
    this.#drainResults();
    if (!this.#shutdown || this.#unfinished > 0) this.#ensureWorkers();
    // Wake the pump so that it sees what changed.
    if (this.#pumping) this.#results._putNow([0, OK, undefined]);
  }

  /**
   * Fails the tasks that some worker took from the queue (they come before the queue's GOT
   * count, in dispatch order) but that no live worker runs, a moment after a worker died:
   * a live worker marks a task it takes within microseconds.
   */
  #failOrphans(dead: Thread): void {
    // Who runs what first, then the results: a worker puts its result before it clears
    // `current`, so a task is either owned here or its result is drained below.
    const owned = new Set<number>();
    for (const worker of this.#workers) owned.add(Atomics.load(worker.current, 0));
    const taken = this.#tasks._taken();
    this.#drainResults();
    for (let slot = 0; slot < SLOTS; slot++) {
      const future = this.#slots[slot];
      if (future === undefined || future.done() || ((taken - future.seq) | 0) <= 0 || owned.has(future.id)) continue;
      const state = Atomics.load(this.#states, slot) & 3;
      if (state !== PENDING && state !== RUNNING) continue;
      this.#slots[slot] = undefined;
      future.onCancel = undefined;
      if (!future.running()) future.setRunningOrNotifyCancel();
      const crash = new WorkerCrashedError(`worker ${dead.name} died taking the task: ${dead.error instanceof Error ? dead.error.message : String(dead.error)}`);
      this.#fail(future, crash);
      this.#taskEnded();
    }
    this.#results._putNow([0, OK, undefined]);
  }

  /** Drains results in batches while any task is unfinished. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#unfinished > 0) {
        this.#drainResults();
        this.#feedBacklog();
        if (this.#unfinished === 0) break;
        await this.#results._whenNotEmpty();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Settles every outcome the workers have put so far. */
  #drainResults(): void {
    for (let outcome = this.#results._takeNow(); outcome !== NOTHING; outcome = this.#results._takeNow()) this.#settle(outcome);
  }

  #settle([id, status, value]: Outcome): void {
    if (status === BROKEN) return this.#breakPool(decodeError(value as EncodedError, `in the initializer of ${this.#prefix}`));
    if (id === 0) return;
    const slot = id & (SLOTS - 1);
    const future = this.#slots[slot];
    if (future === undefined || future.id !== id) return;
    this.#slots[slot] = undefined;
    future.onCancel = undefined;
    if (!future.done()) {
      if (!future.running()) future.setRunningOrNotifyCancel();
      if (status === OK) future.setResult(value);
      else {
        const error = decodeError(value as EncodedError, `in a worker of ${this.#prefix}`);
        this.#fail(future, error);
      }
    }
    this.#taskEnded();
  }

  #taskEnded(): void {
    if (--this.#unfinished === 0) {
      this.#resolveAllDone?.();
      if (this.#shutdown) this.#sendStops();
    }
  }

  /** Shut down and nothing left to run (called once): the workers may go. */
  #sendStops(): void {
    if (this.#stopsSent) return;
    this.#stopsSent = true;
    for (let i = 0; i < this.#workers.size; i++) {
      this.#tasks._putNow(STOP);
      ring(this.#bell);
    }
    this.#unhandled.report(this.#prefix);
  }

  /** Fails a task's future, remembered for `onUnhandledFailure` if nobody has asked about it. */
  #fail(future: PoolFuture<unknown>, error: unknown): void {
    this.#unhandled.fail(future, error);
  }

  /** `what` went wrong; by default, as in Python, an initializer failed. */
  #breakPool(cause: unknown, what = "A thread initializer failed"): void {
    if (this.#broken !== undefined) return;
    this.#broken = new BrokenExecutorError(`${what}, the thread pool is not usable anymore: ${cause instanceof Error ? cause.message : String(cause)}`);
    const failed = [...this.#takeBacklog(), ...this.#slots.filter((f): f is PoolFuture<unknown> => f !== undefined)];
    this.#slots.fill(undefined);
    for (const future of failed) {
      future.onCancel = undefined;
      if (!future.done()) {
        if (!future.running()) future.setRunningOrNotifyCancel();
        future.setException(new BrokenExecutorError(this.#broken.message));
      }
      this.#taskEnded();
    }
    this.#shutdown = true;
    this.#sendStops();
  }
}

/** True if an AbortSignal is among `args` (a loop: no closure per submit). */
function hasSignal(args: unknown[]): boolean {
  for (let i = 0; i < args.length; i++) if (args[i] instanceof AbortSignal) return true;
  return false;
}

/**
 * `count` Int32 cells of the shared heap, zeroed, for the pool and its workers. The memory
 * belongs to the returned view (it returns to the heap once the view is collected); the
 * pool keeps each view as long as a worker may use it.
 */
function sharedCells(count: number): Int32Array {
  const block = allocateBlock(count * 4);
  const view = new Int32Array(block.buffer, block.byteOffset, count);
  ownBlock(view, block);
  return view;
}

/**
 * map's default window: about 64k items in flight. A window of a few tasks per worker is
 * drained by the workers long before the consumer has used its results, so each top-up
 * found them asleep and paid a kernel wake-up (which, on a loaded machine, costs the
 * consumer its core for up to milliseconds); a window of many items tops up rarely. The
 * bounds keep a small chunksize from reading far ahead and a huge one from starving workers.
 */
function defaultWindow(chunksize: number, workers: number): number {
  return Math.min(MAX_DEFAULT_WINDOW, Math.max(4 * workers, Math.ceil(WINDOW_ITEMS / chunksize)));
}
const WINDOW_ITEMS = 65_536;
const MAX_DEFAULT_WINDOW = 256;
