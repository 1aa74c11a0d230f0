/**
 * Python's `time.sleep`, in both forms.
 */
import { assertMayBlock } from "../core/parking.js";
import { ValueError } from "../core/errors.js";

const nothing = new Int32Array(new SharedArrayBuffer(4));

function checkMs(ms: unknown, method: string): number {
  if (typeof ms !== "number" || Number.isNaN(ms) || ms < 0) {
    throw new ValueError(`${method}: ms must be a non-negative number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

/** Resolves after `ms` milliseconds, without blocking the event loop; `signal` cancels it. */
export function sleep(ms: number, options?: { signal?: AbortSignal }): Promise<void> {
  try {
    checkMs(ms, "sleep()");
  } catch (error) {
    return Promise.reject(error);
  }
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.min(ms, 0x7fffffff));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Blocks this thread for `ms` milliseconds. Not on the main thread: use `sleep()`. */
export function sleepSync(ms: number): void {
  checkMs(ms, "sleepSync()");
  assertMayBlock("sleepSync()", "sleep(ms)");
  Atomics.wait(nothing, 0, 0, ms);
}
