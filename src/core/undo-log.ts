/**
 * An undo log in shared memory, for structures that change several cells per operation
 * under a robust mutex (core/mutex.ts). Each write first records the cell's old value;
 * the operation ends by clearing the log with one store (its commit). A thread that takes
 * the mutex over from a dead holder rolls back whatever the log still holds, so the
 * structure is as it was before the dead thread's operation began.
 *
 * Layout: cells [at] = number of records, then `capacity` records of (heap cell index,
 * old value). Indices are into the whole heap (core/memory.ts), so one log can cover a
 * header and the blocks it points to.
 */
import { heapBuffer } from "./memory.js";

const words = new Int32Array(heapBuffer());

/** Records and applies writes so that they can be undone until committed. */
export class UndoLog {
  #count = 0;

  /** `at`: the heap cell index of the log; `capacity`: records it can hold. */
  constructor(
    readonly at: number,
    readonly capacity: number,
  ) {}

  /** Writes `value` to heap cell `index`, recording the old value first. */
  set(index: number, value: number): void {
    const cells = words;
    if (this.#count >= this.capacity) throw new Error("weft: undo log overflow");
    const record = this.at + 1 + this.#count * 2;
    cells[record] = index;
    cells[record + 1] = cells[index];
    this.#count++;
    Atomics.store(cells, this.at, this.#count);
    cells[index] = value;
  }

  /** Ends the operation: what it wrote stands. */
  commit(): void {
    if (this.#count !== 0) {
      Atomics.store(words, this.at, 0);
      this.#count = 0;
    }
  }

  /** Undoes an operation a dead thread left unfinished (call while holding its mutex). */
  rollback(): void {
    const cells = words;
    for (let i = Atomics.load(cells, this.at) - 1; i >= 0; i--) {
      const record = this.at + 1 + i * 2;
      cells[cells[record]] = cells[record + 1];
    }
    Atomics.store(cells, this.at, 0);
    this.#count = 0;
  }
}
