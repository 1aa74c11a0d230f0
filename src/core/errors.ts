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
