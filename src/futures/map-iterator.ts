/**
 * The iterator that `ThreadPoolExecutor.map` returns: the results in input order, with the
 * input read a bounded window of tasks ahead of the consumer (so an endless generator
 * works), and the first failure thrown at its position.
 *
 * The window is Python 3.14's `buffersize`: at most that many tasks are submitted and not
 * yet yielded. So the window is topped up when the next result is asked for (the one just
 * yielded has left it), not when a result arrives; a plain iterable's first window is
 * submitted at the call, as Python's map reads `buffersize` items at its call.
 *
 * Several iterables are zipped (`zip` below), as Python's `zip(*iterables)`: the item of
 * each in turn, stopping at the shortest.
 *
 * Written by hand rather than as an async generator: a `for await` over an async
 * generator pays a generator resumption and several promise hops per item, which held
 * map to ~3M items/s; this iterator answers a `next()` whose result has already arrived
 * with one resolved promise (about twice the rate in a micro-benchmark here). Only the
 * step to the next task's result is asynchronous, and calls made while one is in flight
 * queue behind it, as an async generator's would.
 */

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const NO_RESULTS: readonly unknown[] = [];
const ignore = (): void => {};

/** What a MapIterator needs of a task's future. */
export interface ChunkFuture {
  result(options: { timeout?: number; signal?: AbortSignal }): Promise<unknown>;
  cancel(): boolean;
}

/** How a MapIterator hands a chunk of items to the pool. */
export type SubmitChunk = (items: unknown[]) => ChunkFuture;

/** See the top of this file. */
export class MapIterator<T, R> implements AsyncIterableIterator<R> {
  readonly #submit: SubmitChunk;
  readonly #source: Iterator<T> | AsyncIterator<T>;
  readonly #sync: boolean;
  readonly #chunksize: number;
  readonly #window: ChunkFuture[] = [];
  readonly #windowLimit: number;
  /**
   * The window is topped up once it has drained to this many tasks, not after every task:
   * each top-up puts several chunks in the shared queue at once, so the parked workers are
   * woken once for the batch (a kernel wake-up cost the main thread ~0.2 ms under load here,
   * one per chunk before), and each wakes to more than one chunk. Half the window: a window
   * of 3 or fewer still tops up after every task, so a small `buffersize` keeps every worker busy.
   */
  readonly #refillAt: number;
  /** Wakes the pool's idle workers for the chunks submitted (`submit` does not). */
  readonly #wake: () => void;
  readonly #deadline: number;
  readonly #signal: AbortSignal | undefined;
  /** The task whose result is awaited: cancelled (if it has not started) when the iteration ends early. */
  #current: ChunkFuture | undefined;
  /** The results of the task being handed out, and the next one's place. */
  #results: readonly unknown[] = NO_RESULTS;
  #at = 0;
  #exhausted = false;
  #finished = false;
  /** Calls whose step has not finished; while there are any, later calls queue behind `#tail`. */
  #pending = 0;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #onAbort = (): void => {
    for (const future of this.#window) future.cancel();
  };

  /**
   * A plain iterable's first window is submitted at once (as Python's map submits at the
   * call), so its tasks run before the first `next()`, and an error reading it throws
   * here; an async iterable is first read at the first `next()`.
   */
  constructor(
    submit: SubmitChunk,
    iterables: readonly (Iterable<T> | AsyncIterable<T>)[],
    options: { chunksize: number; windowLimit: number; deadline: number; signal: AbortSignal | undefined; wake: () => void },
  ) {
    this.#submit = submit;
    this.#sync = iterables.every((iterable) => !isAsync(iterable));
    this.#source = (iterables.length === 1 ? iteratorOf(iterables[0]) : zip(iterables, this.#sync)) as Iterator<T> | AsyncIterator<T>;
    this.#chunksize = options.chunksize;
    this.#windowLimit = options.windowLimit;
    this.#refillAt = options.windowLimit - Math.floor(options.windowLimit / 2);
    this.#wake = options.wake;
    this.#deadline = options.deadline;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (this.#sync) {
      try {
        this.#refillSync();
      } catch (error) {
        // The first error is the one to report; one from closing the input is dropped.
        this.#finish().catch(ignore);
        throw error;
      }
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#pending === 0 && this.#at < this.#results.length) {
      return Promise.resolve({ value: this.#results[this.#at++] as R, done: false });
    }
    return this.#serialized(() => this.#advance());
  }

  /** Ends the iteration: cancels the tasks that have not started and closes the input. */
  return(): Promise<IteratorResult<R>> {
    return this.#serialized(async () => {
      await this.#finish();
      return DONE;
    });
  }

  #serialized(step: () => Promise<IteratorResult<R>>): Promise<IteratorResult<R>> {
    // The count drops as the step ends, before its caller resumes: so the caller's next
    // call already finds nothing pending and takes the synchronous path.
    const run = async (): Promise<IteratorResult<R>> => {
      try {
        return await step();
      } finally {
        this.#pending--;
      }
    };
    const result = this.#pending++ === 0 ? run() : this.#tail.then(run, run);
    this.#tail = result.then(ignore, ignore);
    return result;
  }

  async #advance(): Promise<IteratorResult<R>> {
    try {
      for (;;) {
        if (this.#at < this.#results.length) return { value: this.#results[this.#at++] as R, done: false };
        // The task whose results were just yielded has left the window: top it up once it is half empty.
        if (!this.#finished && this.#window.length <= this.#refillAt) {
          const reading = this.#refill();
          if (reading !== undefined) await reading;
        }
        const future = this.#window.shift();
        if (future === undefined || this.#finished) {
          await this.#finish();
          return DONE;
        }
        const timeout = this.#deadline === Infinity ? undefined : Math.max(0, this.#deadline - performance.now());
        this.#current = future;
        const value = await future.result({ timeout, signal: this.#signal });
        this.#current = undefined;
        this.#results = this.#chunksize === 1 ? [value] : (value as unknown[]);
        this.#at = 0;
      }
    } catch (error) {
      await this.#finish();
      throw error;
    }
  }

  /** Reads the input until the window is full (or the input ends), a task per chunk. */
  #refill(): void | Promise<void> {
    if (this.#sync) return this.#refillSync();
    return this.#refillAsync();
  }

  /**
   * The workers are woken once for the batch, after its last chunk (see `#refillAt`), and
   * also after its first when they had nothing of this map to do: a slow input then does
   * not hold back the first chunk.
   */
  #refillSync(): void {
    const source = this.#source as Iterator<T>;
    let unrung = false;
    try {
      while (!this.#exhausted && this.#window.length < this.#windowLimit) {
        const chunk: unknown[] = [];
        while (chunk.length < this.#chunksize) {
          const step = this.#readSync(source);
          if (step.done === true) {
            this.#exhausted = true;
            break;
          }
          chunk.push(step.value);
        }
        if (chunk.length === 0) continue;
        this.#window.push(this.#submit(chunk));
        unrung = this.#window.length > 1;
        if (!unrung) this.#wake();
      }
    } finally {
      if (unrung) this.#wake();
    }
  }

  async #refillAsync(): Promise<void> {
    const source = this.#source as AsyncIterator<T>;
    while (!this.#exhausted && this.#window.length < this.#windowLimit) {
      const chunk: unknown[] = [];
      while (chunk.length < this.#chunksize) {
        const step = await this.#readAsync(source);
        if (step.done === true) {
          this.#exhausted = true;
          break;
        }
        chunk.push(step.value);
      }
      if (chunk.length > 0 && !this.#finished) {
        this.#window.push(this.#submit(chunk));
        this.#wake(); // the next chunk may be long in coming
      }
    }
  }

  /** Reads the input; an input whose `next()` threw counts as closed (it is not asked to `return()`). */
  #readSync(source: Iterator<T>): IteratorResult<T> {
    try {
      return source.next();
    } catch (error) {
      this.#exhausted = true;
      throw error;
    }
  }

  async #readAsync(source: AsyncIterator<T>): Promise<IteratorResult<T>> {
    try {
      return await source.next();
    } catch (error) {
      this.#exhausted = true;
      throw error;
    }
  }

  async #finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#results = NO_RESULTS;
    this.#at = 0;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    // A timeout or an abort ended the wait for #current: if it has not started, it never will.
    this.#current?.cancel();
    this.#current = undefined;
    for (const future of this.#window) future.cancel();
    this.#window.length = 0;
    if (!this.#exhausted) {
      this.#exhausted = true;
      await this.#source.return?.();
    }
  }
}

function isAsync(iterable: unknown): boolean {
  return Symbol.asyncIterator in Object(iterable);
}

function iteratorOf<T>(iterable: Iterable<T> | AsyncIterable<T>): Iterator<T> | AsyncIterator<T> {
  return isAsync(iterable) ? (iterable as AsyncIterable<T>)[Symbol.asyncIterator]() : (iterable as Iterable<T>)[Symbol.iterator]();
}

/**
 * Python's `zip(*iterables)` as one iterator of tuples (async if any input is): each step
 * reads one item of each input in turn and ends at the first input that ends. The inputs
 * still open are closed then (`return()`), as they are when the zip is closed or an input's
 * `next()` throws (that one counts as closed itself): JavaScript's rule for an iteration
 * that stops early, and that of the joint-iteration proposal's `Iterator.zip`.
 */
function zip(iterables: readonly (Iterable<unknown> | AsyncIterable<unknown>)[], sync: boolean): Iterator<unknown[]> | AsyncIterator<unknown[]> {
  const iterators: (Iterator<unknown> | AsyncIterator<unknown>)[] = [];
  try {
    for (const iterable of iterables) iterators.push(iteratorOf(iterable));
  } catch (error) {
    for (const opened of iterators) void closeQuietly(opened);
    throw error;
  }
  // zip() of nothing is empty, as in Python (not an endless run of empty tuples).
  let open = iterators.length > 0;
  /** Closes every input but `except`; the first error from a `return()` is thrown after all were asked. */
  const closeOthers = (except: number): void | Promise<void> => {
    open = false;
    const closing: unknown[] = [];
    let failure: { error: unknown } | undefined;
    for (let i = 0; i < iterators.length; i++) {
      if (i === except) continue;
      try {
        closing.push(iterators[i].return?.());
      } catch (error) {
        failure ??= { error };
      }
    }
    if (sync) {
      if (failure !== undefined) throw failure.error;
      return;
    }
    return Promise.allSettled(closing).then((settled) => {
      if (failure !== undefined) throw failure.error;
      for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
    });
  };
  if (sync) {
    const inputs = iterators as Iterator<unknown>[];
    return {
      next(): IteratorResult<unknown[]> {
        if (!open) return DONE;
        const tuple: unknown[] = new Array(inputs.length);
        for (let i = 0; i < inputs.length; i++) {
          let step: IteratorResult<unknown>;
          try {
            step = inputs[i].next();
          } catch (error) {
            try {
              closeOthers(i);
            } catch {
              // the first error is the one to report
            }
            throw error;
          }
          if (step.done === true) {
            closeOthers(i);
            return DONE;
          }
          tuple[i] = step.value;
        }
        return { value: tuple, done: false };
      },
      return(): IteratorResult<unknown[]> {
        if (open) closeOthers(-1);
        return DONE;
      },
    };
  }
  return {
    async next(): Promise<IteratorResult<unknown[]>> {
      if (!open) return DONE;
      const tuple: unknown[] = new Array(iterators.length);
      for (let i = 0; i < iterators.length; i++) {
        let step: IteratorResult<unknown>;
        try {
          step = await iterators[i].next();
        } catch (error) {
          await Promise.resolve(closeOthers(i)).catch(ignore);
          throw error;
        }
        if (step.done === true) {
          await closeOthers(i);
          return DONE;
        }
        tuple[i] = step.value;
      }
      return { value: tuple, done: false };
    },
    async return(): Promise<IteratorResult<unknown[]>> {
      if (open) await closeOthers(-1);
      return DONE;
    },
  };
}

async function closeQuietly(iterator: Iterator<unknown> | AsyncIterator<unknown>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // closing after a failure to open another input: the first error is the one reported
  }
}
