/**
 * The pool's doorbell: how idle workers wait for tasks, and how whoever puts tasks wakes
 * them. Workers take tasks with the queue's non-waiting `_takeNow`, so they never park in
 * the task queue itself, and the pool decides when a wake-up is paid for:
 *
 *  - A burst of tasks (map tops up its window several chunks at a time) rings once, after
 *    the last put, not once per put: a kernel wake-up costs the thread that pays it
 *    ~0.2–0.5 ms on the loaded 2-core machine here (the woken worker takes its core), and
 *    with the queue's own wake-up the main thread paid it for nearly every chunk.
 *  - The submitting side wakes one sleeper; a worker that takes a task and still sees tasks
 *    queued wakes the next (the wake-up then costs a worker, not the submitting thread).
 *
 * The ring is a counted eventcount, as the queue's conditions are (core/eventcount.ts): a
 * sleeper samples SEQ, counts itself in SLEEPERS, looks at the queue once more, then waits
 * on SEQ; a ring bumps SEQ and notifies, and WOKEN counts the sleepers signalled and not
 * yet up, so that a second ring before the first sleeper is up does not wake a second one
 * for nothing.
 */
import { currentIdent } from "../core/identity.js";
import { backOff } from "../core/parking.js";
import { gotUp, signalOne } from "../core/eventcount.js";
import { isIdentAlive } from "../core/thread-table.js";

/** Cells of the doorbell (Int32, on a cache line of their own). */
export const SEQ = 0;
export const SLEEPERS = 1;
export const WOKEN = 2;
/** The ident of the one worker spinning for a task (0: none); see {@link waitForTask}. */
export const SPINNER = 3;
/** [LIVE]: workers alive in the pool (an idle worker leaves only while more than `minWorkers`). */
export const LIVE = 4;
export const BELL_CELLS = 16;

/** What a worker needs of the task queue: a look at its size, and nothing else here. */
interface Sized {
  qsize(): number;
}

/**
 * A worker that finds no task looks again every ~1 µs for ~50 µs before it sleeps (about
 * what a kernel wake-up costs here), one worker at a time: with as many workers as cores,
 * several spinners would starve the thread that submits. The queue's getters do the same.
 */
const SPIN_LOOKS = 50;
const SPIN_LOOK_LOG2 = 10;

/**
 * Wakes one sleeping worker, unless a worker is spinning for a task (it takes this one
 * within a microsecond, and rings for any it leaves queued) or every sleeper has been
 * signalled already and is on its way. The spinner's check halves the submitting thread's
 * `Atomics.notify` calls in a burst of tiny tasks (27k to 12k per 600k tasks, 2 workers):
 * such tasks are done faster than they are submitted, so the worker that is not spinning
 * falls asleep and was woken again and again.
 */
export function ring(bell: Int32Array): void {
  // The task was put before this load: a spinner that stops looking after it looks at the
  // queue once more as it counts itself a sleeper (waitForTask), and finds the task.
  if (Atomics.load(bell, SPINNER) !== 0) return;
  signalOne(bell, SEQ, SLEEPERS, WOKEN);
}

/**
 * Returns once `tasks` may hold a task (true), or false once `deadline` (a
 * `performance.now()` time; Infinity: none) has passed with none.
 */
export function waitForTask(bell: Int32Array, tasks: Sized, deadline: number): boolean {
  if (spin(bell, tasks)) return true;
  const sequence = Atomics.load(bell, SEQ);
  Atomics.add(bell, SLEEPERS, 1);
  // Counted, then looked: a put after this look rings a sleeper that SEQ would let through.
  if (tasks.qsize() > 0) {
    Atomics.sub(bell, SLEEPERS, 1);
    return true;
  }
  const timeout = deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
  const result = Atomics.wait(bell, SEQ, sequence, timeout);
  gotUp(bell, SLEEPERS, WOKEN, result);
  return result !== "timed-out" || tasks.qsize() > 0;
}

/** Spins for a task if no other worker does; true if one came. */
function spin(bell: Int32Array, tasks: Sized): boolean {
  const spinner = Atomics.load(bell, SPINNER);
  // A worker that died spinning (terminated) would hold the flag forever: free it (the pool
  // also frees it as it learns of the death, for `ring`).
  if (spinner !== 0 && !isIdentAlive(spinner)) Atomics.compareExchange(bell, SPINNER, spinner, 0);
  if (Atomics.compareExchange(bell, SPINNER, 0, currentIdent) !== 0) return false;
  try {
    for (let look = 0; look < SPIN_LOOKS; look++) {
      backOff(SPIN_LOOK_LOG2);
      if (tasks.qsize() > 0) return true;
    }
    return false;
  } finally {
    Atomics.store(bell, SPINNER, 0);
  }
}
