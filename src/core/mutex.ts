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

/** Takes the mutex at `cells[at]`. */
export function lockMutex(cells: Int32Array, at: number): void {
  if (Atomics.compareExchange(cells, at, 0, 1) === 0) {
    cells[at + 1] = currentIdent;
    return;
  }
  lockContended(cells, at);
}

function lockContended(cells: Int32Array, at: number): void {
  for (let spin = 0; spin < SPINS; spin++) {
    if (Atomics.load(cells, at) === 0 && Atomics.compareExchange(cells, at, 0, 1) === 0) {
      cells[at + 1] = currentIdent;
      return;
    }
  }
  while (Atomics.exchange(cells, at, 2) !== 0) {
    if (Atomics.wait(cells, at, 2, CHECK_HOLDER_MS) === "timed-out") takeOverIfHolderDied(cells, at);
  }
  cells[at + 1] = currentIdent;
}

function takeOverIfHolderDied(cells: Int32Array, at: number): void {
  const holder = Atomics.load(cells, at + 1);
  if (holder !== 0 && !isIdentAlive(holder) && Atomics.compareExchange(cells, at + 1, holder, 0) === holder) {
    // The holder is gone: free the word, and let the waiting loop claim it.
    Atomics.store(cells, at, 0);
  }
}

/** Releases the mutex at `cells[at]`. */
export function unlockMutex(cells: Int32Array, at: number): void {
  cells[at + 1] = 0;
  if (Atomics.exchange(cells, at, 0) === 2) Atomics.notify(cells, at, 1);
}
