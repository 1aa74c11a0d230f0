/**
 * Group 2: uncontended `lock.acquireSync()` + `lock.release()` throughput, measured inside a
 * weft Thread, against the bare futex lock (bare-futex.ts) in the same thread. Rounds are
 * interleaved (bare, Lock, fair Lock, RLock, bare, ...) so that every variant sees the same
 * conditions, and each weft round is compared with the bare round just before it.
 */
import { Lock, RLock, Thread } from "weft-threads";
import { bareAcquireSlow } from "./bare-futex.js";
import { median, rate, now, type GroupResult } from "./stats.js";

const GROUP = "2 uncontended";
const OPS = 1_000_000;
const ROUNDS = 21;
const WARMUP_ROUNDS = 3;

function loopBare(word: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (Atomics.compareExchange(word, 0, 0, 1) !== 0) bareAcquireSlow(word);
    if (Atomics.exchange(word, 0, 0) === 2) Atomics.notify(word, 0, 1);
  }
}

function loopLock(lock: Lock, n: number): void {
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    lock.release();
  }
}

/**
 * loopLock again, for the fair Lock, and loopRLock for RLock: a loop that saw several kinds
 * of lock would measure the JIT's handling of a call site that sees them all (the fair and
 * unfair paths inlined together, or a polymorphic call), which a program that uses one
 * kind of lock in one place does not pay.
 */
function loopFairLock(lock: Lock, n: number): void {
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    lock.release();
  }
}

function loopRLock(lock: RLock, n: number): void {
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    lock.release();
  }
}

function timed(fn: () => void): number {
  const t0 = now();
  fn();
  return OPS / ((now() - t0) / 1000);
}

type Variant = "bare" | "lock" | "fair" | "rlock";

/** Thread target: runs every variant, interleaved; returns ops/s per measured round. */
export function uncontendedThread(lock: Lock, fairLock: Lock, rlock: RLock, word: Int32Array): Record<Variant, number[]> {
  const out: Record<Variant, number[]> = { bare: [], lock: [], fair: [], rlock: [] };
  for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
    const bare = timed(() => loopBare(word, OPS));
    const plain = timed(() => loopLock(lock, OPS));
    const fair = timed(() => loopFairLock(fairLock, OPS));
    const re = timed(() => loopRLock(rlock, OPS));
    if (r < WARMUP_ROUNDS) continue;
    out.bare.push(bare);
    out.lock.push(plain);
    out.fair.push(fair);
    out.rlock.push(re);
  }
  if (Atomics.load(word, 0) !== 0 || lock.locked() || fairLock.locked() || rlock.locked()) throw new Error("a lock was left held");
  return out;
}

export async function benchUncontended(): Promise<GroupResult> {
  const word = new Int32Array(new SharedArrayBuffer(4));
  const t = new Thread({
    target: { module: import.meta.url, export: "uncontendedThread" },
    args: [new Lock(), new Lock({ fair: true }), new RLock(), word],
  });
  t.start();
  await t.join();
  if (t.error !== undefined) throw t.error;
  const res = t.result as Record<Variant, number[]>;
  const round = `${OPS / 1e6}M ops`;
  const fig = (v: Variant) => rate(res[v], round, WARMUP_ROUNDS);
  const paired = (v: Variant) => res[v].map((x, i) => x / res.bare[i]);
  const BARE = "raw: bare futex lock";
  const plainRatio = median(paired("lock"));
  const plain = fig("lock");
  const bare = fig("bare");
  return {
    rows: [
      { group: GROUP, label: "weft: Lock acquireSync+release", figure: plain, vs: BARE, paired: paired("lock") },
      { group: GROUP, label: "weft: Lock({fair:true}) acquireSync+release", figure: fig("fair"), vs: BARE, paired: paired("fair") },
      { group: GROUP, label: "weft: RLock acquireSync+release", figure: fig("rlock"), vs: BARE, paired: paired("rlock") },
      { group: GROUP, label: BARE, figure: bare },
    ],
    checks: [
      {
        target: "2. uncontended Lock >= 80% of bare futex (in a Thread)",
        measured: `${(plain.median / 1e6).toFixed(1)}M vs ${(bare.median / 1e6).toFixed(1)}M ops/s; per-round ratio median ${(plainRatio * 100).toFixed(0)}%`,
        met: plainRatio >= 0.8,
      },
    ],
    notes: [],
  };
}
