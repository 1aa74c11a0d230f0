/**
 * Process-shared objects: weft's locks, events, conditions, semaphores, queues and shared
 * values passed to another process keep working there, served by the process that made
 * them. Real child processes (test/fixtures/process-shared-child.mjs, forked) receive the
 * objects encoded with encodeForProcess over IPC and use them through proxies.
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Event,
  LifoQueue,
  Lock,
  LockOwnerDiedError,
  Queue,
  RLock,
  Semaphore,
  SharedArray,
  SharedValue,
  SimpleQueue,
  Thread,
  enumerate,
  Pipe,
  Process,
  encodeForProcess,
} from "weft-threads";

import { until } from "./helpers/common.js";

const T = { timeout: 60_000 };
const fixtureUrl = new URL("../../test/fixtures/process-shared-child.mjs", import.meta.url);
const fixture = fileURLToPath(fixtureUrl);

interface Child {
  readonly process: ChildProcess;
  /** The scenario's result; rejects with its error (name and message kept). */
  readonly result: Promise<unknown>;
  /** Resolves when the child reports `event` (a scenario's progress). */
  reached(event: string): Promise<void>;
}

/** Forks the fixture and runs `scenario` there with `args` (encoded for the trip). */
function child(scenario: string, ...args: unknown[]): Child {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const proc = fork(fixture, [], { serialization: "advanced", env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiters = new Map<string, () => void>();
  const result = new Promise<unknown>((resolve, reject) => {
    proc.on("message", (message: { event: string; result?: unknown; name?: string; message?: string; stack?: string }) => {
      if (message.event === "result") resolve(message.result);
      else if (message.event === "error") reject(Object.assign(new Error(message.message), { name: message.name, remoteStack: message.stack }));
      else waiters.get(message.event)?.();
    });
    proc.on("close", (code, signal) => reject(new Error(`child exited (${code ?? signal}) before reporting`)));
  });
  result.catch(() => {});
  const encoded = encodeForProcess(args, "args");
  waiters.set("ready", () => proc.send({ scenario, args: encoded }));
  return {
    process: proc,
    result,
    reached: (event) => new Promise<void>((resolve) => waiters.set(event, resolve)),
  };
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.once("exit", () => resolve());
    proc.kill("SIGKILL");
  });
}

test("a Lock guards a counter across the parent's threads and two child processes (blocking and async forms)", T, async () => {
  const lock = new Lock();
  const counter = new SharedValue("int32", 0);
  const perChild = 200;
  const perThread = 5000;
  const children = [child("countSync", lock, counter, perChild), child("countAsync", lock, counter, perChild)];
  const threads = [0, 1].map(() => {
    const thread = new Thread({ target: { module: fixtureUrl.href, export: "countSync" }, args: [lock, counter, perThread], daemon: true });
    thread.start();
    return thread;
  });
  assert.deepEqual(await Promise.all(children.map((c) => c.result)), ["counted", "counted"]);
  for (const thread of threads) await thread.join();
  assert.equal(counter.value, 2 * perChild + 2 * perThread);
  assert.equal(lock.locked(), false);
});

test("an Event set in a child wakes the parent waiting on it", T, async () => {
  const event = new Event();
  const waiting = event.wait();
  const setter = child("setEvent", event);
  assert.equal(await waiting, true);
  assert.equal(await setter.result, "set");
});

test("an Event set in the parent wakes a child waiting on it", T, async () => {
  const event = new Event();
  const waiter = child("waitEvent", event, 60_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  event.set();
  assert.equal(await waiter.result, true);
});

test("a Queue: a producer in the parent, consumers in two children (getSync and get): every item exactly once", T, async () => {
  const queue = new Queue<number | null>({ maxsize: 16 });
  const consumers = [child("drainSync", queue), child("drainAsync", queue)];
  const n = 400;
  for (let i = 0; i < n; i++) await queue.put(i);
  await queue.put(null);
  await queue.put(null);
  const got = (await Promise.all(consumers.map((c) => c.result))) as number[][];
  const all = got.flat().sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => i));
  assert.equal(queue.qsize(), 0);
});

test("a child's async get: its timeout ends it with Empty, its signal aborts it, and what comes after goes to the next gets", T, async () => {
  const queue = new Queue<number>();
  const consumer = child("asyncGetEdges", queue);
  await consumer.reached("waiting");
  queue.putNowait(1);
  queue.putNowait(2);
  const out = (await consumer.result) as { timeout: string; waited: number; abort: string; items: number[] };
  assert.deepEqual([out.timeout, out.abort, out.items], ["Empty", "stop", [1, 2]]);
  assert.ok(out.waited >= 150, `timed out after ${out.waited} ms`);
  assert.equal(queue.qsize(), 0);
});

test("proxies are instances of the real classes, with their properties", T, async () => {
  const lock = new Lock({ name: "accounts", fair: true });
  const value = new SharedValue("float64", 1.5);
  const array = new SharedArray("int16", [3, 4, 5]);
  const described = await child(
    "describe",
    lock,
    new RLock(),
    value,
    array,
    new LifoQueue({ maxsize: 7 }),
    new SimpleQueue(),
    new Barrier(3),
    { nested: [new Condition(), new BoundedSemaphore(2), new Semaphore(1)] },
  ).result;
  assert.deepEqual(described, {
    lock: ["Lock", "accounts", true, true],
    rlock: ["RLock", true],
    value: ["float64", 1.5, true],
    array: [3, 4, [3, 4, 5], true],
    queue: ["LifoQueue", 7, true],
    simple: ["SimpleQueue", true],
    barrier: [3, true],
    nested: [true, true, true],
  });
});

test("a child killed (SIGKILL) while holding the Lock: the next acquirer gets LockOwnerDiedError, then the lock works", T, async () => {
  const lock = new Lock();
  const holder = child("holdLock", lock);
  await holder.reached("holding");
  assert.equal(lock.locked(), true);
  // Watched from the start: the owner can see its agent gone before this side sees the exit.
  const waiting = assert.rejects(lock.acquire({ timeout: 60_000 }), LockOwnerDiedError);
  await killed(holder.process);
  await waiting;
  assert.equal(await lock.acquire({ timeout: 5000 }), true);
  lock.release();
});

test("a child killed inside get() takes no item: every item put afterwards is got once", T, async () => {
  const queue = new Queue<number>();
  const getter = child("getForever", queue);
  await getter.reached("getting");
  await new Promise((resolve) => setTimeout(resolve, 100));
  const dying = killed(getter.process);
  // Put at once: the dead child's get may take an item before its owner sees it gone; it is put back.
  for (let i = 0; i < 20; i++) queue.putNowait(i);
  await dying;
  const got: number[] = [];
  for (let i = 0; i < 20; i++) got.push(await queue.get({ timeout: 60_000 }));
  assert.deepEqual(got.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(queue.qsize(), 0);
});

test("a Condition across processes: children wait for a value that other processes bump", T, async () => {
  const condition = new Condition();
  const value = new SharedValue("int32", 0);
  const waiters = [child("conditionWait", condition, value, 3), child("conditionWait", condition, value, 3)];
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await child("conditionBump", condition, value).result, "bumped");
  for (let i = 0; i < 2; i++) {
    await condition.withLock(() => {
      value.value = value.value + 1;
      condition.notifyAll();
    });
  }
  assert.deepEqual(await Promise.all(waiters.map((w) => w.result)), [true, true]);
});

test("a Semaphore(2) across processes: never more than two holders at once", T, async () => {
  const semaphore = new Semaphore(2);
  const inside = new SharedValue("int32", 0);
  const most = new SharedValue("int32", 0);
  const workers = [0, 1, 2].map(() => child("semaphoreWork", semaphore, inside, most, 15));
  assert.deepEqual(await Promise.all(workers.map((w) => w.result)), ["done", "done", "done"]);
  assert.equal(inside.value, 0);
  assert.ok(most.value >= 1 && most.value <= 2, `most holders at once: ${most.value}`);
});

test("errors keep their class across the boundary; what cannot be sent is a TypeError naming its path", T, async () => {
  const outcome = await child("errors", new RLock(), new Queue(), new SharedValue("uint8", 0)).result;
  assert.deepEqual(outcome, {
    releaseUnowned: ["RuntimeError", true],
    getNowait: ["Empty", true],
    outOfRange: "ValueError",
    mainThreadBlocking: "MainThreadBlockingError",
  });
  assert.throws(() => encodeForProcess({ args: [1, { callback: () => 1 }] }, "args"), {
    name: "TypeError",
    message: /^args\.args\[1\]\.callback: functions cannot be sent to another process/,
  });
});

/** A Process running `exportName` of the fixture with `args`. */
function started(exportName: string, ...args: unknown[]): Process {
  const process = new Process({ target: { module: fixtureUrl.href, export: exportName }, args });
  process.start();
  return process;
}

test("Process: a Lock in args guards a counter across two child processes and two threads of the parent (exact total)", T, async () => {
  const lock = new Lock();
  const counter = new SharedValue("int32", 0);
  const perProcess = 300;
  const perThread = 3000;
  const processes = [started("countSync", lock, counter, perProcess), started("countSync", lock, counter, perProcess)];
  const threads = [0, 1].map(() => {
    const thread = new Thread({ target: { module: fixtureUrl.href, export: "countSync" }, args: [lock, counter, perThread], daemon: true });
    thread.start();
    return thread;
  });
  for (const p of processes) await p.join();
  for (const thread of threads) await thread.join();
  assert.deepEqual(processes.map((p) => p.exitCode), [0, 0]);
  assert.equal(counter.value, 2 * perProcess + 2 * perThread);
  assert.equal(lock.locked(), false);
});

test("Process: every family from a child, blocking and async forms", T, async () => {
  const [here, there] = Pipe();
  const objects = {
    rlock: new RLock(),
    semaphore: new Semaphore(1),
    bounded: new BoundedSemaphore(1),
    event: new Event(),
    condition: new Condition(),
    barrier: new Barrier(2),
    queue: new Queue<string>(),
    value: new SharedValue("int32", 0),
    array: new SharedArray("int16", [1, 2, 3]),
  };
  const child = started("families", there, objects);
  // The child's two barrier waits, each met by one here.
  assert.ok((await objects.barrier.wait({ timeout: 30_000 })) >= 0);
  assert.ok((await objects.barrier.wait({ timeout: 30_000 })) >= 0);
  const out = await here.recv({ timeout: 30_000 });
  await child.join();
  assert.equal(child.exitCode, 0);
  assert.deepEqual(out, {
    rlock: [true, true, true],
    semaphore: [true, false, false],
    bounded: "RangeError",
    event: [true, true, true],
    condition: [false, false],
    barrier: [true, true],
    queue: ["sync", "async"],
    leased: Array.from({ length: 10 }, (_, i) => `i${i}`),
    value: [41, 42, 42, 7],
    array: [9, 2, [9, 2, 3]],
  });
  assert.equal(objects.semaphore.acquireSync({ blocking: false }), true); // the child released what it took
  objects.semaphore.release();
  assert.equal(objects.rlock.locked(), false);
  assert.equal(objects.value.value, 7);
  assert.equal(objects.queue.qsize(), 0);
  assert.equal(objects.array.array[0], 9);
});

test("Process: what a child pipelined (puts, a release, a set, a store) has run when its join() resolves", T, async () => {
  const n = 2000;
  for (let round = 0; round < 3; round++) {
    const [queue, lock, event, value] = [new Queue<number>(), new Lock(), new Event(), new SharedValue("int32", 0)];
    const child = started("pipelineThenExit", queue, lock, event, value, n);
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.deepEqual([queue.qsize(), lock.locked(), event.isSet(), value.value], [n, false, true, n], `round ${round}`);
  }
});

test("Process: what a child's threads pipelined has run when the child joins them, and when its own join() resolves", T, async () => {
  const n = 500;
  for (let round = 0; round < 3; round++) {
    const [queue, lock, event, value, seen] = [new Queue<number>(), new Lock(), new Event(), new SharedValue("int32", 0), new SharedValue("int32", 0)];
    const child = started("threadsPipelineThenExit", queue, lock, event, value, n, seen);
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.equal(seen.value, 4, `round ${round}: after joining its thread, the child saw all four of its calls done`);
    assert.deepEqual([queue.qsize(), lock.locked(), event.isSet(), value.value], [3 * n, false, true, n], `round ${round}`);
  }
});

test("Process: a Lock and a SharedValue inside a queue item, an Event and a Lock inside a Pipe message", T, async () => {
  const queue = new Queue<unknown>();
  const done = new Queue<string>();
  const lock = new Lock();
  const value = new SharedValue("int32", 5);
  const viaQueue = started("fromQueueItem", queue, done);
  await queue.put({ lock, value });
  assert.equal(await done.get({ timeout: 30_000 }), "used");
  await viaQueue.join();
  assert.equal(value.value, 6);

  const [here, there] = Pipe();
  const event = new Event();
  const viaPipe = started("fromPipe", there);
  here.send({ event, lock });
  assert.equal(await event.wait({ timeout: 30_000 }), true);
  assert.equal(await here.recv({ timeout: 30_000 }), true);
  await viaPipe.join();
  assert.deepEqual([viaQueue.exitCode, viaPipe.exitCode, lock.locked()], [0, 0, false]);
});

test("Process: a child killed (SIGKILL) in a getSync loop: every item delivered exactly once overall", T, async () => {
  const n = 3000;
  const queue = new Queue<number>();
  const seen = new SharedArray("int32", n);
  for (let i = 0; i < n; i++) queue.putNowait(i);
  const child = started("consumeForever", queue, seen);
  // Let it take some (its leases hold more than it has handed over), then kill it.
  while ((seen.array as Int32Array).reduce((a, b) => a + b, 0) < 200) await new Promise((resolve) => setTimeout(resolve, 5));
  child.kill();
  await child.join();
  assert.equal(child.exitCode, -9);
  // Its owner puts back what was leased and never handed over; the rest is here.
  const deadline = Date.now() + 20_000;
  const left: number[] = [];
  while (Date.now() < deadline) {
    try {
      left.push(queue.getNowait());
    } catch {
      const total = left.length + (seen.array as Int32Array).reduce((a, b) => a + b, 0);
      if (total >= n - 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  for (const item of left) seen.array[item]++;
  const counts = Array.from(seen.array);
  assert.equal(counts.filter((c) => c > 1).length, 0, "an item was taken twice");
  // The one item the child may have been handed but not yet marked when it died.
  assert.ok(counts.filter((c) => c === 0).length <= 1, `lost: ${counts.filter((c) => c === 0).length} items`);
});

test("Process: a child holding leases of 48 queues at once: its acknowledgements outgrow their FIFO, and none is put back", T, async () => {
  const queues = Array.from({ length: 48 }, () => new Queue<number>());
  const each = 511;
  const seen = new SharedArray("int32", queues.length * each);
  queues.forEach((queue, q) => {
    for (let i = 0; i < each; i++) queue.putNowait(q * each + i);
  });
  const child = started("takeAcrossQueues", queues, seen);
  const pid = child.pid;
  await child.join();
  assert.equal(child.exitCode, 0);
  // Its agent puts back what was never acknowledged, then ends.
  await until(() => !enumerate().some((thread) => thread.name.startsWith(`weft-shared-agent (pid ${pid},`)), "the child's agent to end");
  assert.deepEqual(queues.map((queue) => queue.qsize()), queues.map(() => 0), "an acknowledged item was put back");
  assert.deepEqual([...new Set(seen.array)], [1]);
});

test("Process: eight async get() loops of one child thread share its leases: every item once, and none waits at the owner beside items held here", T, async () => {
  const consumers = 8;
  const bursts = 12;
  const perBurst = 400;
  // Three times: whether a lease brings several of the final nulls is a matter of timing.
  for (let round = 0; round < 3; round++) {
    const queue = new Queue<number | null>();
    const seen = new SharedArray("int32", bursts * perBurst);
    const child = started("consumeConcurrently", queue, seen, consumers);
    for (let burst = 0; burst < bursts; burst++) {
      // Bursts with pauses between: the loops drain each one and wait at the owner again.
      for (let i = 0; i < perBurst; i++) queue.putNowait(burst * perBurst + i);
      await until(() => queue.qsize() === 0, `burst ${burst} to be taken`);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
    // One null per loop, at once: a lease that brings several must share them.
    for (let i = 0; i < consumers; i++) queue.putNowait(null);
    await child.join({ timeout: 20_000 });
    const stuck = child.isAlive();
    if (stuck) child.kill();
    assert.equal(stuck, false, `round ${round}: a get() loop still waits at the owner`);
    assert.equal(child.exitCode, 0);
    assert.deepEqual([...new Set(seen.array)], [1]);
  }
});
