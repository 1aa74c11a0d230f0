/**
 * What a thread pool's main side and its workers share. All of it is shared memory, so a
 * task goes from `submit()` to a worker and its result back without a postMessage:
 *
 *   tasks    SimpleQueue of [id, target index, args, chunked?]; STOP asks one worker to leave
 *   results  SimpleQueue of [id, OK | FAILED, value or encoded error], and [worker, BROKEN,
 *            encoded error] when a worker's initializer failed
 *   targets  per worker, a SimpleQueue of [index, target descriptor]: the targets the pool
 *            met after the worker started (it gets the earlier ones in its arguments)
 *   states   one Int32 cell per task slot: (id << 2) | PENDING / RUNNING / CANCELLED, so that
 *            the worker's start and the submitter's cancel race through one compare-and-swap
 *   current  per worker, one Int32 cell: the id of the task it runs (0 between tasks), for
 *            failing exactly that task if the worker dies
 *   bell     where idle workers sleep, and the count of live workers (futures/doorbell.ts)
 *
 * The cells are blocks of weft's shared heap taken straight from its allocator, not public
 * shared objects: the pool needs a few words, not a SharedArray and its Lock.
 */
export const STOP = -1;

export const OK = 1;
export const FAILED = 0;
export const BROKEN = 2;

/**
 * A task's `chunked` flag (map's chunks): absent, `args` are the arguments of one call;
 * CHUNK, one call per item of `args`, `fn(item)`; CHUNK_SPREAD, one call per item, each an
 * array of arguments (map over several iterables), `fn(...item)`.
 */
export const CHUNK = 1;
export const CHUNK_SPREAD = 2;

export const FREE = 0;
export const PENDING = 1;
export const RUNNING = 2;
export const CANCELLED = 3;

/** Task slots: at most this many tasks are handed to the workers at once; more wait on the submitting side. */
export const SLOTS = 1 << 17;

/** Task ids count from 1 and wrap before they would overflow `id << 2`. */
export const ID_MASK = (1 << 29) - 1;

/** The state cell of a task. */
export function stateWord(id: number, state: number): number {
  return (id << 2) | state;
}

/**
 * An AbortSignal among a task's arguments travels as `{ [ABORT_MARK]: byteOffset }`: where a
 * shared Int32 cell lies in the heap (core/memory.ts), with a reference that the worker
 * adopts as it takes the task. The submitting side sets the cell when the signal aborts; the
 * worker hands the task a signal of its own that aborts when it sees the cell set.
 */
export const ABORT_MARK = "__weft_abort__";
