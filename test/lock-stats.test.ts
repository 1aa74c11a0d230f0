/**
 * lock.stats(): how often a Lock or RLock was acquired, how often an acquisition had to
 * wait and for how long, in all and per thread, so that a starving thread shows.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Event, Lock, RLock, Thread, type SendableArgs } from "weft-threads";

const T = { timeout: 30_000 };

function run<A extends unknown[], R>(name: string, target: (...args: A) => R, ...args: A): Thread<Awaited<R>, A> {
  const thread = new Thread<Awaited<R>, A>({ target: target as (...args: A) => Awaited<R>, args: args as unknown as SendableArgs<A>, name, daemon: true });
  thread.start();
  return thread;
}

test("a new lock has empty stats", () => {
  for (const lock of [new Lock(), new Lock({ fair: true }), new RLock()]) {
    assert.deepEqual(lock.stats(), { acquisitions: 0, contended: 0, waitMsTotal: 0, waitMsMax: 0, byThread: [] });
  }
});

test("uncontended acquisitions are counted, in all and for the thread", T, async () => {
  for (const fair of [false, true]) {
    const lock = new Lock({ fair });
    const thread = run("counter", (lock: Lock) => {
      for (let i = 0; i < 1000; i++) {
        lock.acquireSync();
        lock.release();
      }
    }, lock);
    await thread.join();
    for (let i = 0; i < 10; i++) {
      await lock.acquire();
      lock.release();
    }
    const stats = lock.stats();
    assert.equal(stats.acquisitions, 1010, JSON.stringify(stats));
    assert.equal(stats.contended, 0);
    const counter = stats.byThread.find((entry) => entry.name === "counter");
    const main = stats.byThread.find((entry) => entry.name === "MainThread");
    assert.equal(counter?.acquisitions, 1000, JSON.stringify(stats.byThread));
    assert.equal(main?.acquisitions, 10);
    assert.equal(counter?.ident, thread.ident);
  }
});

test("a contended acquisition counts its wait, in all and for the thread that waited", T, async () => {
  for (const lock of [new Lock(), new Lock({ fair: true }), new RLock()]) {
    const held = new Event();
    await lock.acquire();
    const waiter = run("starved", (lock: Lock | RLock, held: Event) => {
      held.set();
      lock.acquireSync();
      lock.release();
    }, lock, held);
    await held.wait();
    await new Promise((resolve) => setTimeout(resolve, 150));
    lock.release();
    await waiter.join();
    assert.equal(waiter.error, undefined);
    const stats = lock.stats();
    assert.equal(stats.acquisitions, 2, JSON.stringify(stats));
    assert.equal(stats.contended, 1);
    assert.ok(stats.waitMsMax >= 100, JSON.stringify(stats));
    assert.ok(stats.waitMsTotal >= stats.waitMsMax);
    const starved = stats.byThread.find((entry) => entry.name === "starved");
    assert.ok(starved !== undefined, JSON.stringify(stats.byThread));
    assert.equal(starved.acquisitions, 1);
    assert.equal(starved.contended, 1);
    assert.ok(starved.waitMsMax >= 100);
  }
});

test("RLock: re-entries are not acquisitions of the lock", () => {
  const rlock = new RLock();
  return (async () => {
    await rlock.acquire();
    await rlock.acquire();
    rlock.release();
    rlock.release();
    assert.equal(rlock.stats().acquisitions, 1);
  })();
});

test("more threads than per-thread entries: the rest are summed as other threads", T, async () => {
  const lock = new Lock();
  for (let i = 0; i < 10; i++) {
    await run(`t${i}`, (lock: Lock) => lock.withLockSync(() => 0), lock).join();
  }
  const stats = lock.stats();
  assert.equal(stats.acquisitions, 10);
  assert.equal(stats.byThread.reduce((sum, entry) => sum + entry.acquisitions, 0), 10);
  assert.ok(stats.byThread.some((entry) => entry.ident === 0 && entry.name === "other threads"), JSON.stringify(stats.byThread));
});

test("stats are shared: another thread reads the same figures", T, async () => {
  const lock = new Lock();
  for (let i = 0; i < 5; i++) {
    await lock.acquire();
    lock.release();
  }
  const reader = run("reader", (lock: Lock) => lock.stats().acquisitions, lock);
  await reader.join();
  assert.equal(reader.result, 5);
});
