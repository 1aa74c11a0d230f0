/**
 * No lost wake-ups. The queues' conditions and the pool's doorbell (core/eventcount.ts) skip
 * a wake-up while every counted sleeper is already signalled, and a mistake in that count
 * leaves a sleeper parked beside the item it waits for; a Semaphore's release and a
 * Condition's notify skip the kernel call while nobody is counted as waiting.
 *
 * Other stress tests cannot see such a loss: in a stream, the next put (or the shutdown at
 * the end) wakes the sleeper and hides it. Here every round is a rendezvous: each thread
 * takes exactly one item per round (or puts one) and then waits for the next round, so
 * nothing comes after the last put of a round, and a lost wake-up is a round that never
 * ends. The puts of a round are spaced by random gaps of up to ~150 µs, about a kernel
 * wake-up here: the window in which a sleeper that was just woken is still getting up.
 * (The bug this file was written for lost a round in about one run of 1000 rounds in two.)
 *
 * Scale with WEFT_STRESS (a multiplier, default 1). This file is also a module target: the
 * exports run in threads, so the tests are registered under `if (isMainThread)`.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Condition, LifoQueue, Lock, Queue, Semaphore, SharedArray, ThreadPoolExecutor, isMainThread, type Thread } from "weft-threads";
import { finish, rng, startExport } from "./helpers/common.js";

const SCALE = Math.max(0.05, Number(process.env.WEFT_STRESS ?? "1") || 1);
/** Cells of the rendezvous: the round now open, threads started, items got (or put) in all. */
const ROUND = 0;
const STARTED = 1;
const DONE = 2;
/** How long a round may take before it counts as lost (a loaded 2-core box is slow, not this slow). */
const ROUND_LIMIT_MS = 15_000;

// ---------------------------------------------------------------------------------------
// Module targets (run inside threads).

/** Waits until round `round` is open (or later); false once the last round is over (-1). */
function awaitRound(cells: Int32Array, round: number): boolean {
  for (;;) {
    const open = Atomics.load(cells, ROUND);
    if (open === -1) return false;
    if (open >= round) return true;
    Atomics.wait(cells, ROUND, open);
  }
}

/** Each round, takes one item with `getSync` (parking if none is there). */
export function takeOnePerRound(q: Queue<number>, counters: SharedArray<"int32">): void {
  const cells = counters.array;
  Atomics.add(cells, STARTED, 1);
  for (let round = 1; awaitRound(cells, round); round++) {
    q.getSync();
    Atomics.add(cells, DONE, 1);
  }
}

/** Each round, puts one item with `putSync` (parking while the bounded queue is full). */
export function putOnePerRound(q: Queue<number>, counters: SharedArray<"int32">): void {
  const cells = counters.array;
  Atomics.add(cells, STARTED, 1);
  for (let round = 1; awaitRound(cells, round); round++) {
    q.putSync(round);
    Atomics.add(cells, DONE, 1);
  }
}

/** Each round, takes one permit with `acquireSync` (parking while there is none). */
export function acquireOnePerRound(semaphore: Semaphore, counters: SharedArray<"int32">): void {
  const cells = counters.array;
  Atomics.add(cells, STARTED, 1);
  for (let round = 1; awaitRound(cells, round); round++) {
    semaphore.acquireSync();
    Atomics.add(cells, DONE, 1);
  }
}

/** Each round, takes one token under the condition's lock, waiting on it while there is none. */
export function takeTokenPerRound(condition: Condition, tokens: SharedArray<"int32">, counters: SharedArray<"int32">): void {
  const cells = counters.array;
  Atomics.add(cells, STARTED, 1);
  for (let round = 1; awaitRound(cells, round); round++) {
    condition.acquireSync();
    try {
      while (tokens.array[0] === 0) condition.waitSync();
      tokens.array[0]--;
    } finally {
      condition.release();
    }
    Atomics.add(cells, DONE, 1);
  }
}

// ---------------------------------------------------------------------------------------
// Main.

function busyMicros(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

const SEED = Number(process.env.WEFT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const rounds = (base: number): number => Math.max(10, Math.round(base * SCALE));

/**
 * Runs `count` rounds with `threads` threads of `target`, each doing one operation a
 * round; `act` is main's side of a round (the spaced puts or gets). Fails on the first
 * round that does not end.
 */
async function rendezvous(
  label: string,
  target: "takeOnePerRound" | "putOnePerRound" | "acquireOnePerRound" | "takeTokenPerRound",
  args: unknown[],
  threads: number,
  count: number,
  act: (random: () => number) => Promise<void>,
): Promise<void> {
  const counters = new SharedArray("int32", 3);
  const cells = counters.array;
  const started: Thread<unknown, unknown[]>[] = [];
  for (let i = 0; i < threads; i++) started.push(startExport(import.meta.url, target, [...args, counters], `${label}-${i}`));
  try {
    while (Atomics.load(cells, STARTED) < threads) await delay(5);
    const random = rng(SEED);
    for (let round = 1; round <= count; round++) {
      Atomics.store(cells, ROUND, round);
      Atomics.notify(cells, ROUND);
      // Most rounds let the threads park first; the others race them.
      if (random() < 0.7) await delay(1);
      await act(random);
      const limit = performance.now() + ROUND_LIMIT_MS;
      while (Atomics.load(cells, DONE) < round * threads) {
        if (performance.now() > limit) {
          assert.fail(
            `${label}: lost wake-up in round ${round} of ${count} (seed ${SEED}): ` +
              `${round * threads - Atomics.load(cells, DONE)} of ${threads} threads still parked`,
          );
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    Atomics.store(cells, ROUND, -1);
    Atomics.notify(cells, ROUND);
  }
  for (const thread of started) await finish(thread);
}

if (isMainThread) {
  const T = { timeout: Math.max(120_000, 120_000 * SCALE) };
  // A test that failed by hanging leaves threads parked: do not let them keep the process.
  after(() => void setTimeout(() => process.exit(), 3000).unref());

  test(`getters parked in threads: every put of a round wakes one (FIFO ring and LIFO store; seed ${SEED})`, T, async () => {
    for (const q of [new Queue<number>(), new LifoQueue<number>()]) {
      const threads = 4;
      await rendezvous(`getters/${q.constructor.name}`, "takeOnePerRound", [q], threads, rounds(300), async (random) => {
        for (let i = 0; i < threads; i++) {
          q.putNowait(i);
          busyMicros(random() * 150);
        }
      });
      assert.equal(q.qsize(), 0, "every item was taken");
    }
  });

  test(`putters parked on a full queue in threads: every get of a round wakes one (seed ${SEED})`, T, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    const threads = 4;
    q.putNowait(0);
    let got = 0;
    await rendezvous("putters", "putOnePerRound", [q], threads, rounds(300), async (random) => {
      for (let i = 0; i < threads; i++) {
        await q.get();
        got++;
        busyMicros(random() * 150);
      }
    });
    // Each round's gets made room for exactly its puts: the queue holds the one item left.
    assert.equal(q.qsize(), 1);
    assert.equal(got, rounds(300) * threads);
  });

  test(`Semaphore: threads parked in acquireSync: every release of a round wakes one (seed ${SEED})`, T, async () => {
    const semaphore = new Semaphore(0);
    const threads = 4;
    await rendezvous("semaphore", "acquireOnePerRound", [semaphore], threads, rounds(300), async (random) => {
      for (let i = 0; i < threads; i++) {
        semaphore.release();
        busyMicros(random() * 150);
      }
    });
    assert.equal(semaphore.acquireSync({ blocking: false }), false, "every permit was taken");
  });

  test(`Condition: threads waiting for tokens: every notify of a round reaches one (seed ${SEED})`, T, async () => {
    const condition = new Condition(new Lock());
    const tokens = new SharedArray("int32", 1);
    const threads = 4;
    await rendezvous("condition", "takeTokenPerRound", [condition, tokens], threads, rounds(300), async (random) => {
      for (let i = 0; i < threads; i++) {
        await condition.acquire();
        tokens.array[0]++;
        condition.notify();
        condition.release();
        busyMicros(random() * 150);
      }
    });
    assert.equal(tokens.array[0], 0, "every token was taken");
  });

  test(`pool workers asleep on the doorbell: every burst of tasks is run (seed ${SEED})`, T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 4 });
    const random = rng(SEED);
    const count = rounds(400);
    let total = 0;
    let expected = 0;
    for (let round = 1; round <= count; round++) {
      // Most bursts come after the workers have fallen asleep on the doorbell.
      if (random() < 0.7) await delay(1);
      const futures = [];
      const k = 1 + Math.floor(random() * 6);
      expected += (k * (k + 1)) / 2;
      for (let i = 0; i < k; i++) {
        futures.push(pool.submit((x: number) => x + 1, i));
        busyMicros(random() * 150);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const lost = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`lost wake-up: round ${round} of ${count} never finished (seed ${SEED})`)), ROUND_LIMIT_MS);
      });
      try {
        const results = await Promise.race([Promise.all(futures), lost]);
        total += results.reduce((sum, r) => sum + r, 0);
      } finally {
        clearTimeout(timer);
      }
    }
    assert.equal(total, expected, "every task ran once and returned its result");
  });
}
