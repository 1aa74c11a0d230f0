import assert from "node:assert/strict";
import { test } from "node:test";
import { configure, MainThreadBlockingError, RLock, RuntimeError, ValueError } from "weft-threads";

const T = { timeout: 20_000 };

test("RLock: the owner re-enters; the lock is free after as many releases", T, async () => {
  const rlock = new RLock();
  assert.equal(rlock.locked(), false);
  assert.equal(await rlock.acquire(), true);
  assert.equal(await rlock.acquire(), true);
  assert.equal(await rlock.acquire({ blocking: false }), true);
  assert.equal(rlock.locked(), true);
  rlock.release();
  rlock.release();
  assert.equal(rlock.locked(), true);
  rlock.release();
  assert.equal(rlock.locked(), false);
});

test("RLock: release when not held is RuntimeError('cannot release un-acquired lock')", T, async () => {
  const rlock = new RLock();
  assert.throws(() => rlock.release(), (e: unknown) => e instanceof RuntimeError && /cannot release un-acquired lock/.test(e.message));
  await rlock.acquire();
  rlock.release();
  assert.throws(() => rlock.release(), RuntimeError);
});

test("RLock: sync forms on the main thread when opted in", T, () => {
  configure({ allowMainThreadBlocking: true });
  try {
    const rlock = new RLock({ fair: true });
    assert.equal(rlock.fair, true);
    assert.equal(rlock.acquireSync(), true);
    assert.equal(rlock.acquireSync({ timeout: 10 }), true);
    rlock.release();
    rlock.release();
    assert.equal(rlock.locked(), false);
    {
      using _outer = rlock.holdSync();
      using _inner = rlock.holdSync();
      assert.equal(rlock.locked(), true);
    }
    assert.equal(rlock.locked(), false);
    assert.equal(rlock.withLockSync(() => rlock.withLockSync(() => 42)), 42);
    assert.equal(rlock.locked(), false);
  } finally {
    configure({ allowMainThreadBlocking: false });
  }
});

test("RLock: acquireSync on the main thread throws whenever it may wait; blocking: false re-enters", T, () => {
  const rlock = new RLock();
  assert.throws(() => rlock.acquireSync(), (e: unknown) => e instanceof MainThreadBlockingError && e.message.includes("rlock.acquire()"));
  assert.equal(rlock.acquireSync({ blocking: false }), true);
  assert.equal(rlock.acquireSync({ blocking: false }), true);
  rlock.release();
  rlock.release();
  assert.equal(rlock.locked(), false);
});

test("RLock: guards for await using, and withLock", T, async () => {
  const rlock = new RLock();
  {
    await using _a = await rlock.hold();
    await using _b = await rlock.hold();
    assert.equal(rlock.locked(), true);
  }
  assert.equal(rlock.locked(), false);
  assert.equal(await rlock.withLock(async () => rlock.withLock(() => "x")), "x");
  assert.equal(rlock.locked(), false);
});

test("RLock: bad options", T, async () => {
  const rlock = new RLock();
  await assert.rejects(rlock.acquire({ timeout: -1 }), ValueError);
  await assert.rejects(rlock.acquire({ timeout: Number.NaN }), RangeError);
  assert.throws(() => rlock.acquireSync({ timeout: -5 }), ValueError);
  await assert.rejects(rlock.acquire({ blocking: "no" as unknown as boolean }), TypeError);
  assert.throws(() => new RLock({ fair: 1 as unknown as boolean }), TypeError);
  assert.throws(() => new RLock(5 as unknown as object), TypeError);
  assert.equal(rlock.locked(), false);
});

test("RLock: an already aborted signal rejects with its reason and takes nothing", T, async () => {
  const rlock = new RLock();
  const reason = new Error("stop");
  await assert.rejects(rlock.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.equal(rlock.locked(), false);
});

test("RLock: withLock with timeout 0 succeeds for the owner (re-entry never waits)", T, async () => {
  const rlock = new RLock();
  await rlock.acquire();
  assert.equal(await rlock.withLock(() => "inner", { timeout: 0 }), "inner");
  assert.equal(rlock.locked(), true);
  rlock.release();
  assert.equal(rlock.locked(), false);
});
