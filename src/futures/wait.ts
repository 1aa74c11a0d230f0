/**
 * `asCompleted` and `wait`: Python's module-level functions for waiting on many futures
 * at once, whatever executors they came from.
 *
 * Why they watch the futures instead of awaiting them: awaiting a future that failed
 * would reject, and these functions only report which futures are done, never their
 * outcome. So each pending future gets an internal watcher (see `Future._watch`), removed
 * again when the wait ends, whichever way it ends, so that waiting on long-lived futures
 * with short timeouts leaks nothing; no promise of a future's outcome is ever made here.
 *
 * Why `asCompleted` is a hand-written iterator rather than an async generator: an async
 * generator's `yield` awaits what it yields, and a future is a thenable, so a generator
 * would yield each future's result (or throw its exception) instead of the future.
 *
 * Why it declares its items as `CompletedFuture<F>`: TypeScript types the variable of a
 * `for await` loop as the *awaited* item type, which for a thenable `Future<T>` is `T`,
 * although at run time the loop gets the future itself (only values of sync iterables
 * are awaited). Typing the item's `then` as `never` makes TypeScript leave it a future.
 */
import { TimeoutError, ValueError } from "../core/errors.js";
import { checkOptions, deadlineOf, describe, remaining, throwIfAborted, type WaitOptions } from "../core/timeouts.js";
import { Future } from "./future.js";
import { settleWithin } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";

/** What the wait hooks hear a wait for futures as (they are in this thread's memory: no cells). */
const FUTURES: WaitSite = Object.freeze({ kind: "future", label: "futures" });

/** `wait` returns as soon as any future finishes or is cancelled. */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/** `wait` returns as soon as any future finishes by raising; if none does, when all are done. */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/** `wait` returns when every future is done (the default). */
export const ALL_COMPLETED = "ALL_COMPLETED";

/** When `wait` returns: `FIRST_COMPLETED`, `FIRST_EXCEPTION` or `ALL_COMPLETED`. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** Options of `wait`. */
export interface WaitForOptions extends WaitOptions {
  /** When to return; default `ALL_COMPLETED`. */
  returnWhen?: ReturnWhen;
}

/** Options of `asCompleted`. */
export type AsCompletedOptions = WaitOptions;

/**
 * What `asCompleted` yields: the future itself, typed so that `for await` keeps it a
 * future (see the top of this file). It is assignable to `F`, so it can be looked up in a
 * `Map` keyed by futures or compared with them; read its outcome with `future.result()`.
 */
export type CompletedFuture<F> = F & { readonly then: never };

/** What `wait` resolves to (Python's `DoneAndNotDoneFutures`). */
export interface DoneAndNotDone<F> {
  /** The futures that were done (finished or cancelled) when `wait` returned. */
  done: Set<F>;
  /** The others. */
  notDone: Set<F>;
}

const RETURN_WHEN: readonly string[] = [FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED];

/**
 * Yields each of `futures` once as it completes (finishes or is cancelled): those already
 * done first, in input order, then the others in the order they complete. A future given
 * twice is yielded once.
 *
 * As with Python's generator, nothing starts until iteration does: `timeout` (ms) counts
 * from the first `next()`, and if futures are still unfinished when it runs out, the
 * iteration throws `TimeoutError("N (of M) futures unfinished")`. An aborted `signal` ends
 * it with the signal's reason. The arguments are checked at once (`TypeError`, `ValueError`).
 *
 * The items are the futures themselves (typed `CompletedFuture<F>` so that TypeScript's
 * `for await` does not mistake them for their results): use `future.result()`.
 */
export function asCompleted<F extends Future<unknown>>(
  futures: Iterable<F>,
  options?: AsCompletedOptions,
): AsyncIterableIterator<CompletedFuture<F>> {
  checkOptions(options, "asCompleted()");
  const list = collect(futures, "asCompleted()");
  deadlineOf(options?.timeout, "asCompleted()"); // checks it now; the clock starts with iteration
  return new AsCompleted(list, options?.timeout, options?.signal) as unknown as AsyncIterableIterator<CompletedFuture<F>>;
}

/**
 * Waits until `futures` are done as `returnWhen` asks (default `ALL_COMPLETED`), or until
 * `timeout` ms have passed, and resolves to the futures that are done and those that are
 * not. A timeout is not an error here (as in Python): look at `notDone`. Rejects with the
 * signal's reason if `signal` aborts first. A future given twice counts once.
 */
export async function wait<F extends Future<unknown>>(
  futures: Iterable<F>,
  options?: WaitForOptions,
): Promise<DoneAndNotDone<F>> {
  checkOptions(options, "wait()");
  const list = collect(futures, "wait()");
  const returnWhen: unknown = options?.returnWhen ?? ALL_COMPLETED;
  if (typeof returnWhen !== "string" || !RETURN_WHEN.includes(returnWhen)) {
    throw new ValueError(
      `wait(): options.returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${describe(returnWhen)}`,
    );
  }
  const deadline = deadlineOf(options?.timeout, "wait()");
  const signal = options?.signal;
  throwIfAborted(signal);

  const failedAlready = returnWhen === FIRST_EXCEPTION && list.some((future) => future._failed());
  let unfinished = 0;
  for (const future of list) if (!future.done()) unfinished++;
  const satisfiedNow = unfinished === 0 || failedAlready || (returnWhen === FIRST_COMPLETED && unfinished < list.length);

  if (!satisfiedNow && remaining(deadline) > 0) {
    await settleWithin<void>({
      watch: (settle) => {
        // One count per completion, so that waiting on many futures stays linear.
        const completed = (future: F): void => {
          unfinished--;
          if (unfinished === 0 || returnWhen === FIRST_COMPLETED || (returnWhen === FIRST_EXCEPTION && future._failed())) settle();
        };
        for (const future of list) future._watch(completed);
        return () => {
          for (const future of list) future._unwatch(completed);
        };
      },
      deadline,
      // A timeout is not an error here: the caller looks at `notDone`.
      onTimeout: () => undefined,
      signal,
      site: FUTURES,
    });
  }

  const done = new Set<F>();
  const notDone = new Set<F>();
  for (const future of list) (future.done() ? done : notDone).add(future);
  return { done, notDone };
}

/** The futures of an iterable, each once, in first-seen order; anything else: `TypeError`. */
function collect<F extends Future<unknown>>(futures: Iterable<F>, method: string): F[] {
  if (futures === null || futures === undefined || typeof (futures as Partial<Iterable<F>>)[Symbol.iterator] !== "function") {
    throw new TypeError(`${method}: futures must be an iterable of Futures, got ${describe(futures)}`);
  }
  const unique = new Set<F>();
  let index = 0;
  for (const future of futures) {
    if (!(future instanceof Future)) {
      throw new TypeError(`${method}: futures[${index}] must be a Future, got ${describe(future)}`);
    }
    unique.add(future);
    index++;
  }
  return [...unique];
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** The iterator `asCompleted` returns; one pass, like Python's generator. */
class AsCompleted<F extends Future<unknown>> implements AsyncIterableIterator<F> {
  readonly #futures: readonly F[];
  readonly #timeout: number | undefined;
  readonly #signal: AbortSignal | undefined;
  #phase: "new" | "running" | "closed" = "new";
  #deadline = Infinity;
  /** Done futures in the order to yield them; those before `#readAt` were yielded. */
  #ready: F[] = [];
  #readAt = 0;
  /** Futures watched and not yet done. */
  #pending = 0;
  /** Wakes the step that is sleeping, if any. */
  #wake: (() => void) | undefined = undefined;
  /** Steps run one after the other, like an async generator's queued `next()` calls. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Steps queued and not yet settled: while none is, a ready future is yielded at once. */
  #queued = 0;

  constructor(futures: readonly F[], timeout: number | undefined, signal: AbortSignal | undefined) {
    this.#futures = futures;
    this.#timeout = timeout;
    this.#signal = signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<F, undefined>> {
    // The common step, a future already done with no step before it, skips the queue: a
    // chained step costs three promises and a closure per future.
    if (this.#queued === 0 && this.#phase === "running" && this.#readAt < this.#ready.length) {
      return Promise.resolve({ done: false, value: this.#take() });
    }
    this.#queued++;
    const step = this.#queue.then(() => this.#step());
    this.#queue = step.then(this.#stepped, this.#stepped);
    return step;
  }

  readonly #stepped = (): void => {
    this.#queued--;
  };

  /** Ends the iteration (`break` out of `for await` calls it) and removes the watchers. */
  return(): Promise<IteratorResult<F, undefined>> {
    this.#close();
    return Promise.resolve(DONE);
  }

  /** The next ready future, let go of by the list. */
  #take(): F {
    const next = this.#ready[this.#readAt]!;
    this.#ready[this.#readAt++] = undefined as never;
    return next;
  }

  async #step(): Promise<IteratorResult<F, undefined>> {
    if (this.#phase === "new") this.#start();
    for (;;) {
      if (this.#phase === "closed") return DONE;
      if (this.#readAt < this.#ready.length) return { done: false, value: this.#take() };
      if (this.#pending === 0) {
        this.#close();
        return DONE;
      }
      const left = remaining(this.#deadline);
      if (left === 0) {
        const unfinished = this.#pending;
        this.#close();
        throw new TimeoutError(`${unfinished} (of ${this.#futures.length}) futures unfinished`);
      }
      await this.#sleep();
    }
  }

  /** Watches every pending future (one function for all, so no closure per future). */
  readonly #completed = (future: F): void => {
    this.#pending--;
    this.#ready.push(future);
    this.#wake?.();
  };

  #start(): void {
    this.#phase = "running";
    try {
      throwIfAborted(this.#signal);
      this.#deadline = deadlineOf(this.#timeout, "asCompleted()");
    } catch (error) {
      this.#close();
      throw error;
    }
    for (const future of this.#futures) {
      if (future.done()) {
        this.#ready.push(future);
        continue;
      }
      this.#pending++;
      future._watch(this.#completed);
    }
  }

  /** Resolves when a future completes, the iterator closes or the deadline passes; rejects (and closes) on abort. */
  #sleep(): Promise<void> {
    return settleWithin<void>({
      watch: (settle) => {
        this.#wake = () => settle();
        return () => (this.#wake = undefined);
      },
      deadline: this.#deadline,
      onTimeout: () => undefined,
      signal: this.#signal,
      onAbort: () => this.#close(),
      site: FUTURES,
    });
  }

  #close(): void {
    if (this.#phase === "closed") return;
    const started = this.#phase === "running";
    this.#phase = "closed";
    // A future that is done has dropped its watchers already: unwatching it is a no-op.
    if (started && this.#pending > 0) for (const future of this.#futures) future._unwatch(this.#completed);
    this.#ready = [];
    this.#readAt = 0;
    this.#pending = 0;
    this.#wake?.();
  }
}

