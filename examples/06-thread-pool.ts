/**
 * 06 — A pool of worker threads: `concurrent.futures.ThreadPoolExecutor`.
 *
 * Python:
 *
 *     with ThreadPoolExecutor(max_workers=2) as pool:
 *         print(list(pool.map(square, range(5))))
 *         future = pool.submit(pow, 2, 10)
 *         print(future.result())
 *
 * weft: the same shape. `pool.map` is an async iterable (`for await`), a Future is a
 * thenable (`await future`), and `await using` shuts the pool down at the end of the block.
 * Tasks and results travel through shared memory, not postMessage. Then the GIL scenario
 * again, with the pool: CPU-bound chunks on 1 worker against one per core.
 *
 * Run alone: `node build/examples/06-thread-pool.js`.
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ThreadPoolExecutor, isMainThread } from "weft-threads";
import { countPrimes } from "./04-cpu-parallelism.js";
import { speedupCaveat } from "./speedup-note.js";

/** What {@link main} found, for the tour and the tests to check. */
export interface ThreadPoolResult {
  squares: number[];
  power: number;
  primes: { one: number; all: number };
  ms: { one: number; all: number };
  workers: number;
  speedup: number;
}

const LIMIT = 2_000_000;
const CHUNK = 20_000;

/** A module target: counts the primes of chunk `k` (the numbers k*CHUNK .. (k+1)*CHUNK). */
export function countChunk(k: number): number {
  return countPrimes(LIMIT, CHUNK, k, Number.MAX_SAFE_INTEGER);
}

async function primesWith(workers: number): Promise<{ primes: number; ms: number }> {
  await using pool = new ThreadPoolExecutor({ maxWorkers: workers, threadNamePrefix: `primes-${workers}` });
  const chunks = Math.ceil(LIMIT / CHUNK);
  const start = performance.now();
  let primes = 0;
  const target = { module: import.meta.url, export: "countChunk" };
  for await (const count of pool.map<number, number>(target, Array.from({ length: chunks }, (_, k) => k))) {
    primes += count;
  }
  return { primes, ms: performance.now() - start };
}

/** Runs the scenario; `print` receives the main thread's narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<ThreadPoolResult> {
  let squares: number[] = [];
  let power = 0;
  {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    for await (const square of pool.map((x: number) => x * x, [0, 1, 2, 3, 4])) squares.push(square);
    print(`pool.map(x => x * x, [0, 1, 2, 3, 4]) -> ${JSON.stringify(squares)} (in input order)`);
    const future = pool.submit((base: number, exponent: number) => base ** exponent, 2, 10);
    power = await future;
    print(`pool.submit((b, e) => b ** e, 2, 10) -> ${future} -> ${power}`);
  }
  squares = squares.slice();

  const workers = availableParallelism();
  const one = await primesWith(1);
  const all = await primesWith(workers);
  const speedup = one.ms / all.ms;
  print(`primes below ${LIMIT.toLocaleString("en")}: ${one.primes} on 1 worker in ${one.ms.toFixed(0)} ms, ${all.primes} on ${workers} workers in ${all.ms.toFixed(0)} ms: ${speedup.toFixed(2)}x`);
  const caveat = speedupCaveat(speedup, workers);
  if (caveat !== undefined) print(caveat);
  return { squares, power, primes: { one: one.primes, all: all.primes }, ms: { one: one.ms, all: all.ms }, workers, speedup };
}

if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
