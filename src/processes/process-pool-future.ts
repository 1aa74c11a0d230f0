/**
 * A ProcessPoolExecutor's future: weft's Future, carrying its task until a child process
 * has reported on it, so that a task can be handed to another process if the one it was
 * sent to died before starting it.
 */
import { Future } from "../futures/future.js";

/** How a task's `args` are called (futures/protocol.ts): once (0), once per item, once per item spread. */
export type Chunking = 0 | 1 | 2;

export class ProcessFuture<T = unknown> extends Future<T> {
  /** @internal The index the children know the target by. */
  targetIndex = 0;
  /** @internal The arguments, or for a chunk its items; dropped once the task is done. */
  args: unknown[] | undefined = undefined;
  /** @internal See {@link Chunking}. */
  chunking: Chunking = 0;
  /** @internal Which of its process's batches the task went in (see the crash handling). */
  batch = 0;
}

Future.nativeAwait(ProcessFuture);
