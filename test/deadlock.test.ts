/**
 * Deadlock detection between real threads: a wait that would close a cycle of waits
 * throws DeadlockError in that thread only, whose message names every thread and lock of
 * the cycle; the others proceed once it lets go. Cycles of two and three threads, through
 * the main thread's async waits, a timed wait, RLocks and joins; none with detection off;
 * and never a false report under heavy contention without a cycle (WEFT_STRESS scales it).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Barrier, DeadlockError, Event, Lock, RLock, Thread, configure, dumpThreads, type SendableArgs } from "weft-threads";
import { until as waitUntil } from "./helpers/common.js";

const T = { timeout: 30_000 };
// A test that failed by hanging leaves waits behind (the main thread's async acquires hold
// its event loop): do not let them keep the process, or the whole run waits for ever.
after(() => void setTimeout(() => process.exit(), 3000).unref());
const SCALE = Math.max(0.1, Number(process.env.WEFT_STRESS ?? 1) || 1);

/** What a thread target returns: how its guarded wait ended. */
interface Outcome {
  readonly error?: string;
  readonly message?: string;
  readonly ok?: boolean;
}

const until = (predicate: () => boolean, what: string): Promise<void> => waitUntil(predicate, what, { detail: dumpThreads });

/** True once the dump shows thread `name` parked in a wait. */
function parked(name: string): boolean {
  const dump = dumpThreads();
  const at = dump.indexOf(`${JSON.stringify(name)} `);
  if (at < 0) return false;
  const block = dump.slice(at).split("\n\n")[0];
  return block.includes("state: waiting");
}

function start<A extends unknown[], R>(name: string, target: (...args: A) => R, ...args: A): Thread<Awaited<R>, A> {
  const thread = new Thread<Awaited<R>, A>({ target: target as (...args: A) => Awaited<R>, args: args as unknown as SendableArgs<A>, name, daemon: true });
  thread.start();
  return thread;
}

async function results<R>(threads: Thread<R, never[]>[] | Thread<R, unknown[]>[]): Promise<R[]> {
  const out: R[] = [];
  for (const thread of threads) {
    await thread.join();
    if (thread.error !== undefined) throw thread.error;
    out.push(thread.result as R);
  }
  return out;
}

/** Holds `mine`, meets the others at `gate`, then takes `next`; reports how that ended. */
function crossing(mine: Lock | RLock, next: Lock | RLock, gate: Barrier): Outcome {
  mine.acquireSync();
  try {
    gate.waitSync();
    try {
      next.acquireSync();
    } catch (error) {
      return { error: (error as Error).name, message: (error as Error).message };
    }
    next.release();
    return { ok: true };
  } finally {
    mine.release();
  }
}

function onlyOneDeadlock(outcomes: readonly Outcome[]): Outcome {
  const failed = outcomes.filter((outcome) => outcome.error !== undefined);
  assert.equal(failed.length, 1, `expected exactly one DeadlockError, got ${JSON.stringify(outcomes)}`);
  assert.equal(failed[0].error, "DeadlockError", JSON.stringify(failed[0]));
  assert.equal(outcomes.filter((outcome) => outcome.ok).length, outcomes.length - 1);
  return failed[0];
}

test("two threads crossing two locks: one DeadlockError naming both threads and locks, the other proceeds", T, async () => {
  const a = new Lock({ name: "accounts" });
  const b = new Lock();
  const gate = new Barrier(2);
  const threads = [start("worker-1", crossing, a, b, gate), start("worker-2", crossing, b, a, gate)];
  const failed = onlyOneDeadlock(await results(threads));
  const message = failed.message ?? "";
  assert.match(message, /worker-1 waits for .* held by worker-2, which waits for .* held by worker-1|worker-2 waits for .* held by worker-1, which waits for .* held by worker-2/);
  assert.match(message, /accounts/);
  assert.match(message, /Lock#\d+/);
  assert.ok(!a.locked() && !b.locked());
});

test("a cycle of three threads: exactly one error, naming all three", T, async () => {
  const locks = [new Lock({ name: "L0" }), new Lock({ name: "L1" }), new Lock({ name: "L2" })];
  const gate = new Barrier(3);
  const threads = [0, 1, 2].map((i) => start(`ring-${i}`, crossing, locks[i], locks[(i + 1) % 3], gate));
  const failed = onlyOneDeadlock(await results(threads));
  for (const name of ["ring-0", "ring-1", "ring-2", "L0", "L1", "L2"]) assert.match(failed.message ?? "", new RegExp(name));
});

test("RLocks in a cycle (fair and not)", T, async () => {
  const a = new RLock();
  const b = new RLock({ fair: true });
  const gate = new Barrier(2);
  const threads = [start("r-1", crossing, a, b, gate), start("r-2", crossing, b, a, gate)];
  const failed = onlyOneDeadlock(await results(threads));
  assert.match(failed.message ?? "", /RLock#\d+.*RLock#\d+/);
});

test("fair Locks in a cycle", T, async () => {
  const a = new Lock({ fair: true, name: "fair-a" });
  const b = new Lock({ fair: true, name: "fair-b" });
  const gate = new Barrier(2);
  onlyOneDeadlock(await results([start("f-1", crossing, a, b, gate), start("f-2", crossing, b, a, gate)]));
});

test("the main thread's async wait closes a cycle: its acquire rejects with DeadlockError", T, async () => {
  const mine = new Lock({ name: "main-lock" });
  const theirs = new Lock({ name: "worker-lock" });
  const holding = new Event();
  assert.equal(await mine.acquire(), true);
  const worker = start(
    "holder",
    (held: Lock, wanted: Lock, ready: Event): Outcome => {
      held.acquireSync();
      ready.set();
      try {
        wanted.acquireSync();
      } catch (error) {
        held.release();
        return { error: (error as Error).name };
      }
      wanted.release();
      held.release();
      return { ok: true };
    },
    theirs,
    mine,
    holding,
  );
  await holding.wait();
  await until(() => parked("holder"), "the worker parks on main-lock");
  const error = await theirs.acquire().then(
    () => assert.fail("the acquire should have been refused"),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof DeadlockError, String(error));
  assert.match(error.message, /MainThread waits for worker-lock held by holder, which waits for main-lock held by MainThread/);
  assert.equal(error.cycle.length, 2);
  assert.equal(error.cycle[0].thread, "MainThread");
  mine.release();
  const [outcome] = await results([worker]);
  assert.deepEqual(outcome, { ok: true });
});

test("the main thread with several pending async waits: a worker closing a cycle through one of them gets the error", T, async () => {
  const a = new Lock({ name: "A" });
  const b = new Lock({ name: "B" });
  const unrelated = new Lock({ name: "unrelated" });
  const ready = new Event();
  const go = new Event();
  assert.equal(await a.acquire(), true);
  const worker = start(
    "closer",
    (b: Lock, a: Lock, unrelated: Lock, ready: Event, go: Event): Outcome => {
      b.acquireSync();
      unrelated.acquireSync();
      ready.set();
      go.waitSync();
      try {
        a.acquireSync();
      } catch (error) {
        unrelated.release();
        b.release();
        return { error: (error as Error).name, message: (error as Error).message };
      }
      a.release();
      unrelated.release();
      b.release();
      return { ok: true };
    },
    b,
    a,
    unrelated,
    ready,
    go,
  );
  await ready.wait();
  const waitB = b.acquire(); // main now waits for B (held by closer)...
  const waitUnrelated = unrelated.acquire(); // ...and for an unrelated lock it holds too
  const joined = worker.join(); // ...and for the worker to end
  await until(() => dumpThreads().split("awaiting").length - 1 >= 3, "main's three waits are recorded");
  go.set();
  await joined;
  const [outcome] = await results([worker]);
  assert.equal(outcome.error, "DeadlockError", JSON.stringify(outcome));
  assert.match(outcome.message ?? "", /closer waits for A held by MainThread, which waits for (B|unrelated) held by closer/);
  assert.equal(await waitB, true);
  assert.equal(await waitUnrelated, true);
  b.release();
  unrelated.release();
  a.release();
});

test("a timed wait takes part: it fails with DeadlockError at once, not when its time runs out", T, async () => {
  const a = new Lock({ name: "first" });
  const b = new Lock({ name: "second" });
  const ready = new Event();
  const go = new Event();
  const timed = start(
    "timed",
    (a: Lock, b: Lock, ready: Event, go: Event): Outcome & { ms?: number } => {
      a.acquireSync();
      ready.set();
      go.waitSync();
      const t0 = performance.now();
      try {
        b.acquireSync({ timeout: 20_000 });
      } catch (error) {
        a.release();
        return { error: (error as Error).name, ms: performance.now() - t0 };
      }
      b.release();
      a.release();
      return { ok: true };
    },
    a,
    b,
    ready,
    go,
  );
  await ready.wait();
  const blocker = start("blocker", (b: Lock, a: Lock): Outcome => {
    b.acquireSync();
    a.acquireSync();
    a.release();
    b.release();
    return { ok: true };
  }, b, a);
  await until(() => parked("blocker"), "blocker parks on first");
  go.set();
  const [outcome, other] = await results<Outcome & { ms?: number }>([timed, blocker] as Thread<Outcome & { ms?: number }, unknown[]>[]);
  assert.equal(outcome.error, "DeadlockError", JSON.stringify(outcome));
  assert.ok((outcome.ms ?? Infinity) < 10_000, `took ${outcome.ms} ms`);
  assert.deepEqual(other, { ok: true });
});

test("a join in a cycle: the main thread joins a thread that waits for a lock the main thread holds", T, async () => {
  const lock = new Lock({ name: "held-by-main" });
  assert.equal(await lock.acquire(), true);
  const worker = start("joined", (lock: Lock): Outcome => {
    lock.acquireSync();
    lock.release();
    return { ok: true };
  }, lock);
  await until(() => parked("joined"), "the worker parks on the lock");
  const error = await worker.join().then(
    () => assert.fail("the join should have been refused"),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof DeadlockError, String(error));
  assert.match(error.message, /MainThread waits for joined to finish \(join\), which waits for held-by-main held by MainThread/);
  lock.release();
  await worker.join();
  assert.deepEqual(worker.result, { ok: true });
});

test("a join in a cycle between two threads: a thread joins the thread it started, which waits for its lock", T, async () => {
  const lock = new Lock({ name: "parent-lock" });
  const parent = start("parent", async (lock: Lock): Promise<Outcome> => {
    const { Thread: ThreadClass } = await import("weft-threads");
    lock.acquireSync();
    const child = new ThreadClass({ target: (lock: Lock) => void lock.withLockSync(() => {}), args: [lock], name: "child" });
    child.start();
    // Let the child park on the lock (or not: then its acquire closes the cycle instead).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    try {
      child.joinSync();
    } catch (error) {
      lock.release();
      child.joinSync();
      return { error: (error as Error).name, message: (error as Error).message };
    }
    lock.release();
    const failure = child.error as Error | undefined;
    return failure === undefined ? { ok: true } : { error: failure.name, message: failure.message };
  }, lock);
  const [outcome] = await results([parent]);
  assert.equal(outcome.error, "DeadlockError", JSON.stringify(outcome));
  assert.match(outcome.message ?? "", /parent waits for child to finish \(join\), which waits for parent-lock held by parent|child waits for parent-lock held by parent, which waits for child to finish \(join\)/);
});

test("with deadlockDetection off, a cycle is not reported: the waits run out of time instead", T, async () => {
  configure({ deadlockDetection: false });
  try {
    const a = new Lock();
    const b = new Lock();
    const gate = new Barrier(2);
    const timedCrossing = (mine: Lock, next: Lock, gate: Barrier): Outcome => {
      mine.acquireSync();
      try {
        gate.waitSync();
        try {
          return next.acquireSync({ timeout: 400 }) ? (next.release(), { ok: true }) : { error: "timed out" };
        } catch (error) {
          return { error: (error as Error).name };
        }
      } finally {
        mine.release();
      }
    };
    const outcomes = await results([start("off-1", timedCrossing, a, b, gate), start("off-2", timedCrossing, b, a, gate)]);
    assert.ok(
      outcomes.every((outcome) => outcome.error !== "DeadlockError"),
      JSON.stringify(outcomes),
    );
    assert.ok(outcomes.some((outcome) => outcome.error === "timed out"), JSON.stringify(outcomes));
  } finally {
    configure({ deadlockDetection: true });
  }
});

// It also found a lost wake-up in the fair Lock's release (core of sync/lock.ts, handOff): a
// release that saw no waiter queued, preempted before it stored FREE, left a waiter that
// queued meanwhile parked on a free lock; seen under load, about one run in three.
test("stress: many threads, random lock orders that respect a global order, never a DeadlockError", { timeout: 120_000 }, async () => {
  const LOCKS = 6;
  const THREADS = 8;
  const rounds = Math.max(50, Math.round(1500 * SCALE));
  const locks = Array.from({ length: LOCKS }, (_, i) => (i % 3 === 2 ? new RLock() : new Lock({ fair: i % 2 === 1 })));
  const worker = (index: number, locks: (Lock | RLock)[], rounds: number): Outcome & { done?: number } => {
    let x = (index + 1) * 2654435761;
    const next = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 4294967296;
    };
    let done = 0;
    try {
      for (let r = 0; r < rounds; r++) {
        const taken: (Lock | RLock)[] = [];
        for (const lock of locks) if (next() < 0.5) taken.push(lock); // in index order: the global order
        for (const lock of taken) {
          if (next() < 0.2) {
            if (!lock.acquireSync({ timeout: 50 })) {
              for (const held of taken.slice(0, taken.indexOf(lock)).reverse()) held.release();
              taken.length = 0;
              break;
            }
          } else {
            lock.acquireSync();
          }
        }
        for (let spin = next() * 200; spin > 0; spin--);
        for (const lock of taken.reverse()) lock.release();
        done++;
      }
    } catch (error) {
      return { error: (error as Error).name, message: (error as Error).message };
    }
    return { ok: true, done };
  };
  const threads = Array.from({ length: THREADS }, (_, i) => start(`stress-${i}`, worker, i, locks, rounds));
  // The main thread takes part too, with async waits, in the same order.
  let mainRounds = 0;
  const mainDone = (async () => {
    for (let r = 0; r < rounds / 10; r++) {
      const taken = locks.filter((_, i) => (r + i) % 3 === 0);
      for (const lock of taken) await lock.acquire();
      for (const lock of taken.reverse()) lock.release();
      mainRounds++;
    }
  })();
  const outcomes = await results(threads);
  await mainDone;
  for (const outcome of outcomes) assert.deepEqual(outcome.error, undefined, JSON.stringify(outcome));
  assert.ok(mainRounds > 0);
  for (const lock of locks) assert.equal(lock.locked(), false);
});

test("DeadlockError is an Error exported from the root, with a cycle", () => {
  const error = new DeadlockError("x");
  assert.ok(error instanceof Error);
  assert.equal(error.name, "DeadlockError");
  assert.deepEqual(error.cycle, []);
});

/** Thread target: takes `lock` once and lets it go; reports a DeadlockError (or any error) by name instead. */
function takesOnce(lock: Lock): Outcome {
  try {
    lock.acquireSync();
  } catch (error) {
    return { error: (error as Error).name };
  }
  lock.release();
  return { ok: true };
}

test("no false report: one main-thread task holds a lock across a timer while another awaits the join of its waiter", T, async () => {
  const lock = new Lock({ name: "held-across-timer" });
  assert.equal(await lock.acquire(), true);
  const worker = start("patient", takesOnce, lock);
  await until(() => parked("patient"), "the worker parks on the lock");
  // Task one: holds the lock across an await that weft does not see, then releases it.
  const holder = delay(60).then(() => lock.release());
  // Task two: awaits the join, closing what looks like a cycle for 60 ms.
  await worker.join();
  await holder;
  assert.deepEqual(worker.result, { ok: true });
});

test("no false report when the main thread holds a lock across a timer longer than the confirmation (600 ms)", T, async () => {
  const lock = new Lock({ name: "held-across-long-timer" });
  assert.equal(await lock.acquire(), true);
  const joinFirst = start("waits-long", takesOnce, lock);
  // The join is pending before the worker parks: the worker's wait is the one that closes
  // what looks like a cycle, and the main thread's loop has a timer pending (work weft does
  // not see), so the cycle is not believed.
  const joined = joinFirst.join();
  await until(() => dumpThreads().includes("waiting on held-across-long-timer"), "the worker parks on the lock");
  await delay(600);
  lock.release();
  await joined;
  assert.deepEqual(joinFirst.result, { ok: true });
});
