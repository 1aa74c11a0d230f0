/**
 * Owner death (POSIX robust mutexes' EOWNERDEAD): a thread that ends while holding a Lock
 * or an RLock (it returns, throws, or its worker exits) does not leave it held forever.
 * The next acquisition throws LockOwnerDiedError and does not hold the lock, which is then
 * free (an RLock's count reset), so the acquisition after it works. A waiter that was
 * already parked when the owner ended is woken and gets the error.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Event, Lock, LockOwnerDiedError, RLock, RuntimeError, Thread, dumpThreads, setExcepthook, type SendableArgs } from "weft-threads";

const T = { timeout: 30_000 };

function run<A extends unknown[], R>(name: string, target: (...args: A) => R, ...args: A): Thread<Awaited<R>, A> {
  const thread = new Thread<Awaited<R>, A>({ target: target as (...args: A) => Awaited<R>, args: args as unknown as SendableArgs<A>, name, daemon: true });
  thread.start();
  return thread;
}

async function refused(acquisition: Promise<boolean>): Promise<unknown> {
  return acquisition.then(
    (held) => assert.fail(`the acquire should have thrown LockOwnerDiedError, resolved ${held}`),
    (error: unknown) => error,
  );
}

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  setExcepthook(() => {});
  try {
    return await fn();
  } finally {
    setExcepthook(null);
  }
}

for (const fair of [false, true]) {
  const kind = fair ? "fair Lock" : "Lock";

  test(`${kind}: a thread returns holding it; the next acquire throws LockOwnerDiedError, the one after works`, T, async () => {
    const lock = new Lock({ fair, name: "ledger" });
    const owner = run("leaver", (lock: Lock) => void lock.acquireSync(), lock);
    await owner.join();
    assert.equal(owner.error, undefined);
    const error = await refused(lock.acquire());
    assert.ok(error instanceof LockOwnerDiedError, String(error));
    assert.ok(error instanceof RuntimeError);
    assert.match(error.message, /ledger/);
    assert.match(error.message, /leaver/);
    assert.equal(lock.locked(), false, "the lock is left free");
    assert.equal(await lock.acquire({ timeout: 5000 }), true);
    lock.release();
  });

  test(`${kind}: a thread throws holding it`, T, async () => {
    const lock = new Lock({ fair });
    await quietly(async () => {
      const owner = run("thrower", (lock: Lock) => {
        lock.acquireSync();
        throw new Error("boom");
      }, lock);
      await owner.join();
      assert.match(String(owner.error), /boom/);
    });
    assert.ok((await refused(lock.acquire())) instanceof LockOwnerDiedError);
    assert.equal(await lock.acquire({ timeout: 5000 }), true);
    lock.release();
  });

  test(`${kind}: a waiter already parked when the owner ends is woken with LockOwnerDiedError`, T, async () => {
    const lock = new Lock({ fair });
    const leave = new Event();
    const held = new Event();
    const owner = run("owner", (lock: Lock, held: Event, leave: Event) => {
      lock.acquireSync();
      held.set();
      leave.waitSync();
    }, lock, held, leave);
    await held.wait();
    const waiter = run("waiter", (lock: Lock): string => {
      try {
        lock.acquireSync();
      } catch (error) {
        return (error as Error).name;
      }
      lock.release();
      return "acquired";
    }, lock);
    const deadline = performance.now() + 15_000;
    while (!/"waiter"[^\n]*\n\s+state: waiting/.test(dumpThreads())) {
      if (performance.now() > deadline) assert.fail(`the waiter never parked\n${dumpThreads()}`);
      await delay(2);
    }
    const t0 = performance.now();
    leave.set();
    await owner.join();
    await waiter.join();
    assert.equal(waiter.result, "LockOwnerDiedError");
    assert.ok(performance.now() - t0 < 5000, "the waiter was woken at once");
    assert.equal(await lock.acquire({ timeout: 5000 }), true);
    lock.release();
  });

  test(`${kind}: process.exit in the thread that holds it`, T, async () => {
    const lock = new Lock({ fair });
    const owner = run("exiter", (lock: Lock) => {
      lock.acquireSync();
      process.exit(0);
    }, lock);
    await owner.join();
    assert.ok((await refused(lock.acquire())) instanceof LockOwnerDiedError);
    assert.equal(await lock.acquire({ timeout: 5000 }), true);
    lock.release();
  });
}

test("a thread blocked in acquireSync on a lock whose owner died gets the error too", T, async () => {
  const lock = new Lock();
  await run("leaver", (lock: Lock) => void lock.acquireSync(), lock).join();
  const second = run("second", (lock: Lock): string[] => {
    const seen: string[] = [];
    try {
      lock.acquireSync();
    } catch (error) {
      seen.push((error as Error).name);
    }
    seen.push(lock.acquireSync({ timeout: 5000 }) ? "acquired" : "timed out");
    lock.release();
    return seen;
  }, lock);
  await second.join();
  assert.deepEqual(second.result, ["LockOwnerDiedError", "acquired"]);
});

test("RLock: the owner ends holding it twice; the next acquire throws, the count is reset", T, async () => {
  const rlock = new RLock({ name: "nested" });
  const owner = run("nester", (rlock: RLock) => {
    rlock.acquireSync();
    rlock.acquireSync();
  }, rlock);
  await owner.join();
  const error = await refused(rlock.acquire());
  assert.ok(error instanceof LockOwnerDiedError, String(error));
  assert.match(error.message, /nested/);
  assert.equal(rlock.locked(), false);
  assert.equal(await rlock.acquire(), true);
  rlock.release(); // one level: the count started again from zero
  assert.equal(rlock.locked(), false);
});

test("RLock: a parked waiter in another thread is woken when the owner exits", T, async () => {
  const rlock = new RLock({ fair: true });
  const held = new Event();
  const leave = new Event();
  const owner = run("r-owner", (rlock: RLock, held: Event, leave: Event) => {
    rlock.acquireSync();
    held.set();
    leave.waitSync();
    process.exit(0);
  }, rlock, held, leave);
  await held.wait();
  const waiter = run("r-waiter", (rlock: RLock): string => {
    try {
      rlock.acquireSync();
    } catch (error) {
      return (error as Error).name;
    }
    rlock.release();
    return "acquired";
  }, rlock);
  await delay(100);
  leave.set();
  await owner.join();
  await waiter.join();
  // Parked in time or not, the waiter's acquisition is the next one: it gets the error.
  assert.equal(waiter.result, "LockOwnerDiedError");
  assert.equal(await rlock.acquire({ timeout: 5000 }), true);
  rlock.release();
});

test("a lock released before the thread ends is not reported", T, async () => {
  const lock = new Lock();
  await run("tidy", (lock: Lock) => lock.withLockSync(() => 1), lock).join();
  assert.equal(await lock.acquire(), true);
  lock.release();
});
