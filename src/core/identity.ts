/**
 * Who is running: the thread identity that locks record as their owner.
 *
 * Idents (and the N of "Thread-N") come from one shared counter (handed to every weft thread when it starts), so an
 * ident is unique among all threads of the process, and a lock word can name its holder.
 *
 * The thread that owns a weft world's threads, its *home*, is the process's main thread
 * (ident 1), or a worker that weft did not start (a vitest or piscina worker, a raw
 * `Worker`): weft loaded there sets up a world of its own (its own heap, thread table and
 * counter, whose idents start in a range derived from the worker's threadId), and the
 * threads it starts run on carriers it owns.
 */
import { isMainThread as onMainThread, threadId, workerData } from "node:worker_threads";

/** What a carrier's workerData carries, so that weft knows it runs on a thread it started. */
export const CARRIER_MARK = "__weftCarrier";

const onCarrier = !onMainThread && (workerData as Record<string, unknown> | null | undefined)?.[CARRIER_MARK] === true;

/** The shared memory a carrier's home hands it, mapped by each core module as it loads. */
export interface HomeMemory {
  readonly identCounter: SharedArrayBuffer;
  readonly registry: SharedArrayBuffer;
  readonly heap: SharedArrayBuffer;
}

/** The home's memory on a carrier; `undefined` in a home thread, which makes its own. */
export const homeMemory: HomeMemory | undefined = onCarrier ? (workerData as HomeMemory) : undefined;

/** True on the process's main thread: the one whose event loop blocking calls must not stop. */
export const isMainThread: boolean = onMainThread;

/**
 * True in the home thread of this weft world: the main thread, or a worker weft did not
 * start; false in every thread weft started. It is the public `isMainThread`, the guard
 * a module target's file puts around code that must run only once.
 */
export const isHomeThread: boolean = !onCarrier;

/**
 * The environment variable that marks a process weft started (multiprocessing's child):
 * set when the child is forked, read here as weft loads in it, and removed by the child's
 * entry before any user code runs (so the processes that code starts are not marked).
 */
export const CHILD_PROCESS_MARK = "WEFT_CHILD_PROCESS";

/** True in the main thread of a process weft started for a `Process` (or a process pool). */
export const isChildProcess: boolean = onMainThread && process.env[CHILD_PROCESS_MARK] === "1";

/**
 * The public `isMainThread`: true where the main program runs, the home thread of a
 * process that weft did not start. False in every thread weft started, and in a process
 * weft started, where the target's module is imported to find the target: the same rule as
 * Python's `if __name__ == "__main__":`, which is false in a child of `spawn` or
 * `forkserver` (its module is imported there as `__mp_main__`).
 */
export const isMainProgram: boolean = isHomeThread && !isChildProcess;

/** Idents from here up were given to code on a carrier before its first thread. */
export const FOREIGN_IDENT_BASE = 0x40000000;

/**
 * The shared counter: [0] the last ident handed out, [1] the last N of "Thread-N", [2] the
 * home thread's ident, [MAIN_FINISHED] 1 once the main program has finished (threads
 * joining the main thread park on it). A carrier maps its home's counter from its
 * workerData at once, so that every module sees the home's ident as it loads.
 */
const identCounter: Int32Array = new Int32Array(homeMemory?.identCounter ?? new SharedArrayBuffer(16));

/** The cell of the shared counter that says the main program has finished. */
export const MAIN_FINISHED = 3;

/** The shared counter's cells, for the main program's end (`MAIN_FINISHED`). */
export const worldCells: Int32Array = identCounter;
if (homeMemory === undefined) {
  identCounter[2] = onMainThread ? 1 : 0x10000000 + (threadId % 0x1000) * 0x10000;
  identCounter[0] = identCounter[2];
}

/** The home thread's ident: 1 on the main thread, else the start of the home worker's own range. */
export const homeIdent: number = identCounter[2];

/** The ident of the code running now; changes when a warm worker starts the next thread. */
export let currentIdent: number = isHomeThread ? homeIdent : FOREIGN_IDENT_BASE + threadId;

/** The shared counter, to hand to a new worker. */
export function identCounterBuffer(): SharedArrayBuffer {
  return identCounter.buffer as SharedArrayBuffer;
}

/** Hands out a fresh ident, unique in the process. */
export function allocateIdent(): number {
  return Atomics.add(identCounter, 0, 1) + 1;
}

/** The next N for a default thread name "Thread-N", counted across all threads as in Python. */
export function nextThreadNumber(): number {
  return Atomics.add(identCounter, 1, 1) + 1;
}

/** Marks `ident` as the thread now running on this worker. */
export function enterThread(ident: number): void {
  currentIdent = ident;
}
