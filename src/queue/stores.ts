/**
 * Where a queue keeps its items: encoded bytes in blocks of the shared heap, in the order
 * each kind of queue hands them out. Every method runs under the queue's mutex, and each
 * change becomes visible through the header cells written last, so a thread that dies
 * mid-way leaves the previous state intact.
 *
 * FIFO ring (Queue, SimpleQueue): entries [u32 length][bytes][pad to 4] one after another,
 *   wrapping at the end (a WRAP length says "continue at byte 0"). An item above
 *   EXTERNAL_ABOVE bytes goes to a block of its own and the entry holds [length | EXTERNAL]
 *   [offset], so one huge item never makes the ring huge. The ring grows when full and
 *   shrinks back once drained.
 * LIFO stack (LifoQueue): entries [bytes][pad][u32 length] from byte 0 up; pop from the top.
 * Priority heap (PriorityQueue): each item in a block of its own; the store is a binary
 *   heap of [block offset, arrival number] pairs ordered by the decoded items, then by
 *   arrival, so equal priorities stay FIFO.
 */
import { allocateBlock, heapBuffer, releaseBlock, type SharedBlock } from "../core/memory.js";
import { decodeItem } from "./codec.js";

/** Header cells a store reads and writes (indices into the queue's header). */
export const STORE = 0;
export const STORE_SIZE = 1;
export const HEAD = 2;
export const TAIL = 3;
export const USED = 4;
export const ARRIVALS = 5;
export const STORE_CELLS = 6;

const INITIAL_SIZE = 4096;
const SHRINK_ABOVE = 64 * 1024;
/** Items above this size get a block of their own instead of a place in the ring. */
const EXTERNAL_ABOVE = 64 * 1024;
const WRAP = 0xffffffff;
const EXTERNAL = 0x80000000;

/** The bytes of one item, copied out of the store. */
export interface TakenItem {
  bytes: Uint8Array;
  start: number;
}

/** One kind of ordering. `cells` is the queue's header; `base` where the store's cells start. */
export interface ItemStore {
  push(cells: Int32Array, base: number, bytes: Uint8Array, length: number, store: StoreView): void;
  pop(cells: Int32Array, base: number, into: Scratch, store: StoreView): TakenItem;
  /** Frees every block the store holds (the queue itself is being freed). */
  destroy(cells: Int32Array, base: number): void;
}

/** A thread-local buffer to copy items out into. */
export class Scratch {
  bytes: Buffer = Buffer.allocUnsafe(1024);
  fit(length: number): Buffer {
    if (length > this.bytes.length) this.bytes = Buffer.allocUnsafe(Math.max(length, this.bytes.length * 2));
    return this.bytes;
  }
}

function view(offset: number, size: number): Buffer {
  return Buffer.from(heapBuffer(), offset, size);
}

/**
 * A thread's view of a store block, remade only when the store moves (it grows or
 * shrinks): building a view per operation would cost more than the operation.
 */
export class StoreView {
  offset = -1;
  size = 0;
  bytes: Uint8Array = new Uint8Array(0);
  data = new DataView(this.bytes.buffer);

  /** Points the view at the store's current block. */
  sync(cells: Int32Array, base: number): this {
    const offset = cells[base + STORE];
    const size = cells[base + STORE_SIZE];
    if (offset !== this.offset || size !== this.size) {
      this.offset = offset;
      this.size = size;
      this.bytes = new Uint8Array(heapBuffer(), offset, size);
      this.data = new DataView(heapBuffer(), offset, size);
    }
    return this;
  }
}

/** Copies bytes; small copies by hand, since a native call costs more than the loop. */
export function copyBytes(from: Uint8Array, fromStart: number, to: Uint8Array, toStart: number, length: number): void {
  if (length <= 64) {
    for (let i = 0; i < length; i++) to[toStart + i] = from[fromStart + i];
  } else {
    to.set(from.subarray(fromStart, fromStart + length), toStart);
  }
}

function blockAt(offset: number, size: number): SharedBlock {
  return { buffer: heapBuffer(), byteOffset: offset, byteLength: size };
}

function newStore(cells: Int32Array, base: number, size: number): Buffer {
  const block = allocateBlock(size);
  cells[base + STORE] = block.byteOffset;
  cells[base + STORE_SIZE] = block.byteLength;
  return view(block.byteOffset, block.byteLength);
}

function freeStore(cells: Int32Array, base: number): void {
  const offset = cells[base + STORE];
  if (offset !== 0) releaseBlock(blockAt(offset, cells[base + STORE_SIZE]));
  cells[base + STORE] = 0;
  cells[base + STORE_SIZE] = 0;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Copies `length` bytes into a block of their own; returns its offset. */
function externalize(bytes: Uint8Array, length: number): number {
  const block = allocateBlock(length);
  copyBytes(bytes, 0, new Uint8Array(heapBuffer(), block.byteOffset, length), 0, length);
  return block.byteOffset;
}

function takeExternal(offset: number, length: number, into: Scratch): TakenItem {
  const out = into.fit(length);
  copyBytes(new Uint8Array(heapBuffer(), offset, length), 0, out, 0, length);
  releaseBlock(blockAt(offset, length));
  return { bytes: out, start: 0 };
}

/** FIFO: a ring of entries. */
export const fifoStore: ItemStore = {
  push(cells, base, bytes, length, store) {
    const external = length > EXTERNAL_ABOVE;
    const need = 4 + (external ? 4 : align4(length));
    const at = reserve(cells, base, need, store);
    const ring = store.sync(cells, base);
    if (external) {
      ring.data.setUint32(at, (length | EXTERNAL) >>> 0, true);
      ring.data.setUint32(at + 4, externalize(bytes, length), true);
    } else {
      ring.data.setUint32(at, length, true);
      copyBytes(bytes, 0, ring.bytes, at + 4, length);
    }
  },

  pop(cells, base, into, store) {
    const size = cells[base + STORE_SIZE];
    const ring = store.sync(cells, base);
    let head = cells[base + HEAD];
    let used = cells[base + USED];
    if (size - head < 4 || ring.data.getUint32(head, true) === WRAP) {
      used -= size - head;
      head = 0;
    }
    const word = ring.data.getUint32(head, true);
    let taken: TakenItem;
    let span: number;
    if (word & EXTERNAL) {
      const length = (word & ~EXTERNAL) >>> 0;
      taken = takeExternal(ring.data.getUint32(head + 4, true), length, into);
      span = 8;
    } else {
      const out = into.fit(word);
      copyBytes(ring.bytes, head + 4, out, 0, word);
      taken = { bytes: out, start: 0 };
      span = 4 + align4(word);
    }
    used -= span;
    cells[base + HEAD] = used === 0 ? 0 : head + span;
    cells[base + TAIL] = used === 0 ? 0 : cells[base + TAIL];
    cells[base + USED] = used;
    if (used === 0 && size > SHRINK_ABOVE) {
      freeStore(cells, base);
      newStore(cells, base, INITIAL_SIZE);
    }
    return taken;
  },

  destroy(cells, base) {
    const scratch = new Scratch();
    const store = new StoreView();
    while (cells[base + USED] > 0) this.pop(cells, base, scratch, store);
    freeStore(cells, base);
  },
};

/**
 * Finds room for `need` bytes at the ring's tail (wrapping, or growing the ring), and
 * commits it: HEAD/TAIL/USED are written last. Returns where to write.
 */
function reserve(cells: Int32Array, base: number, need: number, store: StoreView): number {
  for (;;) {
    const size = cells[base + STORE_SIZE];
    let head = cells[base + HEAD];
    let tail = cells[base + TAIL];
    let used = cells[base + USED];
    if (used === 0) head = tail = 0;
    let at = -1;
    if (size > 0 && (tail > head || used === 0)) {
      if (size - tail >= need) at = tail;
      else if (head >= need) {
        // Not enough room before the end: mark the rest as skipped, continue at byte 0.
        if (size - tail >= 4) store.sync(cells, base).data.setUint32(tail, WRAP, true);
        used += size - tail;
        at = 0;
      }
    } else if (tail < head && head - tail >= need) {
      at = tail;
    }
    if (at < 0) {
      grow(cells, base, need);
      continue;
    }
    cells[base + HEAD] = head;
    cells[base + USED] = used + need;
    cells[base + TAIL] = at + need;
    return at;
  }
}

/** Moves the ring's entries, in order, into a ring with room for `need` more bytes. */
function grow(cells: Int32Array, base: number, need: number): void {
  const oldSize = cells[base + STORE_SIZE];
  let size = Math.max(INITIAL_SIZE, oldSize);
  while (size < cells[base + USED] + need + 8) size *= 2;
  if (size === oldSize) size *= 2;
  if (oldSize === 0) {
    newStore(cells, base, size);
    cells[base + HEAD] = cells[base + TAIL] = cells[base + USED] = 0;
    return;
  }
  const old = view(cells[base + STORE], oldSize);
  const oldBlock = blockAt(cells[base + STORE], oldSize);
  const block = allocateBlock(size);
  const ring = view(block.byteOffset, block.byteLength);
  let head = cells[base + HEAD];
  let left = cells[base + USED];
  let tail = 0;
  while (left > 0) {
    if (oldSize - head < 4 || old.readUInt32LE(head) === WRAP) {
      left -= oldSize - head;
      head = 0;
      continue;
    }
    const word = old.readUInt32LE(head);
    const span = word & EXTERNAL ? 8 : 4 + align4(word);
    old.copy(ring, tail, head, head + span);
    tail += span;
    head += span;
    left -= span;
  }
  cells[base + HEAD] = 0;
  cells[base + TAIL] = tail;
  cells[base + USED] = tail;
  cells[base + STORE_SIZE] = block.byteLength;
  cells[base + STORE] = block.byteOffset;
  releaseBlock(oldBlock);
}

/** LIFO: a stack of entries with their length at the end. */
export const lifoStore: ItemStore = {
  push(cells, base, bytes, length, store) {
    const need = align4(length) + 4;
    let size = cells[base + STORE_SIZE];
    const top = cells[base + TAIL];
    if (top + need > size) {
      let grown = Math.max(INITIAL_SIZE, size * 2);
      while (grown < top + need) grown *= 2;
      const old = size === 0 ? undefined : view(cells[base + STORE], size);
      const oldOffset = cells[base + STORE];
      const fresh = newStore(cells, base, grown);
      old?.copy(fresh, 0, 0, top);
      if (old !== undefined) releaseBlock(blockAt(oldOffset, size));
      size = cells[base + STORE_SIZE];
    }
    const stack = store.sync(cells, base);
    copyBytes(bytes, 0, stack.bytes, top, length);
    stack.data.setUint32(top + need - 4, length, true);
    cells[base + TAIL] = top + need;
  },

  pop(cells, base, into, store) {
    const size = cells[base + STORE_SIZE];
    const stack = store.sync(cells, base);
    const top = cells[base + TAIL];
    const length = stack.data.getUint32(top - 4, true);
    const start = top - 4 - align4(length);
    const out = into.fit(length);
    copyBytes(stack.bytes, start, out, 0, length);
    cells[base + TAIL] = start;
    if (start === 0 && size > SHRINK_ABOVE) freeStore(cells, base);
    return { bytes: out, start: 0 };
  },

  destroy(cells, base) {
    freeStore(cells, base);
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
  if ((ta === "number" || ta === "bigint" || ta === "string") && ta === typeof b) {
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if ((ta === "number" && typeof b === "bigint") || (ta === "bigint" && typeof b === "number")) {
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  return 0;
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

interface Entry {
  offset: number;
  length: number;
  arrival: number;
}

const ENTRY_CELLS = 3;

function readEntry(heap: Int32Array, i: number): Entry {
  return { offset: heap[i * ENTRY_CELLS], length: heap[i * ENTRY_CELLS + 1], arrival: heap[i * ENTRY_CELLS + 2] };
}

function writeEntry(heap: Int32Array, i: number, entry: Entry): void {
  heap[i * ENTRY_CELLS] = entry.offset;
  heap[i * ENTRY_CELLS + 1] = entry.length;
  heap[i * ENTRY_CELLS + 2] = entry.arrival;
}

function decodeEntry(entry: Entry): unknown {
  return decodeItem(view(entry.offset, entry.length), 0, true);
}

function before(a: Entry, aItem: unknown, b: Entry, bItem: unknown): boolean {
  const order = compareItems(aItem, bItem);
  return order < 0 || (order === 0 && a.arrival - b.arrival < 0);
}

/** Priority: a binary heap of entries; USED counts entries. */
export const priorityStore: ItemStore = {
  push(cells, base, bytes, length) {
    const count = cells[base + USED];
    let size = cells[base + STORE_SIZE];
    if ((count + 1) * ENTRY_CELLS * 4 > size) {
      const grown = Math.max(INITIAL_SIZE, size * 2);
      const oldOffset = cells[base + STORE];
      const old = size === 0 ? undefined : view(oldOffset, size);
      const fresh = newStore(cells, base, grown);
      old?.copy(fresh, 0, 0, count * ENTRY_CELLS * 4);
      if (old !== undefined) releaseBlock(blockAt(oldOffset, size));
      size = cells[base + STORE_SIZE];
    }
    const heap = new Int32Array(heapBuffer(), cells[base + STORE], size >> 2);
    const entry: Entry = { offset: externalize(bytes, length), length, arrival: cells[base + ARRIVALS]++ };
    const item = decodeItem(bytes, 0, true);
    let i = count;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const up = readEntry(heap, parent);
      if (!before(entry, item, up, decodeEntry(up))) break;
      writeEntry(heap, i, up);
      i = parent;
    }
    writeEntry(heap, i, entry);
    cells[base + USED] = count + 1;
  },

  pop(cells, base, into) {
    const count = cells[base + USED] - 1;
    const heap = new Int32Array(heapBuffer(), cells[base + STORE], cells[base + STORE_SIZE] >> 2);
    const top = readEntry(heap, 0);
    if (count > 0) {
      const last = readEntry(heap, count);
      const lastItem = decodeEntry(last);
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= count) break;
        const right = left + 1;
        let child = left;
        let childEntry = readEntry(heap, left);
        let childItem = decodeEntry(childEntry);
        if (right < count) {
          const rightEntry = readEntry(heap, right);
          const rightItem = decodeEntry(rightEntry);
          if (before(rightEntry, rightItem, childEntry, childItem)) {
            child = right;
            childEntry = rightEntry;
            childItem = rightItem;
          }
        }
        if (!before(childEntry, childItem, last, lastItem)) break;
        writeEntry(heap, i, childEntry);
        i = child;
      }
      writeEntry(heap, i, last);
    }
    cells[base + USED] = count;
    return takeExternal(top.offset, top.length, into);
  },

  destroy(cells, base) {
    const scratch = new Scratch();
    while (cells[base + USED] > 0) this.pop(cells, base, scratch, new StoreView());
    freeStore(cells, base);
  },
};
