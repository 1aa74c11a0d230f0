/**
 * The members an executor uses to drive a Future (Python's `set_result` & co.): internal,
 * so not in the published types, but tests drive futures through them directly.
 */
import { Future } from "weft-threads";

export interface ExecutorFuture<T> extends Future<T> {
  setResult(value: T): void;
  setException(error: unknown): void;
  setRunningOrNotifyCancel(): boolean;
  onCancel: (() => void) | undefined;
}

/** A new pending future, with its executor-side methods typed. */
export function executorFuture<T>(): ExecutorFuture<T> {
  return new Future<T>() as ExecutorFuture<T>;
}

/** The shared cells of a weft object, for tests that reach into its layout. */
export function cellsOf(object: object): Int32Array {
  return (object as unknown as { cells: Int32Array }).cells;
}
