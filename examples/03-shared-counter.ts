/**
 * 03 — A shared counter: why `counter += 1` needs a lock.
 *
 * Python:
 *
 *     counter = 0
 *     lock = threading.Lock()
 *     def increment():
 *         global counter
 *         for _ in range(1000):
 *             with lock:
 *                 counter += 1
 *
 * weft threads share no variables: each runs in its own V8 isolate. What they share is
 * what lives in shared memory and is passed in `args` — here a `SharedValue("int32")`,
 * Python's `multiprocessing.Value("i")`. `counter.value = counter.value + 1` is a read
 * and a write (each atomic on its own), so two threads can both read 41 and both write
 * 42: one increment is lost. A weft `Lock` makes the read-modify-write one step.
 *
 * Unlike CPython's threads, weft's run truly at the same time on different cores, so
 * a race without the lock is not a rare accident; it shows up at once.
 *
 * Run alone: `node build/examples/03-shared-counter.js`.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Barrier, Lock, SharedValue, Thread, isMainThread, type SendableArgs } from "weft-threads";

const THREADS = 10;
/** Increments per thread with the lock (the Python tutorial's numbers). */
const LOCKED_INCREMENTS = 1000;
/** Increments per thread without the lock: enough for two cores to collide. */
const UNLOCKED_INCREMENTS = 100_000;

/**
 * Runs `worker` on THREADS threads with `args`, the shared counter and a start gate (a
 * Barrier), so that every thread begins counting at the same moment instead of one after
 * another as they start; then waits for them all.
 */
async function runThreads<A extends unknown[]>(worker: (gate: Barrier, ...args: A) => void, args: A): Promise<void> {
  const gate = new Barrier(THREADS);
  const threads = Array.from({ length: THREADS }, () => new Thread<void, [Barrier, ...A]>({ target: worker, args: [gate, ...args] as SendableArgs<[Barrier, ...A]> }));
  for (const t of threads) t.start();
  for (const t of threads) {
    await t.join();
    if (t.error !== undefined) throw t.error;
  }
}

/** What {@link main} found, for the tour and the tests to check. */
export interface SharedCounterResult {
  threads: number;
  /** With the lock: expected THREADS x LOCKED_INCREMENTS, and what the counter read. */
  locked: { expected: number; actual: number };
  /** Without the lock: expected, actual, and how many increments were lost (expected - actual). */
  unlocked: { expected: number; actual: number; lost: number };
  /** With the atomic `counter.add(1)`: no lock, and nothing lost. */
  atomic: { expected: number; actual: number };
}

/** Runs the scenario; `print` receives the narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<SharedCounterResult> {
  // 1. With a Lock. The lock and the counter are passed in `args` and arrive in each
  //    thread as live handles to the same shared memory.
  const lock = new Lock();
  const counter = new SharedValue("int32", 0);
  await runThreads(
    function incrementLocked(gate: Barrier, counter: SharedValue<"int32">, lock: Lock, times: number) {
      gate.waitSync();
      for (let i = 0; i < times; i++) {
        lock.acquireSync(); // Python's `with lock:` (withLockSync(fn) is the same, as a call)
        try {
          counter.value = counter.value + 1;
        } finally {
          lock.release();
        }
      }
    },
    [counter, lock, LOCKED_INCREMENTS],
  );
  const locked = { expected: THREADS * LOCKED_INCREMENTS, actual: counter.value };
  print(`With a Lock:    ${THREADS} threads x ${LOCKED_INCREMENTS} increments -> counter = ${locked.actual} (expected ${locked.expected})`);

  // 2. Without the lock: the same read-modify-write, racing.
  const racy = new SharedValue("int32", 0);
  await runThreads(
    function incrementUnlocked(gate: Barrier, counter: SharedValue<"int32">, times: number) {
      gate.waitSync();
      for (let i = 0; i < times; i++) {
        counter.value = counter.value + 1; // read, then write: not one step
      }
    },
    [racy, UNLOCKED_INCREMENTS],
  );
  const expected = THREADS * UNLOCKED_INCREMENTS;
  const unlocked = { expected, actual: racy.value, lost: expected - racy.value };
  print(`Without a lock: ${THREADS} threads x ${UNLOCKED_INCREMENTS} increments -> counter = ${unlocked.actual} (expected ${expected})`);
  if (unlocked.lost > 0) {
    print(
      `  ${unlocked.lost} increments (${((100 * unlocked.lost) / expected).toFixed(1)}%) were lost this run: a thread read the counter, ` +
        `other threads counted on meanwhile, and its write-back of "what I read + 1" erased their increments`,
    );
  } else {
    print(
      `  no increment was lost this run — a race is a possibility, not a certainty ` +
        `(the threads happened not to collide); run it again, or on more cores`,
    );
  }

  // 3. Or no lock at all: `add` is one atomic read-modify-write (Atomics.add).
  const atomicCounter = new SharedValue("int32", 0);
  await runThreads(
    function incrementAtomic(gate: Barrier, counter: SharedValue<"int32">, times: number) {
      gate.waitSync();
      for (let i = 0; i < times; i++) counter.add(1);
    },
    [atomicCounter, UNLOCKED_INCREMENTS],
  );
  const atomic = { expected, actual: atomicCounter.value };
  print(`counter.add(1): ${THREADS} threads x ${UNLOCKED_INCREMENTS} increments -> counter = ${atomic.actual} (expected ${expected})`);

  return { threads: THREADS, locked, unlocked, atomic };
}

// Python's `if __name__ == "__main__":`.
if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
