/**
 * What the diagnostics need to know about an object that some thread waits on, given only
 * what the thread table records of the wait: its kind and its cells' offset in the shared
 * heap. Each kind of primitive (sync/) registers a reader here as it loads, so that the
 * diagnostics (deadlock detection, dumps) read a lock's owner and name without importing
 * sync/, and sync/ stays free of the diagnostics.
 *
 * It also wakes the waiters of locks whose owner ended (owner death): when a thread's slot
 * is freed, every recorded wait on an object that the ended thread holds is handed to the
 * kind's `ownerEnded`, which marks the object and wakes its parked waiters, so a waiter
 * that was already parked learns of the death at once. (A lock that nobody waited on when
 * its owner ended is found by its next acquirer, which checks the owner before it parks.)
 */
import { heapBuffer } from "./memory.js";
import { WAIT_KINDS, liveThreads, onThreadEnded, waitsOf, type RecordKind } from "./thread-table.js";

/**
 * Whether the wait about to be reported blocks its thread (`runSync`) or not: the wait
 * hooks' sites do not say, and only a blocking wait shows that its thread can do nothing
 * else. `runSync` sets `blocking` around its report; the deadlock detector reads it. An async wait that can
 * be failed later sets `abort` likewise: the controller of a signal the wait honours, which
 * the detector aborts with a `DeadlockError` once it has confirmed the cycle (an event
 * loop's cycle is confirmed over time, while the loop runs, so it cannot fail at once).
 */
export const waitMode: { blocking: boolean; abort: AbortController | undefined } = { blocking: false, abort: undefined };

/** A kind of waitable object, as the diagnostics see it. */
export interface WaitTargetKind {
  /** The ident of the thread that holds the object at `offset`, 0 when free or not known. */
  owner(heap: Int32Array, offset: number): number;
  /**
   * A number that changes whenever the object changes hands (a lock's acquisition count),
   * so that a detector tells "held by X all along" from "X let go and took it again".
   */
  version?(heap: Int32Array, offset: number): number;
  /** How messages name the object: its `name`, or "Lock#N". */
  label(heap: Int32Array, offset: number): string;
  /** The holder `ident` of the object at `offset` has ended: mark it, wake its waiters. */
  ownerEnded?(heap: Int32Array, offset: number, ident: number): void;
}

const kinds = new Map<RecordKind, WaitTargetKind>();
let heapView: Int32Array | undefined;

/** Registers how to read objects of `kind` (each thread registers the same, at import). */
export function registerWaitTarget(kind: RecordKind, target: WaitTargetKind): void {
  kinds.set(kind, target);
}

/** How to read objects of `kind`, if a primitive registered it. */
export function waitTarget(kind: RecordKind): WaitTargetKind | undefined {
  return kinds.get(kind);
}

/** The whole shared heap as Int32 cells (a view that follows the heap as it grows). */
export function heapCells(): Int32Array {
  heapView ??= new Int32Array(heapBuffer());
  return heapView;
}

/** The heap offset that names `cells` in every thread, -1 if they do not lie in this world's heap. */
export function offsetOf(cells: Int32Array | undefined): number {
  return cells !== undefined && cells.buffer === heapBuffer() ? cells.byteOffset : -1;
}

/** The owner of what a record waits on (for a join: the thread joined), 0 if none. */
export function ownerOfWait(kind: RecordKind, offset: number, target: number): number {
  if (kind === "join") return target;
  if (offset < 0) return 0;
  const reader = kinds.get(kind);
  return reader === undefined ? 0 : reader.owner(heapCells(), offset);
}

/** The version of what a record waits on (see WaitTargetKind.version); 0 if it has none. */
export function versionOfWait(kind: RecordKind, offset: number): number {
  if (offset < 0) return 0;
  return kinds.get(kind)?.version?.(heapCells(), offset) ?? 0;
}

/** How messages name what a record waits on. */
export function labelOfWait(kind: RecordKind, offset: number, fallback?: string): string {
  const reader = offset < 0 ? undefined : kinds.get(kind);
  if (reader !== undefined) return reader.label(heapCells(), offset);
  return fallback ?? (offset < 0 ? kind : `${kind}@${offset}`);
}

/** Wakes the waiters of every object that `ident` held and that some thread is recorded waiting on. */
function wakeWaitersOfEnded(ident: number): void {
  if (kinds.size === 0) return;
  const heap = heapCells();
  const done = new Set<number>();
  for (const thread of liveThreads()) {
    for (const wait of waitsOf(thread.slot, thread.ident)) {
      if (wait.offset < 0 || done.has(wait.offset)) continue;
      const reader = kinds.get(wait.kind);
      if (reader?.ownerEnded === undefined || reader.owner(heap, wait.offset) !== ident) continue;
      done.add(wait.offset);
      reader.ownerEnded(heap, wait.offset, ident);
    }
  }
}

onThreadEnded(wakeWaitersOfEnded);

/** @internal For tests: the kinds known. */
export function knownKinds(): readonly RecordKind[] {
  return WAIT_KINDS.filter((kind) => kinds.has(kind));
}
