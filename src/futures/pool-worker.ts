/**
 * The loop each thread of a ThreadPoolExecutor runs: take a task from the shared queue,
 * claim it (unless it was cancelled meanwhile), run it, put the outcome in the results
 * queue. It is a module target, run by an ordinary weft Thread, so pool workers are threads
 * like any other (named, listed by `enumerate()`, their crashes detected the same way).
 */
import { SimpleQueue } from "../queue/queue.js";
import { NOTHING } from "../queue/queue.js";
import { encodeError } from "../transport/errors.js";
import { closureHint, resolveTarget, type TargetDescriptor } from "../transport/target.js";
import { heapBuffer, localBlock, ownBlock } from "../core/memory.js";
import { LIVE, ring, waitForTask } from "./doorbell.js";
import { EV, TRACE_ON, traceEvent, traceFlags } from "../core/trace-buffer.js";
import { ABORT_MARK, BROKEN, CHUNK, CHUNK_SPREAD, FAILED, OK, PENDING, RUNNING, SLOTS, STOP, stateWord } from "./protocol.js";

/** With `chunked`, `args` holds one item per call: the target runs once per item (see protocol.ts). */
type Task = [id: number, target: number, args: unknown[], chunked?: typeof CHUNK | typeof CHUNK_SPREAD] | typeof STOP;
type Outcome = [id: number, status: number, value: unknown];
type AnyFunction = (...args: unknown[]) => unknown;

/** How a worker is set up: everything it shares with the pool. */
export interface PoolWorkerSetup {
  tasks: SimpleQueue<Task>;
  results: SimpleQueue<Outcome>;
  targets: SimpleQueue<[number, TargetDescriptor]>;
  known: TargetDescriptor[];
  states: Int32Array;
  current: Int32Array;
  worker: number;
  initializer: TargetDescriptor | null;
  initargs: unknown[];
  maxTasks: number;
  idleMs: number;
  /** The pool's doorbell (futures/doorbell.ts), where the worker sleeps between tasks; [LIVE] counts the workers alive. */
  bell: Int32Array;
  minWorkers: number;
}

/** What a worker's thread returns when it left because it was idle. */
export const LEFT_IDLE = "idle";

/**
 * What `current` holds until the worker is ready (set by the pool before it starts the
 * thread, cleared here once the initializer has run): a worker that dies then breaks the pool.
 */
export const INITIALIZING = -1;

/** Runs tasks until told to stop, idle too long, or done with `maxTasks`. */
export async function runPoolWorker(setup: PoolWorkerSetup): Promise<string | undefined> {
  const { tasks, results, targets, states, current } = setup;
  const resolved = new Map<number, AnyFunction>();
  const descriptors = setup.known.slice();

  if (setup.initializer !== null) {
    try {
      await (await resolveTarget(setup.initializer))(...setup.initargs);
    } catch (error) {
      results._putNow([setup.worker, BROKEN, encodeError(error)]);
      current[0] = 0;
      return undefined;
    }
  }
  current[0] = 0; // ready: was INITIALIZING

  const targetOf = async (index: number): Promise<AnyFunction> => {
    let fn = resolved.get(index);
    if (fn !== undefined) return fn;
    // The pool announces a target before the first task that uses it.
    while (descriptors[index] === undefined) {
      const announced = targets._takeNow();
      if (announced === NOTHING) throw new Error(`weft: pool target #${index} was never announced`);
      descriptors[announced[0]] = announced[1];
    }
    fn = await resolveTarget(descriptors[index]);
    resolved.set(index, fn);
    return fn;
  };

  for (let done = 0; done < setup.maxTasks; ) {
    const task = takeTask(tasks, setup.bell, setup.idleMs);
    if (task === NOTHING) {
      // Idle too long: leave, unless that would take the pool below minWorkers.
      const live = Atomics.load(setup.bell, LIVE);
      if (live > setup.minWorkers && Atomics.compareExchange(setup.bell, LIVE, live, live - 1) === live) return LEFT_IDLE;
      continue;
    }
    if (task === STOP) return undefined;
    const [id, index, args, chunked] = task;
    // Adopted before the claim: a cancelled task's abort cell is dropped with it.
    const abortCell = chunked === undefined ? abortCellOf(args) : undefined;
    const slot = id & (SLOTS - 1);
    if (Atomics.compareExchange(states, slot, stateWord(id, PENDING), stateWord(id, RUNNING)) !== stateWord(id, PENDING)) {
      continue; // cancelled while it waited
    }
    current[0] = id;
    let outcome: Outcome;
    try {
      const fn = await targetOf(index);
      if (traceFlags[TRACE_ON] !== 0) traceEvent(EV.TASK_START, id, fn.name || "anonymous", states.byteOffset);
      if (chunked === CHUNK || chunked === CHUNK_SPREAD) {
        const values: unknown[] = [];
        for (const item of args) {
          const value = chunked === CHUNK ? fn(item) : fn(...(item as unknown[]));
          values.push(isThenable(value) ? await value : value);
        }
        outcome = [id, OK, values];
      } else {
        if (abortCell === undefined) {
          const value = fn(...args);
          outcome = [id, OK, isThenable(value) ? await value : value];
        } else {
          outcome = [id, OK, await runWithSignal(fn, args, abortCell)];
        }
      }
    } catch (error) {
      const hint = closureHint(error, descriptors[index] ?? { kind: "module", module: "", export: "" });
      if (hint !== undefined && error instanceof Error) error.message = `${error.message}. ${hint}`;
      outcome = [id, FAILED, encodeError(error)];
    }
    if (traceFlags[TRACE_ON] !== 0) traceEvent(EV.TASK_END, id, undefined, states.byteOffset);
    try {
      results._putNow(outcome);
    } catch (error) {
      // The value passed the task but not the trip back (a function, say).
      results._putNow([id, FAILED, encodeError(new TypeError(`result: cannot be sent back from the worker (${(error as Error).message})`))]);
    }
    current[0] = 0;
    done++;
  }
  return undefined;
}

/**
 * The next task, or `NOTHING` once the worker has been idle `idleMs`. The worker takes
 * without waiting in the queue and sleeps on the pool's doorbell instead (doorbell.ts); one
 * that takes a task and still sees some queued wakes a sleeping peer for them.
 */
function takeTask(tasks: SimpleQueue<Task>, bell: Int32Array, idleMs: number): Task | typeof NOTHING {
  const deadline = idleMs === Infinity ? Infinity : performance.now() + idleMs;
  for (;;) {
    const task = tasks._takeNow();
    if (task !== NOTHING) {
      if (tasks.qsize() > 0) ring(bell);
      return task;
    }
    if (!waitForTask(bell, tasks, deadline)) return NOTHING;
  }
}

/**
 * The shared abort cell among a task's arguments, if the submitter passed an AbortSignal:
 * it travels as its offset in the shared heap, with a reference that this view adopts.
 */
function abortCellOf(args: unknown[]): Int32Array | undefined {
  for (const arg of args) {
    if (typeof arg === "object" && arg !== null && ABORT_MARK in arg) {
      const byteOffset = (arg as Record<string, number>)[ABORT_MARK];
      const cell = new Int32Array(heapBuffer(), byteOffset, 1);
      ownBlock(cell, localBlock({ buffer: heapBuffer(), byteOffset, byteLength: 4 }));
      return cell;
    }
  }
  return undefined;
}

/** How often a running task's abort cell is looked at while the task awaits (ms). */
const ABORT_POLL_MS = 2;

/**
 * Runs a task that takes an AbortSignal: it gets a signal of this thread's, aborted when the
 * submitter's signal aborts. The worker sees that only between the task's own awaits.
 */
async function runWithSignal(fn: AnyFunction, args: unknown[], cell: Int32Array): Promise<unknown> {
  const controller = new AbortController();
  const check = (): void => {
    if (Atomics.load(cell, 0) !== 0 && !controller.signal.aborted) controller.abort(new DOMException("The task was aborted", "AbortError"));
  };
  check();
  const taskArgs = args.map((arg) => (typeof arg === "object" && arg !== null && ABORT_MARK in arg ? controller.signal : arg));
  const value = fn(...taskArgs);
  if (!isThenable(value)) return value;
  const poll = setInterval(check, ABORT_POLL_MS);
  try {
    return await value;
  } finally {
    clearInterval(poll);
  }
}

/** Only a thenable is awaited: awaiting a plain value would cost a microtask per task. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}
