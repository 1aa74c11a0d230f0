/**
 * Group 3: two threads each incrementing one shared counter (a plain Int32Array cell,
 * non-atomic read-modify-write) under a lock; total increments per second, and a check
 * that the final count is exact. weft Lock, Lock({fair:true}) and RLock against the bare
 * futex lock (bare-futex.ts), rounds interleaved.
 *
 * A round runs for a fixed time: both threads meet at a start gate, thread 0 raises a stop
 * flag after ROUND_MS, and both check it every 64 increments (outside the lock). The sum
 * of the increments each thread counted for itself must equal the shared counter.
 */
import { Lock, RLock, Thread } from "weft-threads";
import { bareAcquireSlow, bareAcquireSlowBackOff } from "./bare-futex.js";
import { median, now, rate, type GroupResult, type Row } from "./stats.js";

const GROUP = "3 contended (2 threads)";
const ROUND_MS = 200;
const ROUNDS = 7;
const WARMUP_ROUNDS = 1;

const READY = 0;
const STOP = 1;

type Variant = "bare" | "bare-backoff" | "lock" | "fair" | "rlock";

function gate(ctl: Int32Array): void {
  Atomics.add(ctl, READY, 1);
  while (Atomics.load(ctl, READY) < 2);
}

function shouldStop(ctl: Int32Array, id: number, deadline: number): boolean {
  if (id === 0 && now() >= deadline) Atomics.store(ctl, STOP, 1);
  return Atomics.load(ctl, STOP) !== 0;
}

function runBare(word: Int32Array, counter: Int32Array, ctl: Int32Array, id: number, deadline: number, slow: (word: Int32Array) => void): number {
  let n = 0;
  for (;;) {
    for (let i = 0; i < 64; i++) {
      if (Atomics.compareExchange(word, 0, 0, 1) !== 0) slow(word);
      counter[0] = counter[0] + 1;
      if (Atomics.exchange(word, 0, 0) === 2) Atomics.notify(word, 0, 1);
    }
    n += 64;
    if (shouldStop(ctl, id, deadline)) return n;
  }
}

function runLock(lock: Lock, counter: Int32Array, ctl: Int32Array, id: number, deadline: number): number {
  let n = 0;
  for (;;) {
    for (let i = 0; i < 64; i++) {
      lock.acquireSync();
      counter[0] = counter[0] + 1;
      lock.release();
    }
    n += 64;
    if (shouldStop(ctl, id, deadline)) return n;
  }
}

/**
 * The same loop as runLock, for the fair Lock and for RLock. One function for all would
 * see every kind once a warm carrier has run them all (carriers keep module state), and
 * the JIT would then measure a call site that handles every kind rather than the lock.
 */
function runFairLock(lock: Lock, counter: Int32Array, ctl: Int32Array, id: number, deadline: number): number {
  let n = 0;
  for (;;) {
    for (let i = 0; i < 64; i++) {
      lock.acquireSync();
      counter[0] = counter[0] + 1;
      lock.release();
    }
    n += 64;
    if (shouldStop(ctl, id, deadline)) return n;
  }
}

function runRLock(lock: RLock, counter: Int32Array, ctl: Int32Array, id: number, deadline: number): number {
  let n = 0;
  for (;;) {
    for (let i = 0; i < 64; i++) {
      lock.acquireSync();
      counter[0] = counter[0] + 1;
      lock.release();
    }
    n += 64;
    if (shouldStop(ctl, id, deadline)) return n;
  }
}

/** Thread target: one of the two incrementing threads. Returns [increments, elapsed ms]. */
export function contendedThread(variant: Variant, lock: Lock | RLock | null, word: Int32Array, counter: Int32Array, ctl: Int32Array, id: number): [number, number] {
  gate(ctl);
  const t0 = now();
  const deadline = t0 + ROUND_MS;
  let n: number;
  if (variant === "bare") n = runBare(word, counter, ctl, id, deadline, bareAcquireSlow);
  else if (variant === "bare-backoff") n = runBare(word, counter, ctl, id, deadline, bareAcquireSlowBackOff);
  else if (lock instanceof RLock) n = runRLock(lock, counter, ctl, id, deadline);
  else if (variant === "fair") n = runFairLock(lock as Lock, counter, ctl, id, deadline);
  else n = runLock(lock as Lock, counter, ctl, id, deadline);
  return [n, now() - t0];
}

async function round(variant: Variant, lock: Lock | RLock | null): Promise<{ rate: number; exact: boolean; total: number; counted: number }> {
  const word = new Int32Array(new SharedArrayBuffer(4));
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  const threads = [0, 1].map(
    (id) =>
      new Thread({
        target: { module: import.meta.url, export: "contendedThread" },
        args: [variant, lock, word, counter, ctl, id],
      }),
  );
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  let total = 0;
  let elapsed = 0;
  for (const t of threads) {
    if (t.error !== undefined) throw t.error;
    const [n, ms] = t.result as [number, number];
    total += n;
    elapsed = Math.max(elapsed, ms);
  }
  return { rate: total / (elapsed / 1000), exact: counter[0] === total, total, counted: counter[0] };
}

export async function benchContended(): Promise<GroupResult> {
  const variants: [Variant, Lock | RLock | null][] = [
    ["bare", null],
    ["bare-backoff", null],
    ["lock", new Lock()],
    ["fair", new Lock({ fair: true })],
    ["rlock", new RLock()],
  ];
  const rates = new Map<Variant, number[]>(variants.map(([v]) => [v, []]));
  const inexact: string[] = [];
  for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
    for (const [variant, lock] of variants) {
      const res = await round(variant, lock);
      if (!res.exact) inexact.push(`${variant}: counter ${res.counted} != ${res.total} increments`);
      if (r >= WARMUP_ROUNDS) rates.get(variant)?.push(res.rate);
    }
  }
  const roundText = `${ROUND_MS} ms`;
  const BARE = "raw: bare futex lock, 2 threads";
  const fig = (v: Variant) => rate(rates.get(v) ?? [], roundText, WARMUP_ROUNDS, "incs/s");
  const plain = fig("lock");
  const bare = fig("bare");
  const paired = (v: Variant) => (rates.get(v) ?? []).map((x, i) => x / (rates.get("bare") ?? [])[i]);
  const rows: Row[] = [
    { group: GROUP, label: "weft: Lock, 2 threads", figure: plain, vs: BARE, paired: paired("lock") },
    { group: GROUP, label: "weft: Lock({fair:true}), 2 threads", figure: fig("fair"), vs: BARE, paired: paired("fair") },
    { group: GROUP, label: "weft: RLock, 2 threads", figure: fig("rlock"), vs: BARE, paired: paired("rlock") },
    { group: GROUP, label: BARE, figure: bare },
    { group: GROUP, label: "raw: bare futex lock with weft's back-off, 2 threads", figure: fig("bare-backoff"), vs: BARE, paired: paired("bare-backoff") },
  ];
  return {
    rows,
    checks: [
      {
        target: "3. contended Lock, 2 threads >= 10M incs/s",
        measured: `${(plain.median / 1e6).toFixed(1)}M incs/s (bare futex ${(bare.median / 1e6).toFixed(1)}M; per-round ratio median ${(median(paired("lock")) * 100).toFixed(0)}%)`,
        met: plain.median >= 10e6,
      },
      {
        target: "3. final count exact in every round (all variants)",
        measured: inexact.length === 0 ? "exact in all rounds" : inexact.join("; "),
        met: inexact.length === 0,
      },
    ],
    notes: [],
  };
}
