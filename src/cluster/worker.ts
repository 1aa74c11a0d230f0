/**
 * The worker side of the cluster: a BullMQ Worker that takes tasks from the queue and runs
 * them on a local ThreadPoolExecutor (what `weft worker` starts; cluster/cli.ts).
 *
 * The BullMQ worker takes `concurrency + prefetch` jobs at a time: `concurrency` run on the
 * pool's threads, the rest wait beside them, so that a thread finishing a tiny task finds
 * the next one here instead of waiting a round trip to Redis for it. A bundle (several
 * tasks in one job: cluster-executor.ts) counts as one job; each of its tasks is a task
 * of the pool, with an outcome of its own.
 *
 * Dead workers: BullMQ's stalled-job check (run by every worker) puts a job whose lock has
 * lapsed back in the queue and counts it in the job's `stalledCounter`; so a job taken
 * with a count that has reached the task's `attempts` has already been started that many
 * times by workers that died, and fails here with WorkerCrashedError instead of running
 * again. BullMQ's own limit (`maxStalledCount`) is set out of the way for this.
 *
 * Stopping: `close()` takes no new jobs and waits for those taken to finish (BullMQ's
 * graceful close); `close({ force: true })` leaves them, and their locks lapse, so other
 * workers run them: either way no task is dropped.
 */
import { availableParallelism, hostname } from "node:os";
import type { Job, Worker } from "bullmq";
import { TimeoutError, ValueError } from "../core/errors.js";
import { ThreadPoolExecutor } from "../futures/thread-pool.js";
import type { Future } from "../futures/future.js";
import { encodeError } from "../transport/errors.js";
import { rememberLocation } from "../transport/location.js";
import { compileSource, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";
import { checkConnection, RedisLink, type ClusterConnection } from "./connection.js";
import { loadClusterModules } from "./load.js";
import { BUNDLE, CHUNK, ONE, PREFIX, pack, unpack, type CallOutcome, type Chunking, type Outcome, type TaskData } from "./wire.js";

/** Options of {@link startWorker} (and of `weft worker`). */
export interface ClusterWorkerOptions {
  connection: ClusterConnection;
  /** The queue to take tasks from (default "weft"). */
  queue?: string;
  /** Tasks run at once, each on a thread of the local pool (default: the CPUs). */
  concurrency?: number;
  /** Tasks taken from the queue ahead of a free thread (default 32). */
  prefetch?: number;
  /** BullMQ's job lock: a worker silent this long counts as dead (ms, default 30 000). */
  lockDuration?: number;
  /** How often dead workers' jobs are looked for (ms, default 30 000). */
  stalledInterval?: number;
  /** How long a lost Redis connection is waited for before the worker gives up (ms). */
  reconnectTimeout?: number;
}

/** A running worker. */
export interface ClusterWorker {
  /** Tasks run at once. */
  readonly concurrency: number;
  /** Stops taking tasks; waits for the running ones (or, with `force`, hands them back). */
  close(options?: { force?: boolean }): Promise<void>;
  /** Resolves once the worker has stopped, and rejects if it lost Redis for good. */
  readonly closed: Promise<void>;
}

type AnyFunction = (...args: unknown[]) => unknown;

/** Connects to Redis and starts taking tasks; resolves once connected. */
export async function startWorker(options: ClusterWorkerOptions): Promise<ClusterWorker> {
  const where = "startWorker(options)";
  const connection = checkConnection(options.connection, where);
  const queueName = options.queue ?? "weft";
  const concurrency = positive(options.concurrency ?? availableParallelism(), "concurrency");
  const prefetch = options.prefetch === undefined ? 32 : nonNegative(options.prefetch, "prefetch");
  const modules = await loadClusterModules("weft worker");
  let failClosed: (error: Error) => void = () => {};
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve, reject) => {
    resolveClosed = resolve;
    failClosed = reject;
  });
  closed.catch(() => {});
  const link = new RedisLink(modules, connection, (error) => {
    failClosed(error);
    void stop(true);
  }, options.reconnectTimeout);
  const pool = new ThreadPoolExecutor({ maxWorkers: concurrency, threadNamePrefix: `weft-worker-${hostname()}-${process.pid}` });
  const processor = async (job: Job<TaskData, Outcome>): Promise<Outcome> => {
    const data = job.data;
    if (job.stalledCounter >= data.n) {
      return { c: `the task was started ${job.stalledCounter} time(s) on workers that died before it finished (attempts: ${data.n})` };
    }
    const target = targetOf(data.t);
    // A bundle's calls are independent tasks, each with its own outcome (the executor
    // bundles only tasks without retries, so a bundle never goes back to BullMQ).
    if (data.k === BUNDLE) return { b: await Promise.all((data.a as readonly string[]).map((args) => outcomeOf(runTask(pool, target, ONE, args, data.d)))) };
    try {
      return { r: pack(await runTask(pool, target, data.k, data.a as string, data.d)) };
    } catch (error) {
      // BullMQ runs it again while retries remain; the last failure is the task's outcome.
      if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw error;
      return { e: pack(encodeError(error)) };
    }
  };
  const worker: Worker<TaskData, Outcome> = new modules.bullmq.Worker<TaskData, Outcome>(queueName, processor, {
    connection: link.client(),
    prefix: PREFIX,
    concurrency: concurrency + prefetch,
    maxStalledCount: Number.MAX_SAFE_INTEGER,
    autorun: false,
    // Left out unless given: BullMQ takes an explicit undefined as a value.
    ...(options.lockDuration === undefined ? {} : { lockDuration: options.lockDuration }),
    ...(options.stalledInterval === undefined ? {} : { stalledInterval: options.stalledInterval }),
  });
  // BullMQ reports connection trouble as events: the link decides when it is fatal.
  worker.on("error", () => {});
  let stopping: Promise<void> | undefined;
  const stop = (force: boolean): Promise<void> => {
    stopping ??= (async () => {
      try {
        // No client waits to reconnect when BullMQ closes (it would park it for ever: connection.ts).
        await link.settle();
        await worker.close(force);
        await pool.shutdown({ wait: !force });
        await link.close();
      } finally {
        resolveClosed();
      }
    })();
    return stopping;
  };
  void worker.run().catch((error: unknown) => {
    failClosed(error instanceof Error ? error : new Error(String(error)));
    void stop(true);
  });
  await Promise.race([worker.waitUntilReady(), closed]);
  return { concurrency, close: (closeOptions) => stop(closeOptions?.force === true), closed };
}

/** The function (or module export) a task's descriptor names. */
function targetOf(descriptor: TargetDescriptor): AnyFunction | ModuleTarget {
  if (descriptor.kind === "module") return { module: descriptor.module, export: descriptor.export };
  const target = compileSource(descriptor);
  // The pool ships the function by its text: with the place it was written at, not a frame of this worker's.
  rememberLocation(descriptor.source, descriptor.location);
  return target;
}

/** Runs one task, or one chunk of a map, on the pool, within the task's time limit (`limit` ms). */
function runTask(pool: ThreadPoolExecutor, target: AnyFunction | ModuleTarget, chunking: Chunking, packed: string, limit: number | undefined): Promise<unknown> {
  const args = unpack(packed) as unknown[];
  let future: Future<unknown> | undefined;
  let running: Promise<unknown>;
  if (chunking === ONE) {
    future = pool.submit(target as AnyFunction, ...(args as never[]));
    running = future;
  } else {
    const columns = chunking === CHUNK ? [args] : transpose(args as unknown[][]);
    running = collect(pool.map(target as AnyFunction, ...(columns as [unknown[]]), { chunksize: args.length }));
  }
  if (limit === undefined) return running;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      future?.cancel();
      reject(new TimeoutError(`the task ran past its time limit of ${limit} ms`));
    }, limit);
    running.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** A bundled call's outcome: its result, or what it threw (a result that cannot be packed included). */
async function outcomeOf(running: Promise<unknown>): Promise<CallOutcome> {
  try {
    return { r: pack(await running) };
  } catch (error) {
    return { e: pack(encodeError(error)) };
  }
}

async function collect(results: AsyncIterable<unknown>): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const value of results) values.push(value);
  return values;
}

/** A chunk of argument tuples as one column per parameter (what map's several iterables are). */
function transpose(rows: unknown[][]): unknown[][] {
  const width = rows.reduce((most, row) => Math.max(most, row.length), 0);
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) for (let i = 0; i < width; i++) columns[i].push(row[i]);
  return columns;
}

function positive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new ValueError(`weft worker: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new ValueError(`weft worker: ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}
