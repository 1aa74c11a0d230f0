/**
 * The table of live threads, in shared memory so that `enumerate()` and `activeCount()`
 * answer the same in every thread, and so that the diagnostics (deadlock detection, owner
 * death, thread dumps, the watchdog) can read from anywhere what each thread waits on.
 *
 * Layout: SLOTS slots of SLOT_CELLS Int32 cells each, then HEADER_CELLS global cells.
 *   slot [0] IDENT      ident of the live thread in the slot, 0 when free (claimed by compare-and-swap)
 *        [1] NATIVE_ID  worker threadId (0 for the main thread)
 *        [2] FLAGS      1 daemon, 2 main thread
 *        [3] WAITS      how many of the slot's wait records are in use (a hint for readers)
 *        [4] NAME_BYTES length of the UTF-8 name that follows
 *        [5..30]        the name, truncated to NAME_CAPACITY bytes
 *        [31] ANSWER    the last DOORBELL ring that the thread's event loop answered
 *        [62] LAST_IDENT the ident of the thread that last ended here (its name stays till reuse)
 *        [63] DOORBELL  rung by a deadlock detector to learn that the thread's event loop
 *                       runs (see diagnostics/deadlock.ts)
 *        [32..61]       RECORDS wait records of RECORD_CELLS cells, written only by the slot's thread:
 *                       [0] SEQ    odd while the record is being written; bumped by every change
 *                       [1] KIND   what it waits on (a WaitKind's code, see WAIT_KINDS); 0: record free
 *                       [2] OFFSET byte offset in the shared heap of the object's cells, -1 for none
 *                       [3] TARGET for a join: the ident joined
 *                       [4] START  when the wait began: wall-clock ms, wrapped to Int32
 *                       [5] FLAGS  1: async (an event loop waits; the thread may run meanwhile)
 *   header [0] DETECT   the deadlock detector's mutex (core/mutex.ts): publishing a wait and
 *                       looking for a cycle is one step, so two threads closing one cycle at
 *                       once see it one after the other, and only the second throws
 *          [1] LOCK_IDS   the last N handed to an unnamed "Lock#N"
 *          [2] RLOCK_IDS  the last N handed to an unnamed "RLock#N"
 *          [3] HIGH_WATER one past the highest slot ever claimed: scans stop there
 *
 * A thread may have several waits at once only on an event loop (the main thread awaiting
 * a lock in one task and a join in another); RECORDS of them are recorded, the rest are
 * not (and so are not seen by the diagnostics).
 */
import { FOREIGN_IDENT_BASE, homeIdent, homeMemory } from "./identity.js";
import type { WaitKind } from "./wait-hooks.js";

const SLOTS = 2048;
const SLOT_CELLS = 64;
const IDENT = 0;
const NATIVE_ID = 1;
const FLAGS = 2;
const WAITS = 3;
const NAME_BYTES = 4;
const NAME_AT = 5 * 4;
const NAME_CAPACITY = (31 - 5) * 4;
/** Written by the slot's thread: the last DOORBELL ring its event loop answered. */
const ANSWER = 31;
const RECORDS_AT = 32;
/** How many waits of one thread are recorded at once. */
export const RECORDS = 5;
const RECORD_CELLS = 6;
const SEQ = 0;
const KIND = 1;
const OFFSET = 2;
const TARGET = 3;
const START = 4;
const RECORD_FLAGS = 5;
/** The ident of the thread that last ended in the slot: its name stays until the slot is reused. */
const LAST_IDENT = RECORDS_AT + RECORDS * RECORD_CELLS;
/** Rung (incremented, notified) by a thread that asks whether the slot's event loop is idle. */
const DOORBELL = LAST_IDENT + 1;
const HEADER_AT = SLOTS * SLOT_CELLS;
const HEADER_CELLS = 8;
const DETECT = HEADER_AT;
const LOCK_IDS = HEADER_AT + 1;
const RLOCK_IDS = HEADER_AT + 2;
const HIGH_WATER = HEADER_AT + 3;

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
const cells = new Int32Array(homeMemory?.registry ?? new SharedArrayBuffer((SLOTS * SLOT_CELLS + HEADER_CELLS) * 4));
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
    for (let high = Atomics.load(cells, HIGH_WATER); high <= slot; high = Atomics.load(cells, HIGH_WATER)) {
      if (Atomics.compareExchange(cells, HIGH_WATER, high, slot + 1) === high) break;
    }
    for (let r = 0; r < RECORDS; r++) Atomics.store(cells, base + RECORDS_AT + r * RECORD_CELLS + KIND, 0);
    cells[base + WAITS] = 0;
    Atomics.store(cells, base + LAST_IDENT, 0);
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

const endListeners: ((ident: number) => void)[] = [];

/**
 * @internal Calls `listener(ident)` in this thread each time it frees a thread's slot: how
 * the owner-death handling wakes waiters of locks that the ended thread held.
 */
export function onThreadEnded(listener: (ident: number) => void): void {
  endListeners.push(listener);
}

/** Frees a slot when its thread ends (only if it still holds `ident`), then tells the listeners. */
export function unregisterThread(slot: number, ident: number): void {
  if (slot < 0) return;
  const base = slot * SLOT_CELLS;
  Atomics.store(cells, base + LAST_IDENT, ident);
  if (Atomics.compareExchange(cells, base + IDENT, ident, 0) !== ident) return;
  for (const listener of endListeners) {
    try {
      listener(ident);
    } catch {
      // A diagnostic must not break a thread's end.
    }
  }
}

/** One past the highest slot ever used: slots beyond it are all free. */
function scanEnd(): number {
  return Math.min(Atomics.load(cells, HIGH_WATER), SLOTS);
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
  for (let slot = 0, end = scanEnd(); slot < end; slot++) if (Atomics.load(cells, slot * SLOT_CELLS + IDENT) === ident) return true;
  return false;
}

/** Every live thread, in slot order (the main thread first). */
export function liveThreads(): ThreadRecord[] {
  const found: ThreadRecord[] = [];
  for (let slot = 0, end = scanEnd(); slot < end; slot++) {
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
  for (let slot = 0, end = scanEnd(); slot < end; slot++) if (Atomics.load(cells, slot * SLOT_CELLS + IDENT) > 0) count++;
  return count;
}

/**
 * The name of the live thread `ident`, or `undefined` if no live thread has it (for
 * diagnostics, such as a lock's repr). Reads without locking; a slot reused meanwhile
 * reads as not found.
 */
export function nameOfIdent(ident: number): string | undefined {
  if (ident <= 0) return undefined;
  for (let slot = 0, end = scanEnd(); slot < end; slot++) {
    const base = slot * SLOT_CELLS;
    if (Atomics.load(cells, base + IDENT) !== ident) continue;
    const length = Math.min(Math.max(cells[base + NAME_BYTES], 0), NAME_CAPACITY);
    const name = decoder.decode(bytes.slice(base * 4 + NAME_AT, base * 4 + NAME_AT + length));
    return Atomics.load(cells, base + IDENT) === ident ? name : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Wait records: what each thread is parked on, written only by that thread.

/** The wait kinds that a record can name, by code (index + 1). */
export const WAIT_KINDS: readonly WaitKind[] = [
  "lock",
  "rlock",
  "condition",
  "semaphore",
  "event",
  "barrier",
  "queue-get",
  "queue-put",
  "queue-join",
  "join",
  "sleep",
  "future",
];

/** A wait kind's name. */
export type RecordKind = WaitKind;

function kindCode(kind: WaitKind): number {
  const at = WAIT_KINDS.indexOf(kind);
  return at >= 0 ? at + 1 : WAIT_KINDS.indexOf("future") + 1;
}

/** A wait as another thread reads it from the table. */
export interface WaitRecord {
  readonly slot: number;
  /** The thread that waits. */
  readonly ident: number;
  /** Which of the slot's records (0..RECORDS-1). */
  readonly index: number;
  /** Bumped on every change of the record: an unchanged SEQ means the same wait. */
  readonly seq: number;
  readonly kind: RecordKind;
  /** Byte offset of the object's cells in the shared heap, -1 for none. */
  readonly offset: number;
  /** For a join: the ident joined. */
  readonly target: number;
  /** When the wait began (wall-clock ms, wrapped to Int32; see {@link elapsedSince}). */
  readonly start: number;
  readonly async: boolean;
}

/** Now, in the wrapped wall-clock ms that records keep. */
export function wrappedNow(): number {
  return Math.floor(performance.timeOrigin + performance.now()) | 0;
}

/** Milliseconds since a wrapped start time. */
export function elapsedSince(start: number): number {
  return Math.max(0, (wrappedNow() - start) | 0);
}

let cachedIdent = 0;
let cachedSlot = -1;

/** The slot of the thread running now, or -1 (found once per thread, then cached). */
export function currentSlot(ident: number): number {
  if (ident === cachedIdent && cachedSlot >= 0 && Atomics.load(cells, cachedSlot * SLOT_CELLS + IDENT) === ident) return cachedSlot;
  cachedIdent = ident;
  cachedSlot = -1;
  for (let slot = 0, end = scanEnd(); slot < end; slot++) {
    if (Atomics.load(cells, slot * SLOT_CELLS + IDENT) === ident) {
      cachedSlot = slot;
      break;
    }
  }
  return cachedSlot;
}

/**
 * Records, in the current thread's slot, the start of a wait; returns a handle for
 * {@link clearWait}, or -1 when the slot is unknown or every record is in use.
 */
export function recordWait(slot: number, kind: RecordKind, offset: number, target: number, async: boolean): number {
  if (slot < 0) return -1;
  const base = slot * SLOT_CELLS + RECORDS_AT;
  for (let r = 0; r < RECORDS; r++) {
    const at = base + r * RECORD_CELLS;
    if (cells[at + KIND] !== 0) continue;
    Atomics.add(cells, at + SEQ, 1); // odd: being written
    cells[at + OFFSET] = offset;
    cells[at + TARGET] = target;
    cells[at + START] = wrappedNow();
    cells[at + RECORD_FLAGS] = async ? 1 : 0;
    Atomics.store(cells, at + KIND, kindCode(kind));
    Atomics.add(cells, at + SEQ, 1); // even: stable
    Atomics.add(cells, slot * SLOT_CELLS + WAITS, 1);
    return slot * RECORDS + r;
  }
  return -1;
}

/** Ends the wait that {@link recordWait} recorded. */
export function clearWait(handle: number): void {
  if (handle < 0) return;
  const slot = Math.floor(handle / RECORDS);
  const at = slot * SLOT_CELLS + RECORDS_AT + (handle % RECORDS) * RECORD_CELLS;
  Atomics.add(cells, at + SEQ, 1);
  Atomics.store(cells, at + KIND, 0);
  Atomics.add(cells, at + SEQ, 1);
  Atomics.sub(cells, slot * SLOT_CELLS + WAITS, 1);
}

/** The SEQ of a record, to tell later whether it still describes the same wait. */
export function recordSeq(slot: number, index: number): number {
  return Atomics.load(cells, slot * SLOT_CELLS + RECORDS_AT + index * RECORD_CELLS + SEQ);
}

/**
 * The waits recorded for the thread in `slot` (which must hold `ident`), each read
 * consistently (a record being rewritten meanwhile is read again).
 */
export function waitsOf(slot: number, ident: number): WaitRecord[] {
  const found: WaitRecord[] = [];
  const slotBase = slot * SLOT_CELLS;
  if (Atomics.load(cells, slotBase + WAITS) <= 0) return found;
  for (let r = 0; r < RECORDS; r++) {
    const at = slotBase + RECORDS_AT + r * RECORD_CELLS;
    for (let attempt = 0; attempt < 100; attempt++) {
      const seq = Atomics.load(cells, at + SEQ);
      if ((seq & 1) !== 0) continue;
      const code = Atomics.load(cells, at + KIND);
      const record: WaitRecord | undefined =
        code === 0
          ? undefined
          : {
              slot,
              ident,
              index: r,
              seq,
              kind: WAIT_KINDS[code - 1] ?? "future",
              offset: Atomics.load(cells, at + OFFSET),
              target: Atomics.load(cells, at + TARGET),
              start: Atomics.load(cells, at + START),
              async: Atomics.load(cells, at + RECORD_FLAGS) === 1,
            };
      if (Atomics.load(cells, at + SEQ) !== seq) continue;
      if (record !== undefined) found.push(record);
      break;
    }
  }
  return Atomics.load(cells, slotBase + IDENT) === ident ? found : [];
}

/** The slot of the live thread `ident`, or -1. */
export function slotOfIdent(ident: number): number {
  if (ident <= 0) return -1;
  for (let slot = 0, end = scanEnd(); slot < end; slot++) if (Atomics.load(cells, slot * SLOT_CELLS + IDENT) === ident) return slot;
  return -1;
}

/** @internal The table's cells and the index of the detector's mutex in them (core/mutex.ts). */
export function detectorMutex(): { cells: Int32Array; at: number } {
  return { cells, at: DETECT };
}

/** A fresh N for an unnamed "Lock#N" (or, with `rlock`, "RLock#N"), the same in every thread. */
export function nextLockId(rlock: boolean): number {
  return Atomics.add(cells, rlock ? RLOCK_IDS : LOCK_IDS, 1) + 1;
}

/** The name of a thread, alive or ended while its slot has not been reused yet; else "thread N". */
export function nameOrEnded(ident: number): string {
  const live = nameOfIdent(ident);
  if (live !== undefined) return live;
  for (let slot = 0, end = scanEnd(); slot < end; slot++) {
    const base = slot * SLOT_CELLS;
    if (Atomics.load(cells, base + LAST_IDENT) !== ident || Atomics.load(cells, base + IDENT) !== 0) continue;
    const length = Math.min(Math.max(cells[base + NAME_BYTES], 0), NAME_CAPACITY);
    const name = decoder.decode(bytes.slice(base * 4 + NAME_AT, base * 4 + NAME_AT + length));
    if (Atomics.load(cells, base + IDENT) === 0 && Atomics.load(cells, base + LAST_IDENT) === ident) return name;
  }
  return `thread ${ident}`;
}

/** The cells of a slot's doorbell: `cells[bell]` is rung, `cells[answer]` echoes the rings answered. */
export function doorbellOf(slot: number): { cells: Int32Array; bell: number; answer: number } {
  const base = slot * SLOT_CELLS;
  return { cells, bell: base + DOORBELL, answer: base + ANSWER };
}
