/**
 * The internal mutex that guards a shared structure (a queue's ring, a pool's task list)
 * for the microseconds an operation takes. Two cells: [at] state (0 free, 1 held,
 * 2 held with parked waiters) and [at + 1] the holder's ident.
 *
 * It is robust: a thread that dies inside the critical section (a terminated worker)
 * would leave the word set forever, so a waiter that has parked for a while checks
 * whether the holder is still alive and, if not, takes the mutex over. The structures it
 * guards commit each change with a single store at the end, so what a dead holder left
 * half-done is invisible.
 *
 * Waiting here blocks briefly even on the main thread: critical sections are short and
 * bounded, like CPython's internal queue mutex.
 */
import { currentIdent } from "./identity.js";
import { isIdentAlive } from "./thread-table.js";

const SPINS = 100;
/** How long a waiter parks before it checks on the holder (ms). */
const CHECK_HOLDER_MS = 100;

/**
 * Takes the mutex at `cells[at]`. Returns true if it was taken over from a thread that
 * died holding it: the caller must then repair what that thread left half-done.
 */
export function lockMutex(cells: Int32Array, at: number): boolean {
  if (Atomics.compareExchange(cells, at, 0, 1) === 0) {
    cells[at + 1] = currentIdent;
    return false;
  }
  return lockContended(cells, at);
}

function lockContended(cells: Int32Array, at: number): boolean {
  for (let spin = 0; spin < SPINS; spin++) {
    if (Atomics.load(cells, at) === 0 && Atomics.compareExchange(cells, at, 0, 1) === 0) {
      cells[at + 1] = currentIdent;
      return false;
    }
  }
  for (;;) {
    const state = Atomics.exchange(cells, at, 2);
    if (state === 0) break;
    if (Atomics.wait(cells, at, 2, CHECK_HOLDER_MS) === "timed-out" && takeOverIfHolderDied(cells, at)) return true;
  }
  cells[at + 1] = currentIdent;
  return false;
}

/** If the holder is dead, becomes the holder in its place (the word stays set). */
function takeOverIfHolderDied(cells: Int32Array, at: number): boolean {
  const holder = Atomics.load(cells, at + 1);
  return holder !== 0 && !isIdentAlive(holder) && Atomics.compareExchange(cells, at + 1, holder, currentIdent) === holder;
}

/** Releases the mutex at `cells[at]`. */
export function unlockMutex(cells: Int32Array, at: number): void {
  cells[at + 1] = 0;
  if (Atomics.exchange(cells, at, 0) === 2) Atomics.notify(cells, at, 1);
}
