/**
 * ClusterExecutor: the Executor interface of ThreadPoolExecutor over a BullMQ queue in
 * Redis, whose tasks run on `weft worker` processes on any number of machines.
 *
 * `submit()` makes a Future at once and puts the task in a batch; the batch goes to Redis
 * with one `addBulk` at the next turn of the event loop, so a loop of submits costs one
 * round trip, not one each. Outcomes come back on BullMQ's event stream (QueueEvents),
 * read from the stream position taken before the first task was added, so no event of
 * this executor's jobs is missed; each job id names its future in a map, and a future is
 * taken out of the map as it settles: a second outcome for the same task (a task rerun
 * after its worker was thought dead) finds nothing to settle. Exactly-once settlement over
 * at-least-once execution.
 *
 * Events can still be missed: Redis restarted, or the stream trimmed past an event while
 * this side was away. So when the stream has been quiet for a while with futures pending,
 * or a connection has just come back, the executor sweeps: it reads the state of each
 * pending job from its hash, settles the finished ones from there, and adds again those
 * whose job is gone (a Redis that lost its data in the restart). A task is never lost
 * while its executor lives.
 *
 * A task whose worker dies is run again by BullMQ's stalled-job handling (its lock lapses
 * and another worker takes it), up to `attempts` runs; the worker that finds a task
 * started that many times fails it with WorkerCrashedError. A task that throws fails at
 * once, unless `retries` asks BullMQ to run it again. See cluster/wire.ts for what a job
 * carries.
 */
import { randomBytes } from "node:crypto";
import type { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { BrokenExecutorError, RuntimeError, ValueError, WorkerCrashedError } from "../core/errors.js";
import { checkOptions, describe } from "../core/timeouts.js";
import { repr } from "../core/repr.js";
import { sharedPathIn } from "../transport/encode.js";
import { decodeError, type EncodedError } from "../transport/errors.js";
import { describeTarget, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";
import type { SendableArgs } from "../transport/sendable.js";
import { Future } from "../futures/future.js";
import { MapIterator } from "../futures/map-iterator.js";
import { type MapInput, type MapInputs, type MapOptions } from "../futures/thread-pool.js";
import { nonNegativeInteger, parseMapArguments, positiveInteger } from "../futures/pool-arguments.js";
import { checkConnection, RedisLink, DEFAULT_RECONNECT_LIMIT, type ClusterConnection } from "./connection.js";
import { loadClusterModules } from "./load.js";
import { CHUNK, CHUNK_SPREAD, ONE, PREFIX, pack, unpack, type Chunking, type Outcome, type TaskData } from "./wire.js";

/** Options of {@link ClusterExecutor}. */
export interface ClusterExecutorOptions {
  /** The Redis server: a `redis://` / `rediss://` URL, or ioredis options (`{ host, port, password, ... }`). */
  connection: ClusterConnection;
  /** The BullMQ queue the workers take from (default "weft"); `weft worker --queue` names the same. */
  queue?: string;
  /** Runs a task is allowed when the workers running it die (default 2: one rerun, BullMQ's default). */
  attempts?: number;
  /** Reruns of a task that throws (default 0: its future fails at once, as in a local pool). */
  retries?: number;
  /** Each task's time limit on its worker, in ms: past it the task fails with `TimeoutError` (default none). */
  timeout?: number;
  /** How long a lost Redis connection is waited for before the executor is broken, ms (default 30 000). */
  reconnectTimeout?: number;
}

type AnyFunction = (...args: never[]) => unknown;

/** A task on its way: its future, and the job that carries it (kept to add it again). */
interface Entry {
  readonly id: string;
  readonly future: Future<unknown>;
  readonly name: string;
  readonly data: TaskData;
  /** Taken by a flush (`addBulk` sent), and confirmed added. */
  sent: boolean;
  added: boolean;
}

interface Parts {
  readonly link: RedisLink;
  readonly client: Redis;
  readonly queue: Queue;
  readonly events: QueueEvents;
}

/** Jobs per `addBulk` call: one call per batch, but no single huge Redis transaction. */
const BULK = 1000;
/** Tasks `map` keeps submitted ahead of the results by default: a remote cluster wants a deep window. */
const MAP_WINDOW = 256;
/** The event stream quiet this long with futures pending: look at the jobs themselves (ms). */
const SWEEP_MS = 2000;
/** Jobs looked at per sweep. */
const SWEEP_MAX = 10_000;
/** How long finished jobs stay in Redis (s): long enough for a sweep to find an outcome whose event was missed. */
const KEEP_FINISHED = { age: 3600 };
/** How long a job whose add failed (the connection dropped) waits before it is tried again (ms). */
const READD_MS = 500;

/**
 * An executor whose tasks run on `weft worker` processes, through a BullMQ queue in Redis:
 * the same `submit`, `map`, `shutdown` and futures as {@link ThreadPoolExecutor}.
 */
export class ClusterExecutor {
  readonly #connection: ClusterConnection;
  readonly #queueName: string;
  readonly #attempts: number;
  readonly #retries: number;
  readonly #timeout: number | undefined;
  readonly #reconnectLimit: number;
  /** Job ids are `${#tag}-${n}`: unique to this executor, so its events are told from others'. */
  readonly #tag = randomBytes(6).toString("hex");
  #counter = 0;
  readonly #entries = new Map<string, Entry>();
  #batch: Entry[] = [];
  #flushScheduled = false;
  readonly #descriptors = new WeakMap<AnyFunction, TargetDescriptor>();
  #opening: Promise<Parts> | undefined;
  #parts: Parts | undefined;
  #shutdown = false;
  #broken: BrokenExecutorError | undefined;
  #closing: Promise<void> | undefined;
  #allDone: Promise<void> = Promise.resolve();
  #resolveAllDone: (() => void) | undefined;
  #lastEventAt = performance.now();
  #reconnected = false;
  #sweeping = false;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ClusterExecutorOptions) {
    const where = "new ClusterExecutor(options)";
    if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be an object with a connection, got ${describe(options)}`);
    if (options.connection === undefined) throw new TypeError(`${where}: options.connection is required (a redis:// URL or Redis options)`);
    this.#connection = checkConnection(options.connection, where);
    const queue = options.queue ?? "weft";
    if (typeof queue !== "string" || queue === "" || queue.includes(":")) {
      throw new TypeError(`${where}: options.queue must be a non-empty string without ":", got ${describe(queue)}`);
    }
    this.#queueName = queue;
    this.#attempts = positiveInteger(options.attempts ?? 2, "attempts", "new ClusterExecutor(options)");
    this.#retries = nonNegativeInteger(options.retries ?? 0, "retries", "new ClusterExecutor(options)");
    this.#timeout = options.timeout === undefined || options.timeout === Infinity ? undefined : positiveMs(options.timeout, "timeout");
    this.#reconnectLimit = options.reconnectTimeout === undefined ? DEFAULT_RECONNECT_LIMIT : positiveMs(options.reconnectTimeout, "reconnectTimeout");
  }

  /**
   * Schedules `target(...args)` on a worker and returns its Future. The target must be a
   * self-contained function or a module export every worker can import; arguments must be
   * structured-cloneable: a weft shared-memory object among them is a `TypeError` naming
   * its path. After `shutdown()`: `RuntimeError`; once the connection is gone for good:
   * `BrokenExecutorError`.
   */
  submit<A extends unknown[], R>(target: ((...args: A) => R) | ModuleTarget, ...args: SendableArgs<A>): Future<Awaited<R>> {
    this.#checkOpen();
    const descriptor = this.#describe(target as AnyFunction | ModuleTarget, "ClusterExecutor.submit(target)");
    return this.#submit(descriptor, args, ONE) as Future<Awaited<R>>;
  }

  /**
   * Python's `executor.map(fn, *iterables)`, as {@link ThreadPoolExecutor.map}: results in
   * input order, several iterables zipped, `chunksize` items per task (a task is one job:
   * a chunk pays one trip through Redis for all its items), the input read at most
   * `buffersize` tasks ahead (default 256), the first failure thrown at its position.
   */
  map<T, R>(target: ((item: T) => R) | ModuleTarget, iterable: MapInput<T>, options?: MapOptions): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(target: ((...args: A) => R) | ModuleTarget, ...iterables: MapInputs<A>): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(
    target: ((...args: A) => R) | ModuleTarget,
    ...iterablesAndOptions: [...iterables: MapInputs<A>, options: MapOptions | undefined]
  ): AsyncIterableIterator<Awaited<R>>;
  map(target: AnyFunction | ModuleTarget, ...rest: unknown[]): AsyncIterableIterator<unknown> {
    const { iterables, chunksize, buffersize, deadline, signal } = parseMapArguments(rest, "ClusterExecutor", MAP_WINDOW);
    this.#checkOpen();
    signal?.throwIfAborted();
    const descriptor = this.#describe(target, "ClusterExecutor.map(target)");
    const spread = iterables.length > 1;
    const chunking: Chunking = chunksize === 1 ? ONE : spread ? CHUNK_SPREAD : CHUNK;
    const submit = (items: unknown[]): Future<unknown> => this.#submit(descriptor, chunking === ONE && spread ? (items[0] as unknown[]) : items, chunking);
    return new MapIterator<unknown, unknown>(submit, iterables, { chunksize, windowLimit: buffersize, deadline, signal, wake: () => {} });
  }

  /**
   * Stops taking tasks. With `cancelFutures`, tasks no worker has started are cancelled
   * (their jobs removed from the queue); the rest run to the end. With `wait` (the
   * default), resolves once they have and the connections are closed.
   */
  async shutdown(options: { wait?: boolean; cancelFutures?: boolean } = {}): Promise<void> {
    checkOptions(options, "ClusterExecutor.shutdown()");
    this.#shutdown = true;
    if (options.cancelFutures === true) for (const entry of [...this.#entries.values()]) entry.future.cancel();
    if (this.#entries.size === 0) void this.#close();
    if (options.wait === false) return;
    await this.#allDone;
    await this.#close();
  }

  /** `await using executor = new ClusterExecutor(...)`: shuts down and waits at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /** @internal `<ClusterExecutor queue="weft" redis://host:6379 pending=3>`, then `shutdown` or `broken`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const state = this.#broken !== undefined ? "broken" : this.#shutdown ? "shutdown" : "";
    return repr("ClusterExecutor", `queue=${JSON.stringify(this.#queueName)}`, `pending=${this.#entries.size}`, state);
  }

  #checkOpen(): void {
    if (this.#broken !== undefined) throw new BrokenExecutorError(this.#broken.message);
    if (this.#shutdown) throw new RuntimeError("cannot schedule new futures after shutdown");
  }

  #describe(target: AnyFunction | ModuleTarget, argName: string): TargetDescriptor {
    if (typeof target !== "function") return describeTarget(target, argName);
    let descriptor = this.#descriptors.get(target);
    if (descriptor === undefined) {
      descriptor = describeTarget(target, argName);
      this.#descriptors.set(target, descriptor);
    }
    return descriptor;
  }

  #submit(descriptor: TargetDescriptor, args: unknown[], chunking: Chunking): Future<unknown> {
    this.#checkOpen();
    const shared = sharedPathIn(args, "args");
    if (shared !== undefined) {
      throw new TypeError(
        `${shared}: weft's shared-memory objects (locks, queues, events, shared values and arrays, SharedArrayBuffers) cannot be sent to another machine; ` +
          `a ClusterExecutor task takes structured-cloneable data only`,
      );
    }
    let packed: string;
    try {
      packed = pack(args);
    } catch (error) {
      throw new TypeError(`args: cannot be sent to a cluster worker: ${(error as Error).message}`, { cause: error });
    }
    const data: TaskData = this.#timeout === undefined ? { t: descriptor, a: packed, k: chunking, n: this.#attempts } : { t: descriptor, a: packed, k: chunking, n: this.#attempts, d: this.#timeout };
    const id = `${this.#tag}-${++this.#counter}`;
    const future = new Future<unknown>();
    const entry: Entry = { id, future, name: (descriptor.kind === "source" ? descriptor.name : descriptor.export) || "task", data, sent: false, added: false };
    future.onCancel = () => this.#cancelled(entry);
    this.#entries.set(id, entry);
    if (this.#entries.size === 1) this.#allDone = new Promise((resolve) => (this.#resolveAllDone = resolve));
    this.#enqueue(entry);
    return future;
  }

  /** A pending future was cancelled: its job leaves the queue (if no worker has taken it yet). */
  #cancelled(entry: Entry): void {
    this.#entries.delete(entry.id);
    if (entry.sent && this.#parts !== undefined) this.#parts.queue.remove(entry.id).catch(ignore);
    this.#taskEnded();
  }

  #enqueue(entry: Entry): void {
    this.#batch.push(entry);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => void this.#flush());
  }

  /** Sends the batch of new tasks (see the top of this file). */
  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const batch = this.#batch.filter((entry) => !entry.future.done());
    this.#batch = [];
    if (batch.length === 0) return;
    let parts: Parts;
    try {
      parts = await this.#open();
    } catch (error) {
      this.#break(error);
      return;
    }
    for (let at = 0; at < batch.length; at += BULK) {
      const part = batch.slice(at, at + BULK);
      for (const entry of part) entry.sent = true;
      const jobs = part.map((entry) => ({
        name: entry.name,
        data: entry.data,
        opts: { jobId: entry.id, attempts: this.#retries + 1, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
      }));
      parts.queue.addBulk(jobs).then(
        () => {
          for (const entry of part) entry.added = true;
        },
        () => {
          // The connection dropped under the call: try again in a moment (or break, if it is gone).
          if (this.#broken !== undefined) return;
          setTimeout(() => {
            for (const entry of part) if (!entry.future.done()) this.#enqueue(entry);
          }, READD_MS).unref();
        },
      );
    }
  }

  /** Loads BullMQ, connects, and starts reading events from the stream's current end (once). */
  #open(): Promise<Parts> {
    this.#opening ??= (async () => {
      const modules = await loadClusterModules("ClusterExecutor");
      if (this.#broken !== undefined) throw this.#broken;
      const link = new RedisLink(modules, this.#connection, (error) => this.#break(error), this.#reconnectLimit);
      link.onReconnect = () => {
        this.#reconnected = true;
      };
      const client = link.client();
      const { Queue, QueueEvents } = modules.bullmq;
      const queue = new Queue(this.#queueName, { connection: client, prefix: PREFIX, streams: { events: { maxLen: 100_000 } } });
      queue.on("error", ignore);
      // Where the stream ends now: every event of a job added from here on comes after it.
      const last = (await client.xrevrange(`${PREFIX}:${this.#queueName}:events`, "+", "-", "COUNT", 1)) as [string, string[]][];
      const lastEventId = last.length > 0 ? last[0][0] : "0-0";
      const events = new QueueEvents(this.#queueName, { connection: link.client(), prefix: PREFIX, lastEventId });
      events.on("error", ignore);
      events.on("active", ({ jobId }) => this.#onActive(jobId));
      events.on("completed", ({ jobId, returnvalue }) => this.#onOutcome(jobId, returnvalue as unknown as Outcome));
      events.on("failed", ({ jobId, failedReason }) => this.#onFailed(jobId, failedReason));
      const parts: Parts = { link, client, queue, events };
      this.#parts = parts;
      if (this.#broken !== undefined) {
        void this.#closeParts(parts);
        throw this.#broken;
      }
      this.#sweepTimer = setInterval(() => void this.#sweep(), SWEEP_MS / 2);
      this.#sweepTimer.unref();
      return parts;
    })();
    return this.#opening;
  }

  #onActive(jobId: string): void {
    const entry = this.#entries.get(jobId);
    if (entry === undefined) return;
    this.#lastEventAt = performance.now();
    if (!entry.future.done() && !entry.future.running()) entry.future.setRunningOrNotifyCancel();
  }

  #onOutcome(jobId: string, outcome: Outcome): void {
    const entry = this.#entries.get(jobId);
    if (entry === undefined) return;
    this.#lastEventAt = performance.now();
    this.#settle(entry, outcome);
  }

  /** BullMQ failed the job itself (a task that throws completes with an error outcome; see wire.ts). */
  #onFailed(jobId: string, failedReason: string): void {
    const entry = this.#entries.get(jobId);
    if (entry === undefined) return;
    this.#lastEventAt = performance.now();
    const error = /stalled/.test(failedReason) ? new WorkerCrashedError(`the task's workers died running it: ${failedReason}`) : new RuntimeError(`the task failed in its queue: ${failedReason}`);
    this.#settleWith(entry, () => entry.future.setException(error));
  }

  #settle(entry: Entry, outcome: Outcome): void {
    this.#settleWith(entry, () => {
      if ("r" in outcome) entry.future.setResult(unpack(outcome.r));
      else if ("e" in outcome) entry.future.setException(decodeError(unpack(outcome.e) as EncodedError, `in a worker of the cluster queue "${this.#queueName}"`, false));
      else entry.future.setException(new WorkerCrashedError(outcome.c));
    });
  }

  /** Takes the entry out (so that nothing settles it twice) and settles its future with `how`. */
  #settleWith(entry: Entry, how: () => void): void {
    if (!this.#entries.delete(entry.id)) return;
    const future = entry.future;
    future.onCancel = undefined;
    if (!future.done()) {
      if (!future.running()) future.setRunningOrNotifyCancel();
      try {
        how();
      } catch (error) {
        // An outcome that cannot be read (say, a result of a class this side lacks).
        if (!future.done()) future.setException(error);
      }
    }
    this.#taskEnded();
  }

  #taskEnded(): void {
    if (this.#entries.size > 0) return;
    this.#resolveAllDone?.();
    if (this.#shutdown) void this.#close();
  }

  /**
   * Looks at the pending jobs in Redis when the event stream has been quiet or a connection
   * came back (see the top of this file).
   */
  async #sweep(): Promise<void> {
    const parts = this.#parts;
    if (parts === undefined || this.#sweeping || this.#entries.size === 0 || this.#broken !== undefined) return;
    if (!this.#reconnected && performance.now() - this.#lastEventAt < SWEEP_MS) return;
    this.#reconnected = false;
    this.#sweeping = true;
    try {
      const looked: Entry[] = [];
      for (const entry of this.#entries.values()) {
        if (entry.added && !entry.future.done()) looked.push(entry);
        if (looked.length >= SWEEP_MAX) break;
      }
      if (looked.length === 0) return;
      const pipeline = parts.client.pipeline();
      for (const entry of looked) pipeline.hmget(`${PREFIX}:${this.#queueName}:${entry.id}`, "timestamp", "finishedOn", "returnvalue", "failedReason");
      const replies = (await pipeline.exec()) ?? [];
      for (let i = 0; i < looked.length; i++) {
        const [error, fields] = replies[i] ?? [new Error("no reply"), null];
        if (error !== null || !Array.isArray(fields)) continue;
        const [timestamp, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
        const entry = looked[i];
        if (timestamp === null) {
          // The job is gone (Redis lost it): add it again; at-least-once allows a second run.
          entry.added = false;
          entry.sent = false;
          if (!entry.future.done()) this.#enqueue(entry);
        } else if (finishedOn !== null) {
          if (returnvalue !== null) this.#onOutcome(entry.id, JSON.parse(returnvalue) as Outcome);
          else if (failedReason !== null) this.#onFailed(entry.id, failedReason);
        }
      }
      this.#lastEventAt = performance.now();
    } catch {
      // The connection dropped mid-sweep: the next sweep tries again.
    } finally {
      this.#sweeping = false;
    }
  }

  /** The connection is gone for good (or BullMQ is missing): every pending future fails with BrokenExecutorError. */
  #break(cause: unknown): void {
    if (this.#broken !== undefined) return;
    const reason = cause instanceof Error ? cause.message : String(cause);
    this.#broken = new BrokenExecutorError(`the cluster executor is broken and runs no more tasks: ${reason}`);
    this.#batch = [];
    const pending = [...this.#entries.values()];
    for (const entry of pending) this.#settleWith(entry, () => entry.future.setException(new BrokenExecutorError(this.#broken!.message)));
    this.#resolveAllDone?.();
    void this.#close();
  }

  /** Closes the queue, the event reader and their connections (once). */
  #close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
      let parts = this.#parts;
      if (parts === undefined && this.#opening !== undefined) parts = await this.#opening.catch(() => this.#parts);
      if (parts !== undefined) await this.#closeParts(parts);
    })();
    return this.#closing;
  }

  async #closeParts(parts: Parts): Promise<void> {
    await Promise.allSettled([parts.events.close(), parts.queue.close()]);
    await parts.link.close();
  }
}

function ignore(): void {}

function positiveMs(value: unknown, name: string): number {
  if (typeof value !== "number") throw new TypeError(`new ClusterExecutor(options): options.${name} must be a number of milliseconds, got ${describe(value)}`);
  if (Number.isNaN(value) || value <= 0) throw new ValueError(`new ClusterExecutor(options): options.${name} must be a positive number of milliseconds, got ${describe(value)}`);
  return value;
}
