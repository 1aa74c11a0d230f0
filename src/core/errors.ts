/**
 * weft's error classes.
 *
 * They mirror Python's names so that code ported from Python reads the same, and they are
 * registered with the transport (see `transport/errors.ts`) so that an error raised in one
 * thread arrives in another as the same class.
 */

/** Python's `RuntimeError`: an operation is not valid in the object's current state. */
export class RuntimeError extends Error {
  override name = "RuntimeError";
}

/**
 * Python's `ValueError`. It extends `RangeError` so that every bad numeric argument
 * satisfies both `instanceof ValueError` and `instanceof RangeError`.
 */
export class ValueError extends RangeError {
  override name = "ValueError";
}

/** A `*Sync` method was called on the main thread, where it would freeze the event loop. */
export class MainThreadBlockingError extends Error {
  override name = "MainThreadBlockingError";
}

/** A barrier was broken (aborted, reset, timed out, or its action threw) while waiting on it. */
export class BrokenBarrierError extends RuntimeError {
  override name = "BrokenBarrierError";
}

/** A wait did not finish in time (raised where a timeout is an error rather than a `false`). */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** The worker running a thread or task died (crash, `process.exit`, out of memory) before it finished. */
export class WorkerCrashedError extends Error {
  override name = "WorkerCrashedError";
}

/**
 * Python's `EOFError`: a `Connection` has nothing more to give, because its other end was
 * closed or the process holding it died.
 */
export class EOFError extends Error {
  override name = "EOFError";
}

/** Python's `queue.Full`: a non-blocking or timed `put` found the queue full. */
export class Full extends Error {
  override name = "Full";
}

/** Python's `queue.Empty`: a non-blocking or timed `get` found the queue empty. */
export class Empty extends Error {
  override name = "Empty";
}

/** Python's `queue.ShutDown`: the queue was shut down (put after shutdown; get once drained). */
export class ShutDown extends Error {
  override name = "ShutDown";
}

/** Python's `concurrent.futures.CancelledError`: the future was cancelled, so it has no result. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/**
 * Python's `concurrent.futures.InvalidStateError`: an operation on a future that its state
 * does not allow (setting the result of a future that is already finished or cancelled).
 */
export class InvalidStateError extends Error {
  override name = "InvalidStateError";
}

/**
 * Python's `concurrent.futures.BrokenExecutor`: the executor is broken (a worker failed to
 * start or its initializer threw) and can run no more tasks.
 */
export class BrokenExecutorError extends RuntimeError {
  override name = "BrokenExecutorError";
}

/** One wait in a cycle of waits that a {@link DeadlockError} reports. */
export interface DeadlockEdge {
  /** The waiting thread's name and ident. */
  readonly thread: string;
  readonly ident: number;
  /** What it waits for: a lock's name or "Lock#N", or "the end of <thread>" for a join. */
  readonly waitsFor: string;
  /** The thread that holds it (the next waiter in the cycle). */
  readonly heldBy: string;
  readonly heldByIdent: number;
}

/**
 * The wait would close a cycle of waits (each thread waits for something the next one
 * holds), so it could never end. Thrown in the thread whose wait closes the cycle, and
 * only there: the wait fails, leaving nothing held or queued, and the other threads of the
 * cycle wait on. `cycle` lists the waits, starting with the thrower's.
 */
export class DeadlockError extends Error {
  override name = "DeadlockError";
  /** The waits of the cycle, the thrower's first (empty on an instance built by hand). */
  readonly cycle: readonly DeadlockEdge[];

  constructor(message?: string, cycle: readonly DeadlockEdge[] = []) {
    super(message);
    this.cycle = cycle;
  }
}

/**
 * The lock's holder ended (returned, threw, or its worker died) without releasing it: POSIX
 * robust mutexes' `EOWNERDEAD`. Raised by the acquisition that found it so, once; that
 * acquisition does not hold the lock, which is then free (an RLock's count reset to zero),
 * so the next acquisition works. What the lock protected may be half-updated: check it.
 */
export class LockOwnerDiedError extends RuntimeError {
  override name = "LockOwnerDiedError";
}
