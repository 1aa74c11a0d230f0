/**
 * A short spin on a FIFO before a thread sleeps on it.
 *
 * A blocking call to another process is a write and a read, and each side that sleeps in
 * between costs a kernel wake-up: on a VM that is 20–250 µs each, most of a round trip
 * (BENCHMARKS.md, fifth session). A caller whose answer is due in
 * microseconds, and an agent whose client tends to call again at once (a lock loop: the
 * release, then the next acquire), read a non-blocking descriptor for a moment first, as
 * an adaptive mutex spins before it parks. The window is short against a wake-up, and
 * there is no spinning where a spin would only take the core the other side needs.
 */
import { readSync, writeSync } from "node:fs";
import { availableParallelism } from "node:os";

/** How long a reader spins before it sleeps (ms); 0 on one core. */
export const SPIN_MS = availableParallelism() > 1 ? 0.1 : 0;

/**
 * Reads what `fd` (opened O_NONBLOCK) has within `ms`: the byte count, 0 at end of file,
 * or -1 if nothing came in time.
 */
export function readWithin(fd: number, into: Buffer, ms: number): number {
  if (ms <= 0) return -1;
  const until = performance.now() + ms;
  // An empty read throws EAGAIN: without a stack to capture it costs half as much.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    do {
      try {
        return readSync(fd, into, 0, into.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
      }
    } while (performance.now() < until);
    return -1;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Writes what a non-blocking descriptor takes now: the byte count, 0 if the FIFO is full
 * or on any failure (which the caller's fallback, a stream or a blocking write, then
 * meets and reports).
 */
export function writeNow(fd: number, bytes: Buffer, length = bytes.length): number {
  try {
    return writeSync(fd, bytes, 0, length);
  } catch {
    return 0;
  }
}
