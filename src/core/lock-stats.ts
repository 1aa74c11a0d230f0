/**
 * A lock's statistics (`lock.stats()`), kept in the lock's own shared cells so that every
 * thread reads the same figures: per thread, how often it took the lock, how often it had
 * to wait, and for how long at most, so a starving thread shows.
 *
 * The counters are written only by the thread that holds the lock, with plain writes:
 * the lock itself orders them. Each thread counts in an entry of its own (ENTRIES of them;
 * threads beyond share the last, "other threads"), found once per lock handle and thread
 * and then cached by the handle as a Float64 view of the entry's times, so that an
 * uncontended acquisition adds one increment of a double: no carry to test, exact to 2^53.
 * (An aligned 8-byte access does not tear on x86-64 or arm64, so a reader on another
 * thread sees an old or a new count, never a mix.)
 *
 * Layout, from cell STATS_AT of the lock's cells: ENTRIES + 1 entries of ENTRY_CELLS
 * Int32 cells (the entry's first cell is even, so its Float64 cells are 8-byte aligned):
 *   [0] IDENT      the thread counted here, 0 for a free entry, -1 for "other threads"
 *   [1] CONTENDED  acquisitions that did not get the lock at the first try
 *   [2..3] ACQ        Float64: acquisitions
 *   [4..5] WAIT_MAX   Float64: the longest park before an acquisition (ms)
 *   [6..7] WAIT_TOTAL Float64: all parks before acquisitions (ms)
 */
import { nameOrEnded } from "./thread-table.js";

/** The first cell of the statistics in a lock's cells. */
export const STATS_AT = 8;
/** Per-thread entries; the one after them is shared by every further thread. */
export const ENTRIES = 4;
const ENTRY_CELLS = 8;
/** How many cells the statistics take. */
export const STATS_CELLS = (ENTRIES + 1) * ENTRY_CELLS;
const IDENT = 0;
const CONTENDED = 1;
/** Where an entry's Float64 times start: [0] ACQ, [1] WAIT_MAX, [2] WAIT_TOTAL of the view. */
const TIMES = 2;
const ACQ = 0;
const WAIT_MAX = 1;
const WAIT_TOTAL = 2;
const OTHERS = -1;

/** One thread's share of a lock's use. */
export interface LockThreadStats {
  /** The thread's ident; 0 for the entry that sums every thread beyond the first few. */
  readonly ident: number;
  readonly name: string;
  readonly acquisitions: number;
  readonly contended: number;
  readonly waitMsMax: number;
}

/** What `lock.stats()` returns. */
export interface LockStats {
  /** Times the lock was taken (an RLock's re-entries are not counted). */
  readonly acquisitions: number;
  /** Acquisitions that found the lock held and had to wait (spin or park). */
  readonly contended: number;
  /** Time spent parked before acquisitions, in all and at most (ms). */
  readonly waitMsTotal: number;
  readonly waitMsMax: number;
  /** Per thread, the first threads to use the lock each on their own, the rest together. */
  readonly byThread: readonly LockThreadStats[];
}

/**
 * The cell index of `ident`'s entry in a lock's cells, claiming a free one if needed.
 * Call it holding the lock.
 */
export function entryOf(cells: Int32Array, ident: number): number {
  for (let e = 0; e < ENTRIES; e++) {
    const at = STATS_AT + e * ENTRY_CELLS;
    const owner = cells[at + IDENT];
    if (owner === ident) return at;
    if (owner === 0) {
      cells[at + IDENT] = ident;
      return at;
    }
  }
  const at = STATS_AT + ENTRIES * ENTRY_CELLS;
  cells[at + IDENT] = OTHERS;
  return at;
}

/** The Float64 times of the entry at cell `at`; `times[0]` is the acquisition count, which a handle bumps on its fast path. */
export function timesOf(cells: Int32Array, at: number): Float64Array {
  return new Float64Array(cells.buffer, cells.byteOffset + (at + TIMES) * 4, 3);
}

/** Counts one acquisition at entry `at` (holding the lock), whose `timesOf` is `times`: `contended` if it waited, `waitedMs` parked. */
export function countAcquisition(cells: Int32Array, at: number, times: Float64Array, contended: boolean, waitedMs: number): void {
  times[ACQ]++;
  if (!contended) return;
  cells[at + CONTENDED]++;
  if (waitedMs > 0) {
    if (waitedMs > times[WAIT_MAX]) times[WAIT_MAX] = waitedMs;
    times[WAIT_TOTAL] += waitedMs;
  }
}

/** How many times the lock has been acquired: its version, which changes with every new holder. */
export function acquisitionsOf(cells: Int32Array): number {
  let total = 0;
  for (let e = 0; e <= ENTRIES; e++) total += timesOf(cells, STATS_AT + e * ENTRY_CELLS)[ACQ];
  return total;
}

/** Reads a lock's statistics (a snapshot: other threads may be counting meanwhile). */
export function readStats(cells: Int32Array): LockStats {
  let acquisitions = 0;
  let contended = 0;
  let waitMsTotal = 0;
  let waitMsMax = 0;
  const byThread: LockThreadStats[] = [];
  for (let e = 0; e <= ENTRIES; e++) {
    const at = STATS_AT + e * ENTRY_CELLS;
    const ident = Atomics.load(cells, at + IDENT);
    if (ident === 0) continue;
    const times = timesOf(cells, at);
    const entry: LockThreadStats = {
      ident: ident === OTHERS ? 0 : ident,
      name: ident === OTHERS ? "other threads" : nameOrEnded(ident),
      acquisitions: times[ACQ],
      contended: cells[at + CONTENDED],
      waitMsMax: times[WAIT_MAX],
    };
    acquisitions += entry.acquisitions;
    contended += entry.contended;
    waitMsTotal += times[WAIT_TOTAL];
    waitMsMax = Math.max(waitMsMax, times[WAIT_MAX]);
    byThread.push(entry);
  }
  return { acquisitions, contended, waitMsTotal, waitMsMax, byThread };
}
