/**
 * The shared heap: one growable SharedArrayBuffer that every weft thread maps when it
 * starts, from which every primitive takes its cells.
 *
 * Why one heap rather than a SharedArrayBuffer per lock: a buffer can only reach another
 * thread inside a postMessage, but a queue item or a task in a shared ring travels as
 * bytes. With every primitive in one heap that all threads already hold, a shared object
 * is just an offset, and can ride inside any byte stream. The heap reserves address space
 * up front (HEAP_MAX) but commits memory only as it grows.
 *
 * Blocks are reference-counted across threads: each live handle holds one reference (a
 * FinalizationRegistry drops it when the handle is collected), and a handle on its way to
 * another thread holds one that the receiver adopts. At zero the block returns to a
 * free list for its size class. References held by a worker that is terminated are never
 * dropped: those blocks stay allocated (a bounded leak, not a use-after-free).
 *
 * Layout (byte offsets; Int32 cells):
 *   header  [0] LOCK  allocator mutex (core/mutex.ts)
 *           [1] TOP   first never-used byte
 *           [2] HEAP_ID  tells this heap from another one
 *           [3 + k]   head of the free list of blocks of 2^k bytes (0 = empty); k is at most 30 (HEAP_MAX / 2 plus the block header), so the
 *                     heads fit in the header's HEADER_BYTES
 *           [62] [63] taken by tracing (core/trace-buffer.ts): TRACE_ROOT, TRACE_ON
 *   block   [0] REFS  reference count
 *           [1] CLASS low byte k: the block spans 2^k bytes; above it, the id of a
 *                     destructor to run when the last reference goes (0: none)
 *           payload from byte 8 (8-byte aligned), 2^k - 8 bytes; a free block keeps the
 *           next free block's offset in its first payload cell.
 */
import { homeMemory } from "./identity.js";
import { lockMutex, unlockMutex } from "./mutex.js";

const HEAP_INITIAL = 256 * 1024;
const HEAP_MAX = 1024 * 1024 * 1024;
const LOCK = 0;
const TOP = 1;
const HEAP_ID = 2;
const FREE_HEADS = 3;
const HEADER_BYTES = 256;
const BLOCK_HEADER = 8;
const MIN_CLASS = 4;

/** A piece of the shared heap: the caller lays its own views over it. */
export interface SharedBlock {
  readonly buffer: SharedArrayBuffer;
  /** Where the payload starts (8-byte aligned). */
  readonly byteOffset: number;
  /** Usable bytes from `byteOffset`. */
  readonly byteLength: number;
}

/**
 * The heap of this weft world: a home thread makes it, a carrier maps its home's as this
 * module loads (so every copy of weft loaded on the carrier maps the same one).
 */
const heap: SharedArrayBuffer = homeMemory?.heap ?? newHeap();
const words = new Int32Array(heap);

/** A fresh heap, for a home thread (the main thread, or a worker that weft did not start). */
function newHeap(): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(HEAP_INITIAL, { maxByteLength: HEAP_MAX });
  const header = new Int32Array(buffer);
  header[TOP] = HEADER_BYTES;
  header[HEAP_ID] = (Math.random() * 0x7fffffff) | 1;
  return buffer;
}

/** The heap, to hand to a new worker. */
export function heapBuffer(): SharedArrayBuffer {
  return heap;
}

// The allocator's mutex is the robust one: a thread that dies holding it (a terminated
// worker) must not stop every allocation in the process. Each allocator step commits with
// one store (a free-list head, TOP), so a taker finds the lists intact; at worst a block
// is leaked.
function lockHeap(cells: Int32Array): void {
  lockMutex(cells, LOCK);
}

function unlockHeap(cells: Int32Array): void {
  unlockMutex(cells, LOCK);
}

function sizeClass(byteLength: number): number {
  let k = MIN_CLASS;
  while (1 << k < byteLength + BLOCK_HEADER) k++;
  return k;
}

/**
 * Takes a block of at least `byteLength` bytes with one reference (the caller's); zeroed
 * unless `zeroed` is false (for buffers the caller fills before reading).
 */
export function allocateBlock(byteLength: number, zeroed = true): SharedBlock {
  if (!Number.isInteger(byteLength) || byteLength < 0 || byteLength > HEAP_MAX / 2) {
    throw new RangeError(`weft: cannot allocate ${byteLength} bytes of shared memory (at most ${HEAP_MAX / 2})`);
  }
  const k = sizeClass(byteLength);
  const size = 2 ** k;
  let start: number;
  lockHeap(words);
  try {
    start = words[FREE_HEADS + k];
    if (start !== 0) {
      words[FREE_HEADS + k] = words[(start + BLOCK_HEADER) >> 2];
    } else {
      start = words[TOP];
      if (start + size > heap.byteLength) grow(start + size);
      words[TOP] = start + size;
    }
  } finally {
    unlockHeap(words);
  }
  if (zeroed) new Uint8Array(heap, start + BLOCK_HEADER, size - BLOCK_HEADER).fill(0);
  words[(start >> 2) + 1] = k;
  Atomics.store(words, start >> 2, 1);
  return { buffer: heap, byteOffset: start + BLOCK_HEADER, byteLength: size - BLOCK_HEADER };
}

function grow(needed: number): void {
  if (needed > HEAP_MAX) throw new RangeError(`weft: the shared heap is full (${HEAP_MAX} bytes)`);
  let next = heap.byteLength;
  while (next < needed) next *= 2;
  heap.grow(Math.min(next, HEAP_MAX));
}

function refsOf(block: SharedBlock): { cells: Int32Array; at: number } {
  const cells = block.buffer === heap ? words : new Int32Array(block.buffer);
  return { cells, at: (block.byteOffset - BLOCK_HEADER) >> 2 };
}

const destructors: ((block: SharedBlock) => void)[] = [];

/** Destructor ids, one per kind of structure that owns further blocks. */
export const QUEUE_DESTRUCTOR = 1;

/**
 * Registers, in this thread, what to do before a block tagged with `id` is freed (say,
 * free the blocks it points to). Every thread registers the same ids, at import.
 */
export function registerDestructor(id: number, destroy: (block: SharedBlock) => void): void {
  destructors[id] = destroy;
}

/** Tags a block so that the destructor `id` runs before it is freed, in whichever thread frees it. */
export function setDestructor(block: SharedBlock, id: number): void {
  const { cells, at } = refsOf(block);
  cells[at + 1] = (cells[at + 1] & 0xff) | (id << 8);
}

/** Adds a reference: one that travels with a descriptor to another thread. */
export function retainBlock(block: SharedBlock): void {
  const { cells, at } = refsOf(block);
  Atomics.add(cells, at, 1);
}

/** Drops a reference; the last one returns the block to its free list. */
export function releaseBlock(block: SharedBlock): void {
  const { cells, at } = refsOf(block);
  const before = Atomics.sub(cells, at, 1);
  if (before > 1) return;
  if (before < 1) throw new Error("weft: shared block released more often than retained");
  const k = cells[at + 1] & 0xff;
  const destructor = cells[at + 1] >>> 8;
  if (destructor !== 0) destructors[destructor]?.(block);
  lockHeap(cells);
  cells[(block.byteOffset >> 2)] = cells[FREE_HEADS + k];
  cells[FREE_HEADS + k] = block.byteOffset - BLOCK_HEADER;
  unlockHeap(cells);
}

const handles = new FinalizationRegistry<SharedBlock>(releaseBlock);

/**
 * The same block seen through this thread's own heap buffer when it lies in this thread's
 * heap, so that later reference counting uses the mapped cells.
 */
export function localBlock(block: SharedBlock): SharedBlock {
  if (block.buffer === heap) return block;
  const header = new Int32Array(block.buffer, 0, FREE_HEADS);
  if (header[HEAP_ID] !== words[HEAP_ID]) return block;
  return { buffer: heap, byteOffset: block.byteOffset, byteLength: block.byteLength };
}

/**
 * Ties a reference to `handle`: dropped when the handle is garbage-collected. Call it with
 * a freshly allocated block, or with a block whose travelling reference this handle adopts.
 */
export function ownBlock(handle: object, block: SharedBlock): void {
  handles.register(handle, block);
}

/** Allocates a block for a new handle: `count` Int32 cells, owned by `handle`. */
export function allocateCells(count: number, handle: object): Int32Array {
  const block = allocateBlock(count * 4);
  ownBlock(handle, block);
  return new Int32Array(block.buffer, block.byteOffset, count);
}

/** The block a view made by `allocateCells` (or over a block's start) lies in. */
export function blockOf(view: ArrayBufferView): SharedBlock {
  return { buffer: view.buffer as SharedArrayBuffer, byteOffset: view.byteOffset, byteLength: view.byteLength };
}

/** Heap statistics, for tests and diagnostics. */
export function heapStats(): { reservedBytes: number; committedBytes: number; usedBytes: number } {
  return { reservedBytes: heap.maxByteLength, committedBytes: heap.byteLength, usedBytes: Atomics.load(words, TOP) };
}

/** The heap's random id: tells this weft world (one heap) from another in the same process. */
export function heapId(): number {
  return words[HEAP_ID];
}
