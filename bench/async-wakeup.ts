/**
 * Group 5: the async side. The main thread awaits `lock.acquire()` on a lock a weft thread
 * holds; the thread stamps the monotonic clock (process.hrtime, shared by all threads) and
 * releases; the main thread stamps again when its await resumes. One sample is that gap:
 * the wake-up through Atomics.waitAsync and the event loop. Baseline in the same run: the
 * same hand-off with a bare `await Atomics.waitAsync(...)` on main and `Atomics.notify` in
 * the thread.
 *
 * Each round: main asks the thread to take the lock (CMD), waits until it holds it (HELD),
 * starts `lock.acquire()` (which parks at once: the lock is held), then tells the thread to
 * release (GO). Main is idle in its event loop when the release comes, as an app would be.
 */
import { Lock, Thread } from "weft-threads";
import { latency, nowNs, type GroupResult, type Latency } from "./stats.js";

const GROUP = "5 async wake-up (main)";
const N = 5_000;
const WARMUP = 200;

const CMD = 0;
const HELD = 1;
const GO = 2;
const SIG = 3;

type Kind = "lock" | "raw";

function waitFor(ctl: Int32Array, index: number, value: number): void {
  for (let v = Atomics.load(ctl, index); v < value; v = Atomics.load(ctl, index)) Atomics.wait(ctl, index, v);
}

/** Thread target: holds and releases the lock (or just notifies) `n` times on command. */
export function holderThread(kind: Kind, lock: Lock, ctl: Int32Array, stamp: BigInt64Array, n: number): void {
  for (let k = 1; k <= n; k++) {
    waitFor(ctl, CMD, k);
    if (kind === "lock") lock.acquireSync();
    Atomics.store(ctl, HELD, k);
    Atomics.notify(ctl, HELD);
    waitFor(ctl, GO, k);
    stamp[0] = nowNs();
    if (kind === "lock") {
      lock.release();
    } else {
      Atomics.store(ctl, SIG, k);
      Atomics.notify(ctl, SIG);
    }
  }
}

async function waitForAsync(ctl: Int32Array, index: number, value: number): Promise<void> {
  for (let v = Atomics.load(ctl, index); v < value; v = Atomics.load(ctl, index)) {
    const w = Atomics.waitAsync(ctl, index, v);
    if (w.async) await w.value;
  }
}

async function run(kind: Kind): Promise<Latency> {
  const lock = new Lock();
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const stamp = new BigInt64Array(new SharedArrayBuffer(8));
  const t = new Thread({ target: { module: import.meta.url, export: "holderThread" }, args: [kind, lock, ctl, stamp, WARMUP + N] });
  t.start();
  const samples: number[] = [];
  for (let k = 1; k <= WARMUP + N; k++) {
    Atomics.store(ctl, CMD, k);
    Atomics.notify(ctl, CMD);
    await waitForAsync(ctl, HELD, k);
    let woke: Promise<unknown>;
    if (kind === "lock") {
      woke = lock.acquire();
    } else {
      const w = Atomics.waitAsync(ctl, SIG, k - 1);
      woke = w.async ? w.value : Promise.resolve(w.value);
    }
    Atomics.store(ctl, GO, k);
    Atomics.notify(ctl, GO);
    const got = await woke;
    const t1 = nowNs();
    if (kind === "lock") {
      if (got !== true) throw new Error("lock.acquire() did not resolve true");
      lock.release();
    }
    if (k > WARMUP) samples.push(Number(t1 - stamp[0]) / 1000);
  }
  await t.join();
  if (t.error !== undefined) throw t.error;
  return latency(samples, WARMUP);
}

export async function benchAsyncWakeup(): Promise<GroupResult> {
  const RAW = "raw: await Atomics.waitAsync, notify from a thread";
  const weft = await run("lock");
  const raw = await run("raw");
  return {
    rows: [
      { group: GROUP, label: "weft: await lock.acquire(), released by a thread", figure: weft, vs: RAW },
      { group: GROUP, label: RAW, figure: raw },
    ],
    checks: [],
    notes: [],
  };
}
