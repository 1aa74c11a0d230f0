/**
 * ClusterExecutor: the Executor interface of ThreadPoolExecutor over a BullMQ queue in
 * Redis, whose tasks run on `weft worker` processes on any number of machines.
 *
 * `submit()` makes a Future at once and puts the task in a batch; the batch goes to Redis
 * with one `addBulk` at the next turn of the event loop, so a loop of submits costs one
 * round trip, not one each.
 *
 * A job costs Redis and both ends far more than a tiny task does, so a batch of more than
 * SPREAD tasks is bundled: consecutive tasks of one target share a job, in about SPREAD
 * jobs (at most BUNDLE_MAX tasks each). A bundle's tasks are still separate tasks: the worker
 * runs each on its pool with its own outcome, time limit and error, and each future settles
 * from its own outcome. What a bundle shares is its fate in Redis: one worker takes it
 * (all its tasks are running from then), its outcomes come back together when its last
 * task ends (one job, one return value), a dead worker's bundle runs again whole, and a
 * cancelled task's bundle leaves the queue and its other tasks go again without it (if no
 * worker has taken it yet). A batch of up to SPREAD tasks, and any executor with `retries`
 * (BullMQ retries whole jobs), sends a job per task.
 *
 * Outcomes come back on BullMQ's event stream (QueueEvents), read from the stream
 * position taken before the first task was added, so no event of this executor's jobs is
 * missed; each job id names its future in a map, and a future is
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
 *
 * An executor with nothing pending for a moment (IDLE_MS) closes its connections, and opens
 * them again at the next submit: so a program that never calls `shutdown()` still ends once
 * its work is done, as a Python program with an executor does. BullMQ's event reader keeps
 * a timer and a socket alive for as long as it runs, so parking it is the only way.
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
import { BUNDLE, CHUNK, CHUNK_SPREAD, ONE, PREFIX, pack, unpack, type Chunking, type Outcome, type TaskData } from "./wire.js";

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

/** A task on its way: its future, its packed arguments, and the job that carries it now. */
interface Task {
  readonly future: Future<unknown>;
  readonly args: string;
  job: Job;
}

/** A job: the task it carries, or the bundle of tasks (see the top of this file). */
interface Job {
  readonly id: string;
  readonly name: string;
  readonly descriptor: TargetDescriptor;
  readonly chunking: Chunking;
  /** Its tasks, in the order of the bundle's outcomes. */
  readonly tasks: Task[];
  /** What the job carries, fixed at its first flush (kept to add it again). */
  data: TaskData | undefined;
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
/** A batch of more tasks than this travels bundled, in about this many jobs (see the top of this file). */
const SPREAD = 1024;
/** The most tasks one bundle carries. */
const BUNDLE_MAX = 64;
/** Tasks `map` keeps submitted ahead of the results by default: a remote cluster wants a deep window. */
const MAP_WINDOW = 256;
/** The event stream quiet this long with futures pending: look at the jobs themselves (ms). */
const SWEEP_MS = 2000;
/** Jobs looked at per sweep. */
const SWEEP_MAX = 10_000;
/** How long finished jobs stay in Redis (s): long enough for a sweep to find an outcome whose event was missed. */
const KEEP_FINISHED = { age: 3600 };
/** Nothing pending this long: the connections close until the next submit (ms). */
const IDLE_MS = 1000;
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
  /** The jobs with a task not yet settled, by job id. */
  readonly #jobs = new Map<string, Job>();
  #batch: Job[] = [];
  #flushScheduled = false;
  readonly #descriptors = new WeakMap<AnyFunction, TargetDescriptor>();
  /** What tells two descriptors of one target apart from another's (a bundle has one target). */
  readonly #targetKeys = new WeakMap<TargetDescriptor, string>();
  #opening: Promise<Parts> | undefined;
  #parts: Parts | undefined;
  /** The connections of an idle executor closing (see the top of this file). */
  #parking: Promise<void> = Promise.resolve();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
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
    if (options.cancelFutures === true) for (const job of [...this.#jobs.values()]) for (const { future } of job.tasks) future.cancel();
    if (this.#jobs.size === 0) void this.#close();
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
    return repr("ClusterExecutor", `queue=${JSON.stringify(this.#queueName)}`, `pending=${this.#pending()}`, state);
  }

  /** Tasks not yet settled. */
  #pending(): number {
    let n = 0;
    for (const job of this.#jobs.values()) for (const { future } of job.tasks) if (!future.done()) n++;
    return n;
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
    const future = new Future<unknown>();
    if (this.#jobs.size === 0) this.#allDone = new Promise((resolve) => (this.#resolveAllDone = resolve));
    this.#enqueue(this.#newJob(descriptor, chunking, future, packed));
    return future;
  }

  /** A job of one task, waiting for the next flush (which may bundle it with others). */
  #newJob(descriptor: TargetDescriptor, chunking: Chunking, future: Future<unknown>, args: string): Job {
    const id = `${this.#tag}-${++this.#counter}`;
    const name = (descriptor.kind === "source" ? descriptor.name : descriptor.export) || "task";
    const job: Job = { id, name, descriptor, chunking, tasks: [], data: undefined, sent: false, added: false };
    const task: Task = { future, args, job };
    job.tasks.push(task);
    task.future.onCancel = () => this.#cancelled(task);
    this.#jobs.set(id, job);
    return job;
  }

  /**
   * A pending future was cancelled. A job whose tasks are all done leaves the queue (if no
   * worker has taken it yet); a bundle whose other tasks live on leaves it too, and they go
   * again without this one.
   */
  #cancelled(task: Task): void {
    const job = task.job;
    if (job.tasks.every((each) => each.future.done())) {
      this.#takeOut(job);
      if (job.sent && this.#parts !== undefined) this.#parts.queue.remove(job.id).catch(ignore);
      this.#taskEnded();
      return;
    }
    if (!job.sent || this.#parts === undefined) return;
    this.#parts.queue.remove(job.id).then((removed) => {
      // Not removed: a worker has taken the bundle, and the cancelled task's outcome is dropped.
      if (removed !== 1 || !this.#takeOut(job)) return;
      for (const { future, args } of job.tasks) if (!future.done()) this.#enqueue(this.#newJob(job.descriptor, ONE, future, args));
    }, ignore);
  }

  /** Takes `job` out of the pending jobs; false if it was out already (settled, or sent again as another job). */
  #takeOut(job: Job): boolean {
    if (this.#jobs.get(job.id) !== job) return false;
    this.#jobs.delete(job.id);
    return true;
  }

  #enqueue(job: Job): void {
    this.#batch.push(job);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => void this.#flush());
  }

  /** Sends the batch of new jobs, bundling the tasks of a large one (see the top of this file). */
  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    const batch = this.#batch.filter((job) => job.tasks.some((task) => !task.future.done()));
    this.#batch = [];
    if (batch.length === 0) return;
    let parts: Parts;
    try {
      parts = await this.#open();
    } catch (error) {
      this.#break(error);
      return;
    }
    const jobs = this.#bundle(batch);
    for (let at = 0; at < jobs.length; at += BULK) {
      const part = jobs.slice(at, at + BULK);
      for (const job of part) job.sent = true;
      const adds = part.map((job) => ({
        name: job.name,
        data: (job.data ??= this.#dataOf(job)),
        opts: { jobId: job.id, attempts: this.#retries + 1, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
      }));
      parts.queue.addBulk(adds).then(
        () => {
          for (const job of part) job.added = true;
        },
        () => {
          // The connection dropped under the call: try again in a moment (or break, if it is gone).
          if (this.#broken !== undefined) return;
          setTimeout(() => {
            for (const job of part) if (this.#jobs.get(job.id) === job) this.#enqueue(job);
          }, READD_MS).unref();
        },
      );
    }
  }

  /**
   * A batch of more than SPREAD new single tasks goes in about SPREAD jobs: consecutive
   * tasks of one target share a job, each keeping its own outcome. Only without retries:
   * BullMQ retries a whole job.
   */
  #bundle(batch: Job[]): Job[] {
    // Not yet flushed (so one task, pending: the flush dropped done ones), and a single call.
    const fresh = (job: Job): boolean => job.data === undefined && job.chunking === ONE;
    const size = Math.min(BUNDLE_MAX, Math.ceil(batch.filter(fresh).length / SPREAD));
    if (size <= 1 || this.#retries > 0) return batch;
    const jobs: Job[] = [];
    let open: Job | undefined;
    let openKey = "";
    for (const job of batch) {
      if (!fresh(job)) {
        jobs.push(job);
        open = undefined;
        continue;
      }
      const key = this.#targetKey(job.descriptor);
      if (open !== undefined && open.tasks.length < size && key === openKey) {
        const task = job.tasks[0];
        this.#jobs.delete(job.id);
        task.job = open;
        open.tasks.push(task);
        continue;
      }
      open = job;
      openKey = key;
      jobs.push(job);
    }
    return jobs;
  }

  #targetKey(descriptor: TargetDescriptor): string {
    let key = this.#targetKeys.get(descriptor);
    if (key === undefined) this.#targetKeys.set(descriptor, (key = JSON.stringify(descriptor)));
    return key;
  }

  #dataOf(job: Job): TaskData {
    const bundled = job.tasks.length > 1;
    const data: TaskData = { t: job.descriptor, a: bundled ? job.tasks.map((task) => task.args) : job.tasks[0].args, k: bundled ? BUNDLE : job.chunking, n: this.#attempts };
    return this.#timeout === undefined ? data : { ...data, d: this.#timeout };
  }

  /** Loads BullMQ, connects, and starts reading events from the stream's current end (once). */
  #open(): Promise<Parts> {
    this.#opening ??= (async () => {
      await this.#parking;
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
      // QueueEvents reads on a copy of the client (BullMQ duplicates it, through the link).
      const events = new QueueEvents(this.#queueName, { connection: client, prefix: PREFIX, lastEventId });
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
    const job = this.#jobs.get(jobId);
    if (job === undefined) return;
    this.#lastEventAt = performance.now();
    for (const { future } of job.tasks) if (!future.done() && !future.running()) future.setRunningOrNotifyCancel();
  }

  #onOutcome(jobId: string, outcome: Outcome): void {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return;
    this.#lastEventAt = performance.now();
    this.#settle(job, (future, i) => {
      const own = "b" in outcome ? outcome.b[i] : outcome;
      if (own === undefined) throw new RuntimeError(`the worker's outcome of bundle ${jobId} has no entry for its task ${i}`);
      if ("r" in own) future.setResult(unpack(own.r));
      else if ("e" in own) future.setException(decodeError(unpack(own.e) as EncodedError, `in a worker of the cluster queue "${this.#queueName}"`, false));
      else future.setException(new WorkerCrashedError(own.c));
    });
  }

  /** BullMQ failed the job itself (a task that throws completes with an error outcome; see wire.ts). */
  #onFailed(jobId: string, failedReason: string): void {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return;
    this.#lastEventAt = performance.now();
    const crashed = /stalled/.test(failedReason);
    this.#settle(job, (future) =>
      future.setException(crashed ? new WorkerCrashedError(`the task's workers died running it: ${failedReason}`) : new RuntimeError(`the task failed in its queue: ${failedReason}`)),
    );
  }

  /** Takes the job out (so that nothing settles its tasks twice) and settles each pending future with `how`. */
  #settle(job: Job, how: (future: Future<unknown>, index: number) => void): void {
    if (!this.#takeOut(job)) return;
    job.tasks.forEach(({ future }, i) => {
      future.onCancel = undefined;
      if (future.done()) return;
      if (!future.running()) future.setRunningOrNotifyCancel();
      try {
        how(future, i);
      } catch (error) {
        // An outcome that cannot be read (say, a result of a class this side lacks).
        if (!future.done()) future.setException(error);
      }
    });
    this.#taskEnded();
  }

  #taskEnded(): void {
    if (this.#jobs.size > 0) return;
    this.#resolveAllDone?.();
    if (this.#shutdown) void this.#close();
    else if (this.#idleTimer === undefined) {
      this.#idleTimer = setTimeout(() => this.#park(), IDLE_MS);
      this.#idleTimer.unref();
    } else this.#idleTimer.refresh();
  }

  /** Nothing pending for IDLE_MS: closes the connections; the next submit opens new ones. */
  #park(): void {
    const parts = this.#parts;
    if (parts === undefined || this.#jobs.size > 0 || this.#batch.length > 0 || this.#shutdown || this.#broken !== undefined) return;
    this.#parts = undefined;
    this.#opening = undefined;
    if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
    this.#parking = this.#closeParts(parts).catch(ignore);
  }

  /**
   * Looks at the pending jobs in Redis when the event stream has been quiet or a connection
   * came back (see the top of this file).
   */
  async #sweep(): Promise<void> {
    const parts = this.#parts;
    if (parts === undefined || this.#sweeping || this.#jobs.size === 0 || this.#broken !== undefined) return;
    if (!this.#reconnected && performance.now() - this.#lastEventAt < SWEEP_MS) return;
    this.#reconnected = false;
    this.#sweeping = true;
    try {
      const looked: Job[] = [];
      for (const job of this.#jobs.values()) {
        if (job.added) looked.push(job);
        if (looked.length >= SWEEP_MAX) break;
      }
      if (looked.length === 0) return;
      const pipeline = parts.client.pipeline();
      for (const job of looked) pipeline.hmget(`${PREFIX}:${this.#queueName}:${job.id}`, "timestamp", "finishedOn", "returnvalue", "failedReason");
      const replies = (await pipeline.exec()) ?? [];
      for (let i = 0; i < looked.length; i++) {
        const [error, fields] = replies[i] ?? [new Error("no reply"), null];
        if (error !== null || !Array.isArray(fields)) continue;
        const [timestamp, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
        const job = looked[i];
        if (timestamp === null) {
          // The job is gone (Redis lost it): add it again; at-least-once allows a second run.
          job.added = false;
          job.sent = false;
          this.#enqueue(job);
        } else if (finishedOn !== null) {
          if (returnvalue !== null) this.#onOutcome(job.id, JSON.parse(returnvalue) as Outcome);
          else if (failedReason !== null) this.#onFailed(job.id, failedReason);
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
    for (const job of [...this.#jobs.values()]) this.#settle(job, (future) => future.setException(new BrokenExecutorError(this.#broken!.message)));
    this.#resolveAllDone?.();
    void this.#close();
  }

  /** Closes the queue, the event reader and their connections (once). */
  #close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#sweepTimer !== undefined) clearInterval(this.#sweepTimer);
      if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
      await this.#parking;
      let parts = this.#parts;
      if (parts === undefined && this.#opening !== undefined) parts = await this.#opening.catch(() => this.#parts);
      if (parts !== undefined) await this.#closeParts(parts);
    })();
    return this.#closing;
  }

  async #closeParts(parts: Parts): Promise<void> {
    // First no client waits to reconnect (BullMQ's close would park it for ever: connection.ts).
    await parts.link.settle();
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
