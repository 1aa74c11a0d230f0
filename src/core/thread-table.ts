/**
 * The table of live threads, in shared memory so that `enumerate()` and `activeCount()`
 * answer the same in every thread (and, later, so a thread dump can read it from anywhere).
 *
 * Layout: SLOTS slots of SLOT_CELLS Int32 cells each:
 *   [0] IDENT      ident of the live thread in the slot, 0 when free (claimed by compare-and-swap)
 *   [1] NATIVE_ID  worker threadId (0 for the main thread)
 *   [2] FLAGS      1 daemon, 2 main thread
 *   [3] WAITING_ON reserved for the diagnostics: what the thread is parked on
 *   [4] NAME_BYTES length of the UTF-8 name that follows
 *   [5..31]        the name, truncated to NAME_CAPACITY bytes
 */
import { FOREIGN_IDENT_BASE, homeIdent, homeMemory } from "./identity.js";

const SLOTS = 2048;
const SLOT_CELLS = 32;
const IDENT = 0;
const NATIVE_ID = 1;
const FLAGS = 2;
const NAME_BYTES = 4;
const NAME_AT = 5 * 4;
const NAME_CAPACITY = (SLOT_CELLS - 5) * 4;

/** Thread flags kept in the table. */
export const DAEMON = 1;
export const MAIN = 2;

/** A live thread as the table records it. */
export interface ThreadRecord {
  readonly slot: number;
  readonly ident: number;
  readonly nativeId: number;
  readonly daemon: boolean;
  readonly main: boolean;
  readonly name: string;
}

/** This world's table: a home thread makes it, a carrier maps its home's as this module loads. */
const cells = new Int32Array(homeMemory?.registry ?? new SharedArrayBuffer(SLOTS * SLOT_CELLS * 4));
const bytes = new Uint8Array(cells.buffer);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The table's memory, to hand to a new worker. */
export function registryBuffer(): SharedArrayBuffer {
  return cells.buffer as SharedArrayBuffer;
}

/**
 * Records a thread as alive; returns its slot, or -1 if the table is full (the thread
 * then runs, but other threads cannot list it).
 */
export function registerThread(ident: number, name: string, flags: number, nativeId = 0): number {
  for (let slot = 0; slot < SLOTS; slot++) {
    const base = slot * SLOT_CELLS;
    if (Atomics.load(cells, base + IDENT) !== 0 || Atomics.compareExchange(cells, base + IDENT, 0, -1) !== 0) continue;
    const encoded = encoder.encode(name).subarray(0, NAME_CAPACITY);
    bytes.set(encoded, base * 4 + NAME_AT);
    cells[base + NAME_BYTES] = encoded.length;
    cells[base + FLAGS] = flags;
    cells[base + NATIVE_ID] = nativeId;
    Atomics.store(cells, base + IDENT, ident);
    return slot;
  }
  return -1;
}

/** Fills in the native id once the worker that runs the thread is known. */
export function setNativeId(slot: number, nativeId: number): void {
  if (slot >= 0) Atomics.store(cells, slot * SLOT_CELLS + NATIVE_ID, nativeId);
}

/** The native id recorded in a slot (0 if not known yet). */
export function nativeIdOf(slot: number): number {
  return slot >= 0 ? Atomics.load(cells, slot * SLOT_CELLS + NATIVE_ID) : 0;
}

/** Frees a slot when its thread ends (only if it still holds `ident`). */
export function unregisterThread(slot: number, ident: number): void {
  if (slot >= 0) Atomics.compareExchange(cells, slot * SLOT_CELLS + IDENT, ident, 0);
}

/** True while `ident` is recorded as alive in `slot`. */
export function isRegistered(slot: number, ident: number): boolean {
  return slot >= 0 && Atomics.load(cells, slot * SLOT_CELLS + IDENT) === ident;
}

/**
 * False only when `ident` is known to have ended: a weft thread that is no longer in the
 * table. The home thread, and code on a carrier between threads, count as alive.
 */
export function isIdentAlive(ident: number): boolean {
  if (ident === homeIdent || ident >= FOREIGN_IDENT_BASE) return true;
  for (let slot = 0; slot < SLOTS; slot++) if (Atomics.load(cells, slot * SLOT_CELLS + IDENT) === ident) return true;
  return false;
}

/** Every live thread, in slot order (the main thread first). */
export function liveThreads(): ThreadRecord[] {
  const found: ThreadRecord[] = [];
  for (let slot = 0; slot < SLOTS; slot++) {
    const base = slot * SLOT_CELLS;
    const ident = Atomics.load(cells, base + IDENT);
    if (ident <= 0) continue;
    const flags = cells[base + FLAGS];
    const length = cells[base + NAME_BYTES];
    found.push({
      slot,
      ident,
      nativeId: cells[base + NATIVE_ID],
      daemon: (flags & DAEMON) !== 0,
      main: (flags & MAIN) !== 0,
      name: decoder.decode(bytes.slice(base * 4 + NAME_AT, base * 4 + NAME_AT + length)),
    });
  }
  return found;
}

/** How many threads are alive. */
export function liveCount(): number {
  let count = 0;
  for (let slot = 0; slot < SLOTS; slot++) if (Atomics.load(cells, slot * SLOT_CELLS + IDENT) > 0) count++;
  return count;
}

/**
 * The name of the live thread `ident`, or `undefined` if no live thread has it (for
 * diagnostics, such as a lock's repr). Reads without locking; a slot reused meanwhile
 * reads as not found.
 */
export function nameOfIdent(ident: number): string | undefined {
  if (ident <= 0) return undefined;
  for (let slot = 0; slot < SLOTS; slot++) {
    const base = slot * SLOT_CELLS;
    if (Atomics.load(cells, base + IDENT) !== ident) continue;
    const length = Math.min(Math.max(cells[base + NAME_BYTES], 0), NAME_CAPACITY);
    const name = decoder.decode(bytes.slice(base * 4 + NAME_AT, base * 4 + NAME_AT + length));
    return Atomics.load(cells, base + IDENT) === ident ? name : undefined;
  }
  return undefined;
}
