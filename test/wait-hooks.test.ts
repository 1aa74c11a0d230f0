/**
 * The wait-hook slot (core/wait-hooks.ts) through which diagnostics see every wait: a
 * wait that parks is reported once as it starts and once as it ends, with its outcome,
 * from both drivers (a blocking wait in a thread, an async one on the main thread); a
 * hook that refuses a wait (throws from waitStart, as a DeadlockError will) makes the
 * wait fail with that error and leaves the primitive as it was.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Event, Lock, Semaphore, SharedArray, Thread } from "weft-threads";
import { cellsOf } from "./helpers/internals.js";
import { until } from "./helpers/common.js";

const T = { timeout: 20_000 };
const hooksUrl = new URL("../../dist/core/wait-hooks.js", import.meta.url).href;
const hooks = (await import(hooksUrl)) as typeof import("../dist/core/wait-hooks.js");
type WaitSite = import("../dist/core/wait-hooks.js").WaitSite;

/** Records the waits of this thread while `body` runs, as "start KIND LABEL" / "end KIND OUTCOME". */
async function recording(body: () => Promise<void>, filter: (site: WaitSite) => boolean = () => true): Promise<string[]> {
  const seen: string[] = [];
  const remove = hooks.addWaitHook({
    waitStart: (site) => void (filter(site) && seen.push(`start ${site.kind} ${site.label}`)),
    waitEnd: (site, outcome) => void (filter(site) && seen.push(`end ${site.kind} ${outcome}`)),
  });
  try {
    await body();
  } finally {
    remove();
  }
  return seen;
}

function start<A extends unknown[], R>(target: (...args: A) => R, ...args: A): { thread: Thread<Awaited<R>, A>; done: Promise<Awaited<R>> } {
  // (The cast spares this file the argument types, which another change is reworking.)
  const thread = new Thread<Awaited<R>, A>({ target: target as (...args: A) => Awaited<R>, args: args as never, daemon: true });
  thread.start();
  const done = thread.join().then(() => {
    if (thread.error !== undefined) throw thread.error;
    return thread.result as Awaited<R>;
  });
  return { thread, done };
}

/**
 * In a thread: adds a recording hook that also raises flag[0] at each wait start, runs
 * `what` ("lock", "lock-timeout", "semaphore", "event", "join-self-timeout"), returns what was recorded.
 */
async function blockingWaits(url: string, what: string, lock: Lock, sem: Semaphore, event: Event, flag: SharedArray<"int32">): Promise<string[]> {
  const { addWaitHook } = (await import(url)) as typeof import("../dist/core/wait-hooks.js");
  // The timed wait on a lock this thread holds is a cycle of one, which the deadlock
  // detector would refuse (test/deadlock.test.ts); here it is to time out.
  const { configure } = await import("weft-threads");
  configure({ deadlockDetection: false });
  const seen: string[] = [];
  const remove = addWaitHook({
    waitStart: (site) => {
      seen.push(`start ${site.kind} ${site.label} ${site.cells === undefined ? "-" : "cells"}`);
      Atomics.add(flag.array, 0, 1);
      Atomics.notify(flag.array, 0);
    },
    waitEnd: (site, outcome) => void seen.push(`end ${site.kind} ${outcome}`),
  });
  try {
    if (what === "lock") {
      lock.acquireSync(); // contended: the main thread holds it until our wait starts
      lock.acquireSync({ timeout: 20 }); // held by ourselves: times out
      lock.release();
    } else if (what === "semaphore") {
      sem.acquireSync();
      sem.acquireSync({ timeout: 20 });
    } else if (what === "event") {
      event.waitSync();
      event.clear();
      event.waitSync({ timeout: 20 });
    }
  } finally {
    remove();
  }
  return seen;
}

test("a contended Lock: a blocking wait in a thread reports its start and end (ok, timed-out)", T, async () => {
  for (const fair of [false, true]) {
    const lock = new Lock({ fair, name: "ledger" });
    const flag = new SharedArray("int32", 1);
    assert.equal(await lock.acquire(), true);
    const { done } = start(blockingWaits, hooksUrl, "lock", lock, new Semaphore(0), new Event(), flag);
    await until(() => Atomics.load(flag.array, 0) === 1, "the thread's wait started");
    await delay(10);
    lock.release();
    assert.deepEqual(await done, ["start lock ledger cells", "end lock ok", "start lock ledger cells", "end lock timed-out"], `fair: ${fair}`);
    assert.equal(lock.locked(), false);
  }
});

test("a contended Lock: an async wait on the main thread reports ok, timed-out and aborted", T, async () => {
  for (const fair of [false, true]) {
    const lock = new Lock({ fair, name: "ledger" });
    const held = new Event();
    const go = new Event();
    // The thread holds the lock until `go`.
    const { done } = start(
      (l: Lock, h: Event, g: Event) => {
        l.acquireSync();
        h.set();
        g.waitSync();
        l.release();
      },
      lock,
      held,
      go,
    );
    await held.wait();
    const seen = await recording(
      async () => {
        assert.equal(await lock.acquire({ timeout: 20 }), false);
        const controller = new AbortController();
        setTimeout(() => controller.abort(new Error("stop")), 20);
        await assert.rejects(lock.acquire({ signal: controller.signal }), /stop/);
        setTimeout(() => go.set(), 20);
        assert.equal(await lock.acquire(), true);
        lock.release();
      },
      (site) => site.kind === "lock",
    );
    assert.deepEqual(seen, ["start lock ledger", "end lock timed-out", "start lock ledger", "end lock aborted", "start lock ledger", "end lock ok"], `fair: ${fair}`);
    if (fair) assert.equal(cellsOf(lock)[3], 0, "WAITERS back to 0");
    await done;
  }
});

test("an uncontended acquire reports nothing", T, async () => {
  const lock = new Lock();
  const seen = await recording(async () => {
    assert.equal(await lock.acquire(), true);
    lock.release();
    assert.equal(await new Event().wait({ timeout: 0 }), false);
  });
  assert.deepEqual(seen, []);
});

test("Semaphore and Event waits report, blocking in a thread and async on the main thread", T, async () => {
  const sem = new Semaphore(0);
  const event = new Event();
  const flag = new SharedArray("int32", 1);
  const semaphoreThread = start(blockingWaits, hooksUrl, "semaphore", new Lock(), sem, event, flag);
  await until(() => Atomics.load(flag.array, 0) === 1, "the semaphore wait started");
  sem.release();
  assert.deepEqual(await semaphoreThread.done, ["start semaphore Semaphore cells", "end semaphore ok", "start semaphore Semaphore cells", "end semaphore timed-out"]);

  Atomics.store(flag.array, 0, 0);
  const eventThread = start(blockingWaits, hooksUrl, "event", new Lock(), sem, event, flag);
  await until(() => Atomics.load(flag.array, 0) === 1, "the event wait started");
  event.set();
  assert.deepEqual(await eventThread.done, ["start event Event cells", "end event ok", "start event Event cells", "end event timed-out"]);

  const seen = await recording(
    async () => {
      assert.equal(await sem.acquire({ timeout: 10 }), false);
      setTimeout(() => sem.release(), 10);
      assert.equal(await sem.acquire(), true);
      event.clear();
      assert.equal(await event.wait({ timeout: 10 }), false);
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("stop")), 10);
      await assert.rejects(event.wait({ signal: controller.signal }), /stop/);
      setTimeout(() => event.set(), 10);
      assert.equal(await event.wait(), true);
    },
    (site) => site.kind === "semaphore" || site.kind === "event",
  );
  assert.deepEqual(seen, [
    "start semaphore Semaphore",
    "end semaphore timed-out",
    "start semaphore Semaphore",
    "end semaphore ok",
    "start event Event",
    "end event timed-out",
    "start event Event",
    "end event aborted",
    "start event Event",
    "end event ok",
  ]);
  assert.equal(cellsOf(sem)[1], 0, "semaphore WAITERS back to 0");
  assert.equal(cellsOf(event)[1], 0, "event WAITERS back to 0");
});

test("a join reports the thread joined as its target: timed-out, then ok", T, async () => {
  const go = new Event();
  const thread = new Thread({ target: (g: Event) => void g.waitSync(), args: [go], daemon: true });
  thread.start();
  const targets: unknown[] = [];
  const seen = await recording(
    async () => {
      await thread.join({ timeout: 10 });
      assert.equal(thread.isAlive(), true);
      go.set();
      await thread.join();
    },
    (site) => {
      if (site.kind !== "join") return false;
      targets.push(site.target);
      return true;
    },
  );
  assert.deepEqual(seen, [`start join ${thread.name}`, "end join timed-out", `start join ${thread.name}`, "end join ok"]);
  assert.ok(targets.every((target) => target === thread.ident));
});

/** In a thread: with a hook that refuses every lock wait, a contended acquireSync throws; returns the error's message. */
async function refusedInThread(url: string, lock: Lock): Promise<string> {
  const { addWaitHook } = (await import(url)) as typeof import("../dist/core/wait-hooks.js");
  // The main thread holds the lock while it awaits this thread's end: a real cycle, which
  // the deadlock detector (a hook too) would refuse first. This test is about our hook.
  const { configure } = await import("weft-threads");
  configure({ deadlockDetection: false });
  const remove = addWaitHook({
    waitStart: (site) => {
      if (site.kind === "lock") throw new Error(`refused: ${site.label}`);
    },
  });
  try {
    lock.acquireSync();
    return "acquired";
  } catch (error) {
    return (error as Error).message;
  } finally {
    remove();
  }
}

test("a hook that refuses a wait makes the acquire fail with its error and leaves the lock clean", T, async () => {
  for (const fair of [false, true]) {
    const lock = new Lock({ fair });
    assert.equal(await lock.acquire(), true);
    const ends: string[] = [];
    const remove = hooks.addWaitHook({
      waitStart: (site) => {
        if (site.kind === "lock") throw new Error("refused: " + site.label);
      },
      waitEnd: (site, outcome) => void (site.kind === "lock" && ends.push(outcome)),
    });
    try {
      await assert.rejects(lock.acquire(), /refused: Lock#\d+/);
      await assert.rejects(lock.acquire({ timeout: 1000, signal: new AbortController().signal }), /refused: Lock#\d+/);
    } finally {
      remove();
    }
    assert.deepEqual(ends, [], "a refused wait is not reported as ended");
    if (fair) assert.equal(cellsOf(lock)[3], 0, "WAITERS back to 0 after async refusals");

    // Blocking, in a thread.
    const refused = start(refusedInThread, hooksUrl, lock);
    assert.match(await refused.done, /^refused: Lock#\d+$/, `fair: ${fair}`);
    if (fair) assert.equal(cellsOf(lock)[3], 0, "WAITERS back to 0 after a blocking refusal");

    // A later acquire by another thread works.
    lock.release();
    const later = start((l: Lock) => {
      const got = l.acquireSync({ timeout: 5000 });
      l.release();
      return got;
    }, lock);
    assert.equal(await later.done, true, `fair: ${fair}`);
    assert.equal(lock.locked(), false);
    if (fair) assert.equal(cellsOf(lock)[3], 0);
  }
});
