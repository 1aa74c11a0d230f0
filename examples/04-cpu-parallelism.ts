/**
 * 04 — CPU parallelism: the GIL section, turned around.
 *
 * In CPython, threads do not speed up CPU-bound Python code: the Global Interpreter Lock
 * lets one thread run Python bytecode at a time, so N threads counting primes take about
 * as long as one (speedup ~1x, often a little worse), and the tutorial sends you to
 * `multiprocessing` instead. (Python 3.13's optional free-threaded build is the exception.)
 *
 * weft's threads are Node worker threads: each has its own V8 isolate and event loop and
 * runs on its own core, so the same split of work over N threads runs up to N times
 * faster. This example counts the primes below 5,000,000 by trial division on one thread,
 * and split over `os.availableParallelism()` threads, and prints the best time of each.
 * The times are wall-clock: other work on the machine slows them down.
 *
 * Run alone: `node build/examples/04-cpu-parallelism.js`.
 */
import { speedupCaveat } from "./speedup-note.js";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Thread, isMainThread } from "weft-threads";

/** Primes below this are counted: ~0.5–1 s of work for one core. */
export const LIMIT = 5_000_000;
/** The range is cut in chunks of this many numbers, dealt out round-robin, so every thread gets a fair share. */
const CHUNK = 10_000;
/** Each measurement is taken this many times; the best is reported. */
const ROUNDS = 2;

/**
 * Counts the primes in chunks `first`, `first + step`, `first + 2*step`, ... of [0, limit),
 * each chunk `chunk` numbers wide. Plain CPU work: no I/O, no shared memory.
 * A module target: every thread imports this file and calls this export.
 */
export function countPrimes(limit: number, chunk: number, first: number, step: number): number {
  let count = 0;
  for (let k = first; k * chunk < limit; k += step) {
    const end = Math.min((k + 1) * chunk, limit);
    for (let n = Math.max(2, k * chunk); n < end; n++) {
      if (n % 2 === 0) {
        if (n === 2) count++;
        continue;
      }
      let prime = true;
      for (let d = 3; d * d <= n; d += 2) {
        if (n % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) count++;
    }
  }
  return count;
}

const target = { module: import.meta.url, export: "countPrimes" };

/** Splits the count over `threads` threads, runs them at once, and adds up their answers. */
async function countOn(threads: number, limit: number): Promise<{ primes: number; ms: number }> {
  const began = performance.now();
  const workers = Array.from(
    { length: threads },
    (_, i) => new Thread<number, [number, number, number, number]>({ target, args: [limit, CHUNK, i, threads], name: `primes-${i + 1}/${threads}` }),
  );
  for (const t of workers) t.start();
  let primes = 0;
  for (const t of workers) {
    await t.join();
    if (t.error !== undefined) throw t.error;
    primes += t.result as number;
  }
  return { primes, ms: performance.now() - began };
}

/** What {@link main} found, for the tour and the tests to check. */
export interface CpuParallelismResult {
  limit: number;
  threads: number;
  single: { primes: number; ms: number };
  parallel: { primes: number; ms: number };
  speedup: number;
}

/** Runs the scenario; `print` receives the narration (default: console.log). */
export async function main(print: (line: string) => void = console.log, limit: number = LIMIT): Promise<CpuParallelismResult> {
  const threads = availableParallelism();
  // Warm-up: start `threads` workers once and let each import this module and JIT-compile
  // countPrimes, so that neither measurement below pays for worker start-up.
  await countOn(threads, 50_000);

  print(`Counting the primes below ${limit.toLocaleString("en-US")} (trial division, CPU only), best of ${ROUNDS} runs each.`);
  let single = { primes: 0, ms: Infinity };
  let parallel = { primes: 0, ms: Infinity };
  // Alternate the two, and keep each one's best time: a moment of load from elsewhere on
  // the machine then spoils one run, not the comparison.
  for (let round = 0; round < ROUNDS; round++) {
    const one = await countOn(1, limit);
    if (one.ms < single.ms) single = one;
    const many = await countOn(threads, limit);
    if (many.ms < parallel.ms) parallel = many;
  }
  print(`  1 thread:  ${single.primes} primes in ${single.ms.toFixed(0)} ms`);
  print(`  ${threads} threads: ${parallel.primes} primes in ${parallel.ms.toFixed(0)} ms`);
  const speedup = single.ms / parallel.ms;
  print(
    `  speedup ${speedup.toFixed(2)}x on ${threads} core${threads === 1 ? "" : "s"} (os.availableParallelism() = ${threads}); ` +
      `the same threads in CPython would give ~1x, because of the GIL`,
  );
  const caveat = speedupCaveat(speedup, threads);
  if (caveat !== undefined) print(caveat);
  if (single.primes !== parallel.primes) print(`  !! the two runs disagree: ${single.primes} vs ${parallel.primes}`);
  return { limit, threads, single, parallel, speedup };
}

// Python's `if __name__ == "__main__":` — never in the threads that import this module.
if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
