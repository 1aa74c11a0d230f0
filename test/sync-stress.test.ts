/**
 * Multi-thread stress tests of the synchronization primitives: many threads, randomized
 * interleavings (random spins, timed attempts, and on the main thread async waits that
 * abort at random), checking invariants rather than timings:
 *   - mutual exclusion: a counter incremented non-atomically under the lock is exact, and
 *     an "inside" flag is never found set on entry;
 *   - no lost wake-ups: waits without timeouts, so a lost wake-up hangs the test until its
 *     timeout; producer/consumer counts and sums, semaphore permits conserved, every
 *     Event generation seen by every waiter, every Barrier round complete;
 *   - a fair Lock starves no one.
 * Scale with WEFT_STRESS (a multiplier, default 1).
 */
import assert from "node:assert/strict";
import { until } from "./helpers/common.js";
import { cellsOf } from "./helpers/internals.js";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
  SharedArray,
  SharedValue,
  Thread,
  type AcquireOptions,
  type SendableArgs,
} from "weft-threads";

const T = { timeout: 20_000 };
const SCALE = Math.max(0.1, Number(process.env.WEFT_STRESS ?? 1) || 1);
const scaled = (n: number): number => Math.max(1, Math.round(n * SCALE));
const THREADS = 8;

/** A seeded xorshift generator (the main thread's random choices). */
function random(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Starts `count` threads running `target(i, ...args)` and resolves to their results, rethrowing what they threw. */
async function runThreads<A extends unknown[], R>(count: number, target: (i: number, ...args: A) => R, ...args: A): Promise<Awaited<R>[]> {
  const threads = Array.from({ length: count }, (_, i) => {
    const thread = new Thread<Awaited<R>, [number, ...A]>({ target: target as (i: number, ...args: A) => Awaited<R>, args: [i, ...args] as SendableArgs<[number, ...A]> });
    thread.start();
    return thread;
  });
  const results: Awaited<R>[] = [];
  for (const thread of threads) {
    await thread.join();
    if (thread.error !== undefined) throw thread.error;
    results.push(thread.result as Awaited<R>);
  }
  return results;
}

interface Holder {
  acquire(options?: AcquireOptions): Promise<boolean>;
  acquireSync(options?: AcquireOptions): boolean;
  release(): void;
}

// Cells of the shared int32 array of the exclusion test.
const INSIDE = 0;
const COUNTER = 1;
const VIOLATIONS = 2;

/**
 * Runs in each thread: `iterations` critical sections on `holder`, some entered with a
 * short timeout, some re-entered (RLock), with random spins inside and between.
 */
function exclusionWorker(seed: number, holder: Holder, cells: SharedArray<"int32">, iterations: number, reentrant: boolean): number {
  let x = (seed * 2654435761) | 1;
  const rand = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const spin = (n: number): void => {
    for (let i = 0; i < n; i++) Math.sqrt(i);
  };
  const a = cells.array;
  let entered = 0;
  for (let i = 0; i < iterations; i++) {
    const timed = rand() < 0.15;
    if (!holder.acquireSync(timed ? { timeout: rand() * 0.2 } : undefined)) continue;
    const nested = reentrant && rand() < 0.3 && holder.acquireSync();
    if (Atomics.exchange(a, 0, 1) !== 0) Atomics.add(a, 2, 1); // INSIDE, VIOLATIONS
    const count = a[1]; // COUNTER, read and written non-atomically on purpose
    spin(rand() < 0.2 ? rand() * 400 : 5);
    a[1] = count + 1;
    Atomics.store(a, 0, 0);
    if (nested) holder.release();
    holder.release();
    entered++;
    if (rand() < 0.3) spin(rand() * 200);
  }
  return entered;
}

/** The main thread's part: async acquisitions, some aborted at random (leaving ghost waiters). */
async function exclusionMain(holder: Holder, cells: SharedArray<"int32">, iterations: number, seed: number): Promise<number> {
  const rand = random(seed);
  const a = cells.array;
  let entered = 0;
  for (let i = 0; i < iterations; i++) {
    const controller = new AbortController();
    if (rand() < 0.25) setTimeout(() => controller.abort(), rand() * 2);
    try {
      if (!(await holder.acquire({ signal: controller.signal, timeout: rand() < 0.2 ? 1 : undefined }))) continue;
    } catch (error) {
      if (!controller.signal.aborted) throw error;
      continue;
    }
    if (Atomics.exchange(a, INSIDE, 1) !== 0) Atomics.add(a, VIOLATIONS, 1);
    const count = a[COUNTER];
    if (rand() < 0.3) await delay(0); // hold it across an event-loop turn
    a[COUNTER] = count + 1;
    Atomics.store(a, INSIDE, 0);
    holder.release();
    entered++;
  }
  return entered;
}

const exclusionCases: [string, () => Holder, boolean][] = [
  ["Lock", () => new Lock(), false],
  ["Lock (fair)", () => new Lock({ fair: true }), false],
  ["RLock", () => new RLock(), true],
  ["RLock (fair)", () => new RLock({ fair: true }), true],
  ["Condition (its RLock)", () => new Condition(), true],
  ["Semaphore(1)", () => new Semaphore(1), false],
  ["BoundedSemaphore(1)", () => new BoundedSemaphore(1), false],
];

for (const [name, make, reentrant] of exclusionCases) {
  test(`stress: ${name} excludes across ${THREADS} threads and the main thread`, T, async () => {
    const holder = make();
    const cells = new SharedArray("int32", 3);
    const iterations = scaled(600);
    const [threads, main] = await Promise.all([
      runThreads(THREADS, exclusionWorker, holder, cells, iterations, reentrant),
      exclusionMain(holder, cells, scaled(300), 7),
    ]);
    const entered = threads.reduce((a, b) => a + b, 0) + main;
    assert.equal(cells.array[VIOLATIONS], 0, "two holders at once");
    assert.equal(cells.array[COUNTER], entered, "lost updates under the lock");
    assert.ok(entered >= THREADS * iterations * 0.5, `too few entries: ${entered}`);
    assert.equal(await holder.acquire({ blocking: false }), true, "free at the end");
    holder.release();
  });
}

// Cells of the bounded buffer: HEAD, TAIL, COUNT, DONE, then the slots.
const CAPACITY = 3;

test("stress: Condition producer/consumer over a bounded buffer loses no item and no wake-up", T, async () => {
  const lock = new Lock();
  const notEmpty = new Condition(lock);
  const notFull = new Condition(lock);
  const buffer = new SharedArray("int32", 4 + CAPACITY);
  const consumed = new SharedArray("float64", 2); // count, sum
  const perProducer = scaled(800);
  const producers = 4;
  const consumers = 3;

  const producer = (i: number, full: Condition, empty: Condition, buf: SharedArray<"int32">, n: number, capacity: number) => {
    const b = buf.array;
    let x = (i + 1) * 7919;
    for (let k = 0; k < n; k++) {
      full.acquireSync();
      while (b[2] === capacity) full.waitSync(); // no timeout: a lost wake-up hangs
      b[4 + b[1]] = i * 1_000_000 + k;
      b[1] = (b[1] + 1) % capacity;
      b[2]++;
      // notify(1) most of the time: that is where a lost wake-up would show.
      if ((x = (x * 1103515245 + 12345) & 0x7fffffff) % 10 === 0) empty.notifyAll();
      else empty.notify();
      full.release();
      if (x % 7 === 0) for (let s = 0; s < (x % 300); s++) Math.sqrt(s);
    }
  };
  const consumer = (_i: number, full: Condition, empty: Condition, buf: SharedArray<"int32">, out: SharedArray<"float64">, capacity: number) => {
    const b = buf.array;
    let count = 0;
    let sum = 0;
    for (;;) {
      empty.acquireSync();
      while (b[2] === 0 && b[3] === 0) empty.waitSync();
      if (b[2] === 0) {
        empty.release();
        break;
      }
      const item = b[4 + b[0]];
      b[0] = (b[0] + 1) % capacity;
      b[2]--;
      full.notify();
      empty.release();
      count++;
      sum += item;
    }
    out.lock.acquireSync();
    out.array[0] += count;
    out.array[1] += sum;
    out.lock.release();
    return count;
  };

  const consumerThreads = runThreads(consumers, consumer, notFull, notEmpty, buffer, consumed, CAPACITY);
  // The main thread consumes too, with the async forms.
  const mainConsumer = (async () => {
    const b = buffer.array;
    let count = 0;
    let sum = 0;
    for (;;) {
      await notEmpty.acquire();
      try {
        while (b[2] === 0 && b[3] === 0) await notEmpty.wait();
        if (b[2] === 0) break;
        sum += b[4 + b[0]];
        b[0] = (b[0] + 1) % CAPACITY;
        b[2]--;
        count++;
        notFull.notify();
      } finally {
        notEmpty.release();
      }
    }
    return { count, sum };
  })();
  await runThreads(producers, producer, notFull, notEmpty, buffer, perProducer, CAPACITY);
  await notEmpty.acquire();
  buffer.array[3] = 1; // DONE
  notEmpty.notifyAll();
  notEmpty.release();
  const threadCounts = await consumerThreads;
  const mine = await mainConsumer;

  let expectedSum = 0;
  for (let i = 0; i < producers; i++) for (let k = 0; k < perProducer; k++) expectedSum += i * 1_000_000 + k;
  assert.equal(consumed.array[0] + mine.count, producers * perProducer, "items lost or duplicated");
  assert.equal(consumed.array[1] + mine.sum, expectedSum, "items lost or duplicated");
  assert.equal(threadCounts.reduce((a, b) => a + b, 0), consumed.array[0]);
  assert.equal(buffer.array[2], 0);
});

test("stress: Semaphore(3) never admits more than 3 and conserves its permits", T, async () => {
  for (const sem of [new Semaphore(3), new BoundedSemaphore(3)]) {
    const cells = new SharedArray("int32", 2); // holders now, most holders seen
    const worker = (seed: number, s: Semaphore, c: SharedArray<"int32">, n: number) => {
      const a = c.array;
      let x = (seed + 11) * 48271;
      let taken = 0;
      for (let i = 0; i < n; i++) {
        x = (x * 48271) % 2147483647;
        if (!s.acquireSync(x % 5 === 0 ? { timeout: (x % 3) * 0.1 } : undefined)) continue;
        const now = Atomics.add(a, 0, 1) + 1;
        let most = Atomics.load(a, 1);
        while (now > most) {
          const seen = Atomics.compareExchange(a, 1, most, now);
          if (seen === most) break;
          most = seen;
        }
        for (let k = 0; k < x % 200; k++) Math.sqrt(k);
        Atomics.sub(a, 0, 1);
        s.release();
        taken++;
      }
      return taken;
    };
    const main = (async () => {
      const rand = random(99);
      let taken = 0;
      for (let i = 0; i < scaled(200); i++) {
        const controller = new AbortController();
        if (rand() < 0.3) setTimeout(() => controller.abort(), rand() * 2);
        try {
          if (!(await sem.acquire({ signal: controller.signal }))) continue;
        } catch {
          continue;
        }
        Atomics.add(cells.array, 0, 1);
        if (rand() < 0.3) await delay(0);
        Atomics.sub(cells.array, 0, 1);
        sem.release();
        taken++;
      }
      return taken;
    })();
    await runThreads(THREADS, worker, sem, cells, scaled(600));
    await main;
    assert.ok(cells.array[1] <= 3, `${cells.array[1]} holders at once`);
    assert.ok(cells.array[1] >= 1);
    let permits = 0;
    while (await sem.acquire({ blocking: false })) permits++;
    assert.equal(permits, 3, "permits lost or created");
  }
});

test("stress: Semaphore ping-pong between thread pairs loses no wake-up", T, async () => {
  const rounds = scaled(3000);
  const pair = (i: number, ping: Semaphore, pong: Semaphore, n: number) => {
    for (let r = 0; r < n; r++) {
      if (i % 2 === 0) {
        ping.release();
        pong.acquireSync(); // no timeout: a lost wake-up hangs
      } else {
        ping.acquireSync();
        pong.release();
      }
    }
    return n;
  };
  const a = [new Semaphore(0), new Semaphore(0)] as const;
  const b = [new Semaphore(0), new Semaphore(0)] as const;
  const results = await Promise.all([runThreads(2, pair, a[0], a[1], rounds), runThreads(2, pair, b[0], b[1], rounds)]);
  assert.deepEqual(results.flat(), [rounds, rounds, rounds, rounds]);
  // The main thread plays too, async against a thread.
  const c = [new Semaphore(0), new Semaphore(0)] as const;
  const other = runThreads(1, (_i: number, ping: Semaphore, pong: Semaphore, n: number) => {
    for (let r = 0; r < n; r++) {
      ping.acquireSync();
      pong.release();
    }
  }, c[0], c[1], scaled(300));
  for (let r = 0; r < scaled(300); r++) {
    c[0].release();
    assert.equal(await c[1].acquire(), true);
  }
  await other;
});

test("stress: every Event generation wakes every waiter, even when clear() follows set() at once", T, async () => {
  const event = new Event();
  const acks = new SharedValue("int32", 0);
  const waiters = 6;
  const rounds = scaled(200);
  const waiter = (_i: number, e: Event, ack: SharedValue<"int32">, n: number) => {
    let woken = 0;
    for (let r = 0; r < n; r++) {
      if (e.waitSync()) woken++; // no timeout: a lost wake-up hangs
      ack.add(1);
      // Wait until the main thread has started the next round (it clears the flag, then bumps ack to a round boundary).
      while (ack.value % 1000 !== 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0.05);
    }
    return woken;
  };
  const threads = runThreads(waiters, waiter, event, acks, rounds);
  // White-box: the Event's WAITERS cell (index 1, see sync/event.ts) tells when all are parked or committed.
  const committed = (): number => Atomics.load(cellsOf(event), 1);
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    while (committed() < waiters) {
      if (performance.now() - start > 10_000) throw new Error(`round ${r}: only ${committed()} waiting`);
      await delay(0);
    }
    event.set();
    if (r % 2 === 0) event.clear(); // set() then clear() at once
    while (acks.value % 1000 < waiters) await delay(0);
    event.clear();
    acks.value = (r + 1) * 1000; // next round
  }
  const woken = await threads;
  assert.deepEqual(woken, Array(waiters).fill(rounds));
});

test("stress: Barrier rounds across threads and the main thread: every index once per round, one action per round", T, async () => {
  const threads = THREADS;
  const parties = threads + 1; // and the main thread
  const rounds = scaled(100);
  const barrier = new Barrier(parties, {
    action: () => {
      const g = globalThis as { weftBarrierActions?: number };
      g.weftBarrierActions = (g.weftBarrierActions ?? 0) + 1;
    },
  });
  const seen = new SharedArray("int32", rounds * parties);
  const party = (seed: number, b: Barrier, s: SharedArray<"int32">, n: number, p: number) => {
    let x = (seed + 3) * 16807;
    for (let r = 0; r < n; r++) {
      x = (x * 16807) % 2147483647;
      for (let k = 0; k < x % 500; k++) Math.sqrt(k);
      const index = b.waitSync();
      Atomics.add(s.array, r * p + index, 1);
    }
    const g = globalThis as { weftBarrierActions?: number };
    return g.weftBarrierActions ?? 0;
  };
  const running = runThreads(threads, party, barrier, seen, rounds, parties);
  for (let r = 0; r < rounds; r++) {
    const index = await barrier.wait({ timeout: 15_000 });
    Atomics.add(seen.array, r * parties + index, 1);
  }
  const actions = (await running).reduce((a, b) => a + b, 0) + ((globalThis as { weftBarrierActions?: number }).weftBarrierActions ?? 0);
  for (let r = 0; r < rounds; r++) {
    const row = [...seen.array.subarray(r * parties, (r + 1) * parties)];
    assert.deepEqual(row, Array(parties).fill(1), `round ${r}: indices ${row}`);
  }
  assert.equal(actions, rounds);
  assert.equal(barrier.broken, false);
  assert.equal(barrier.nWaiting, 0);
});

test("stress: a fair Lock starves no thread", T, async () => {
  const lock = new Lock({ fair: true });
  const stop = new SharedValue("int32", 0);
  const counts = new SharedArray("int32", 4);
  const start = new Barrier(5);
  const worker = (i: number, l: Lock, halt: SharedValue<"int32">, c: SharedArray<"int32">, go: Barrier) => {
    go.waitSync();
    while (halt.value === 0) {
      l.acquireSync();
      for (let k = 0; k < 50; k++) Math.sqrt(k);
      c.array[i]++;
      l.release(); // and straight back for it: an unfair lock lets this thread barge
    }
  };
  const running = runThreads(4, worker, lock, stop, counts, start);
  await start.wait();
  // Warm-up: until every thread has had the lock once (a loaded box may start one late).
  await until(() => Math.min(...counts.array) > 0, "every thread to have had the lock once", { every: 20 });
  // Measure in slices, in which every thread must get the lock (see below). A slice is 100 ms and
  // at least SLICE_MIN acquisitions in all: a loaded box can stall every thread for a while,
  // and a slice in which the lock barely moved says nothing about who it went to.
  const SLICE_MIN = 40;
  const slices: number[][] = [];
  let last = [...counts.array];
  for (let i = 0; i < scaled(5); i++) {
    let slice: number[];
    do {
      await delay(100);
      const now = [...counts.array];
      slice = now.map((n, t) => n - last[t]);
    } while (slice.reduce((a, b) => a + b, 0) < SLICE_MIN);
    slices.push(slice);
    last = slice.map((n, t) => last[t] + n);
  }
  stop.value = 1;
  await running;
  const total = slices.reduce((sum, slice) => sum.map((n, t) => n + slice[t]), [0, 0, 0, 0]);
  // A thread that the OS leaves unscheduled for a whole slice gets nothing in it (seen once,
  // with three busy loops beside the suite); a lock that lets a thread barge leaves the others
  // without it slice after slice. So a thread may miss one slice in five, no more.
  for (let t = 0; t < 4; t++) {
    const missed = slices.filter((slice) => slice[t] === 0).length;
    assert.ok(missed <= Math.floor(slices.length / 5), `thread ${t} went ${missed} whole slices without the lock (slices: ${JSON.stringify(slices)})`);
  }
  // Parked waiters are served in arrival order; threads that spin (or that the OS has not
  // scheduled: 4 busy threads share 2 cores here) are not queued yet, so shares vary some.
  // (An OS that leaves a thread unscheduled for a while, as a loaded box does, skews totals
  // up to ~20×; a lock that lets a thread barge gives a thread nearly every acquisition.)
  assert.ok(Math.min(...total) * 50 >= Math.max(...total), `a thread starved: ${total}`);
});

test("fair Lock: an async acquire with a signal keeps its place behind threads that hold the lock for seconds", T, async () => {
  // Async waits with a signal re-park every second (to bound abandoned waits); a fair
  // lock's waiter must not, or it would go to the back of the queue each time.
  const lock = new Lock({ fair: true });
  const stop = new SharedArray("int32", 1);
  const holders = Array.from({ length: 4 }, () => {
    const thread = new Thread({
      target: (l: Lock, s: SharedArray<"int32">, until: number) => {
        const pause = new Int32Array(new SharedArrayBuffer(4));
        while (Atomics.load(s.array, 0) === 0 && Date.now() < until) {
          l.acquireSync();
          Atomics.wait(pause, 0, 0, 500);
          l.release();
        }
      },
      args: [lock, stop, Date.now() + 7000],
    });
    thread.start();
    return thread;
  });
  await delay(300);
  const started = performance.now();
  await lock.acquire({ signal: new AbortController().signal });
  const waited = performance.now() - started;
  lock.release();
  Atomics.store(stop.array, 0, 1);
  for (const thread of holders) await thread.join();
  // Its turn comes after the holder and the (up to three) threads queued before it: ~2 s.
  // Pushed to the back every second, it waited until they stopped (~7 s).
  assert.ok(waited < 4500, `the async waiter waited ${waited.toFixed(0)} ms`);
});

test("fair Lock: async waiters on one event loop are served in arrival order, even one that arrives mid-hand-off", T, async () => {
  const lock = new Lock({ fair: true });
  await lock.acquire();
  const order: string[] = [];
  const take = (name: string) => lock.acquire({ timeout: 10_000 }).then((ok) => {
    order.push(ok ? name : `${name} timed out`);
    lock.release();
  });
  const a = take("A");
  const b = take("B");
  lock.release(); // hands off to A, whose wake-up needs this event loop's next turn
  const c = take("C"); // arrives while the hand-off is pending: queues behind B, without spinning
  await Promise.all([a, b, c]);
  assert.deepEqual(order, ["A", "B", "C"]);
  assert.equal(lock.locked(), false);
});
