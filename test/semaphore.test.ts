import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { BoundedSemaphore, configure, MainThreadBlockingError, Semaphore, TimeoutError, ValueError } from "weft-threads";

const T = { timeout: 20_000 };

/** How many permits can be taken right now (given back afterwards). */
async function available(sem: Semaphore): Promise<number> {
  let n = 0;
  while (await sem.acquire({ blocking: false })) n++;
  if (n > 0) sem.release(n);
  return n;
}

test("Semaphore: counts permits", T, async () => {
  const sem = new Semaphore(2);
  assert.equal(await sem.acquire(), true);
  assert.equal(await sem.acquire(), true);
  assert.equal(await sem.acquire({ blocking: false }), false);
  assert.equal(await sem.acquire({ timeout: 0 }), false);
  assert.equal(await sem.acquire({ timeout: 10 }), false);
  sem.release(2);
  assert.equal(await available(sem), 2);
  sem.release(3); // an unbounded semaphore may grow
  assert.equal(await available(sem), 5);
  assert.equal(await available(new Semaphore()), 1);
  assert.equal(await available(new Semaphore(0)), 0);
});

test("Semaphore: bad values and counts are ValueError/RangeError; wrong types TypeError", T, async () => {
  assert.throws(() => new Semaphore(-1), ValueError);
  assert.throws(() => new Semaphore(-1), RangeError);
  assert.throws(() => new Semaphore(1.5), ValueError);
  assert.throws(() => new Semaphore(Number.NaN), ValueError);
  assert.throws(() => new BoundedSemaphore(-3), ValueError);
  assert.throws(() => new Semaphore("2" as unknown as number), TypeError);
  const sem = new Semaphore(1);
  assert.throws(() => sem.release(0), ValueError);
  assert.throws(() => sem.release(-1), RangeError);
  assert.throws(() => sem.release(1.5), ValueError);
  assert.throws(() => sem.release("1" as unknown as number), TypeError);
  await assert.rejects(sem.acquire({ timeout: -1 }), ValueError);
  await assert.rejects(sem.acquire({ timeout: Number.NaN }), RangeError);
  assert.throws(() => sem.acquireSync({ timeout: -1 }), ValueError);
  await assert.rejects(sem.acquire({ signal: "x" as unknown as AbortSignal }), TypeError);
  assert.equal(await available(sem), 1, "nothing taken by the failed calls");
});

test("BoundedSemaphore: release above the initial value is ValueError", T, async () => {
  const sem = new BoundedSemaphore(2);
  assert.throws(() => sem.release(), (e: unknown) => e instanceof ValueError && e.message === "Semaphore released too many times");
  await sem.acquire();
  assert.throws(() => sem.release(2), ValueError);
  sem.release();
  assert.throws(() => sem.release(), RangeError);
  assert.equal(await available(sem), 2);
  const zero = new BoundedSemaphore(0);
  assert.throws(() => zero.release(), ValueError);
});

test("Semaphore: release wakes an async waiter", T, async () => {
  const sem = new Semaphore(0);
  let got: boolean | undefined;
  const waiter = sem.acquire().then((r) => (got = r));
  await delay(10);
  assert.equal(got, undefined);
  sem.release();
  await waiter;
  assert.equal(got, true);
  assert.equal(await available(sem), 0);
});

test("Semaphore: release(n) wakes n waiters", T, async () => {
  const sem = new Semaphore(0);
  let woken = 0;
  const waiters = [0, 1, 2, 3].map(() => sem.acquire().then(() => woken++));
  sem.release(3);
  const deadline = performance.now() + 10_000;
  while (woken < 3 && performance.now() < deadline) await delay(1);
  await delay(20);
  assert.equal(woken, 3);
  sem.release();
  await Promise.all(waiters);
  assert.equal(woken, 4);
});

test("Semaphore: an aborted acquire rejects with the reason and leaves the value unchanged", T, async () => {
  const sem = new Semaphore(0);
  const reason = new Error("stop");
  await assert.rejects(sem.acquire({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  const controller = new AbortController();
  const waiting = sem.acquire({ signal: controller.signal });
  await delay(10);
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  assert.equal(await available(sem), 0);
  sem.release();
  // The ghost of the aborted wait got the release's wake-up; the permit is still there.
  assert.equal(await available(sem), 1);
  const two = new Semaphore(2);
  await assert.rejects(two.acquire({ signal: AbortSignal.abort() }));
  assert.equal(await available(two), 2);
});

test("Semaphore: a wake-up landing on an aborted (ghost) waiter is forwarded to a live one", T, async () => {
  const sem = new Semaphore(0);
  const controller = new AbortController();
  const ghost = sem.acquire({ signal: controller.signal }).catch(() => "aborted");
  await delay(10);
  controller.abort();
  assert.equal(await ghost, "aborted");
  const live = sem.acquire({ timeout: 10_000 });
  await delay(10);
  sem.release();
  assert.equal(await live, true);
  assert.equal(await available(sem), 0);
});

test("Semaphore: acquireSync on the main thread throws whenever it may wait (blocking: false, timeout 0 may not)", T, () => {
  const sem = new Semaphore(1);
  // A free permit today is a contended one tomorrow: the call throws either way.
  assert.throws(() => sem.acquireSync(), MainThreadBlockingError);
  assert.equal(sem.acquireSync({ blocking: false }), true);
  assert.equal(sem.acquireSync({ blocking: false }), false);
  assert.equal(sem.acquireSync({ timeout: 0 }), false);
  assert.throws(() => sem.acquireSync(), (e: unknown) => e instanceof MainThreadBlockingError && e.message.includes("semaphore.acquire()"));
  assert.throws(() => sem.acquireSync({ timeout: 50 }), MainThreadBlockingError);
  sem.release();
});

test("Semaphore: sync forms when opted in, and guards", T, async () => {
  configure({ allowMainThreadBlocking: true });
  try {
    const sem = new BoundedSemaphore(1);
    assert.equal(sem.acquireSync(), true);
    assert.equal(sem.acquireSync({ timeout: 10 }), false);
    sem.release();
    {
      using _ = sem.holdSync();
      assert.equal(sem.acquireSync({ blocking: false }), false);
    }
    assert.equal(sem.withLockSync(() => 7), 7);
    assert.equal(sem.acquireSync({ blocking: false }), true);
    assert.throws(() => sem.withLockSync(() => 0, { timeout: 5 }), TimeoutError);
    sem.release();
  } finally {
    configure({ allowMainThreadBlocking: false });
  }
  const sem = new Semaphore(1);
  {
    await using _ = await sem.hold();
    assert.equal(await available(sem), 0);
  }
  assert.equal(await available(sem), 1);
});
