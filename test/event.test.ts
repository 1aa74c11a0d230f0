import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Barrier, BoundedSemaphore, Condition, configure, Event, Lock, MainThreadBlockingError, RLock, Semaphore, ValueError } from "weft-threads";

const T = { timeout: 20_000 };

test("Event: set, clear, isSet, wait", T, async () => {
  const event = new Event();
  assert.equal(event.isSet(), false);
  assert.equal(await event.wait({ timeout: 10 }), false);
  assert.equal(await event.wait({ timeout: 0 }), false);
  event.set();
  assert.equal(event.isSet(), true);
  assert.equal(await event.wait(), true);
  event.set(); // twice: fine
  assert.equal(await event.wait({ timeout: 0 }), true);
  event.clear();
  assert.equal(event.isSet(), false);
  assert.equal(await event.wait({ timeout: 5 }), false);
});

test("Event: set() wakes every waiter", T, async () => {
  const event = new Event();
  const waiters = [0, 1, 2].map(() => event.wait());
  await delay(10);
  event.set();
  assert.deepEqual(await Promise.all(waiters), [true, true, true]);
});

test("Event: set() then clear() at once still wakes every waiter that was waiting", T, async () => {
  const event = new Event();
  const waiters = [0, 1, 2, 3].map(() => event.wait({ timeout: 10_000 }));
  await delay(10);
  event.set();
  event.clear();
  assert.deepEqual(await Promise.all(waiters), [true, true, true, true]);
  assert.equal(event.isSet(), false);
  // A wait that starts after the clear waits for the next set.
  assert.equal(await event.wait({ timeout: 10 }), false);
});

test("Event: bad options", T, async () => {
  const event = new Event();
  await assert.rejects(event.wait({ timeout: -1 }), ValueError);
  await assert.rejects(event.wait({ timeout: Number.NaN }), RangeError);
  assert.throws(() => event.waitSync({ timeout: -1 }), RangeError);
  await assert.rejects(event.wait(3 as unknown as object), TypeError);
});

test("Event: an aborted wait rejects with the reason", T, async () => {
  const event = new Event();
  const reason = new Error("enough");
  await assert.rejects(event.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  const controller = new AbortController();
  const waiting = event.wait({ signal: controller.signal });
  await delay(10);
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  const other = event.wait();
  event.set();
  assert.equal(await other, true);
});

test("Event: waitSync on the main thread throws whenever it may wait, set or not (timeout 0 may not)", T, () => {
  const event = new Event();
  assert.throws(() => event.waitSync(), (e: unknown) => e instanceof MainThreadBlockingError && e.message.includes("event.wait()"));
  assert.equal(event.waitSync({ timeout: 0 }), false);
  event.set();
  assert.throws(() => event.waitSync(), MainThreadBlockingError);
  assert.equal(event.waitSync({ timeout: 0 }), true);
});

test("Event: waitSync when opted in", T, () => {
  configure({ allowMainThreadBlocking: true });
  try {
    const event = new Event();
    const started = performance.now();
    assert.equal(event.waitSync({ timeout: 20 }), false);
    assert.ok(performance.now() - started >= 15);
    event.set();
    assert.equal(event.waitSync({ timeout: 20 }), true);
  } finally {
    configure({ allowMainThreadBlocking: false });
  }
});

test("constructors take no internal argument: a stray one is a clear TypeError or is ignored", T, () => {
  assert.throws(
    () => new (Event as unknown as new (arg: unknown) => Event)({}),
    (e: unknown) => e instanceof TypeError && /Event takes no arguments/.test(e.message),
  );
  assert.equal(new (Event as unknown as new (arg: unknown) => Event)(undefined).isSet(), false);
  assert.throws(() => new Lock(5 as unknown as object), (e: unknown) => e instanceof TypeError && /options must be an object, got 5/.test(e.message));
  assert.throws(() => new RLock("x" as unknown as object), TypeError);
  assert.throws(() => new Condition({} as Lock), TypeError);
  assert.throws(() => new Semaphore({} as number), TypeError);
  assert.throws(() => new BoundedSemaphore({} as number), TypeError);
  assert.throws(() => new Barrier({} as number), TypeError);
  // What was once an internal descriptor parameter is now an ignored extra argument.
  const fake = { kind: "Lock", block: {} };
  const loose = <C>(cls: C): new (...args: unknown[]) => unknown => cls as unknown as new (...args: unknown[]) => unknown;
  assert.equal((new (loose(Lock))(undefined, fake) as Lock).locked(), false);
  assert.equal((new (loose(RLock))(undefined, fake) as RLock).fair, false);
  assert.ok(new (loose(Condition))(undefined, fake) instanceof Condition);
  assert.ok(new (loose(Semaphore))(2, fake) instanceof Semaphore);
  assert.ok(new (loose(BoundedSemaphore))(2, fake) instanceof BoundedSemaphore);
  assert.equal((new (loose(Barrier))(2, undefined, fake) as Barrier).parties, 2);
});
