/**
 * Future: Python's `concurrent.futures.Future`, the pending outcome of a task handed to an
 * executor.
 *
 * Why it is a plain object and not shared memory: a future lives in the thread that
 * submitted the task, and only there. The task's result or exception arrives there as a
 * message from the worker, and the executor (in that same thread) settles the future
 * through the internal methods below; nothing else ever touches it, so it needs no atomics.
 *
 * The state machine is Python's: PENDING -> RUNNING -> FINISHED, or PENDING -> CANCELLED.
 * `cancel()` succeeds only while the task has not started. Python's CANCELLED_AND_NOTIFIED
 * is folded into CANCELLED: waiters (`wait`, `asCompleted`) learn of a cancellation at once.
 *
 * Why it is a native Promise: a future is awaited in every idiom JavaScript has (`await`,
 * `Promise.all`, `allSettled`, `race`), and each of them treats a native promise whose
 * `constructor` is `Promise` without the thenable detour (a wrapper promise, a job and a
 * `then` call per future: `Promise.all` over 100k futures took ~3x as long that way). So
 * `Future` extends `Promise`, and its prototype's `constructor` is `Promise` itself, which
 * is what `await` and `Promise.resolve` check. The promise settles with the outcome; a
 * failure or a cancellation also gets a handler of its own at once, so a failed future that
 * nobody asks about never becomes an unhandled rejection (Python never complains about an
 * exception nobody retrieved), while everyone who awaits it still sees it fail. A subclass
 * must set its prototype's `constructor` to `Promise` too (`Future.nativeAwait`).
 *
 * The outcome is also kept as plain fields, for the synchronous questions (`done()`,
 * `toString()`) and for `wait`/`asCompleted`, which watch futures without awaiting them.
 * A result that is itself a thenable is adopted, as a promise would (task results are
 * structured-cloned, so none is).
 */
import { inspect } from "node:util";
import { CancelledError, InvalidStateError, RuntimeError, TimeoutError } from "../core/errors.js";
import { checkOptions, deadlineOf, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { settleWithin } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";

/** What the wait hooks hear a wait for a future as (it is in this thread's memory: no cells). */
const FUTURE: WaitSite = Object.freeze({ kind: "future", label: "Future" });

/**
 * Python's states, except CANCELLED_AND_NOTIFIED (see the top of this file), with FINISHED
 * split in two: finished with a result, or with an exception (RAISED).
 */
const PENDING = 0;
const RUNNING = 1;
const CANCELLED = 2;
const FINISHED = 3;
const RAISED = 4;
type State = typeof PENDING | typeof RUNNING | typeof CANCELLED | typeof FINISHED | typeof RAISED;
const STATE_NAMES = ["pending", "running", "cancelled", "finished", "finished"] as const;

/** A `wait`/`asCompleted` listener (see `_watch`). */
/**
 * Declared as methods are (their parameters are checked both ways), so that the private
 * fields holding them leave `Future<number>` a `Future<unknown>`, as a promise is.
 */
type Watcher<T> = { watch(future: Future<T>): void }["watch"];

/**
 * Who waits for a future: `wait`/`asCompleted` listeners, then the done callbacks. A lone
 * watcher, the common case (`asCompleted` over many futures), is kept as it is, with no
 * arrays made for it.
 */
interface Listeners<T> {
  watchers: Array<Watcher<T>> | undefined;
  callbacks: Array<DoneCallback<T>> | undefined;
}

/** The resolving function of the promise under construction (see the constructor). */
let captured: ((value: never) => void) | undefined;
function capture(resolve: (value: never) => void): void {
  captured = resolve;
}
function captureAnd<T>(executor: (resolve: (value: T) => void, reject: (reason: unknown) => void) => void) {
  return (resolve: (value: T) => void, reject: (reason: unknown) => void): void => {
    captured = resolve as (value: never) => void;
    executor(resolve, reject);
  };
}

/** A function `addDoneCallback` accepts: called with the future once it is done. */
export type DoneCallback<T> = { callback(future: Future<T>): unknown }["callback"];

/** Stands in for Python's `id()` in `toString()`: one number per future shown, never reused (given on first show). */
let nextId = 1;
const shownIds = new WeakMap<object, number>();

/**
 * The outcome of a task, available once it has run: Python's `concurrent.futures.Future`.
 *
 * `await future` gives the task's result or throws what it threw (`CancelledError` if it
 * was cancelled). Futures are made by executors (`submit`); constructing one directly is
 * for tests and for writing executors, as in Python.
 */
export class Future<T = unknown> extends Promise<T> {
  #state: State = PENDING;
  /** The result (FINISHED) or what was raised (RAISED); undefined otherwise. */
  #outcome: unknown = undefined;
  // Typed without T: a field of type (value: T) => void would make Future<number> no Future<unknown>.
  readonly #resolve: (value: unknown) => void;
  // Made on first use: most futures never get a callback or a waiter.
  #listeners: Listeners<T> | Watcher<T> | undefined = undefined;

  /**
   * @internal For executors: called once if the future is cancelled while still pending,
   * so that the executor can drop the queued task. Cleared once the future leaves PENDING.
   */
  onCancel: (() => void) | undefined = undefined;

  /**
   * A pending future. (`executor` is for `Promise`'s own machinery, which constructs the
   * class it is called on: `Future.resolve(x)` makes a plain promise-like future.)
   *
   * Only the resolving function is kept: a failure settles the promise by resolving it with
   * a rejected one (see `#fail`). Every field and closure here is paid per task: a pool keeps
   * 100k pending futures alive through young-generation collections, which copy each of them.
   */
  constructor(executor?: (resolve: (value: T) => void, reject: (reason: unknown) => void) => void) {
    super(executor === undefined ? capture : captureAnd(executor));
    this.#resolve = captured as (value: unknown) => void;
    captured = undefined;
  }

  /** @internal Makes a subclass's instances native-awaitable too (see the top of this file). */
  static nativeAwait(subclass: { readonly prototype: object }): void {
    Object.defineProperty(subclass.prototype, "constructor", { value: Promise, writable: true, configurable: true });
  }

  /** `true` if the future was cancelled. */
  cancelled(): boolean {
    return this.#state === CANCELLED;
  }

  /** `true` while the task is running (it can no longer be cancelled). */
  running(): boolean {
    return this.#state === RUNNING;
  }

  /** `true` once the future is cancelled or finished (with a result or an exception). */
  done(): boolean {
    return this.#state >= CANCELLED;
  }

  /**
   * Tries to cancel the task. Returns `false` if it is running or finished (it cannot be
   * cancelled), `true` otherwise: it was pending and is now cancelled, or was already
   * cancelled. A successful cancel runs the done callbacks.
   */
  cancel(): boolean {
    if (this.#state === CANCELLED) return true;
    if (this.#state !== PENDING) return false;
    this.#state = CANCELLED;
    this.#fail(this.#cancelledError());
    const hook = this.onCancel;
    this.onCancel = undefined;
    if (hook !== undefined) {
      try {
        // Called on the future, so one shared hook can serve every future of an executor.
        hook.call(this);
      } catch (error) {
        report(`exception in the cancel hook of ${this}`, error);
      }
    }
    this.#settle();
    return true;
  }

  /**
   * The task's result, once it is done. Rejects with what the task threw if it failed,
   * with `CancelledError` if it was cancelled, with `TimeoutError` if it is not done
   * within `timeout` ms (the future itself is unaffected), or with the signal's reason.
   */
  result(options?: WaitOptions): Promise<T> {
    // With nothing to bound the wait, the future is the promise of its result.
    if (options === undefined) return this.then();
    return this.#resultWithin(options);
  }

  async #resultWithin(options: WaitOptions): Promise<T> {
    await this.#waitDone(options, "Future.result()");
    return this.then();
  }

  /**
   * What the task threw, once it is done: `undefined` if it succeeded. Rejects with
   * `CancelledError` if it was cancelled, with `TimeoutError` if it is not done within
   * `timeout` ms, or with the signal's reason.
   */
  async exception(options?: WaitOptions): Promise<unknown> {
    await this.#waitDone(options, "Future.exception()");
    if (this.#state === CANCELLED) throw this.#cancelledError();
    return this.#state === RAISED ? this.#outcome : undefined;
  }

  /**
   * Calls `fn(future)` once the future is done (finished or cancelled), in the order the
   * callbacks were added; at once, synchronously, if it is already done. A callback that
   * throws (or returns a promise that rejects) is reported on stderr, as Python's logger
   * does ("exception calling callback for <Future ...>"), and the others still run.
   */
  addDoneCallback(fn: DoneCallback<T>): void {
    if (typeof fn !== "function") {
      throw new TypeError(`Future.addDoneCallback(fn): fn must be a function, got ${typeof fn}`);
    }
    if (this.done()) this.#invoke(fn);
    else (this.#allListeners().callbacks ??= []).push(fn);
  }

  /**
   * @internal For executors: Python's `set_running_or_notify_cancel`. Returns `false` if
   * the future was cancelled (the task must not run); otherwise moves it to RUNNING and
   * returns `true`. A running or finished future: `RuntimeError`.
   */
  setRunningOrNotifyCancel(): boolean {
    if (this.#state === CANCELLED) return false;
    if (this.#state === PENDING) {
      this.#state = RUNNING;
      this.onCancel = undefined;
      return true;
    }
    throw new RuntimeError(`Future in unexpected state: ${this}`);
  }

  /**
   * @internal For executors: finishes the future with the task's result. A future that
   * is already finished or cancelled: `InvalidStateError`.
   */
  setResult(value: T): void {
    this.#checkSettable("setResult");
    this.#outcome = value;
    this.#state = FINISHED;
    this.#resolve(value);
    this.#settle();
  }

  /**
   * @internal For executors: finishes the future with what the task threw (any value).
   * A future that is already finished or cancelled: `InvalidStateError`.
   */
  setException(error: unknown): void {
    this.#checkSettable("setException");
    this.#outcome = error;
    this.#state = RAISED;
    this.#fail(error);
    this.#settle();
  }

  /**
   * @internal For `wait` and `asCompleted`: calls `listener(future)` once when the future
   * becomes done, before the done callbacks. Never called for a future that is already
   * done (check `done()` first). One listener may watch many futures; `_unwatch` removes it.
   */
  _watch(listener: (future: this) => void): void {
    if (this.done()) return;
    if (this.#listeners === undefined) this.#listeners = listener as Watcher<T>;
    else (this.#allListeners().watchers ??= []).push(listener as Watcher<T>);
  }

  /** The listeners as lists, made (or grown out of a lone watcher) on first use. */
  #allListeners(): Listeners<T> {
    const listeners = this.#listeners;
    if (typeof listeners === "object") return listeners;
    return (this.#listeners = { watchers: listeners === undefined ? undefined : [listeners], callbacks: undefined });
  }

  /** @internal Removes a listener added by `_watch` (one registration of it), if still there. */
  _unwatch(listener: (future: this) => void): void {
    const listeners = this.#listeners;
    if (listeners === listener) {
      this.#listeners = undefined;
      return;
    }
    const watchers = typeof listeners === "object" ? listeners.watchers : undefined;
    if (watchers === undefined) return;
    const at = watchers.lastIndexOf(listener as Watcher<T>);
    if (at >= 0) watchers.splice(at, 1);
  }

  /** @internal For `wait`: `true` if the future finished with an exception. */
  _failed(): boolean {
    return this.#state === RAISED;
  }

  /** Python's repr: `<Future at 0x1 state=finished returned number>`. */
  override toString(): string {
    let id = shownIds.get(this);
    if (id === undefined) shownIds.set(this, (id = nextId++));
    const head = `<Future at 0x${id.toString(16)} state=${STATE_NAMES[this.#state]}`;
    if (this.#state === RAISED) return `${head} raised ${typeName(this.#outcome)}>`;
    return this.#state === FINISHED ? `${head} returned ${typeName(this.#outcome)}>` : `${head}>`;
  }

  /** @internal `console.log(future)` shows the same as `toString()`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  #checkSettable(method: string): void {
    if (this.done()) {
      throw new InvalidStateError(`Future.${method}(): the future is already ${STATE_NAMES[this.#state]}: ${this}`);
    }
  }

  /**
   * Rejects the promise, handled at once: a failure nobody asks about is not an unhandled
   * rejection. It resolves with a rejected promise, handled before it can be reported, so
   * that no future has to keep its reject function (a task's failure is the rare case).
   */
  #fail(reason: unknown): void {
    const rejected = Promise.reject(reason);
    rejected.then(undefined, ignore);
    this.#resolve(rejected as never);
    Promise.prototype.then.call(this, undefined, ignore);
  }

  #cancelledError(): CancelledError {
    return new CancelledError(`the future was cancelled: ${this}`);
  }

  /** Resolves once the future is done; rejects on timeout or abort. Validates the options. */
  async #waitDone(options: WaitOptions | undefined, method: string): Promise<void> {
    checkOptions(options, method);
    const deadline = deadlineOf(options?.timeout, method);
    const signal = options?.signal;
    throwIfAborted(signal);
    if (this.done()) return;
    const timedOut = (): TimeoutError =>
      new TimeoutError(`${method}: not done within ${options?.timeout} ms: ${this}`);
    if (remaining(deadline) === 0) throw timedOut();
    await settleWithin<void>({
      watch: (settle) => {
        const onDone = (): void => settle();
        this._watch(onDone);
        return () => this._unwatch(onDone);
      },
      deadline,
      onTimeout: () => {
        throw timedOut();
      },
      signal,
      site: FUTURE,
    });
  }

  /** The future has just become done: wake the waiters, then run the callbacks. */
  #settle(): void {
    this.onCancel = undefined;
    const listeners = this.#listeners;
    if (listeners === undefined) return;
    if (typeof listeners === "function") {
      this.#listeners = undefined;
      listeners(this);
      return;
    }
    // Detached first: a listener that unwatches (itself or others) cannot disturb this loop.
    const watchers = listeners.watchers;
    listeners.watchers = undefined;
    if (watchers !== undefined) for (const watcher of watchers) watcher(this);
    const callbacks = listeners.callbacks;
    listeners.callbacks = undefined;
    this.#listeners = undefined;
    if (callbacks !== undefined) for (const fn of callbacks) this.#invoke(fn);
  }

  #invoke(fn: DoneCallback<T>): void {
    try {
      const returned = fn(this);
      if (returned instanceof Promise) {
        returned.then(undefined, (error: unknown) => report(`exception calling callback for ${this}`, error));
      }
    } catch (error) {
      report(`exception calling callback for ${this}`, error);
    }
  }
}

function ignore(): void {}

Object.defineProperty(Future.prototype, "constructor", { value: Promise, writable: true, configurable: true });

/** Python's `LOGGER.exception(...)` with no logging configured: the message, then the traceback, on stderr. */
function report(message: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : inspect(error);
  process.stderr.write(`${message}\n${detail}\n`);
}

/** Python's `value.__class__.__name__`, in JavaScript's terms. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return "Function";
  if (typeof value !== "object") return typeof value;
  const ctor = (value as { constructor?: unknown }).constructor;
  return typeof ctor === "function" && ctor.name !== "" ? ctor.name : "Object";
}
