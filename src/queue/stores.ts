/**
 * The stores of LifoQueue and PriorityQueue, whose puts and gets touch the same end and so
 * share one mutex (the tail mutex). Every cell they change goes through an undo log
 * (core/undo-log.ts), so a thread that dies mid-operation leaves nothing half-done.
 *
 * LIFO stack: entries [bytes][pad][u32 length] from byte 0 of the store up; TOP is the end.
 * Priority heap: each item in a block of its own; the store is a binary heap of
 *   [block offset, length, arrival] triples ordered by the decoded items, then by arrival,
 *   so equal priorities stay FIFO. TOP counts the entries.
 */
import { allocateBlock, heapBuffer, releaseBlock } from "../core/memory.js";
import type { UndoLog } from "../core/undo-log.js";
import { decodeItem } from "./codec.js";
import { ARRIVALS, STORE, STORE_SIZE, TOP } from "./layout.js";
import { copyBytes, type Scratch, type TakenItem } from "./ring.js";

const INITIAL_SIZE = 4096;
const SHRINK_ABOVE = 64 * 1024;
const align4 = (n: number): number => (n + 3) & ~3;

/** A block to free once the operation that replaced it has committed. */
export interface FreeLater {
  offset: number;
  size: number;
}

/** One kind of ordering, under the tail mutex. */
export interface ItemStore {
  push(cells: Int32Array, bytes: Uint8Array, length: number, log: UndoLog): FreeLater | undefined;
  /** Takes the next item; blocks it leaves to free are freed by `finishTake` after the commit. */
  pop(cells: Int32Array, into: Scratch, log: UndoLog): TakenItem;
  destroy(cells: Int32Array): void;
}

/** Heap cell index of a header cell, for the undo log. */
function at(cells: Int32Array, cell: number): number {
  return (cells.byteOffset >> 2) + cell;
}

function bytesOf(offset: number, size: number): Uint8Array {
  return new Uint8Array(heapBuffer(), offset, size);
}

/** Frees a block left by a committed operation. */
export function freeBlock(offset: number, size: number): void {
  releaseBlock({ buffer: heapBuffer(), byteOffset: offset, byteLength: size });
}

/**
 * Replaces the store block with one of `size` bytes holding its first `keep` bytes. The
 * old block is returned for freeing after the commit (a rollback may still need it).
 */
function resize(cells: Int32Array, size: number, keep: number, log: UndoLog): FreeLater | undefined {
  const oldOffset = cells[STORE];
  const oldSize = cells[STORE_SIZE];
  const block = allocateBlock(size);
  if (keep > 0) copyBytes(bytesOf(oldOffset, keep), 0, bytesOf(block.byteOffset, keep), 0, keep);
  log.set(at(cells, STORE), block.byteOffset);
  log.set(at(cells, STORE_SIZE), block.byteLength);
  return oldSize === 0 ? undefined : { offset: oldOffset, size: oldSize };
}

/** LIFO: a stack of entries with their length at the end. */
export const lifoStore: ItemStore = {
  push(cells, bytes, length, log) {
    const need = align4(length) + 4;
    const top = cells[TOP];
    let old;
    if (top + need > cells[STORE_SIZE]) {
      let size = Math.max(INITIAL_SIZE, cells[STORE_SIZE] * 2);
      while (size < top + need) size *= 2;
      old = resize(cells, size, top, log);
    }
    // Bytes above TOP are unused until TOP moves, so they need no undo record.
    const stack = bytesOf(cells[STORE], cells[STORE_SIZE]);
    copyBytes(bytes, 0, stack, top, length);
    new DataView(stack.buffer, stack.byteOffset).setUint32(top + need - 4, length, true);
    log.set(at(cells, TOP), top + need);
    return old;
  },

  pop(cells, into, log) {
    const stack = bytesOf(cells[STORE], cells[STORE_SIZE]);
    const top = cells[TOP];
    const length = new DataView(stack.buffer, stack.byteOffset).getUint32(top - 4, true);
    const start = top - 4 - align4(length);
    copyBytes(stack, start, into.fit(length), 0, length);
    log.set(at(cells, TOP), start);
    if (start === 0 && cells[STORE_SIZE] > SHRINK_ABOVE) {
      const old = { offset: cells[STORE], size: cells[STORE_SIZE] };
      log.set(at(cells, STORE), 0);
      log.set(at(cells, STORE_SIZE), 0);
      return into.taken(old.offset, old.size);
    }
    return into.taken(-1, 0);
  },

  destroy(cells) {
    if (cells[STORE_SIZE] !== 0) freeBlock(cells[STORE], cells[STORE_SIZE]);
  },
};

/** Python's ordering for priority items: numbers, strings, bigints, arrays element by element. */
export function compareItems(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const order = compareItems(a[i], b[i]);
      if (order !== 0) return order;
    }
    return a.length - b.length;
  }
  const ta = typeof a;
  const tb = typeof b;
  const comparable = (ta === tb && (ta === "number" || ta === "bigint" || ta === "string")) || (ta === "number" && tb === "bigint") || (ta === "bigint" && tb === "number");
  if (!comparable) return 0;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Checks that an item can be ordered, before it goes in. */
export function checkOrderable(item: unknown): void {
  const t = typeof item;
  if (t === "number" || t === "bigint" || t === "string" || Array.isArray(item)) return;
  throw new TypeError(
    `PriorityQueue.put(item): items must be numbers, strings, bigints or arrays compared element by element ` +
      `(e.g. [priority, data]); got ${item === null ? "null" : t}`,
  );
}

const ENTRY_CELLS = 3;

interface Entry {
  offset: number;
  length: number;
  arrival: number;
}

function entries(cells: Int32Array): Int32Array {
  return new Int32Array(heapBuffer(), cells[STORE], cells[STORE_SIZE] >> 2);
}

function readEntry(heap: Int32Array, i: number): Entry {
  return { offset: heap[i * ENTRY_CELLS], length: heap[i * ENTRY_CELLS + 1], arrival: heap[i * ENTRY_CELLS + 2] };
}

function writeEntry(heap: Int32Array, i: number, entry: Entry, log: UndoLog): void {
  const base = (heap.byteOffset >> 2) + i * ENTRY_CELLS;
  log.set(base, entry.offset);
  log.set(base + 1, entry.length);
  log.set(base + 2, entry.arrival);
}

function peek(entry: Entry): unknown {
  return decodeItem(bytesOf(entry.offset, entry.length), 0, true);
}

function before(a: Entry, aItem: unknown, b: Entry, bItem: unknown): boolean {
  const order = compareItems(aItem, bItem);
  return order < 0 || (order === 0 && ((a.arrival - b.arrival) | 0) < 0);
}

/** Priority: a binary heap of entries. */
export const priorityStore: ItemStore = {
  push(cells, bytes, length, log) {
    const count = cells[TOP];
    let old;
    if ((count + 1) * ENTRY_CELLS * 4 > cells[STORE_SIZE]) old = resize(cells, Math.max(INITIAL_SIZE, cells[STORE_SIZE] * 2), count * ENTRY_CELLS * 4, log);
    const heap = entries(cells);
    const block = allocateBlock(length);
    copyBytes(bytes, 0, bytesOf(block.byteOffset, length), 0, length);
    const entry: Entry = { offset: block.byteOffset, length, arrival: cells[ARRIVALS] };
    log.set(at(cells, ARRIVALS), (cells[ARRIVALS] + 1) | 0);
    const item = decodeItem(bytes, 0, true);
    let i = count;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const up = readEntry(heap, parent);
      if (!before(entry, item, up, peek(up))) break;
      writeEntry(heap, i, up, log);
      i = parent;
    }
    writeEntry(heap, i, entry, log);
    log.set(at(cells, TOP), count + 1);
    return old;
  },

  pop(cells, into, log) {
    const count = cells[TOP] - 1;
    const heap = entries(cells);
    const top = readEntry(heap, 0);
    if (count > 0) {
      const last = readEntry(heap, count);
      const lastItem = peek(last);
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= count) break;
        let child = left;
        let childEntry = readEntry(heap, left);
        let childItem = peek(childEntry);
        if (left + 1 < count) {
          const right = readEntry(heap, left + 1);
          const rightItem = peek(right);
          if (before(right, rightItem, childEntry, childItem)) {
            child = left + 1;
            childEntry = right;
            childItem = rightItem;
          }
        }
        if (!before(childEntry, childItem, last, lastItem)) break;
        writeEntry(heap, i, childEntry, log);
        i = child;
      }
      writeEntry(heap, i, last, log);
    }
    log.set(at(cells, TOP), count);
    copyBytes(bytesOf(top.offset, top.length), 0, into.fit(top.length), 0, top.length);
    return into.taken(top.offset, top.length);
  },

  destroy(cells) {
    const heap = cells[STORE_SIZE] === 0 ? undefined : entries(cells);
    for (let i = 0; heap !== undefined && i < cells[TOP]; i++) {
      const entry = readEntry(heap, i);
      freeBlock(entry.offset, entry.length);
    }
    if (cells[STORE_SIZE] !== 0) freeBlock(cells[STORE], cells[STORE_SIZE]);
  },
};
