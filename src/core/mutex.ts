/**
 * The internal mutex that guards a shared structure (a queue's ring, the heap's free
 * lists) for the microseconds an operation takes: one Int32 cell that holds the holder's
 * ident shifted left by one, with the low bit set once a waiter may be parked (0: free).
 *
 * It is robust: a thread that dies inside the critical section (a terminated worker, an
 * out-of-memory abort) would leave the word set forever, so a waiter that has parked for
 * a while checks whether the holder is still alive and, if not, takes the mutex over. The
 * holder is in the very word that is locked, so there is no moment at which the mutex is
 * held by nobody known. The structures it guards commit each change with a single store,
 * or keep notes to finish or undo it, so the taker can repair what the dead thread left.
 *
 * Waiting here blocks briefly even on the main thread: critical sections are short and
 * bounded, like CPython's internal queue mutex.
 */
import { currentIdent } from "./identity.js";
import { BACKOFF_ROUNDS, backOff } from "./parking.js";
import { isIdentAlive } from "./thread-table.js";

/** How long a waiter parks before it checks on the holder (ms). */
const CHECK_HOLDER_MS = 100;
const CONTENDED = 1;

/**
 * Takes the mutex at `cells[at]`. Returns true if it was taken over from a thread that
 * died holding it: the caller must then repair what that thread left half-done.
 */
export function lockMutex(cells: Int32Array, at: number): boolean {
  const me = currentIdent << 1;
  if (Atomics.compareExchange(cells, at, 0, me) === 0) return false;
  return lockContended(cells, at, me);
}

function lockContended(cells: Int32Array, at: number, me: number): boolean {
  for (let round = 0; round < BACKOFF_ROUNDS; round++) {
    backOff(round);
    if (Atomics.load(cells, at) === 0 && Atomics.compareExchange(cells, at, 0, me) === 0) return false;
  }
  for (;;) {
    const word = Atomics.load(cells, at);
    if (word === 0) {
      // Others may be parked: take it marked contended, so that our unlock wakes one.
      if (Atomics.compareExchange(cells, at, 0, me | CONTENDED) === 0) return false;
      continue;
    }
    if ((word & CONTENDED) === 0 && Atomics.compareExchange(cells, at, word, word | CONTENDED) !== word) continue;
    if (Atomics.wait(cells, at, word | CONTENDED, CHECK_HOLDER_MS) === "timed-out") {
      const holder = word >>> 1;
      if (!isIdentAlive(holder) && Atomics.compareExchange(cells, at, word | CONTENDED, me | CONTENDED) === (word | CONTENDED)) return true;
    }
  }
}

/** Releases the mutex at `cells[at]`. */
export function unlockMutex(cells: Int32Array, at: number): void {
  if ((Atomics.exchange(cells, at, 0) & CONTENDED) !== 0) Atomics.notify(cells, at, 1);
}
