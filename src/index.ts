/**
 * weft: Python's concurrency model for Node.js, with real parallelism.
 * The public face: re-exports only.
 */
export { RuntimeError, ValueError, MainThreadBlockingError, BrokenBarrierError, TimeoutError } from "./core/errors.js";
export { configure, type WeftConfig } from "./core/config.js";
export { isMainThread } from "./core/identity.js";
export type { WaitOptions, AcquireOptions } from "./core/timeouts.js";
export type { HeldGuard } from "./sync/holdable.js";
export { Lock, type LockOptions } from "./sync/lock.js";
