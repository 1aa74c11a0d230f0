/**
 * `onUnhandledFailure`, Python's excepthook for pool tasks: a pool reports, once it has shut
 * down and its last task has ended, each task that failed and whose failure nobody asked
 * for. One algorithm for every pool (threads, processes): a future that notices being asked
 * ({@link WatchedFuture}) and the pool's list of failures nobody asked for
 * ({@link UnhandledFailures}).
 *
 * Asking is any way of reading the outcome: `await`, `then`/`catch`/`finally`, the
 * `Promise` combinators, `result()`, `exception()`, `addDoneCallback`. Every way of awaiting
 * or chaining a promise reads its `constructor` (`await` and `Promise.resolve` compare it,
 * `then` looks up the species), so `constructor` is a getter here: it still reads as
 * `Promise` (what makes a future native-awaitable, future.ts), and notes the read. The
 * future's own handler, attached as it fails (a failed future is never an unhandled
 * rejection), reads it too: that read is let pass (`ownRead`).
 */
import { inspect } from "node:util";
import { describe, type WaitOptions } from "../core/timeouts.js";
import { Future, type DoneCallback } from "./future.js";

/** What an `onUnhandledFailure` hook receives. */
export interface UnhandledFailure {
  /** What the task threw (or the `WorkerCrashedError` of its worker). */
  readonly error: unknown;
  /** The task's future, failed with `error`. */
  readonly future: Future<unknown>;
}

/** A pool's `onUnhandledFailure` option: called once per failure nobody asked for. */
export type UnhandledFailureHook = (failure: UnhandledFailure) => void;

/** @internal The option, checked: a function or nothing (a `TypeError` naming `where` otherwise). */
export function checkUnhandledHook(value: unknown, where: string): UnhandledFailureHook | undefined {
  if (value !== undefined && typeof value !== "function") throw new TypeError(`${where}: options.onUnhandledFailure must be a function, got ${describe(value)}`);
  return value as UnhandledFailureHook | undefined;
}

/**
 * @internal What {@link UnhandledFailures} needs of a future: a {@link WatchedFuture} of any
 * subclass (Future's `this`-typed callbacks make subclasses unassignable to the base).
 */
export interface Watched {
  observed: boolean;
  unhandled: UnhandledFailures | undefined;
  setException(error: unknown): void;
}

/** @internal A pool's future that knows whether anyone asked for its outcome (see the top of this file). */
export class WatchedFuture<T> extends Future<T> {
  /** @internal Someone asked for the outcome, or map owns the future. */
  observed = false;
  /** @internal The pool's failures nobody asked for, while this future is among them. */
  unhandled: UnhandledFailures | undefined;

  override result(options?: WaitOptions): Promise<T> {
    if (!this.observed) this.observe();
    return super.result(options);
  }

  override exception(options?: WaitOptions): Promise<unknown> {
    if (!this.observed) this.observe();
    return super.exception(options);
  }

  override addDoneCallback(fn: DoneCallback<T>): void {
    if (!this.observed) this.observe();
    super.addDoneCallback(fn);
  }

  /** @internal Marks the outcome as asked for. */
  observe(): void {
    this.observed = true;
    if (this.unhandled === undefined) return;
    this.unhandled.forget(this);
    this.unhandled = undefined;
  }
}

/**
 * The future whose own failure handler is reading `constructor` right now (see
 * `UnhandledFailures.fail`): that one read is not someone asking. A variable, not a field:
 * every field is paid per pending future (see Future's constructor).
 */
let ownRead: Watched | undefined;

/** The `constructor` of every WatchedFuture class (see the top of this file). */
const CONSTRUCTOR: PropertyDescriptor = {
  get(this: WatchedFuture<unknown>): PromiseConstructor {
    if (ownRead === this) ownRead = undefined;
    else if (!this.observed) this.observe();
    return Promise;
  },
  configurable: true,
};

/**
 * @internal Gives a subclass of WatchedFuture the noting `constructor` (a class's own
 * `constructor` property would hide the base's): call it once per subclass, in place of
 * `Future.nativeAwait`.
 */
export function watchAwaits(subclass: { readonly prototype: object }): void {
  Object.defineProperty(subclass.prototype, "constructor", CONSTRUCTOR);
}

watchAwaits(WatchedFuture);

/** @internal A pool's failed futures nobody has asked about yet, reported by {@link UnhandledFailures.report}. */
export class UnhandledFailures {
  readonly #hook: UnhandledFailureHook | undefined;
  readonly #failed = new Map<Watched, unknown>();

  constructor(hook: UnhandledFailureHook | undefined) {
    this.#hook = hook;
  }

  /** Fails `future` with `error`, and remembers it if there is a hook and nobody has asked about it. */
  fail(future: Watched, error: unknown): void {
    ownRead = future;
    try {
      future.setException(error);
    } finally {
      ownRead = undefined;
    }
    if (this.#hook === undefined || future.observed) return;
    future.unhandled = this;
    this.#failed.set(future, error);
  }

  /** @internal Someone asked about `future` after all. */
  forget(future: Watched): void {
    this.#failed.delete(future);
  }

  /** The pool has shut down and its tasks have ended: calls the hook for each failure nobody asked about. */
  report(owner: string): void {
    const hook = this.#hook;
    if (hook === undefined || this.#failed.size === 0) return;
    const failed = [...this.#failed];
    this.#failed.clear();
    for (const [future, error] of failed) {
      future.unhandled = undefined;
      try {
        hook({ error, future: future as unknown as Future<unknown> });
      } catch (hookError) {
        const detail = hookError instanceof Error ? (hookError.stack ?? String(hookError)) : inspect(hookError);
        process.stderr.write(`exception in the onUnhandledFailure hook of ${owner} for ${future}\n${detail}\n`);
      }
    }
  }
}
