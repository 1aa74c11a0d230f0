/**
 * The synchronization primitives and shared data between real threads: objects arrive
 * live, ownership is per thread, errors cross back as the same classes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Event,
  Lock,
  MainThreadBlockingError,
  RLock,
  RuntimeError,
  Semaphore,
  SharedArray,
  SharedValue,
  Thread,
  setExcepthook,
  type SendableArgs,
} from "weft-threads";
import { until } from "./helpers/common.js";

const T = { timeout: 20_000 };

/** Starts a thread and returns it, rethrowing in `join` what the target threw. */
function start<A extends unknown[], R>(target: (...args: A) => R, ...args: SendableArgs<A>): { thread: Thread<Awaited<R>, A>; done: Promise<Awaited<R>> } {
  const thread = new Thread<Awaited<R>, A>({ target: target as (...args: A) => Awaited<R>, args });
  thread.start();
  const done = thread.join().then(() => {
    if (thread.error !== undefined) throw thread.error;
    return thread.result as Awaited<R>;
  });
  return { thread, done };
}

test("threads: SharedValue, SharedArray and their locks arrive live", T, async () => {
  const value = new SharedValue("int32", 5);
  const floats = new SharedValue("float64", 0.5);
  const array = new SharedArray("bigint64", [1n, 2n, 3n]);
  const { done } = start(
    (v: SharedValue<"int32">, f: SharedValue<"float64">, a: SharedArray<"bigint64">) => {
      v.add(10);
      f.value = f.value * 4;
      a.lock.acquireSync();
      for (let i = 0; i < a.length; i++) a.array[i] *= 10n;
      a.lock.release();
      return [v.type, a.type, a.length, v.lock.locked()];
    },
    value,
    floats,
    array,
  );
  assert.deepEqual(await done, ["int32", "bigint64", 3, false]);
  assert.equal(value.value, 15);
  assert.equal(floats.value, 2);
  assert.deepEqual([...array.array], [10n, 20n, 30n]);
});

test("threads: a SharedValue's lock excludes across threads", T, async () => {
  const value = new SharedValue("float64", 0);
  const work = (v: SharedValue<"float64">, n: number) => {
    for (let i = 0; i < n; i++) {
      v.lock.acquireSync();
      v.value = v.value + 1; // not atomic: the lock makes it so
      v.lock.release();
    }
  };
  const runs = [start(work, value, 2000), start(work, value, 2000)];
  for (let i = 0; i < 500; i++) {
    await value.lock.acquire();
    value.value = value.value + 1;
    value.lock.release();
  }
  await Promise.all(runs.map((r) => r.done));
  assert.equal(value.value, 4500);
});

test("threads: RLock release by a thread that does not own it is RuntimeError", T, async () => {
  const rlock = new RLock();
  await rlock.acquire();
  const { done } = start((r: RLock) => {
    try {
      r.release();
      return "released";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }, rlock);
  assert.equal(await done, "RuntimeError: cannot release un-acquired lock");
  assert.equal(rlock.locked(), true);
  rlock.release();
  // And the other way round: a thread's RLock cannot be released here; its error arrives as the same class.
  const held = new Event();
  const finish = new Event();
  const owner = start(
    (r: RLock, h: Event, f: Event) => {
      r.acquireSync();
      r.acquireSync();
      h.set();
      f.waitSync();
      r.release();
      r.release();
      return r.locked();
    },
    rlock,
    held,
    finish,
  );
  await held.wait();
  assert.throws(() => rlock.release(), RuntimeError);
  assert.equal(await rlock.acquire({ timeout: 10 }), false);
  assert.throws(() => rlock.acquireSync(), (e: unknown) => e instanceof MainThreadBlockingError && e.message.includes("rlock.acquire()"));
  assert.equal(rlock.acquireSync({ blocking: false }), false);
  finish.set();
  assert.equal(await owner.done, false);
  assert.equal(await rlock.acquire({ timeout: 5000 }), true);
  rlock.release();
});

test("threads: an error thrown in a thread by a primitive arrives as the same class", T, async () => {
  const reported: unknown[] = [];
  setExcepthook(({ error }) => reported.push(error));
  try {
    const cond = new Condition(new Lock());
    const thread = new Thread({ target: (c: Condition) => c.notify(), args: [cond] });
    thread.start();
    await thread.join();
    assert.ok(thread.error instanceof RuntimeError, `got ${String(thread.error)}`);
    assert.match((thread.error as Error).message, /cannot notify on un-acquired lock/);
    assert.equal(reported.length, 1);
  } finally {
    setExcepthook(null);
  }
});

test("threads: a Condition arrives with its lock live; a thread's notify wakes the main thread", T, async () => {
  const cond = new Condition(); // default RLock, shared with the thread
  const ready = new SharedValue("int32", 0);
  await cond.acquire();
  const { done } = start(
    (c: Condition, r: SharedValue<"int32">) => {
      c.acquireSync();
      r.value = 1;
      c.notifyAll();
      c.release();
      return "notified";
    },
    cond,
    ready,
  );
  assert.equal(await cond.waitFor(() => ready.value === 1, { timeout: 10_000 }), true);
  cond.release();
  assert.equal(await done, "notified");
});

test("threads: a main-thread Lock holder blocks a thread's Condition until released", T, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  await lock.acquire();
  const { done } = start((c: Condition) => {
    c.acquireSync();
    c.release();
    return "got it";
  }, cond);
  await delay(30);
  assert.equal(lock.locked(), true);
  lock.release();
  assert.equal(await done, "got it");
});

test("threads: Semaphore, Event and Barrier arrive live", T, async () => {
  const sem = new Semaphore(0);
  const event = new Event();
  const barrier = new Barrier(3, {
    action: () => {
      (globalThis as { actionRuns?: number }).actionRuns = ((globalThis as { actionRuns?: number }).actionRuns ?? 0) + 1;
    },
  });
  const party = (s: Semaphore, e: Event, b: Barrier) => {
    s.release();
    e.waitSync();
    const index = b.waitSync();
    return [index, (globalThis as { actionRuns?: number }).actionRuns ?? 0];
  };
  const runs = [start(party, sem, event, barrier), start(party, sem, event, barrier)];
  assert.equal(await sem.acquire({ timeout: 10_000 }), true);
  assert.equal(await sem.acquire({ timeout: 10_000 }), true);
  event.set();
  const mine = await barrier.wait({ timeout: 10_000 });
  const results = await Promise.all(runs.map((r) => r.done));
  const indices = [mine, ...results.map((r) => r[0])].sort();
  assert.deepEqual(indices, [0, 1, 2]);
  const actionRuns = results.map((r) => r[1]).reduce((a, b) => a + b, 0) + ((globalThis as { actionRuns?: number }).actionRuns ?? 0);
  assert.equal(actionRuns, 1, "the action ran once, in whichever thread arrived last");
});

test("threads: abort() breaks parties waiting in threads; after reset() the barrier works again", T, async () => {
  const barrier = new Barrier(3);
  const party = (b: Barrier) => {
    const outcomes: string[] = [];
    for (let round = 0; round < 2; round++) {
      try {
        outcomes.push(`index ${b.waitSync()}`);
      } catch (error) {
        outcomes.push((error as Error).name);
        // Wait until the main thread has reset the barrier.
        while (b.broken) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
    return outcomes;
  };
  const runs = [start(party, barrier), start(party, barrier)];
  await until(() => barrier.nWaiting === 2, "both threads wait");
  barrier.abort();
  await until(() => barrier.nWaiting === 0, "both threads left");
  barrier.reset();
  const mine = await barrier.wait({ timeout: 10_000 });
  const outcomes = await Promise.all(runs.map((r) => r.done));
  for (const o of outcomes) assert.equal(o[0], "BrokenBarrierError");
  const indices = [mine, ...outcomes.map((o) => Number(o[1].split(" ")[1]))].sort();
  assert.deepEqual(indices, [0, 1, 2]);
  assert.equal(BrokenBarrierError.name, "BrokenBarrierError");
});

test("threads: every primitive and shared datum rides inside a queue item, live", T, async () => {
  const { Queue } = await import("weft-threads");
  const q = new Queue<unknown>();
  const items = {
    rlock: new RLock(),
    cond: new Condition(),
    sem: new BoundedSemaphore(2),
    event: new Event(),
    barrier: new Barrier(2),
    value: new SharedValue("float64", 1.5),
    array: new SharedArray("int16", [1, 2, 3]),
  };
  await q.put(items);
  const same = (await q.get()) as typeof items;
  same.value.value = 2.5;
  same.array.array[0] = 10;
  assert.equal(items.value.value, 2.5);
  assert.equal(items.array.array[0], 10);
  assert.ok(same.sem instanceof BoundedSemaphore);
  // Across threads: the thread takes the item from the queue and uses each object.
  await q.put(items);
  const { done } = start((queue: InstanceType<typeof Queue<unknown>>) => {
    const got = queue.getSync() as typeof items;
    got.rlock.acquireSync();
    got.rlock.acquireSync();
    got.sem.acquireSync();
    got.value.value = got.value.value * 2;
    got.array.array[1] = 20;
    got.event.set();
    const index = got.barrier.waitSync();
    got.cond.acquireSync();
    got.cond.notifyAll();
    got.cond.release();
    got.rlock.release();
    got.rlock.release();
    return index;
  }, q);
  assert.equal(await items.event.wait({ timeout: 10_000 }), true);
  const mine = await items.barrier.wait({ timeout: 10_000 });
  assert.deepEqual([mine, await done].sort(), [0, 1]);
  assert.equal(items.value.value, 5);
  assert.deepEqual([...items.array.array], [10, 20, 3]);
  assert.equal(items.rlock.locked(), false);
  assert.equal(await items.sem.acquire({ blocking: false }), true, "one permit left of two");
  assert.equal(await items.sem.acquire({ blocking: false }), false);
});
