/**
 * Queues across threads (API.md, "queue"): items put in one thread are got in another,
 * weft's shared objects inside items arrive live, blocked getters/putters/joiners in
 * threads are woken by what other threads do, and shutdown wakes them with ShutDown.
 *
 * This file is also a module target: the exports below run in threads through
 * `{ module: import.meta.url, export }`, so the tests are registered under `if (isMainThread)`.
 */
import assert from "node:assert/strict";
import { cellsOf } from "./helpers/internals.js";
import { after, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  Empty,
  Event,
  Full,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  SharedArray,
  SharedValue,
  ShutDown,
  SimpleQueue,
  Thread,
  configure,
  isMainThread,
  setExcepthook,
  sleepSync,
  type ExceptHookArgs,
} from "weft-threads";
import { finish, startExport } from "./helpers/common.js";

type AnyQueue<X = unknown> = Queue<X> | SimpleQueue<X>;

// ---------------------------------------------------------------------------------------
// Module targets (run inside threads).

/** Gets `n` items and puts each, unchanged, on `out`. */
export function relay(input: AnyQueue, out: AnyQueue, n: number): number {
  for (let i = 0; i < n; i++) out.putSync(input.getSync({ timeout: 15_000 }));
  return n;
}

/** Puts 0..n-1, tagged with `tag`. */
export function produce(q: AnyQueue<[string, number]>, tag: string, n: number): number {
  for (let i = 0; i < n; i++) q.putSync([tag, i]);
  return n;
}

/** Gets `n` items; checks that each producer's items come in the order it put them. */
export function consumeInOrder(q: AnyQueue<[string, number]>, n: number): Record<string, number> {
  const last: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const [tag, seq] = q.getSync({ timeout: 15_000 });
    if ((last[tag] ?? -1) + 1 !== seq) throw new Error(`out of order: ${tag} ${seq} after ${last[tag]}`);
    last[tag] = seq;
  }
  return last;
}

/** Blocks in getSync (no timeout) and returns what it got, or the error's class name. */
export function blockingGet(q: AnyQueue, arrived: SharedArray<"int32">): unknown {
  Atomics.store(arrived.array, 0, 1);
  try {
    return { got: q.getSync() };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

/** Blocks in getSync and lets what it throws escape (so the thread's error can be checked). */
export function blockingGetThrows(q: AnyQueue): unknown {
  return q.getSync();
}

/** Blocks in putSync on a full queue; returns "put" or the error's class name. */
export function blockingPut(q: Queue, item: unknown, arrived: SharedArray<"int32">): string {
  Atomics.store(arrived.array, 0, 1);
  try {
    q.putSync(item);
    return "put";
  } catch (error) {
    return (error as Error).name;
  }
}

/** joinSync, then reports. */
export function joiner(q: Queue, arrived: SharedArray<"int32">): string {
  Atomics.store(arrived.array, 0, 1);
  q.joinSync();
  return "joined";
}

/** Gets items, marks each done, until the queue is shut down; returns them. */
export function worker(q: Queue<number>): number[] {
  const got: number[] = [];
  for (;;) {
    try {
      got.push(q.getSync());
    } catch (error) {
      if (error instanceof ShutDown) return got;
      throw error;
    }
    q.taskDone();
  }
}

/** An async consumer: `for await` until shutdown. */
export async function asyncConsumer(q: AnyQueue<number>): Promise<number[]> {
  const got: number[] = [];
  for await (const item of q) got.push(item);
  return got;
}

/** An async getter parked with waitAsync in a thread. */
export async function asyncGet(q: AnyQueue, timeout: number): Promise<unknown> {
  return q.get({ timeout });
}

/** Timeouts and nowait forms in a thread: reports the error class names. */
export function timeouts(empty: Queue, full: Queue): string[] {
  const out: string[] = [];
  const started = performance.now();
  try {
    empty.getSync({ timeout: 30 });
  } catch (error) {
    out.push((error as Error).name);
  }
  try {
    full.putSync("x", { timeout: 30 });
  } catch (error) {
    out.push((error as Error).name);
  }
  try {
    empty.getNowait();
  } catch (error) {
    out.push(error instanceof Empty ? "Empty" : String(error));
  }
  try {
    full.putNowait("y");
  } catch (error) {
    out.push(error instanceof Full ? "Full" : String(error));
  }
  out.push(performance.now() - started >= 50 ? "waited" : "did not wait");
  return out;
}

/** Takes a lock that came inside an item; holds it until told to let go. */
export function lockFromItem(q: Queue<{ lock: Lock; ack: Queue<string>; go: Queue<string> }>): string {
  const { lock, ack, go } = q.getSync({ timeout: 15_000 });
  lock.acquireSync();
  ack.putSync("held");
  go.getSync({ timeout: 15_000 });
  lock.release();
  ack.putSync("released");
  return "ok";
}

/** Answers requests that carry their own reply queue. */
export function server(requests: Queue<{ n: number; reply: Queue<number> } | null>): number {
  let served = 0;
  for (;;) {
    const request = requests.getSync({ timeout: 15_000 });
    if (request === null) return served;
    request.reply.putSync(request.n * 2);
    served++;
  }
}

/** Makes a queue here, sends it back inside an item, then serves on it. */
export function makeAndSendQueue(back: Queue<{ mine: Queue<string> }>): string {
  const mine = new Queue<string>();
  back.putSync({ mine });
  const request = mine.getSync({ timeout: 15_000 });
  return `thread got ${request}`;
}

/** Makes a queue here, fills it, and returns it as the result. */
export function returnQueue(n: number): LifoQueue<number> {
  const q = new LifoQueue<number>();
  for (let i = 0; i < n; i++) q.putSync(i);
  return q;
}

/** Bumps shared objects that came inside an item. */
export function bumpShared(q: Queue<{ value: SharedValue; array: SharedArray<"int32">; event: Event }>): string {
  const { value, array, event } = q.getSync({ timeout: 15_000 });
  value.add(5);
  Atomics.add(array.array, 1, 7);
  event.set();
  return "bumped";
}

/** Gets the big item, checks it, and sends it back with its length. */
export function bigEcho(input: Queue<string>, out: Queue<{ length: number; text: string }>): string {
  const text = input.getSync({ timeout: 30_000 });
  out.putSync({ length: text.length, text });
  return "ok";
}

/** Waits for go[0], then checks the queue it was given is still its own: empty, then FIFO. */
export function useLater(q: Queue<string>, go: SharedArray<"int32">): string {
  while (Atomics.load(go.array, 0) === 0) Atomics.wait(go.array, 0, 0, 100);
  const before = q.qsize();
  for (let i = 0; i < 10; i++) q.putSync(`mine ${i}`);
  const got: string[] = [];
  for (let i = 0; i < 10; i++) got.push(q.getSync({ timeout: 5000 }));
  return JSON.stringify({ before, got, after: q.qsize() });
}

/** Sleeps a little, then puts. */
export function putLater(q: AnyQueue, item: unknown, ms: number): void {
  sleepSync(ms);
  q.putSync(item);
}

/** A fresh handle's view of a queue whose counters are near the 2^32 wrap: a get, or a put. */
export function freshHandle(q: AnyQueue<number>, op: "get" | "put"): { outcome: string; full: boolean; size: number } {
  const full = q instanceof Queue ? q.full() : false;
  let outcome: string;
  try {
    if (op === "get") outcome = `item ${String(q.getNowait())}`;
    else {
      q.putNowait(99);
      outcome = "admitted";
    }
  } catch (error) {
    outcome = (error as Error).name;
  }
  return { outcome, full, size: q.qsize() };
}

// ---------------------------------------------------------------------------------------

const T = { timeout: 30_000 };
const self = import.meta.url;

/** Starts a daemon thread on this file's export `exportName`. */
function start<R = unknown>(exportName: string, args: unknown[], name = exportName): Thread<R, unknown[]> {
  return startExport<R>(self, exportName, args, name);
}

/** Waits until the thread has set arrived[0] (it is about to block), then a little longer. */
async function arrivedAndBlocked(arrived: SharedArray<"int32">, thread: Thread<unknown, unknown[]>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Atomics.load(arrived.array, 0) === 0) {
    if (Date.now() > deadline) throw new Error("the thread never arrived");
    await delay(2);
  }
  await delay(50);
  assert.equal(thread.isAlive(), true, "the thread should be blocked, not finished");
}

const reported: ExceptHookArgs[] = [];

if (isMainThread) {
  setExcepthook((args) => void reported.push(args));
  registerTests();
  // A test that failed by hanging may leave waits behind: do not let them keep the process.
  after(() => void setTimeout(() => process.exit(), 3000).unref());
}

function registerTests(): void {
  test("counters near the 2^32 wrap: a thread's fresh handle neither gets a phantom item nor overfills a bounded queue", T, async () => {
    // Counters run modulo 2^32: after about 2^31 items they read negative as Int32. The
    // cells are set by hand here (PUT 2, GOT 18, DONE 20; see src/queue/layout.ts).
    const PUT = 2;
    const GOT = 18;
    const DONE = 20;
    type Seen = ReturnType<typeof freshHandle>;
    for (const make of [() => new Queue<number>(), () => new LifoQueue<number>(), () => new PriorityQueue<number>(), () => new SimpleQueue<number>()]) {
      const empty = make() as AnyQueue<number>;
      for (const cell of [PUT, GOT, DONE]) Atomics.store(cellsOf(empty), cell, -5);
      const seen = await finish(start<Seen>("freshHandle", [empty, "get"]));
      assert.deepEqual(seen, { outcome: "Empty", full: false, size: 0 }, `${empty.constructor.name}: an empty queue gave ${seen.outcome}`);
      await empty.put(7);
      assert.deepEqual(await finish(start<Seen>("freshHandle", [empty, "get"])), { outcome: "item 7", full: false, size: 0 });
    }
    const bounded = new Queue<number>({ maxsize: 4 });
    for (const cell of [PUT, GOT, DONE]) Atomics.store(cellsOf(bounded), cell, -2);
    for (let i = 0; i < 4; i++) bounded.putNowait(i);
    assert.throws(() => bounded.putNowait(4), Full);
    assert.deepEqual(await finish(start<Seen>("freshHandle", [bounded, "put"])), { outcome: "Full", full: true, size: 4 });
    assert.deepEqual(await finish(start<Seen>("freshHandle", [bounded, "get"])), { outcome: "item 0", full: true, size: 3 });
    assert.deepEqual(await finish(start<Seen>("freshHandle", [bounded, "put"])), { outcome: "admitted", full: false, size: 4 });
    assert.throws(() => bounded.putNowait(5), Full);
    assert.deepEqual([bounded.getNowait(), bounded.getNowait(), bounded.getNowait(), bounded.getNowait()], [1, 2, 3, 99]);
  });

  test("items put on the main thread are got in a thread, and back, in order, for every kind", T, async () => {
    for (const make of [() => new Queue(), () => new LifoQueue(), () => new PriorityQueue(), () => new SimpleQueue(), () => new Queue({ maxsize: 3 })]) {
      const input = make() as AnyQueue<unknown>;
      const out = new Queue<unknown>();
      const items = Array.from({ length: 50 }, (_, i) => [i, `item ${i}`, { nested: [i] }]);
      const thread = start("relay", [input, out, items.length]);
      for (const item of items) await input.put(item);
      const got: unknown[] = [];
      for (let i = 0; i < items.length; i++) got.push(await out.get({ timeout: 15_000 }));
      assert.equal(await finish(thread), items.length);
      // order: FIFO and priority keep it here ([i, ...] ascending); LIFO depends on timing
      if (input instanceof LifoQueue) {
        assert.deepEqual([...got].sort((a, b) => (a as number[])[0] - (b as number[])[0]), items);
      } else {
        assert.deepEqual(got, items, input.constructor.name);
      }
    }
  });

  test("items put in threads are got in other threads: each producer's items stay in order (FIFO)", T, async () => {
    for (const q of [new Queue<[string, number]>(), new Queue<[string, number]>({ maxsize: 4 }), new SimpleQueue<[string, number]>()]) {
      const n = 300;
      const consumer = start<Record<string, number>>("consumeInOrder", [q, 3 * n]);
      const producers = ["a", "b", "c"].map((tag) => start("produce", [q, tag, n]));
      for (const p of producers) assert.equal(await finish(p), n);
      assert.deepEqual(await finish(consumer), { a: n - 1, b: n - 1, c: n - 1 });
      assert.equal(q.qsize(), 0);
    }
  });

  test("a priority queue filled by threads hands out the smallest first", T, async () => {
    const q = new PriorityQueue<[string, number]>();
    const producers = ["c", "a", "b"].map((tag) => start("produce", [q, tag, 100]));
    for (const p of producers) await finish(p);
    const got: [string, number][] = [];
    while (!q.empty()) got.push(await q.get());
    const expected = ["a", "b", "c"].flatMap((tag) => Array.from({ length: 100 }, (_, i) => [tag, i] as [string, number]));
    assert.deepEqual(got, expected);
  });

  test("a Lock inside an item, acquired by the consumer thread, is seen locked by main", T, async () => {
    const q = new Queue<{ lock: Lock; ack: Queue<string>; go: Queue<string> }>();
    const lock = new Lock();
    const ack = new Queue<string>();
    const go = new Queue<string>();
    const thread = start("lockFromItem", [q]);
    await q.put({ lock, ack, go });
    assert.equal(await ack.get({ timeout: 15_000 }), "held");
    assert.equal(lock.locked(), true);
    assert.equal(await lock.acquire({ blocking: false }), false);
    const waiting = lock.acquire({ timeout: 15_000 });
    await go.put("go");
    assert.equal(await waiting, true, "main got the lock once the thread released it");
    assert.equal(await ack.get({ timeout: 15_000 }), "released");
    lock.release();
    assert.equal(await finish(thread), "ok");
  });

  test("a Queue inside a Queue item carries the reply (request/response)", T, async () => {
    const requests = new Queue<{ n: number; reply: Queue<number> } | null>();
    const thread = start<number>("server", [requests]);
    const reply = new Queue<number>();
    for (let n = 0; n < 20; n++) {
      await requests.put({ n, reply });
      assert.equal(await reply.get({ timeout: 15_000 }), n * 2);
    }
    // each request with a fresh reply queue, several in flight
    const replies = Array.from({ length: 10 }, () => new Queue<number>());
    for (let n = 0; n < 10; n++) await requests.put({ n: n + 100, reply: replies[n] });
    for (let n = 0; n < 10; n++) assert.equal(await replies[n].get({ timeout: 15_000 }), (n + 100) * 2);
    await requests.put(null);
    assert.equal(await finish(thread), 30);
  });

  test("a queue made in a thread can be sent back inside an item, or returned as the result", T, async () => {
    const back = new Queue<{ mine: Queue<string> }>();
    const thread = start<string>("makeAndSendQueue", [back]);
    const { mine } = await back.get({ timeout: 15_000 });
    assert.ok(mine instanceof Queue);
    await mine.put("hello");
    assert.equal(await finish(thread), "thread got hello");

    const maker = start<LifoQueue<number>>("returnQueue", [5]);
    const made = await finish(maker);
    assert.ok(made instanceof LifoQueue, "the result is a LifoQueue handle");
    assert.equal(made.qsize(), 5);
    const got: number[] = [];
    while (!made.empty()) got.push(await made.get());
    assert.deepEqual(got, [4, 3, 2, 1, 0]);
  });

  test("SharedValue, SharedArray and Event inside an item work across threads", T, async () => {
    const q = new Queue<{ value: SharedValue; array: SharedArray<"int32">; event: Event }>();
    const value = new SharedValue("int32", 1);
    const array = new SharedArray("int32", 3);
    const event = new Event();
    const thread = start<string>("bumpShared", [q]);
    try {
      await q.put({ value, array, event });
    } catch (error) {
      q.shutdown(); // let the thread end
      throw error;
    }
    assert.equal(await event.wait({ timeout: 15_000 }), true);
    assert.equal(await finish(thread), "bumped");
    assert.equal(value.value, 6);
    assert.equal(array.array[1], 7);
  });

  test("a getSync blocked in a thread is woken by a put from main, and by a put from another thread", T, async () => {
    for (const make of [() => new Queue(), () => new LifoQueue(), () => new PriorityQueue(), () => new SimpleQueue()]) {
      const q = make() as AnyQueue<unknown>;
      const arrived = new SharedArray("int32", 1);
      const getter = start("blockingGet", [q, arrived]);
      await arrivedAndBlocked(arrived, getter);
      await q.put(42);
      assert.deepEqual(await finish(getter), { got: 42 });

      const arrived2 = new SharedArray("int32", 1);
      const getter2 = start("blockingGet", [q, arrived2]);
      await arrivedAndBlocked(arrived2, getter2);
      const producer = start("produce", [q, "t", 1]);
      await finish(producer);
      assert.deepEqual(await finish(getter2), { got: ["t", 0] });
    }
  });

  test("an async get in a thread is woken by a put from main", T, async () => {
    const q = new Queue<string>();
    const thread = start<string>("asyncGet", [q, 15_000]);
    await delay(50);
    await q.put("to the async getter");
    assert.equal(await finish(thread), "to the async getter");
  });

  test("several getters blocked in threads each get one item", T, async () => {
    const q = new Queue<number>();
    const getters = Array.from({ length: 4 }, () => {
      const arrived = new SharedArray("int32", 1);
      return { arrived, thread: start("blockingGet", [q, arrived]) };
    });
    for (const g of getters) await arrivedAndBlocked(g.arrived, g.thread);
    for (let i = 0; i < 4; i++) await q.put(i);
    const got = await Promise.all(getters.map(async (g) => ((await finish(g.thread)) as { got: number }).got));
    assert.deepEqual(got.sort(), [0, 1, 2, 3]);
  });

  test("a putSync blocked on a full bounded queue in a thread is woken by a get", T, async () => {
    for (const make of [() => new Queue({ maxsize: 1 }), () => new LifoQueue({ maxsize: 2 }), () => new PriorityQueue({ maxsize: 1 })]) {
      const q = make() as Queue<unknown>;
      while (!q.full()) await q.put(1);
      const arrived = new SharedArray("int32", 1);
      const putter = start<string>("blockingPut", [q, 2, arrived]);
      await arrivedAndBlocked(arrived, putter);
      assert.equal(await q.get(), 1);
      assert.equal(await finish(putter), "put");
      assert.equal(q.full(), true);
      const left: unknown[] = [];
      while (!q.empty()) left.push(await q.get());
      assert.ok(left.includes(2), `${q.constructor.name}: the blocked put's item is there`);
    }
  });

  test("shutdown wakes getters and putters blocked in threads with ShutDown (same class across threads)", T, async () => {
    const q = new Queue<number>();
    const arrivedA = new SharedArray("int32", 1);
    const getterA = start("blockingGet", [q, arrivedA]);
    const getterB = start("blockingGetThrows", [q], "getter-b");
    await arrivedAndBlocked(arrivedA, getterA);
    await delay(50);
    q.shutdown();
    assert.deepEqual(await finish(getterA), { error: "ShutDown" });
    await getterB.join();
    assert.ok(getterB.error instanceof ShutDown, `the thread's ShutDown arrives as ShutDown: ${String(getterB.error)}`);
    assert.match((getterB.error as Error).message, /getter-b/);

    const full = new Queue<number>({ maxsize: 1 });
    await full.put(0);
    const arrivedP = new SharedArray("int32", 1);
    const putter = start<string>("blockingPut", [full, 1, arrivedP]);
    await arrivedAndBlocked(arrivedP, putter);
    full.shutdown();
    assert.equal(await finish(putter), "ShutDown");
    assert.equal(await full.get(), 0, "items already in the queue can still be got");
    await assert.rejects(full.get(), ShutDown);
  });

  test("shutdown({ immediate: true }) wakes blocked threads and discards the items", T, async () => {
    const full = new Queue<number>({ maxsize: 2 });
    await full.put(0);
    await full.put(1);
    const arrived = new SharedArray("int32", 1);
    const putter = start<string>("blockingPut", [full, 2, arrived]);
    await arrivedAndBlocked(arrived, putter);
    full.shutdown({ immediate: true });
    assert.equal(await finish(putter), "ShutDown");
    assert.equal(full.qsize(), 0);
    await assert.rejects(full.get(), ShutDown);
  });

  test("joinSync in a thread is released by taskDone from main", T, async () => {
    const q = new Queue<number>();
    await q.put(1);
    await q.put(2);
    const arrived = new SharedArray("int32", 1);
    const thread = start<string>("joiner", [q, arrived]);
    await arrivedAndBlocked(arrived, thread);
    await q.get();
    q.taskDone();
    await delay(30);
    assert.equal(thread.isAlive(), true, "one task is still unfinished");
    await q.get();
    q.taskDone();
    assert.equal(await finish(thread), "joined");
  });

  test("main's join() is released by worker threads' taskDone; workers end on shutdown", T, async () => {
    const q = new Queue<number>({ maxsize: 10 });
    const workers = [0, 1, 2].map(() => start<number[]>("worker", [q]));
    for (let i = 0; i < 200; i++) await q.put(i);
    await q.join();
    assert.equal(q.qsize(), 0);
    q.shutdown();
    const got = (await Promise.all(workers.map((w) => finish(w)))).flat().sort((a, b) => a - b);
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i));
  });

  test("for await in a thread ends when the queue is shut down and drained", T, async () => {
    const q = new SimpleQueue<number>();
    const consumers = [start<number[]>("asyncConsumer", [q]), start<number[]>("asyncConsumer", [q])];
    for (let i = 0; i < 100; i++) await q.put(i);
    q.shutdown();
    const got = (await Promise.all(consumers.map((c) => finish(c)))).flat().sort((a, b) => a - b);
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
  });

  test("timeouts and the nowait forms in a thread give Empty and Full", T, async () => {
    const empty = new Queue();
    const full = new Queue({ maxsize: 1 });
    await full.put("in");
    assert.deepEqual(await finish(start<string[]>("timeouts", [empty, full])), ["Empty", "Full", "Empty", "Full", "waited"]);
    assert.equal(full.qsize(), 1);
    assert.equal(empty.qsize(), 0);
  });

  test("getSync on main (allowMainThreadBlocking) is woken by a put from a thread", T, async () => {
    configure({ allowMainThreadBlocking: true });
    try {
      for (const q of [new Queue<string>(), new SimpleQueue<string>(), new PriorityQueue<string>()]) {
        const thread = start("putLater", [q, "from the thread", 50]);
        assert.equal(q.getSync({ timeout: 15_000 }), "from the thread");
        await finish(thread);
      }
      const full = new Queue<number>({ maxsize: 1 });
      full.putSync(1);
      const arrived = new SharedArray("int32", 1);
      const taker = start("blockingGet", [full, arrived]);
      full.putSync(2, { timeout: 15_000 }); // blocks main until the thread takes 1
      assert.deepEqual(await finish(taker), { got: 1 });
      assert.equal(full.getSync({ timeout: 1000 }), 2);
    } finally {
      configure({ allowMainThreadBlocking: false });
    }
  });

  test("a queue whose only handle in main was collected stays alive for the thread that holds it", T, async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const go = new SharedArray("int32", 1);
    const thread = (() => start<string>("useLater", [new Queue<string>(), go]))();
    for (let i = 0; i < 3; i++) {
      gc();
      await delay(10);
    }
    // new queues must not be given the memory the thread's queue still uses
    const others = Array.from({ length: 200 }, (_, i) => {
      const q = new Queue<string>();
      q.putNowait(`other ${i}`);
      return q;
    });
    Atomics.store(go.array, 0, 1);
    Atomics.notify(go.array, 0);
    const report = JSON.parse(await finish(thread)) as { before: number; got: string[]; after: number };
    assert.deepEqual(report, { before: 0, got: Array.from({ length: 10 }, (_, i) => `mine ${i}`), after: 0 });
    others.forEach((q, i) => assert.equal(q.getNowait(), `other ${i}`));
  });

  test("a 50 MiB string item goes to a thread and back, equal", { timeout: 60_000 }, async () => {
    const input = new Queue<string>();
    const out = new Queue<{ length: number; text: string }>();
    const big = "0123456789abcdef".repeat((50 * 1024 * 1024) / 16) + "é end";
    const thread = start<string>("bigEcho", [input, out]);
    await input.put(big);
    const back = await out.get({ timeout: 50_000 });
    assert.equal(await finish(thread), "ok");
    assert.equal(back.length, big.length);
    assert.equal(back.text.length, big.length);
    assert.ok(back.text === big, "the string came back equal");
  });
}
