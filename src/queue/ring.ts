/**
 * The FIFO ring of Queue and SimpleQueue: entries of encoded items in a power-of-two block
 * of the heap, written under the tail mutex and read under the head mutex, so a producer
 * and a consumer never wait for each other.
 *
 * An entry is [u32 word][payload, padded to 4 bytes]. The word is the payload length;
 * with SKIP set, the next (word & LENGTH) bytes are unused up to the ring's end; with
 * EXTERNAL set, the payload is the offset of a block of its own that holds an item too
 * big for the ring. Positions are the byte counters WRITTEN and CONSUMED modulo the ring
 * size, so when the ring grows the bytes are copied to their positions modulo the new
 * size, and every entry, SKIP included, stays valid.
 *
 * Each side commits an operation with one store (PUT for a put, GOT for a get), after
 * noting the old and new values of what it changes; a thread that takes a mutex over
 * from a dead holder finishes or undoes the dead thread's operation from those notes.
 */
import { allocateBlock, heapBuffer, releaseBlock } from "../core/memory.js";
import {
  CONSUMED, C_JOURNAL, C_NEW_CONSUMED, C_OLD_CONSUMED, C_OLD_GOT, GOT, PUT, P_JOURNAL, P_NEW_WRITTEN, P_OLD_PUT,
  P_OLD_RING, P_OLD_WRITTEN, RING, WRITTEN,
} from "./layout.js";

const SKIP = 0x80000000;
const EXTERNAL = 0x40000000;
const LENGTH = 0x3fffffff;
const MIN_LOG2 = 12;
/** Items above this size get a block of their own instead of a place in the ring. */
const EXTERNAL_ABOVE = 64 * 1024;
/** A drained ring larger than this is swapped for a small one. */
const SHRINK_ABOVE_LOG2 = 17;

const align4 = (n: number): number => (n + 3) & ~3;

/** The bytes of one item, copied out of the queue. */
export interface TakenItem {
  bytes: Uint8Array;
  /** A block to free once the take is committed (an external item), or -1. */
  release: number;
  releaseLength: number;
}

/**
 * A thread-local buffer to copy items out into, and the one TakenItem that describes
 * what was copied (reused: a get allocates nothing on its way out of the queue).
 */
export class Scratch {
  bytes: Uint8Array = new Uint8Array(1024);
  readonly #taken: TakenItem = { bytes: this.bytes, release: -1, releaseLength: 0 };
  fit(length: number): Uint8Array {
    if (length > this.bytes.length) this.bytes = new Uint8Array(Math.max(length, this.bytes.length * 2));
    return this.bytes;
  }
  /** The item just copied into `bytes`; `release` is a block to free once committed, or -1. */
  taken(release: number, releaseLength: number): TakenItem {
    const taken = this.#taken;
    taken.bytes = this.bytes;
    taken.release = release;
    taken.releaseLength = releaseLength;
    return taken;
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

function packRing(offset: number, log2: number): number {
  return ((offset / 8) * 32 + log2) | 0;
}

/** A thread's view of a queue's ring, remade only when the ring moves. */
export class RingView {
  /** The producer side's last read of CONSUMED. */
  seenConsumed = 0;
  ref = 0;
  mask = 0;
  size = 0;
  bytes: Uint8Array = new Uint8Array(0);
  data = new DataView(this.bytes.buffer);

  sync(cells: Int32Array): this {
    const ref = cells[RING];
    if (ref !== this.ref) {
      this.ref = ref;
      const offset = (ref >>> 5) * 8;
      this.size = 2 ** (ref & 31);
      this.mask = this.size - 1;
      this.bytes = new Uint8Array(heapBuffer(), offset, this.size);
      this.data = new DataView(heapBuffer(), offset, this.size);
    }
    return this;
  }
}

function allocateRing(log2: number): number {
  const block = allocateBlock(2 ** log2, false);
  return packRing(block.byteOffset, log2);
}

function freeRing(ref: number): void {
  const log2 = ref & 31;
  releaseBlock({ buffer: heapBuffer(), byteOffset: (ref >>> 5) * 8, byteLength: 2 ** log2 });
}

/** Sets up the ring of a new queue. */
export function initRing(cells: Int32Array): void {
  cells[RING] = allocateRing(MIN_LOG2);
}

/**
 * Appends an encoded item (caller holds the tail mutex). `lockHead` / `unlockHead` take
 * the head mutex for the rare moments the ring must move.
 */
export function ringPut(
  cells: Int32Array,
  bytes: Uint8Array,
  length: number,
  view: RingView,
  lockHead: () => void,
  unlockHead: () => void,
): void {
  const external = length > EXTERNAL_ABOVE;
  const need = 4 + (external ? 4 : align4(length));
  const put = cells[PUT];
  let written = cells[WRITTEN];
  const oldRing = cells[RING];
  cells[P_OLD_PUT] = put;
  cells[P_OLD_WRITTEN] = written;
  cells[P_OLD_RING] = oldRing;
  // A plain store is enough: until PUT's store (a full barrier) nothing here is visible work.
  cells[P_JOURNAL] = 1;

  let ring = view.sync(cells);
  let pos = written & ring.mask;
  let skip = ring.size - pos < need ? ring.size - pos : 0;
  // The consumers' CONSUMED only grows: a stale copy overstates what is used, which is
  // safe, and reading their cache line on every put would slow both sides.
  let used = (written - view.seenConsumed) | 0;
  if (used + skip + need > ring.size) {
    view.seenConsumed = Atomics.load(cells, CONSUMED);
    used = (written - view.seenConsumed) | 0;
  }
  const drained = used === 0 && (oldRing & 31) > SHRINK_ABOVE_LOG2;
  if (used + skip + need > ring.size || drained) {
    lockHead();
    try {
      moveRing(cells, need, view);
    } finally {
      unlockHead();
    }
    ring = view.sync(cells);
    written = cells[WRITTEN];
    pos = written & ring.mask;
    skip = ring.size - pos < need ? ring.size - pos : 0;
  }
  if (skip !== 0) {
    ring.data.setUint32(pos, (SKIP | skip) >>> 0, true);
    written = (written + skip) | 0;
    pos = 0;
  }
  if (external) {
    const block = allocateBlock(length, false);
    copyBytes(bytes, 0, new Uint8Array(heapBuffer(), block.byteOffset, length), 0, length);
    ring.data.setUint32(pos, (EXTERNAL | length) >>> 0, true);
    ring.data.setUint32(pos + 4, block.byteOffset, true);
  } else {
    ring.data.setUint32(pos, length, true);
    copyBytes(bytes, 0, ring.bytes, pos + 4, length);
  }
  written = (written + need) | 0;
  cells[P_NEW_WRITTEN] = written;
  Atomics.store(cells, PUT, (put + 1) | 0); // the commit: consumers may take it now
  cells[WRITTEN] = written;
  cells[P_JOURNAL] = 0; // plain: the unlock that follows publishes it
  if (cells[RING] !== oldRing) freeRing(oldRing);
}

/**
 * Moves the entries to a ring with room for `need` more bytes (or, if drained, to a
 * small ring). The caller holds both mutexes; the new ring takes effect with one store.
 */
function moveRing(cells: Int32Array, need: number, view: RingView): void {
  const old = view.sync(cells);
  const consumed = Atomics.load(cells, CONSUMED);
  const written = cells[WRITTEN];
  const used = (written - consumed) | 0;
  // Entries keep their place modulo the ring size only if the new size is a multiple of
  // the old: so a ring only shrinks when empty, and otherwise at least doubles.
  let log2 = used === 0 ? MIN_LOG2 : (cells[RING] & 31) + 1;
  while (2 ** log2 < used + 2 * need + 8) log2++;
  const ref = allocateRing(log2);
  const mask = 2 ** log2 - 1;
  const fresh = new Uint8Array(heapBuffer(), (ref >>> 5) * 8, 2 ** log2);
  for (let at = consumed; at !== written; ) {
    const from = at & old.mask;
    const word = old.data.getUint32(from, true);
    const span = word & SKIP ? word & LENGTH : 4 + (word & EXTERNAL ? 4 : align4(word & LENGTH));
    // A skip region lies within one stretch of the new ring too: its word still applies.
    copyBytes(old.bytes, from, fresh, at & mask, word & SKIP ? 4 : span);
    at = (at + span) | 0;
  }
  cells[RING] = ref;
}

/** Takes the oldest entry (caller holds the head mutex and has checked one is there). */
export function ringTake(cells: Int32Array, into: Scratch, view: RingView): TakenItem {
  const got = cells[GOT];
  let consumed = cells[CONSUMED];
  cells[C_OLD_GOT] = got;
  cells[C_OLD_CONSUMED] = consumed;
  cells[C_JOURNAL] = 1;
  const ring = view.sync(cells);
  let pos = consumed & ring.mask;
  let word = ring.data.getUint32(pos, true);
  if (word & SKIP) {
    consumed = (consumed + (word & LENGTH)) | 0;
    pos = consumed & ring.mask;
    word = ring.data.getUint32(pos, true);
  }
  const length = word & LENGTH;
  const out = into.fit(length);
  let release = -1;
  if (word & EXTERNAL) {
    release = ring.data.getUint32(pos + 4, true);
    copyBytes(new Uint8Array(heapBuffer(), release, length), 0, out, 0, length);
    consumed = (consumed + 8) | 0;
  } else {
    copyBytes(ring.bytes, pos + 4, out, 0, length);
    consumed = (consumed + 4 + align4(length)) | 0;
  }
  cells[C_NEW_CONSUMED] = consumed;
  Atomics.store(cells, GOT, (got + 1) | 0); // the commit
  Atomics.store(cells, CONSUMED, consumed); // producers may reuse the bytes now
  cells[C_JOURNAL] = 0; // plain: the unlock that follows publishes it
  return into.taken(release, length);
}

/** Frees what a committed take left to free (an external item's block). */
export function finishTake(taken: TakenItem): void {
  if (taken.release >= 0) {
    releaseBlock({ buffer: heapBuffer(), byteOffset: taken.release, byteLength: taken.releaseLength });
    taken.release = -1;
  }
}

/** After taking the tail mutex over from a dead producer: finish or undo its put. */
export function repairProducer(cells: Int32Array): void {
  if (Atomics.load(cells, P_JOURNAL) === 0) return;
  if (Atomics.load(cells, PUT) !== cells[P_OLD_PUT]) {
    cells[WRITTEN] = cells[P_NEW_WRITTEN];
  } else {
    cells[WRITTEN] = cells[P_OLD_WRITTEN];
    cells[RING] = cells[P_OLD_RING];
  }
  Atomics.store(cells, P_JOURNAL, 0);
}

/** After taking the head mutex over from a dead consumer: finish or undo its get. */
export function repairConsumer(cells: Int32Array): void {
  if (Atomics.load(cells, C_JOURNAL) === 0) return;
  Atomics.store(cells, CONSUMED, Atomics.load(cells, GOT) !== cells[C_OLD_GOT] ? cells[C_NEW_CONSUMED] : cells[C_OLD_CONSUMED]);
  Atomics.store(cells, C_JOURNAL, 0);
}

/** Frees the ring and any external items still in it (the queue itself is being freed). */
export function destroyRing(cells: Int32Array): void {
  const view = new RingView();
  const scratch = new Scratch();
  while (Atomics.load(cells, PUT) !== cells[GOT]) finishTake(ringTake(cells, scratch, view));
  freeRing(cells[RING]);
}
