/**
 * Python's `time.sleep`, in both forms.
 */
import { assertMayBlock } from "../core/parking.js";
import { ValueError } from "../core/errors.js";
import { park, runSync, settleWithin, type Wait } from "../core/wait.js";
import type { WaitSite } from "../core/wait-hooks.js";

/** A cell nobody notifies: a blocking sleep parks on it until its deadline. */
const nothing = new Int32Array(new SharedArrayBuffer(4));

const SLEEP: WaitSite = Object.freeze({ kind: "sleep", label: "sleep" });

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
  // Even `sleep(Infinity)` has a (far) deadline: its timer keeps the process alive, as Python's does.
  const deadline = performance.now() + Math.min(ms, Number.MAX_SAFE_INTEGER);
  return settleWithin<void>({ deadline, onTimeout: () => undefined, signal: options?.signal, site: SLEEP });
}

/** Blocks this thread for `ms` milliseconds. Not on the main thread: use `sleep()`. */
export function sleepSync(ms: number): void {
  checkMs(ms, "sleepSync()");
  assertMayBlock("sleepSync()", "sleep(ms)");
  runSync(sleeping(performance.now() + ms), SLEEP);
}

function* sleeping(deadline: number): Wait<void> {
  while ((yield park(nothing, 0, 0, deadline)) !== "timed-out");
}
