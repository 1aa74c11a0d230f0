/**
 * weft: Python's concurrency model for Node.js, with real parallelism.
 * The public face: re-exports only.
 */
export { RuntimeError, ValueError, MainThreadBlockingError, BrokenBarrierError, TimeoutError } from "./core/errors.js";
export { configure, type WeftConfig } from "./core/config.js";
export { isMainProgram as isMainThread } from "./core/identity.js";
export type { WaitOptions, AcquireOptions } from "./core/timeouts.js";
export type { HeldGuard } from "./sync/holdable.js";
export { Lock, type LockOptions } from "./sync/lock.js";
export { WorkerCrashedError } from "./core/errors.js";
export { Thread, enumerate, activeCount, type ThreadOptions } from "./threads/thread.js";
export { currentThread, mainThread, getIdent, type ThreadHandle, type MainThreadHandle } from "./threads/current.js";
export { setExcepthook, type ExceptHook, type ExceptHookArgs } from "./threads/excepthook.js";
export { sleep, sleepSync } from "./threads/sleep.js";
export { Timer } from "./threads/timer.js";
export { local, type Local } from "./threads/local.js";
export type { Target, ModuleTarget } from "./transport/target.js";
export type { Sendable, SendableArgs, CannotSend } from "./transport/sendable.js";
export { RLock } from "./sync/rlock.js";
export { Condition } from "./sync/condition.js";
export { Semaphore, BoundedSemaphore } from "./sync/semaphore.js";
export { Event } from "./sync/event.js";
export { Barrier, type BarrierOptions } from "./sync/barrier.js";
export { SharedValue } from "./shared/shared-value.js";
export { SharedArray } from "./shared/shared-array.js";
export type { SharedType, SharedElement, SharedTypedArray, SharedTypedArrays } from "./shared/element-type.js";
export { Full, Empty, ShutDown } from "./core/errors.js";
export { Queue, LifoQueue, PriorityQueue, SimpleQueue, type QueueOptions, type QueueWaitOptions } from "./queue/queue.js";
export { CancelledError, InvalidStateError, BrokenExecutorError } from "./core/errors.js";
export { Future, type DoneCallback } from "./futures/future.js";
export { asCompleted, wait, FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, type ReturnWhen, type WaitForOptions, type AsCompletedOptions, type DoneAndNotDone, type CompletedFuture } from "./futures/wait.js";
export { ThreadPoolExecutor, type ThreadPoolOptions, type MapOptions, type MapInput, type MapInputs, type UnhandledFailure, type UnhandledFailureHook } from "./futures/thread-pool.js";
// Scale-out: bullmq and ioredis are loaded only when a ClusterExecutor connects.
export { ClusterExecutor, type ClusterExecutorOptions } from "./cluster/cluster-executor.js";
export type { ClusterConnection, RedisConnectionOptions } from "./cluster/connection.js";
// multiprocessing: the process pool
export { ProcessPoolExecutor, type ProcessPoolOptions } from "./processes/process-pool.js";
export { trace, type Trace, type TraceOptions } from "./diagnostics/trace.js";
export type { TraceEvent, TraceEventKind, WaitKind, WaitOutcome } from "./diagnostics/trace-event.js";
export type { ChromeTrace, ChromeTraceEvent, ChromeTraceArgs } from "./diagnostics/chrome-trace.js";
export type { TimelineOptions } from "./diagnostics/timeline-html.js";
export { DeadlockError, LockOwnerDiedError, type DeadlockEdge } from "./core/errors.js";
export type { LockStats, LockThreadStats } from "./core/lock-stats.js";
export type { WatchdogConfig, WeftConfigOptions } from "./core/config.js";
export { dumpThreads } from "./diagnostics/dump.js";
// Process-shared objects: served by the process that made them, proxies elsewhere.
export { encodeForProcess, decodeInProcess, type ProcessDescriptor, type ProcessSharedKind } from "./processes/shared-encode.js";
// Every kind of shared object, and the diagnostics that switch themselves on with configure().
import "./kinds.js";
// multiprocessing: Process on a child process of its own, Pipe between processes.
export { EOFError } from "./core/errors.js";
export { Process, activeChildren, type ProcessOptions } from "./processes/process.js";
export { currentProcess, parentProcess, type ProcessHandle } from "./processes/current.js";
export { Pipe, Connection } from "./processes/connection.js";
