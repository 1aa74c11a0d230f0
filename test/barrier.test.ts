import assert from "node:assert/strict";
import { test } from "node:test";
import { Barrier, BrokenBarrierError, configure, MainThreadBlockingError, ValueError } from "weft-threads";
import { until } from "./helpers/common.js";

const T = { timeout: 20_000 };

declare global {
  // Written by barrier actions, which are shipped by source and so can only reach globals.
  var barrierTestLog: string[] | undefined;
}

const isBroken = (e: unknown): boolean => e instanceof BrokenBarrierError;

test("Barrier: bad arguments", T, () => {
  assert.throws(() => new Barrier(0), ValueError);
  assert.throws(() => new Barrier(0), RangeError);
  assert.throws(() => new Barrier(-2), ValueError);
  assert.throws(() => new Barrier(1.5), ValueError);
  assert.throws(() => new Barrier(Number.NaN), ValueError);
  assert.throws(() => new Barrier("3" as unknown as number), TypeError);
  assert.throws(() => new Barrier(2, { action: "go" as unknown as () => void }), TypeError);
  assert.throws(() => new Barrier(2, { action: Math.max }), TypeError);
  assert.throws(() => new Barrier(2, { timeout: -1 }), ValueError);
  assert.throws(() => new Barrier(2, 7 as unknown as object), TypeError);
});

test("Barrier: a single party passes at once with index 0", T, async () => {
  const barrier = new Barrier(1);
  assert.equal(barrier.parties, 1);
  assert.equal(await barrier.wait(), 0);
  assert.equal(await barrier.wait(), 0);
  assert.equal(barrier.nWaiting, 0);
});

test("Barrier: parties get indices 0..parties-1, the action runs once per round before release", T, async () => {
  globalThis.barrierTestLog = [];
  const barrier = new Barrier(3, {
    action: () => {
      globalThis.barrierTestLog?.push("action");
    },
  });
  for (let round = 0; round < 3; round++) {
    const log = globalThis.barrierTestLog as string[];
    const parties = [0, 1, 2].map(async () => {
      const index = await barrier.wait();
      log.push(`released ${index}`);
      return index;
    });
    const indices = await Promise.all(parties);
    assert.deepEqual([...indices].sort(), [0, 1, 2]);
    assert.equal(log.filter((l) => l === "action").length, round + 1);
    assert.equal(log.at(-4), "action", "the action ran before anyone was released");
  }
  assert.equal(barrier.nWaiting, 0);
  assert.equal(barrier.broken, false);
  delete globalThis.barrierTestLog;
});

test("Barrier: nWaiting counts the parties waiting", T, async () => {
  const barrier = new Barrier(3);
  const first = barrier.wait();
  await until(() => barrier.nWaiting === 1, "one party waits");
  const second = barrier.wait();
  await until(() => barrier.nWaiting === 2, "two parties wait");
  assert.equal(await barrier.wait(), 2);
  assert.deepEqual((await Promise.all([first, second])).sort(), [0, 1]);
  assert.equal(barrier.nWaiting, 0);
});

test("Barrier: a timeout breaks the barrier for everyone until reset()", T, async () => {
  const barrier = new Barrier(3);
  const other = barrier.wait().catch((e: unknown) => e);
  await until(() => barrier.nWaiting === 1, "one party waits");
  await assert.rejects(barrier.wait({ timeout: 20 }), isBroken);
  assert.ok(isBroken(await other), "the other waiter was broken too");
  assert.equal(barrier.broken, true);
  await assert.rejects(barrier.wait(), isBroken);
  barrier.reset();
  assert.equal(barrier.broken, false);
  const parties = [barrier.wait(), barrier.wait(), barrier.wait()];
  assert.deepEqual((await Promise.all(parties)).sort(), [0, 1, 2]);
});

test("Barrier: the constructor's timeout is the default", T, async () => {
  const barrier = new Barrier(2, { timeout: 15 });
  await assert.rejects(barrier.wait(), isBroken);
  assert.equal(barrier.broken, true);
});

test("Barrier: abort() breaks waiting parties and later arrivals", T, async () => {
  const barrier = new Barrier(3);
  const waiting = [barrier.wait().catch((e: unknown) => e), barrier.wait().catch((e: unknown) => e)];
  await until(() => barrier.nWaiting === 2, "two parties wait");
  barrier.abort();
  for (const outcome of await Promise.all(waiting)) assert.ok(isBroken(outcome));
  assert.equal(barrier.broken, true);
  await assert.rejects(barrier.wait(), isBroken);
  barrier.reset();
  assert.equal(await new Barrier(1).wait(), 0);
});

test("Barrier: reset() while parties wait breaks them, then the barrier is usable", T, async () => {
  const barrier = new Barrier(2);
  const waiting = barrier.wait().catch((e: unknown) => e);
  await until(() => barrier.nWaiting === 1, "one party waits");
  barrier.reset();
  assert.ok(isBroken(await waiting));
  assert.equal(barrier.broken, false);
  assert.deepEqual((await Promise.all([barrier.wait(), barrier.wait()])).sort(), [0, 1]);
});

test("Barrier: an action that throws breaks the barrier; its error goes to the party that ran it", T, async () => {
  const barrier = new Barrier(2, {
    action: () => {
      throw new Error("action failed");
    },
  });
  const first = barrier.wait().catch((e: unknown) => e);
  await until(() => barrier.nWaiting === 1, "one party waits");
  await assert.rejects(barrier.wait(), /action failed/);
  assert.ok(isBroken(await first));
  assert.equal(barrier.broken, true);
});

test("Barrier: an action that reads a module variable fails with a hint", T, async () => {
  const secret = 42;
  const barrier = new Barrier(1, { action: () => secret });
  await assert.rejects(barrier.wait(), (e: unknown) => e instanceof ReferenceError && /secret/.test(e.message) && /args/.test(e.message));
});

test("Barrier: an aborted wait rejects with the reason and breaks the barrier for the others", T, async () => {
  const barrier = new Barrier(3);
  const reason = new Error("leaving");
  // Already aborted: no trace.
  await assert.rejects(barrier.wait({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.equal(barrier.broken, false);
  assert.equal(barrier.nWaiting, 0);
  const other = barrier.wait().catch((e: unknown) => e);
  const controller = new AbortController();
  const leaving = barrier.wait({ signal: controller.signal });
  await until(() => barrier.nWaiting === 2, "both parties wait");
  controller.abort(reason);
  await assert.rejects(leaving, (e) => e === reason);
  assert.ok(isBroken(await other));
  assert.equal(barrier.broken, true);
});

test("Barrier: bad wait options", T, async () => {
  const barrier = new Barrier(2);
  await assert.rejects(barrier.wait({ timeout: -1 }), ValueError);
  await assert.rejects(barrier.wait({ timeout: Number.NaN }), RangeError);
  assert.throws(() => barrier.waitSync({ timeout: -1 }), ValueError);
  assert.equal(barrier.nWaiting, 0);
  assert.equal(barrier.broken, false);
});

test("Barrier: waitSync on the main thread names the async form unless opted in", T, () => {
  const barrier = new Barrier(1);
  assert.throws(() => barrier.waitSync(), (e: unknown) => e instanceof MainThreadBlockingError && e.message.includes("barrier.wait()"));
  configure({ allowMainThreadBlocking: true });
  try {
    assert.equal(barrier.waitSync(), 0);
    const two = new Barrier(2);
    assert.throws(() => two.waitSync({ timeout: 10 }), BrokenBarrierError);
    assert.equal(two.broken, true);
  } finally {
    configure({ allowMainThreadBlocking: false });
  }
});
