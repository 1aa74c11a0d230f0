/**
 * Validation and bookkeeping of the `timeout` / `blocking` / `signal` options that every
 * wait in weft accepts. Time is in milliseconds; omitted or `Infinity` means forever.
 */
import { ValueError } from "./errors.js";

/** Options shared by every method that may wait. */
export interface WaitOptions {
  /** Milliseconds to wait at most; omitted or `Infinity` waits forever. */
  timeout?: number;
  /** Cancels the wait: it rejects (or throws) with the signal's reason and leaves no state behind. */
  signal?: AbortSignal;
}

/** Options of `acquire`-like methods, which may also be asked not to wait at all. */
export interface AcquireOptions extends WaitOptions {
  /** `false`: try once and return at once (Python's `blocking=False`). Default `true`. */
  blocking?: boolean;
}

/**
 * Checks a timeout and turns it into an absolute deadline (`performance.now()` based):
 * `Infinity` for none. `method` names the call for the error message.
 */
export function deadlineOf(timeout: number | undefined, method: string): number {
  if (timeout === undefined || timeout === Infinity) return Infinity;
  if (typeof timeout !== "number") {
    throw new TypeError(`${method}: options.timeout must be a number of milliseconds, got ${describe(timeout)}`);
  }
  if (Number.isNaN(timeout) || timeout < 0) {
    throw new ValueError(
      `${method}: options.timeout must be a non-negative number of milliseconds (or Infinity), got ${describe(timeout)}`,
    );
  }
  return performance.now() + timeout;
}

/** Milliseconds left until `deadline` (never negative; `Infinity` stays `Infinity`). */
export function remaining(deadline: number): number {
  if (deadline === Infinity) return Infinity;
  const left = deadline - performance.now();
  return left > 0 ? left : 0;
}

/** Throws the signal's reason if it is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal !== undefined && signal.aborted) throw signal.reason;
}

/** Checks the shape of an options argument; `undefined` is fine. */
export function checkOptions(options: unknown, method: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${method}: options must be an object, got ${describe(options)}`);
  }
  const signal = (options as WaitOptions).signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${method}: options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  const blocking = (options as AcquireOptions).blocking;
  if (blocking !== undefined && typeof blocking !== "boolean") {
    throw new TypeError(`${method}: options.blocking must be a boolean, got ${describe(blocking)}`);
  }
  const timeout = (options as WaitOptions).timeout;
  if (blocking === false && timeout !== undefined && timeout !== Infinity) {
    // As Python's acquire(blocking=False, timeout=...): the two ask for different things.
    throw new ValueError(`${method}: can't specify a timeout for a non-blocking call (options.blocking is false, options.timeout is ${describe(timeout)})`);
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? `an object (${value.constructor?.name ?? "null prototype"})` : typeof value;
}
