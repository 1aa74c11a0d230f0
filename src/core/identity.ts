/**
 * Who is running: the thread identity that locks record as their owner.
 *
 * Idents (and the N of "Thread-N") come from one shared counter (handed to every weft thread when it starts), so an
 * ident is unique among all threads of the process, and a lock word can name its holder.
 * The main thread is ident 1. Code running in a worker that weft did not start gets an
 * ident derived from its `threadId`, above the range the counter hands out.
 */
import { isMainThread as onMainThread, threadId } from "node:worker_threads";

/** True on the process's main thread (Python's `threading.main_thread() is current_thread()`). */
export const isMainThread: boolean = onMainThread;

/** Idents from here up belong to workers that weft did not start. */
export const FOREIGN_IDENT_BASE = 0x40000000;

let identCounter: Int32Array = new Int32Array(new SharedArrayBuffer(8));
if (isMainThread) identCounter[0] = 1;

/** The ident of the code running now; changes when a warm worker starts the next thread. */
export let currentIdent: number = isMainThread ? 1 : FOREIGN_IDENT_BASE + threadId;

/** The shared counter, to hand to a new worker. */
export function identCounterBuffer(): SharedArrayBuffer {
  return identCounter.buffer as SharedArrayBuffer;
}

/** Installs the shared counter in a worker that weft started. */
export function adoptIdentCounter(buffer: SharedArrayBuffer): void {
  identCounter = new Int32Array(buffer);
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
