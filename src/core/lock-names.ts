/**
 * How messages name a lock: its `name` (`new Lock({ name: "accounts" })`), or "Lock#N" /
 * "RLock#N" with N handed out once, at construction, from a process-wide counter. Both
 * live in the lock's shared cells, so a thread that knows the lock only by the heap
 * offset in another thread's wait record (a deadlock message, a dump) names it the same.
 *
 * Layout, in a lock's cells (lock.ts keeps cells 0..3 for itself, statistics follow):
 *   [4] ID          the N of "Lock#N"
 *   [5] FLAGS       RLOCK: the Lock an RLock is built on, named "RLock#N"; DIED: see lock.ts
 *   [6] NAME_BYTES  length of the UTF-8 name at NAME_AT, 0 for none
 *   [NAME_AT..]     the name, at most NAME_CAPACITY bytes
 */
import { STATS_AT, STATS_CELLS } from "./lock-stats.js";
import { nextLockId } from "./thread-table.js";

const ID = 4;
/** The flags cell of a lock's cells. */
export const FLAGS = 5;
const NAME_BYTES = 6;
/** Flag: the Lock of an RLock. */
export const RLOCK = 1;
/** Where the name starts, in cells: after the statistics. */
export const NAME_AT = STATS_AT + STATS_CELLS;
/** The longest name kept, in UTF-8 bytes (longer ones are cut, at a character boundary). */
export const NAME_CAPACITY = 200;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The UTF-8 bytes of `name` that the cells keep. */
export function encodeName(name: string | undefined): Uint8Array {
  if (name === undefined || name === "") return new Uint8Array(0);
  const bytes = encoder.encode(name);
  if (bytes.length <= NAME_CAPACITY) return bytes;
  let end = NAME_CAPACITY;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // not inside a character
  return bytes.subarray(0, end);
}

/** How many cells a lock needs in all, with `name` encoded as `encodeName` did. */
export function cellsWithName(encoded: Uint8Array): number {
  return NAME_AT + Math.ceil(encoded.length / 4);
}

/** Writes the id, the flags and the name into a new lock's cells. */
export function writeLabel(cells: Int32Array, encoded: Uint8Array, rlock: boolean): void {
  cells[ID] = nextLockId(rlock);
  cells[FLAGS] = rlock ? RLOCK : 0;
  new Uint8Array(cells.buffer, cells.byteOffset + NAME_AT * 4, encoded.length).set(encoded);
  cells[NAME_BYTES] = encoded.length;
}

/** The lock's label, from its cells at `base` in `heap` (cells of the whole heap). */
export function labelAt(heap: Int32Array, base: number): string {
  const length = Math.min(Math.max(heap[base + NAME_BYTES], 0), NAME_CAPACITY);
  if (length > 0) {
    const start = heap.byteOffset + (base + NAME_AT) * 4;
    return decoder.decode(new Uint8Array(heap.buffer, start, length).slice());
  }
  return `${(heap[base + FLAGS] & RLOCK) !== 0 ? "RLock" : "Lock"}#${heap[base + ID]}`;
}

/** The lock's `name`, or `undefined` if it has none. */
export function nameAt(cells: Int32Array): string | undefined {
  return cells[NAME_BYTES] > 0 ? labelAt(cells, 0) : undefined;
}
