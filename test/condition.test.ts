import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Condition, configure, Lock, MainThreadBlockingError, RLock, RuntimeError, ValueError } from "weft-threads";
import { until } from "./helpers/common.js";

const T = { timeout: 20_000 };

/** Lets pending microtasks and async wake-ups run. */
const settle = (): Promise<unknown> => delay(20);

test("Condition: wait/notify without the lock is RuntimeError", T, async () => {
  for (const cond of [new Condition(), new Condition(new Lock()), new Condition(new RLock())]) {
    await assert.rejects(cond.wait(), (e: unknown) => e instanceof RuntimeError && e.message === "cannot wait on un-acquired lock");
    await assert.rejects(cond.waitFor(() => false), RuntimeError);
    assert.throws(() => cond.notify(), (e: unknown) => e instanceof RuntimeError && e.message === "cannot notify on un-acquired lock");
    assert.throws(() => cond.notifyAll(), RuntimeError);
  }
});

test("Condition: acquire/release delegate to the lock", T, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  assert.equal(await cond.acquire(), true);
  assert.equal(lock.locked(), true);
  assert.equal(await cond.acquire({ blocking: false }), false);
  cond.release();
  assert.equal(lock.locked(), false);
  {
    await using _ = await cond.hold();
    assert.equal(lock.locked(), true);
    cond.notify(); // holding: fine, nobody waits
  }
  assert.equal(lock.locked(), false);
  assert.throws(() => new Condition({} as Lock), TypeError);
});

test("Condition: a timed-out wait returns false and holds the lock again", T, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  await cond.acquire();
  assert.equal(await cond.wait({ timeout: 10 }), false);
  assert.equal(lock.locked(), true);
  cond.notify(); // still ours
  cond.release();
  assert.equal(lock.locked(), false);
});

test("Condition: notify wakes a waiter, which returns true holding the lock", T, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  let state = "idle";
  await cond.acquire();
  const waiter = cond.wait().then((r) => {
    state = lock.locked() ? "woken-holding" : "woken-free";
    cond.release();
    return r;
  });
  await settle();
  assert.equal(state, "idle");
  assert.equal(lock.locked(), false, "wait released the lock");
  await cond.acquire();
  cond.notify();
  cond.release();
  assert.equal(await waiter, true);
  assert.equal(state, "woken-holding");
  assert.equal(lock.locked(), false);
});

test("Condition: notify(1) wakes one of three, notifyAll the rest", T, async () => {
  const cond = new Condition(new Lock());
  let woken = 0;
  let waiting = 0;
  const waiters = [0, 1, 2].map(async () => {
    await cond.acquire();
    try {
      waiting++; // wait() releases and parks synchronously, right after this
      assert.equal(await cond.wait(), true);
      woken++;
    } finally {
      cond.release();
    }
  });
  await until(() => waiting === 3, "three wait");
  await cond.withLock(() => cond.notify(1));
  await until(() => woken === 1, "one woke");
  await settle();
  assert.equal(woken, 1);
  await cond.withLock(() => cond.notify(0));
  await settle();
  assert.equal(woken, 1);
  await cond.withLock(() => cond.notifyAll());
  await Promise.all(waiters);
  assert.equal(woken, 3);
});

test("Condition: notify(n) checks n", T, async () => {
  const cond = new Condition();
  await cond.acquire();
  assert.throws(() => cond.notify(-1), ValueError);
  assert.throws(() => cond.notify(1.5), RangeError);
  assert.throws(() => cond.notify(Number.NaN), ValueError);
  assert.throws(() => cond.notify("2" as unknown as number), TypeError);
  cond.notify(Infinity);
  cond.release();
});

test("Condition: bad timeouts are ValueError/RangeError, checked before anything", T, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  await cond.acquire();
  await assert.rejects(cond.wait({ timeout: -1 }), ValueError);
  await assert.rejects(cond.wait({ timeout: Number.NaN }), RangeError);
  await assert.rejects(cond.waitFor(() => false, { timeout: -1 }), ValueError);
  await assert.rejects(cond.waitFor(42 as unknown as () => boolean), TypeError);
  assert.throws(() => cond.waitSync({ timeout: -1 }), ValueError);
  assert.equal(lock.locked(), true);
  cond.release();
});

/** A Lock that runs a hook right after it is released: it puts a notify between a waiter's unlock and its park. */
class HookedLock extends Lock {
  hook: (() => void) | undefined;
  override release(): void {
    super.release();
    const hook = this.hook;
    this.hook = undefined;
    hook?.();
  }
}

test("Condition: a notify between the waiter's unlock and its park is not lost (async)", T, async () => {
  const lock = new HookedLock();
  const cond = new Condition(lock);
  let notified = false;
  await cond.acquire();
  lock.hook = () => {
    assert.equal(lock.acquireSync({ blocking: false }), true);
    cond.notify();
    notified = true;
    lock.release();
  };
  assert.equal(await cond.wait({ timeout: 5_000 }), true);
  assert.equal(notified, true);
  assert.equal(lock.locked(), true);
  cond.release();
});

test("Condition: a notify between the waiter's unlock and its park is not lost (sync)", T, () => {
  configure({ allowMainThreadBlocking: true });
  try {
    const lock = new HookedLock();
    const cond = new Condition(lock);
    cond.acquireSync();
    lock.hook = () => {
      assert.equal(lock.acquireSync({ blocking: false }), true);
      cond.notifyAll();
      lock.release();
    };
    assert.equal(cond.waitSync({ timeout: 5_000 }), true);
    assert.equal(lock.locked(), true);
    cond.release();
  } finally {
    configure({ allowMainThreadBlocking: false });
  }
});

test("Condition: waitSync on the main thread names the async form unless opted in", T, () => {
  const cond = new Condition(new Lock());
  cond.acquireSync({ blocking: false });
  assert.throws(() => cond.waitSync(), (e: unknown) => e instanceof MainThreadBlockingError && e.message.includes("condition.wait()"));
  assert.throws(() => cond.waitForSync(() => false), MainThreadBlockingError);
  // A predicate that is already true never blocks.
  assert.equal(cond.waitForSync(() => "ready"), "ready");
  cond.release();
});

test("Condition: sync forms on the main thread when opted in", T, () => {
  configure({ allowMainThreadBlocking: true });
  try {
    const cond = new Condition();
    cond.acquireSync();
    cond.acquireSync(); // RLock: re-entrant
    assert.equal(cond.waitSync({ timeout: 5 }), false);
    assert.equal(cond.waitForSync(() => 0, { timeout: 5 }), 0);
    cond.release();
    cond.release();
    assert.throws(() => cond.release(), RuntimeError);
  } finally {
    configure({ allowMainThreadBlocking: false });
  }
});

test("Condition: waiting on an RLock releases every level and restores them", T, async () => {
  const rlock = new RLock();
  const cond = new Condition(rlock);
  await cond.acquire();
  await cond.acquire();
  const other = (async () => {
    await delay(10);
    // Another "thread" would find it free; on this event loop, check that the lock is really released.
    assert.equal(rlock.locked(), false);
  })();
  assert.equal(await cond.wait({ timeout: 30 }), false);
  await other;
  assert.equal(rlock.locked(), true);
  rlock.release();
  assert.equal(rlock.locked(), true);
  rlock.release();
  assert.equal(rlock.locked(), false);
  assert.throws(() => rlock.release(), RuntimeError);
});

test("Condition: waitFor returns the predicate's value, or its last falsy value on timeout", T, async () => {
  const cond = new Condition(new Lock());
  const items: number[] = [];
  const consumer = (async () => {
    await cond.acquire();
    try {
      return await cond.waitFor(() => items.length >= 3 && items.length);
    } finally {
      cond.release();
    }
  })();
  for (let i = 0; i < 3; i++) {
    await delay(5);
    await cond.withLock(() => {
      items.push(i);
      cond.notify();
    });
  }
  assert.equal(await consumer, 3);
  await cond.acquire();
  const started = performance.now();
  assert.equal(await cond.waitFor(() => null, { timeout: 30 }), null);
  assert.ok(performance.now() - started >= 25);
  assert.equal(await cond.waitFor(async () => "async-ok"), "async-ok");
  cond.release();
});

test("Condition: an aborted wait rejects with the reason, holding the lock, and leaves nothing behind", T, async () => {
  const lock = new Lock();
  const cond = new Condition(lock);
  const reason = new Error("cancelled");
  await cond.acquire();
  await assert.rejects(cond.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.equal(lock.locked(), true);
  const controller = new AbortController();
  const waiting = cond.wait({ signal: controller.signal });
  await settle();
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  assert.equal(lock.locked(), true, "the aborted wait re-acquired the lock");
  // Nothing left behind: a notify with nobody waiting does nothing, a timed wait times out.
  cond.notify();
  assert.equal(await cond.wait({ timeout: 10 }), false);
  cond.release();
});

test("Condition: a notify landing on an aborted (ghost) waiter is forwarded to a live one", T, async () => {
  const cond = new Condition(new Lock());
  const controller = new AbortController();
  await cond.acquire();
  const ghost = cond.wait({ signal: controller.signal }).then(
    () => "woken",
    () => "aborted",
  );
  // The ghost waiter parked first; now it is the next in the kernel's queue.
  await settle();
  controller.abort();
  assert.equal(await ghost, "aborted");
  cond.release();
  let liveResult: boolean | undefined;
  let waiting = false;
  const live = (async () => {
    await cond.acquire();
    try {
      waiting = true;
      liveResult = await cond.wait({ timeout: 10_000 });
    } finally {
      cond.release();
    }
  })();
  await until(() => waiting, "the live waiter waits");
  await cond.withLock(() => cond.notify(1));
  await live;
  assert.equal(liveResult, true, "the live waiter got the notify (not a timeout)");
});
