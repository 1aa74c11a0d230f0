/**
 * ProcessPoolExecutor: Python's `concurrent.futures.ProcessPoolExecutor`, on child
 * processes (`child_process.fork`), with ThreadPoolExecutor's interface and guarantees.
 *
 * What a process costs is the trip: a message to a child and back takes tens of
 * microseconds here, and a system call per task would be most of a tiny task's time. So
 * tasks travel in batches: `submit()` queues the task and the pool sends what is queued
 * once per turn of the event loop, a batch per process, and each process writes the
 * outcomes of a batch back in one frame (process-pool-protocol.ts). Each process keeps a
 * window of tasks sent ahead, sized from how long its tasks take (about WINDOW_BUDGET_US of
 * work), so that it never waits for a round trip and long tasks are still spread evenly.
 *
 * A task is pending while it waits here, and running once it is sent (Python's pool calls
 * `set_running_or_notify_cancel` as it moves a task to the call queue): only a pending task
 * can be cancelled.
 *
 * A process that dies fails only what it was running. It reports outcomes before it starts
 * its next batch, so the tasks of the batches after the one it was in never ran, and go to
 * another process. When it exits by itself (`process.exit()` in a task, an uncaught error)
 * it also writes what it had and whether a task was running, so exactly that task fails,
 * with `WorkerCrashedError` (its `exitCode`). Killed outright by a signal it says nothing,
 * and the tasks of its batch that it had not reported (the one it ran, and those it had run
 * or not started since its last report) fail with `WorkerCrashedError` (its `signal`): none
 * runs twice, none is lost.
 */
import type { ResourceLimits } from "node:worker_threads";
import { BrokenExecutorError, RuntimeError, ValueError, WorkerCrashedError } from "../core/errors.js";
import { checkOptions, describe } from "../core/timeouts.js";
import { repr } from "../core/repr.js";
import { decodeError, type EncodedError } from "../transport/errors.js";
import { describeTarget, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";
import type { SendableArgs } from "../transport/sendable.js";
import type { Future } from "../futures/future.js";
import { MapIterator } from "../futures/map-iterator.js";
import { parseMapArguments, parsePoolOptions, type MapOptions } from "../futures/pool-arguments.js";
import type { MapInput, MapInputs } from "../futures/thread-pool.js";
import { CHUNK, CHUNK_SPREAD } from "../futures/protocol.js";
import { ProcessFuture, type Chunking } from "./process-pool-future.js";
import { OK } from "./process-pool-protocol.js";
import { checkProcessArgs } from "./process-pool-sendable.js";
import { PoolProcess, childExecArgv, type PoolProcessEvents } from "./process-pool-worker.js";

/** Options of {@link ProcessPoolExecutor}: those of `ThreadPoolExecutor`, for processes. */
export interface ProcessPoolOptions {
  /** Most worker processes (default: `os.availableParallelism()`). */
  maxWorkers?: number;
  /** Processes kept even when idle past `idleTimeout` (default 0). */
  minWorkers?: number;
  /** Worker names, also their process titles: `${prefix}_${n}` (default "ProcessPoolExecutor-N"). */
  threadNamePrefix?: string;
  /** Runs in each process before its first task; if it throws, the pool is broken (`BrokenExecutorError`). */
  initializer?: ((...args: never[]) => unknown) | ModuleTarget;
  /** Arguments for `initializer`. */
  initargs?: unknown[];
  /** A process leaves after this many tasks and a fresh one replaces it (default: never). */
  maxTasksPerChild?: number;
  /** A process idle this long (ms) leaves, down to `minWorkers` (default: never). */
  idleTimeout?: number;
  /**
   * V8 limits of each process, as for a thread: `maxOldGenerationSizeMb` and `stackSizeMb`
   * (Node's `--max-old-space-size` and `--stack-size`); the other limits have no flag.
   */
  resourceLimits?: Pick<ResourceLimits, "maxOldGenerationSizeMb" | "stackSizeMb">;
}

type AnyFunction = (...args: never[]) => unknown;

let poolCounter = 0;

/** The work a process keeps queued, in µs of its tasks' measured time: more than a round trip here. */
const WINDOW_BUDGET_US = 4_000;
/** Tasks sent ahead to one process at most, and at first (before its tasks have been timed). */
const MAX_WINDOW = 1_024;
const MIN_WINDOW = 2;

/** A pool of child processes running tasks, with Python's `ProcessPoolExecutor` semantics. */
export class ProcessPoolExecutor {
  readonly #maxWorkers: number;
  readonly #minWorkers: number;
  readonly #prefix: string;
  readonly #initializer: TargetDescriptor | null;
  readonly #initargs: unknown[];
  readonly #maxTasks: number;
  readonly #idleMs: number;
  readonly #execArgv: string[];

  /** Tasks not yet sent, oldest first, from `#pendingHead` (cancelled ones are skipped as they come up). */
  #pending: ProcessFuture[] = [];
  #pendingHead = 0;
  readonly #workers = new Set<PoolProcess>();
  readonly #targetIndex = new Map<string, number>();
  readonly #functionIndex = new WeakMap<AnyFunction, number>();
  readonly #descriptors: TargetDescriptor[] = [];
  #workerCounter = 0;
  #unfinished = 0;
  #flushQueued = false;
  /** Measured time per task (µs, a moving average), and the window it gives. */
  #taskUs = 0;
  #window = MIN_WINDOW;
  #shutdown = false;
  #broken: BrokenExecutorError | undefined;
  #allDone: Promise<void> = Promise.resolve();
  #resolveAllDone: (() => void) | undefined;
  /** Holds the event loop while the pool has work (the child handles are unreferenced). */
  #keepAlive: NodeJS.Timeout | undefined;
  #waitingShutdowns = 0;

  constructor(options: ProcessPoolOptions = {}) {
    const settings = parsePoolOptions(options, "ProcessPoolExecutor", checkProcessArgs);
    this.#maxWorkers = settings.maxWorkers;
    this.#minWorkers = settings.minWorkers;
    this.#prefix = settings.prefix ?? `ProcessPoolExecutor-${poolCounter++}`;
    this.#initializer = settings.initializer;
    this.#initargs = settings.initargs;
    this.#maxTasks = settings.maxTasks;
    this.#idleMs = settings.idleMs;
    this.#execArgv = childExecArgv(limitFlags(options.resourceLimits));
  }

  /**
   * Schedules `target(...args)` on a worker process and returns its Future. An argument
   * that cannot reach another process (a function, a MessagePort, shared memory, a weft
   * shared object) throws a `TypeError` naming its path; after `shutdown()`, `RuntimeError`.
   */
  submit<A extends unknown[], R>(target: ((...args: A) => R) | ModuleTarget, ...args: SendableArgs<A>): Future<Awaited<R>> {
    return this.#submit(target as AnyFunction | ModuleTarget, args, 0) as unknown as Future<Awaited<R>>;
  }

  /**
   * Python's `executor.map(fn, *iterables)`, as `ThreadPoolExecutor.map`: the results in
   * input order, several iterables zipped (stopping at the shortest), options last
   * (`{ chunksize, timeout, signal, buffersize }`). `buffersize` defaults to `256 *
   * maxWorkers` tasks here: a process is worth keeping busy over a round trip.
   */
  map<T, R>(target: ((item: T) => R) | ModuleTarget, iterable: MapInput<T>, options?: MapOptions): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(target: ((...args: A) => R) | ModuleTarget, ...iterables: MapInputs<A>): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(
    target: ((...args: A) => R) | ModuleTarget,
    ...iterablesAndOptions: [...iterables: MapInputs<A>, options: MapOptions | undefined]
  ): AsyncIterableIterator<Awaited<R>>;
  map(target: AnyFunction | ModuleTarget, ...rest: unknown[]): AsyncIterableIterator<unknown> {
    const { iterables, chunksize, buffersize, deadline, signal } = parseMapArguments(rest, "ProcessPoolExecutor", Math.max(2, this.#maxWorkers * 256));
    this.#checkOpen();
    signal?.throwIfAborted();
    describeTarget(target, "ProcessPoolExecutor.map(target)");
    // One iterable: a task's args are [item], or a chunk of items (one argument each).
    // Several: each item is the zipped tuple, a task's args, or a chunk of tuples to spread.
    const spread = iterables.length > 1;
    const chunking: Chunking = chunksize === 1 ? 0 : spread ? CHUNK_SPREAD : CHUNK;
    const submit = (items: unknown[]): ProcessFuture =>
      this.#submit(target, chunking !== 0 ? [items] : spread ? (items[0] as unknown[]) : items, chunking);
    // The batch goes out once per turn of the event loop (#queueFlush): nothing to ring.
    return new MapIterator<unknown, unknown>(submit, iterables, { chunksize, windowLimit: buffersize, deadline, signal, wake: noop });
  }

  /**
   * Stops taking tasks. With `cancelFutures`, tasks that have not been sent to a process
   * are cancelled; the rest run to the end. With `wait` (the default), resolves once they
   * have and the processes have exited.
   */
  async shutdown(options: { wait?: boolean; cancelFutures?: boolean } = {}): Promise<void> {
    checkOptions(options, "ProcessPoolExecutor.shutdown()");
    this.#shutdown = true;
    if (options.cancelFutures === true) {
      const pending = this.#pending;
      for (let i = this.#pendingHead; i < pending.length; i++) pending[i].cancel();
      this.#pending = [];
      this.#pendingHead = 0;
    }
    if (this.#unfinished === 0) this.#stopWorkers();
    if (options.wait === false) return;
    // Held until the processes have gone, so that `await pool.shutdown()` is not cut short.
    this.#waitingShutdowns++;
    this.#hold();
    try {
      await this.#allDone;
      await Promise.all([...this.#workers].map((worker) => worker.closed));
    } finally {
      this.#waitingShutdowns--;
      this.#hold();
    }
  }

  /** `await using pool = new ProcessPoolExecutor()`: shuts down and waits at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /** @internal `util.inspect(pool)`: `<ProcessPoolExecutor maxWorkers=2 workers=1 pending=0>`, then `shutdown` or `broken`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const state = this.#broken !== undefined ? "broken" : this.#shutdown ? "shutdown" : "";
    return repr("ProcessPoolExecutor", `maxWorkers=${this.#maxWorkers}`, `workers=${this.#workers.size}`, `pending=${this.#unfinished}`, state);
  }

  #checkOpen(): void {
    if (this.#broken !== undefined) throw new BrokenExecutorError(this.#broken.message);
    if (this.#shutdown) throw new RuntimeError("cannot schedule new futures after shutdown");
  }

  #submit(target: AnyFunction | ModuleTarget, args: unknown[], chunking: Chunking): ProcessFuture {
    this.#checkOpen();
    const index = this.#indexOf(target);
    if (chunking === 0) checkProcessArgs(args, "args");
    else checkProcessArgs(args[0] as unknown[], "args");
    const future = new ProcessFuture();
    future.targetIndex = index;
    future.args = args;
    future.chunking = chunking;
    future.onCancel = this.#pendingCancel;
    this.#pending.push(future);
    if (++this.#unfinished === 1) {
      this.#allDone = new Promise((resolve) => (this.#resolveAllDone = resolve));
      this.#hold();
    }
    this.#ensureWorkers();
    this.#queueFlush();
    return future;
  }

  /** The cancel hook of every pending future (called on it): one function, not a closure per task. */
  readonly #pendingCancel = ((pool: ProcessPoolExecutor) =>
    function (this: ProcessFuture): void {
      this.args = undefined;
      pool.#taskEnded();
    })(this);

  /**
   * The index the processes know `target` by. Functions are known by their source, so
   * `submit(x => x + 1, i)` in a loop, a new closure each time, is still one target.
   */
  #indexOf(target: AnyFunction | ModuleTarget): number {
    if (typeof target === "function") {
      const known = this.#functionIndex.get(target);
      if (known !== undefined) return known;
    }
    const descriptor = describeTarget(target, "ProcessPoolExecutor.submit(target)");
    const key = descriptor.kind === "source" ? `source:${descriptor.source}` : `module:${descriptor.module}#${descriptor.export}`;
    let index = this.#targetIndex.get(key);
    if (index === undefined) {
      index = this.#descriptors.length;
      this.#descriptors.push(descriptor);
      this.#targetIndex.set(key, index);
    }
    if (typeof target === "function") this.#functionIndex.set(target, index);
    return index;
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    this.#dispatch();
  };

  /**
   * Sends pending tasks to the processes whose window is half empty or more, a batch each,
   * the pending tasks shared evenly among them (a burst does not all go to the first).
   */
  #dispatch(): void {
    let waiting = this.#pending.length - this.#pendingHead;
    if (waiting === 0) return;
    let open = 0;
    for (const worker of this.#workers) if (this.#room(worker) > 0) open++;
    for (const worker of this.#workers) {
      const room = this.#room(worker);
      if (room === 0) continue;
      const share = Math.min(room, Math.ceil(waiting / open--));
      const sent = this.#sendTo(worker, share);
      waiting -= sent;
      if (waiting <= 0 || open === 0) break;
    }
    if (this.#pendingHead === this.#pending.length) {
      this.#pending = [];
      this.#pendingHead = 0;
    } else if (this.#pendingHead > 4096 && this.#pendingHead * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
  }

  /** How many tasks `worker` may be sent now: 0 unless its window is at least half empty. */
  #room(worker: PoolProcess): number {
    if (worker.retiring) return 0;
    const window = worker.ready ? this.#window : MIN_WINDOW;
    const inFlight = worker.pending;
    if (inFlight > window >> 1) return 0;
    return Math.min(window - inFlight, this.#maxTasks - worker.assigned);
  }

  /** Sends up to `count` pending tasks to `worker` as one batch; returns how many it took from the queue. */
  #sendTo(worker: PoolProcess, count: number): number {
    const pending = this.#pending;
    const flat: unknown[] = [];
    let taken = 0;
    let sent = 0;
    while (sent < count && this.#pendingHead < pending.length) {
      const future = pending[this.#pendingHead];
      pending[this.#pendingHead++] = undefined as never;
      taken++;
      if (future.done()) continue; // cancelled while it waited
      if (!future.running()) future.setRunningOrNotifyCancel();
      const args = future.args as unknown[];
      flat.push(future.targetIndex, future.chunking, args.length);
      for (let i = 0; i < args.length; i++) flat.push(args[i]);
      future.batch = worker.batches;
      worker.inflight.push(future);
      sent++;
    }
    if (sent === 0) return taken;
    worker.assigned += sent;
    if (worker.assigned >= this.#maxTasks) worker.retiring = true;
    clearTimeout(worker.idleTimer);
    worker.idleTimer = undefined;
    const before = worker.knownTargets;
    try {
      worker.sendTasks(flat, this.#newTargets(worker));
    } catch (error) {
      // The serializer refused an argument that passed the check (an object it cannot clone):
      // take the batch back and send its tasks one by one, failing those it refuses.
      worker.knownTargets = before;
      const batch = worker.inflight.splice(worker.inflight.length - sent, sent);
      worker.assigned -= sent;
      for (const future of batch) this.#sendAlone(worker, future, error);
    }
    return taken;
  }

  /** The targets `worker` has not been told of yet, as [index, descriptor] pairs (and now it has). */
  #newTargets(worker: PoolProcess): [number, TargetDescriptor][] | undefined {
    const from = worker.knownTargets;
    if (from === this.#descriptors.length) return undefined;
    worker.knownTargets = this.#descriptors.length;
    return this.#descriptors.slice(from).map((descriptor, i): [number, TargetDescriptor] => [from + i, descriptor]);
  }

  #sendAlone(worker: PoolProcess, future: ProcessFuture, batchError: unknown): void {
    const args = future.args as unknown[];
    const before = worker.knownTargets;
    try {
      worker.sendTasks([future.targetIndex, future.chunking, args.length, ...args], this.#newTargets(worker));
    } catch (error) {
      worker.knownTargets = before;
      const reason = error instanceof Error ? error.message : String(batchError);
      this.#settle(future, false, new TypeError(`args: cannot be sent to another process (${reason})`));
      return;
    }
    future.batch = worker.batches - 1;
    worker.inflight.push(future);
    worker.assigned++;
  }

  #ensureWorkers(): void {
    if (this.#broken !== undefined) return;
    const wanted = Math.min(this.#maxWorkers, Math.max(this.#minWorkers, this.#unfinished));
    let live = 0;
    for (const worker of this.#workers) if (!worker.retiring) live++;
    for (; live < wanted; live++) this.#startWorker();
  }

  #startWorker(): void {
    const name = `${this.#prefix}_${this.#workerCounter++}`;
    const worker = new PoolProcess(name, { name, initializer: this.#initializer, initargs: this.#initargs, maxTasks: this.#maxTasks }, this.#execArgv, this.#events);
    this.#workers.add(worker);
  }

  readonly #events: PoolProcessEvents = {
    results: (worker, outcomes, busyUs) => this.#onResults(worker, outcomes, busyUs),
    ready: () => this.#dispatch(),
    broken: (worker, error) => this.#breakPool(decodeError(error, `in the initializer of ${worker.name}`), "A process initializer failed"),
    closed: (worker) => this.#onClosed(worker),
  };

  #onResults(worker: PoolProcess, outcomes: unknown[], busyUs: number): void {
    const count = outcomes.length >> 1;
    const futures = worker.takeReported(count);
    const where = `in worker process ${worker.name} (pid ${worker.pid})`;
    for (let i = 0; i < futures.length; i++) {
      const ok = outcomes[2 * i] === OK;
      const value = outcomes[2 * i + 1];
      this.#settle(futures[i], ok, ok ? value : decodeError(value as EncodedError, where));
    }
    if (count > 0) {
      const perTask = busyUs / count;
      this.#taskUs = this.#taskUs === 0 ? perTask : (this.#taskUs + perTask) / 2;
      this.#window = Math.max(MIN_WINDOW, Math.min(MAX_WINDOW, Math.floor(WINDOW_BUDGET_US / Math.max(this.#taskUs, 0.5))));
    }
    this.#dispatch();
    if (worker.pending === 0 && !worker.retiring && this.#idleMs !== Infinity && worker.idleTimer === undefined) {
      worker.idleTimer = setTimeout(() => this.#leaveIdle(worker), this.#idleMs);
      worker.idleTimer.unref();
    }
  }

  #settle(future: ProcessFuture, ok: boolean, value: unknown): void {
    future.args = undefined;
    if (!future.done()) {
      if (!future.running()) future.setRunningOrNotifyCancel();
      if (ok) future.setResult(value);
      else future.setException(value);
    }
    this.#taskEnded();
  }

  #leaveIdle(worker: PoolProcess): void {
    worker.idleTimer = undefined;
    if (worker.pending > 0 || worker.retiring) return;
    let live = 0;
    for (const other of this.#workers) if (!other.retiring) live++;
    if (live > this.#minWorkers) worker.stop();
  }

  /** A process has exited and all it wrote has been read: fail what it was running, hand on what it had not started. */
  #onClosed(worker: PoolProcess): void {
    if (!this.#workers.delete(worker)) return;
    const unreported = worker.takeReported(worker.pending);
    if (!worker.ready && !worker.stopped && this.#broken === undefined) {
      // Dead before it was ready, in its initializer or as it started: a replacement would
      // most likely die the same way, again and again, so the pool is broken, as Python's.
      const where = this.#initializer === null ? "as it started" : "in its initializer";
      this.#breakPool(crashError(worker, `died ${where}`), this.#initializer === null ? "A process of the pool died as it started" : "A process initializer failed");
    }
    if (unreported.length > 0 && this.#broken === undefined) {
      const note = worker.note;
      // A process that said how it ended names the running task; one killed outright does
      // not, and the rest of its batch is unknown: it may have run, or be running.
      const failed = note !== undefined ? (note.running ? 1 : 0) : unreported.filter((future) => future.batch === unreported[0].batch).length;
      for (let i = 0; i < failed; i++) this.#settle(unreported[i], false, crashError(worker, failed === 1 ? "while running the task" : `before it reported on ${failed} tasks of its batch, among them this one`));
      const requeued = unreported.slice(failed);
      if (requeued.length > 0) {
        this.#pending = [...requeued, ...this.#pending.slice(this.#pendingHead)];
        this.#pendingHead = 0;
      }
    }
    if (!this.#shutdown || this.#unfinished > 0) this.#ensureWorkers();
    this.#dispatch();
  }

  #taskEnded(): void {
    if (--this.#unfinished === 0) {
      this.#resolveAllDone?.();
      this.#hold();
      if (this.#shutdown) this.#stopWorkers();
    }
  }

  #stopWorkers(): void {
    for (const worker of this.#workers) worker.stop();
  }

  /** Holds the event loop while tasks are unfinished or a shutdown waits for the processes to go. */
  #hold(): void {
    if (this.#unfinished > 0 || this.#waitingShutdowns > 0) (this.#keepAlive ??= setInterval(noop, 1 << 30)).ref();
    else this.#keepAlive?.unref();
  }

  /** `what` went wrong: every task not done fails with BrokenExecutorError, and the processes go. */
  #breakPool(cause: unknown, what: string): void {
    if (this.#broken !== undefined) return;
    this.#broken = new BrokenExecutorError(`${what}, the process pool is not usable anymore: ${cause instanceof Error ? cause.message : String(cause)}`);
    const failed: ProcessFuture[] = this.#pending.slice(this.#pendingHead);
    this.#pending = [];
    this.#pendingHead = 0;
    for (const worker of this.#workers) failed.push(...worker.takeReported(worker.pending));
    for (const future of failed) {
      if (future.done()) continue;
      future.onCancel = undefined;
      this.#settle(future, false, new BrokenExecutorError(this.#broken.message));
    }
    this.#shutdown = true;
    for (const worker of this.#workers) worker.kill();
  }
}

/** `WorkerCrashedError` for a task of `worker`, which has exited: with its `exitCode` and `signal`. */
function crashError(worker: PoolProcess, what: string): WorkerCrashedError {
  const note = worker.note;
  const how = worker.signal !== null ? `was killed by ${worker.signal}` : `exited with code ${worker.exitCode ?? note?.code ?? "?"}`;
  const cause = note?.error === undefined ? "" : `: ${note.error.name}: ${note.error.message}`;
  const error = new WorkerCrashedError(`worker process ${worker.name} (pid ${worker.pid}) ${how} ${what}${cause}`);
  Object.assign(error, { exitCode: worker.exitCode, signal: worker.signal });
  return error;
}

/** The Node flags for a thread's resource limits, those that a process can have. */
function limitFlags(limits: ProcessPoolOptions["resourceLimits"]): string[] {
  if (limits === undefined) return [];
  if (limits === null || typeof limits !== "object") throw new TypeError(`new ProcessPoolExecutor(options): options.resourceLimits must be an object, got ${describe(limits)}`);
  const flags: string[] = [];
  for (const [key, value] of Object.entries(limits)) {
    if (value === undefined) continue;
    const flag = key === "maxOldGenerationSizeMb" ? "--max-old-space-size" : key === "stackSizeMb" ? "--stack-size" : undefined;
    if (flag === undefined) {
      throw new ValueError(`new ProcessPoolExecutor(options): options.resourceLimits.${key} has no equivalent for a process (supported: maxOldGenerationSizeMb, stackSizeMb)`);
    }
    if (typeof value !== "number" || !(value > 0)) throw new ValueError(`new ProcessPoolExecutor(options): options.resourceLimits.${key} must be a positive number, got ${describe(value)}`);
    // --stack-size is in KiB.
    flags.push(`${flag}=${key === "stackSizeMb" ? Math.floor(value * 1024) : Math.floor(value)}`);
  }
  return flags;
}

function noop(): void {}
