/**
 * The arguments of a pool, checked: its constructor's options and `map`'s iterables and
 * options. The thread pool and the process pool take the same ones and answer bad ones
 * alike, so the checks are written once, here; `className` names the pool in messages.
 */
import { availableParallelism } from "node:os";
import { ValueError } from "../core/errors.js";
import { checkOptions, deadlineOf, describe } from "../core/timeouts.js";
import { describeTarget, type ModuleTarget, type TargetDescriptor } from "../transport/target.js";

/** Options of `map`, on every pool. */
export interface MapOptions {
  /** Items per task (default 1): larger chunks cost fewer hand-offs for tiny work. */
  chunksize?: number;
  /** Milliseconds from the call to `map` within which every result must be ready. */
  timeout?: number;
  /** Aborting cancels what has not started and ends the iteration with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Python 3.14's `buffersize`: at most this many tasks (each of `chunksize` items) are
   * submitted and not yet yielded; the input is read only as results are yielded, so an
   * endless generator works. Default: on a thread pool, the tasks that hold about 64k items
   * (65536 / chunksize, at least 4 per worker and at most 256); on a process pool,
   * `256 * maxWorkers` (each trip to a process costs more). A positive integer.
   */
  buffersize?: number;
}

const MAP_OPTIONS: ReadonlySet<string> = new Set(["chunksize", "timeout", "signal", "buffersize"]);

/** The options every pool takes, as the pool's constructor receives them. */
export interface CommonPoolOptions {
  maxWorkers?: number;
  minWorkers?: number;
  threadNamePrefix?: string;
  initializer?: ((...args: never[]) => unknown) | ModuleTarget;
  initargs?: unknown[];
  maxTasksPerChild?: number;
  idleTimeout?: number;
}

/** {@link CommonPoolOptions}, checked, with their defaults. */
export interface PoolSettings {
  readonly maxWorkers: number;
  readonly minWorkers: number;
  /** `undefined` (or "") when the pool names its workers itself. */
  readonly prefix: string | undefined;
  readonly initializer: TargetDescriptor | null;
  readonly initargs: unknown[];
  readonly maxTasks: number;
  readonly idleMs: number;
}

/**
 * Checks a pool's options (`new ${className}(options)` in messages); `checkArgs` checks
 * that `initargs` can reach the workers.
 */
export function parsePoolOptions(options: CommonPoolOptions, className: string, checkArgs: (args: unknown[], path: string) => unknown): PoolSettings {
  const where = `new ${className}(options)`;
  if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  const maxWorkers = positiveInteger(options.maxWorkers ?? availableParallelism(), "maxWorkers", where);
  const minWorkers = Math.min(nonNegativeInteger(options.minWorkers ?? 0, "minWorkers", where), maxWorkers);
  if (options.threadNamePrefix !== undefined && typeof options.threadNamePrefix !== "string") {
    throw new TypeError(`${where}: options.threadNamePrefix must be a string, got ${describe(options.threadNamePrefix)}`);
  }
  const initializer = options.initializer === undefined ? null : describeTarget(options.initializer, `${where}: options.initializer`);
  if (options.initargs !== undefined && !Array.isArray(options.initargs)) {
    throw new TypeError(`${where}: options.initargs must be an array, got ${describe(options.initargs)}`);
  }
  const initargs = options.initargs ?? [];
  if (initargs.length > 0) checkArgs(initargs, "initargs");
  const maxTasks = options.maxTasksPerChild === undefined ? Infinity : positiveInteger(options.maxTasksPerChild, "maxTasksPerChild", where);
  const idle = options.idleTimeout ?? Infinity;
  if (typeof idle !== "number") {
    throw new TypeError(`${where}: options.idleTimeout must be a number of milliseconds, got ${describe(idle)}`);
  }
  if (Number.isNaN(idle) || idle < 0) {
    throw new ValueError(`${where}: options.idleTimeout must be a non-negative number of milliseconds, got ${describe(idle)}`);
  }
  return { maxWorkers, minWorkers, prefix: options.threadNamePrefix || undefined, initializer, initargs, maxTasks, idleMs: idle };
}

/** `map`'s iterables and options, checked, with the defaults filled in. */
export interface MapCall {
  readonly iterables: (Iterable<unknown> | AsyncIterable<unknown>)[];
  readonly chunksize: number;
  readonly buffersize: number;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
}

/** Checks `map(target, ...rest)`'s arguments after the target. */
export function parseMapArguments(rest: unknown[], className: string, defaultBuffersize: number | ((chunksize: number) => number)): MapCall {
  const { iterables, options } = splitMapArguments(rest, className);
  const where = `${className}.map()`;
  checkOptions(options, where);
  for (const key of Object.keys(options)) {
    if (!MAP_OPTIONS.has(key)) {
      throw new TypeError(
        `${where}: unknown option "${key}" in the last argument (known: ${[...MAP_OPTIONS].join(", ")}); ` +
          `an input must be an iterable or async iterable (an array, a Set, a generator...), not a plain object`,
      );
    }
  }
  const chunksize = positiveInteger(options.chunksize ?? 1, "chunksize", `${className}.map(options)`);
  const buffersize = options.buffersize === undefined ? (typeof defaultBuffersize === "number" ? defaultBuffersize : defaultBuffersize(chunksize)) : positiveInteger(options.buffersize, "buffersize", `${className}.map(options)`);
  const deadline = deadlineOf(options.timeout, where);
  return { iterables, chunksize, buffersize, deadline, signal: options.signal };
}

/**
 * `map`'s arguments after the target: the iterables, then, optionally, the options. The
 * last argument is the options if it is `undefined` or an object that is neither iterable
 * nor async iterable (so an array, a Set, a string or a generator is always an input); a
 * non-plain object there (a class instance that is not iterable) is neither, and an error.
 * (The cluster executor takes its map arguments this way too.)
 *
 * @internal
 */
export function splitMapArguments(rest: unknown[], className: string): { iterables: (Iterable<unknown> | AsyncIterable<unknown>)[]; options: MapOptions } {
  let options: MapOptions = {};
  let count = rest.length;
  const last = rest[count - 1];
  if (count > 0 && (last === undefined || last === null || (typeof last === "object" && !isInput(last)))) {
    count--;
    if (last === null) throw new TypeError(`${className}.map(target, ...iterables, options?): options must be an object, got null`);
    if (last !== undefined) {
      const proto = Object.getPrototypeOf(last) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          `${className}.map(target, ...iterables, options?): the last argument must be an iterable, an async iterable or a plain options object, ` +
            `got ${describe(last)}, which is none of these`,
        );
      }
      options = last as MapOptions;
    }
  }
  const iterables = rest.slice(0, count) as (Iterable<unknown> | AsyncIterable<unknown>)[];
  for (let i = 0; i < count; i++) {
    if (!isInput(iterables[i])) {
      const position = count === 1 ? "iterable" : `iterables[${i}]`;
      throw new TypeError(
        `${className}.map(target, ...iterables, options?): ${position} must be an iterable or async iterable (an array, a Set, a generator...), ` +
          `got ${describe(iterables[i])}${i === count - 1 ? " (the options, if any, come last, as a plain object)" : ""}`,
      );
    }
  }
  return { iterables, options };
}

function isInput(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  const boxed = Object(value) as object;
  return Symbol.iterator in boxed || Symbol.asyncIterator in boxed;
}

export function positiveInteger(value: unknown, name: string, where: string): number {
  if (typeof value !== "number") throw new TypeError(`${where}: options.${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1) throw new ValueError(`${where}: options.${name} must be a positive integer, got ${describe(value)}`);
  return value;
}

export function nonNegativeInteger(value: unknown, name: string, where: string): number {
  if (typeof value !== "number") throw new TypeError(`${where}: options.${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0) throw new ValueError(`${where}: options.${name} must be a non-negative integer, got ${describe(value)}`);
  return value;
}
