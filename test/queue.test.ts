/**
 * Behaviour of Queue, LifoQueue, PriorityQueue and SimpleQueue on one thread (API.md,
 * "queue" and "Conventions"): the async forms on the main thread, and the `*Sync` forms
 * with `configure({ allowMainThreadBlocking: true })`. Cross-thread behaviour is in
 * queue-threads.test.ts; the randomized many-thread runs in queue-stress.test.ts.
 *
 * Everything goes through the public API only (the internals keep changing).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setImmediate as tick, setTimeout as delay } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Empty,
  Event,
  Full,
  LifoQueue,
  Lock,
  MainThreadBlockingError,
  PriorityQueue,
  Queue,
  RLock,
  RuntimeError,
  Semaphore,
  SharedArray,
  SharedValue,
  ShutDown,
  SimpleQueue,
  ValueError,
  configure,
} from "weft-threads";

const T = { timeout: 20_000 };

// A test that failed by hanging may leave waits behind: do not let them keep the process.
after(() => void setTimeout(() => process.exit(), 3000).unref());

type AnyQueue<X = unknown> = Queue<X> | SimpleQueue<X>;
const FIFO_KINDS = [
  ["Queue", () => new Queue()],
  ["SimpleQueue", () => new SimpleQueue()],
] as const;
const ALL_KINDS: readonly (readonly [string, () => AnyQueue])[] = [
  ["Queue", () => new Queue()],
  ["LifoQueue", () => new LifoQueue()],
  ["PriorityQueue", () => new PriorityQueue()],
  ["SimpleQueue", () => new SimpleQueue()],
];

/** Drains what can be got at once. */
function drain<X>(q: AnyQueue<X>): X[] {
  const out: X[] = [];
  for (;;) {
    try {
      out.push(q.getNowait());
    } catch (error) {
      if (error instanceof Empty || error instanceof ShutDown) return out;
      throw error;
    }
  }
}

/** Resolves to "pending" if `promise` has not settled within a few turns of the event loop. */
async function state(promise: Promise<unknown>, ms = 20): Promise<"pending" | "fulfilled" | "rejected"> {
  let settled: "fulfilled" | "rejected" | undefined;
  promise.then(
    () => (settled = "fulfilled"),
    () => (settled = "rejected"),
  );
  await delay(ms);
  return settled ?? "pending";
}

/** Runs `fn` with `*Sync` calls allowed on the main thread, restoring the default after. */
async function withMainBlocking<R>(fn: () => R | Promise<R>): Promise<R> {
  configure({ allowMainThreadBlocking: true });
  try {
    return await fn();
  } finally {
    configure({ allowMainThreadBlocking: false });
  }
}

// ------------------------------------------------------------------------------ ordering

test("Queue and SimpleQueue are FIFO", T, async () => {
  for (const [name, make] of FIFO_KINDS) {
    const q = make();
    for (let i = 0; i < 100; i++) await q.put(i);
    const got: unknown[] = [];
    for (let i = 0; i < 100; i++) got.push(await q.get());
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i), name);
  }
});

test("LifoQueue is LIFO", T, async () => {
  const q = new LifoQueue<number>();
  for (let i = 0; i < 50; i++) q.putNowait(i);
  assert.deepEqual(drain(q), Array.from({ length: 50 }, (_, i) => 49 - i));
  // interleaved
  q.putNowait(1);
  q.putNowait(2);
  assert.equal(q.getNowait(), 2);
  q.putNowait(3);
  assert.equal(q.getNowait(), 3);
  assert.equal(q.getNowait(), 1);
});

test("PriorityQueue: numbers, strings and bigints compare naturally", T, async () => {
  const nums = new PriorityQueue<number>();
  for (const n of [5, -1, 3.5, 0, Infinity, -Infinity, 2, 1e9, -0.5]) nums.putNowait(n);
  assert.deepEqual(drain(nums), [-Infinity, -1, -0.5, 0, 2, 3.5, 5, 1e9, Infinity]);

  const strings = new PriorityQueue<string>();
  for (const s of ["pear", "apple", "", "Zebra", "apples", "é"]) strings.putNowait(s);
  assert.deepEqual(drain(strings), ["", "Zebra", "apple", "apples", "pear", "é"]);

  const bigs = new PriorityQueue<bigint>();
  for (const b of [10n ** 30n, -5n, 0n, 7n, -(10n ** 25n)]) bigs.putNowait(b);
  assert.deepEqual(drain(bigs), [-(10n ** 25n), -5n, 0n, 7n, 10n ** 30n]);
});

test("PriorityQueue: arrays compare element by element; [priority, data] works; equal priorities stay FIFO", T, async () => {
  const q = new PriorityQueue<[number, unknown]>();
  await q.put([2, { task: "b1" }]);
  await q.put([1, { task: "a1" }]);
  await q.put([3, "c"]);
  await q.put([2, { task: "b2" }]);
  await q.put([1, { task: "a2" }]);
  await q.put([2, ["b3"]]);
  await q.put([0, null]);
  assert.deepEqual(drain(q), [
    [0, null],
    [1, { task: "a1" }],
    [1, { task: "a2" }],
    [2, { task: "b1" }],
    [2, { task: "b2" }],
    [2, ["b3"]],
    [3, "c"],
  ]);

  const tuples = new PriorityQueue<unknown[]>();
  for (const t of [[1, "b"], [1, "a"], [0, "z", 1], [1], [0, "z"], [1, "a", 0]]) tuples.putNowait(t);
  assert.deepEqual(drain(tuples), [[0, "z"], [0, "z", 1], [1], [1, "a"], [1, "a", 0], [1, "b"]]);
});

test("PriorityQueue: a long random stream comes out sorted, equal keys in arrival order", T, async () => {
  const q = new PriorityQueue<[number, number]>();
  const items: [number, number][] = [];
  for (let i = 0; i < 2000; i++) items.push([Math.floor(Math.random() * 50), i]);
  for (const item of items) q.putNowait(item);
  assert.equal(q.qsize(), 2000);
  const expected = [...items].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  assert.deepEqual(drain(q), expected);
});

test("PriorityQueue: items that cannot be ordered are a TypeError, and nothing is put", T, async () => {
  const q = new PriorityQueue<unknown>();
  for (const bad of [{ priority: 1 }, null, undefined, true, new Map()]) {
    await assert.rejects(q.put(bad), TypeError);
    assert.throws(() => q.putNowait(bad), TypeError);
  }
  assert.equal(q.qsize(), 0);
  await q.put(1);
  assert.equal(q.qsize(), 1);
});

// --------------------------------------------------------------------- size, Full, Empty

test("qsize, empty, full and maxsize", T, async () => {
  const q = new Queue<number>({ maxsize: 2 });
  assert.equal(q.maxsize, 2);
  assert.equal(q.qsize(), 0);
  assert.equal(q.empty(), true);
  assert.equal(q.full(), false);
  await q.put(1);
  assert.equal(q.qsize(), 1);
  assert.equal(q.empty(), false);
  assert.equal(q.full(), false);
  await q.put(2);
  assert.equal(q.full(), true);
  await q.get();
  assert.equal(q.full(), false);
  assert.equal(q.qsize(), 1);

  const unbounded = new Queue();
  assert.equal(unbounded.maxsize, 0);
  for (let i = 0; i < 1000; i++) unbounded.putNowait(i);
  assert.equal(unbounded.full(), false);
  assert.equal(unbounded.qsize(), 1000);
  // Python: maxsize <= 0 means unbounded
  const negative = new Queue({ maxsize: -3 });
  for (let i = 0; i < 10; i++) negative.putNowait(i);
  assert.equal(negative.full(), false);
  for (const make of [() => new LifoQueue({ maxsize: 1 }), () => new PriorityQueue({ maxsize: 1 })]) {
    const one = make();
    one.putNowait(1);
    assert.equal(one.full(), true);
    assert.throws(() => one.putNowait(0), Full);
  }
});

test("bad constructor options and bad wait options", T, async () => {
  assert.throws(() => new Queue({ maxsize: 1.5 }), ValueError);
  assert.throws(() => new Queue({ maxsize: Number.NaN }), RangeError);
  assert.throws(() => new Queue({ maxsize: "3" as unknown as number }), TypeError);
  assert.throws(() => new Queue(5 as unknown as { maxsize: number }), TypeError);
  assert.throws(
    () => new (SimpleQueue as unknown as new (options: unknown) => SimpleQueue)({ maxsize: 5 }),
    (e: unknown) => e instanceof TypeError && /SimpleQueue takes no arguments; it is unbounded and has no maxsize/.test(e.message),
  );
  // What was once an internal descriptor parameter is now an ignored extra argument.
  const loose = (cls: unknown) => cls as new (...args: unknown[]) => Queue<number>;
  for (const cls of [Queue, LifoQueue, PriorityQueue]) {
    const extra = new (loose(cls))({ maxsize: 2 }, { kind: "Queue", block: {} });
    assert.ok(extra instanceof cls);
    assert.equal(extra.maxsize, 2);
    extra.putNowait(1);
    assert.equal(extra.getNowait(), 1);
  }
  const q = new Queue<number>();
  await q.put(1);
  await assert.rejects(q.get({ timeout: -1 }), RangeError);
  await assert.rejects(q.get({ timeout: Number.NaN }), RangeError);
  await assert.rejects(q.put(2, { timeout: -5 }), RangeError);
  await assert.rejects(q.get({ signal: {} as AbortSignal }), TypeError);
  await assert.rejects(q.get({ blocking: "no" as unknown as boolean }), TypeError);
  await assert.rejects(q.get(7 as unknown as object), TypeError);
  assert.throws(() => q.shutdown(3 as unknown as object), TypeError);
  assert.equal(q.qsize(), 1, "the failed calls took and put nothing");
  assert.equal(q.isShutdown, false);
});

test("putNowait on a full queue is Full; getNowait on an empty one is Empty; blocking: false is the same", T, async () => {
  for (const [name, make] of ALL_KINDS) {
    const q = make();
    assert.throws(() => q.getNowait(), Empty, name);
    await assert.rejects(q.get({ blocking: false }), Empty, name);
    await assert.rejects(q.get({ timeout: 0 }), Empty, name);
  }
  const q = new Queue<number>({ maxsize: 1 });
  q.putNowait(1);
  assert.throws(() => q.putNowait(2), (e) => e instanceof Full && !(e instanceof Empty));
  await assert.rejects(q.put(2, { blocking: false }), Full);
  await assert.rejects(q.put(2, { timeout: 0 }), Full);
  assert.equal(q.qsize(), 1);
  assert.equal(q.getNowait(), 1);
  assert.ok(new Full("x") instanceof Error && new Empty("x") instanceof Error && new ShutDown("x") instanceof Error);
});

test("get and put with a timeout give up with Empty and Full, taking and putting nothing", T, async () => {
  const q = new Queue<number>({ maxsize: 1 });
  let started = performance.now();
  await assert.rejects(q.get({ timeout: 60 }), Empty);
  assert.ok(performance.now() - started >= 55, "waited about the timeout");
  q.putNowait(1);
  started = performance.now();
  await assert.rejects(q.put(2, { timeout: 60 }), Full);
  assert.ok(performance.now() - started >= 55);
  assert.equal(q.qsize(), 1);
  assert.equal(await q.get({ timeout: 1000 }), 1);
  assert.equal(q.qsize(), 0);
});

test("a timed get succeeds when an item arrives in time; a timed put when room appears", T, async () => {
  const q = new Queue<string>({ maxsize: 1 });
  const getter = q.get({ timeout: 10_000 });
  await delay(20);
  await q.put("late");
  assert.equal(await getter, "late");

  await q.put("first");
  const putter = q.put("second", { timeout: 10_000 });
  assert.equal(await state(putter), "pending");
  assert.equal(await q.get(), "first");
  await putter;
  assert.equal(await q.get(), "second");
});

test("async waiters wake in turn: each put wakes one getter, each get one putter", T, async () => {
  const q = new Queue<number>();
  const got: number[] = [];
  const getters = [0, 1, 2, 3].map(() => q.get().then((v) => got.push(v)));
  await delay(10);
  await q.put(1);
  await q.put(2);
  await delay(20);
  assert.equal(got.length, 2);
  await q.put(3);
  await q.put(4);
  await Promise.all(getters);
  assert.deepEqual(got.sort(), [1, 2, 3, 4]);

  const bounded = new Queue<number>({ maxsize: 1 });
  await bounded.put(0);
  const putters = [1, 2, 3].map((i) => bounded.put(i));
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push(await bounded.get());
  await Promise.all(putters);
  assert.equal(out[0], 0);
  assert.deepEqual(out.slice(1).sort(), [1, 2, 3]);
  assert.equal(bounded.qsize(), 0);
});

// -------------------------------------------------------------------------------- abort

test("an aborted get rejects with the reason and takes no item", T, async () => {
  const reason = new Error("stop");
  for (const [name, make] of ALL_KINDS) {
    const q = make();
    await assert.rejects(q.get({ signal: AbortSignal.abort(reason) }), (e) => e === reason, name);
    await q.put(1);
    // already aborted: rejects even though an item is there, and leaves it
    await assert.rejects(q.get({ signal: AbortSignal.abort(reason) }), (e) => e === reason, name);
    assert.equal(q.qsize(), 1, name);
    assert.equal(await q.get(), 1);

    const controller = new AbortController();
    const waiting = q.get({ signal: controller.signal });
    await delay(10);
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason, name);
    await q.put(2);
    // the aborted getter's ghost may receive the wake-up; the item must still be there
    await delay(10);
    assert.equal(q.qsize(), 1, `${name}: the aborted get swallowed the item`);
    assert.equal(q.getNowait(), 2);
  }
});

test("a wake-up landing on an aborted getter is passed on to a live one", T, async () => {
  const q = new Queue<string>();
  const controller = new AbortController();
  const ghost = q.get({ signal: controller.signal }).catch(() => "aborted");
  await delay(10);
  const live = q.get({ timeout: 10_000 });
  await delay(10);
  controller.abort();
  assert.equal(await ghost, "aborted");
  await q.put("x");
  assert.equal(await live, "x");

  // and with the live getter arriving after the abort
  const controller2 = new AbortController();
  const ghost2 = q.get({ signal: controller2.signal }).catch(() => "aborted");
  await delay(10);
  controller2.abort();
  assert.equal(await ghost2, "aborted");
  const live2 = q.get({ timeout: 10_000 });
  await delay(10);
  await q.put("y");
  assert.equal(await live2, "y");
});

test("an aborted put on a full queue rejects with the reason and puts nothing", T, async () => {
  const reason = new DOMException("gave up", "AbortError");
  const q = new Queue<number>({ maxsize: 1 });
  await assert.rejects(q.put(0, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  assert.equal(q.qsize(), 0, "a pre-aborted put puts nothing even with room");
  await q.put(1);
  const controller = new AbortController();
  const putting = q.put(2, { signal: controller.signal });
  await delay(10);
  controller.abort(reason);
  await assert.rejects(putting, (e) => e === reason);
  assert.equal(await q.get(), 1);
  await delay(10);
  assert.equal(q.qsize(), 0, "the aborted put inserted its item");
  // a live putter still gets the room a get makes, even with a ghost putter around
  await q.put(3);
  const controller2 = new AbortController();
  const ghost = q.put(4, { signal: controller2.signal }).catch(() => "aborted");
  await delay(10);
  const live = q.put(5, { timeout: 10_000 });
  await delay(10);
  controller2.abort();
  assert.equal(await ghost, "aborted");
  assert.equal(await q.get(), 3);
  await live;
  assert.equal(await q.get(), 5);
  assert.equal(q.qsize(), 0);
});

test("AbortSignal.timeout on a get rejects with a TimeoutError DOMException", T, async () => {
  const q = new Queue();
  await assert.rejects(q.get({ signal: AbortSignal.timeout(20) }), (e) => (e as Error).name === "TimeoutError");
  await q.put("ok");
  assert.equal(await q.get({ signal: AbortSignal.timeout(5000) }), "ok");
});

// ----------------------------------------------------------------------- tasks and join

test("taskDone and join: join waits until every item put is marked done", T, async () => {
  for (const make of [() => new Queue(), () => new LifoQueue(), () => new PriorityQueue()]) {
    const q = make();
    await q.join(); // nothing put: resolves at once
    await q.put(1);
    await q.put(2);
    const joined = q.join();
    assert.equal(await state(joined), "pending");
    await q.get();
    q.taskDone();
    assert.equal(await state(joined), "pending");
    await q.get();
    assert.equal(await state(joined), "pending", "getting is not finishing");
    q.taskDone();
    await joined;
    await q.join();
  }
});

test("taskDone called too often is ValueError (a RangeError)", T, async () => {
  const q = new Queue();
  assert.throws(() => q.taskDone(), ValueError);
  await q.put("a");
  q.taskDone(); // allowed before get, as in Python
  assert.throws(() => q.taskDone(), (e) => e instanceof ValueError && e instanceof RangeError);
  await q.get();
  assert.throws(() => q.taskDone(), ValueError);
  await q.join();
});

test("join can be aborted; SimpleQueue has no task tracking", T, async () => {
  const q = new Queue();
  await q.put(1);
  const reason = new Error("enough");
  const controller = new AbortController();
  const joined = q.join({ signal: controller.signal });
  await delay(10);
  controller.abort(reason);
  await assert.rejects(joined, (e) => e === reason);
  q.taskDone();
  await q.join();
  const simple = new SimpleQueue() as unknown as Record<string, unknown>;
  assert.equal(simple.taskDone, undefined);
  assert.equal(simple.join, undefined);
  assert.equal(simple.joinSync, undefined);
  assert.equal(simple.maxsize, undefined);
});

// ------------------------------------------------------------------------------ shutdown

test("shutdown: put throws ShutDown; get drains what is left, then throws ShutDown", T, async () => {
  for (const [name, make] of ALL_KINDS) {
    const q = make() as AnyQueue<number>;
    await q.put(1);
    await q.put(2);
    assert.equal(q.isShutdown, false);
    q.shutdown();
    assert.equal(q.isShutdown, true);
    await assert.rejects(q.put(3), ShutDown, name);
    assert.throws(() => q.putNowait(3), ShutDown, name);
    assert.equal(q.qsize(), 2);
    const left = [await q.get(), await q.get()].sort();
    assert.deepEqual(left, [1, 2], name);
    await assert.rejects(q.get(), ShutDown, name);
    await assert.rejects(q.get({ timeout: 10 }), ShutDown, name);
    assert.throws(() => q.getNowait(), ShutDown, name);
    q.shutdown(); // twice is fine
    q.shutdown({ immediate: true });
    await assert.rejects(q.get(), ShutDown, name);
  }
});

test("shutdown wakes blocked async getters and putters with ShutDown", T, async () => {
  const q = new Queue<number>();
  const getters = [q.get(), q.get({ timeout: 10_000 }), q.get({ signal: new AbortController().signal })];
  await delay(10);
  q.shutdown();
  for (const getter of getters) await assert.rejects(getter, ShutDown);

  const full = new Queue<number>({ maxsize: 1 });
  await full.put(0);
  const putters = [full.put(1), full.put(2, { timeout: 10_000 })];
  await delay(10);
  full.shutdown();
  for (const putter of putters) await assert.rejects(putter, ShutDown);
  assert.equal(full.qsize(), 1);
  assert.equal(await full.get(), 0);
  await assert.rejects(full.get(), ShutDown);
});

test("shutdown({ immediate: true }) discards the items, gets throw at once, and join returns", T, async () => {
  const q = new Queue<number>();
  for (let i = 0; i < 5; i++) await q.put(i);
  const joined = q.join();
  assert.equal(await state(joined), "pending");
  q.shutdown({ immediate: true });
  await joined;
  assert.equal(q.qsize(), 0);
  assert.equal(q.empty(), true);
  await assert.rejects(q.get(), ShutDown);
  assert.throws(() => q.taskDone(), ValueError, "the discarded items were counted as done");

  // An item got but not marked done still holds join, as in Python 3.13.
  const q2 = new Queue<number>();
  await q2.put(1);
  await q2.put(2);
  await q2.get();
  const joined2 = q2.join();
  q2.shutdown({ immediate: true });
  assert.equal(await state(joined2), "pending");
  q2.taskDone();
  await joined2;

  for (const make of [() => new LifoQueue<number>(), () => new PriorityQueue<number>(), () => new SimpleQueue<number>()]) {
    const other = make();
    for (let i = 0; i < 20; i++) await other.put(i);
    other.shutdown({ immediate: true });
    assert.equal(other.qsize(), 0);
    await assert.rejects(other.get(), ShutDown);
  }
});

test("shutdown({ immediate: true }) wakes blocked putters and getters", T, async () => {
  const q = new Queue<number>({ maxsize: 1 });
  await q.put(0);
  const putter = q.put(1);
  await delay(10);
  q.shutdown({ immediate: true });
  await assert.rejects(putter, ShutDown);
  assert.equal(q.qsize(), 0);
  const q2 = new Queue<number>();
  const getter = q2.get();
  await delay(10);
  q2.shutdown({ immediate: true });
  await assert.rejects(getter, ShutDown);
});

test("for await yields every item until the queue is shut down and drained", T, async () => {
  for (const [name, make] of ALL_KINDS) {
    const q = make() as AnyQueue<number>;
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const item of q) seen.push(item);
      return "done";
    })();
    for (let i = 0; i < 10; i++) {
      await q.put(i);
      if (i % 3 === 0) await delay(1);
    }
    await q.put(10);
    q.shutdown();
    assert.equal(await consumer, "done", name);
    assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 11 }, (_, i) => i), name);
  }
  // breaking out of the loop leaves the remaining items
  const q = new Queue<number>();
  for (let i = 0; i < 5; i++) await q.put(i);
  for await (const item of q) if (item === 1) break;
  assert.equal(q.qsize(), 3);
});

// ------------------------------------------------------------------------------- items

test("items: any structured-cloneable value round-trips", T, async () => {
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const nested: unknown = JSON.parse(JSON.stringify(Array.from({ length: 40 }).reduce((inner: unknown) => ({ inner }), 0)));
  const items: unknown[] = [
    0,
    -0,
    1,
    -1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53,
    0.1,
    Number.NaN,
    Infinity,
    -Infinity,
    123n,
    0n,
    -1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 63n,
    -(2n ** 63n) - 1n,
    -(2n ** 100n),
    [1n, { id: 2n ** 40n }],
    "",
    "ascii",
    "é ü ñ — ☃ 😀 中文",
    "x".repeat(33),
    "ü".repeat(1000),
    "a".repeat(100_000),
    true,
    false,
    null,
    undefined,
    [],
    [1, "two", [3, [4, null]], { five: 5 }],
    // Arrays of numbers only travel packed (int32s, or float64s): every edge of each kind.
    Array.from({ length: 1000 }, (_, i) => i - 500),
    [0, 1, 2, 2 ** 31 - 1, -(2 ** 31)],
    [0, 1, 2, -0],
    [0, 1, 2, 2 ** 31],
    [0.5, Number.NaN, Infinity, -Infinity, -0, Number.MIN_VALUE, Number.MAX_VALUE],
    [1, 2, 3, undefined],
    [1, 2, 3, "4"],
    [[1, 2, 3, 4], [0.5, 1.5, 2.5, 3.5]],
    { chunk: [10, 20, 30, 40, 50] },
    {},
    { a: 1, b: "two", c: [3], d: { e: undefined, f: null }, "weird key ü": 1, 12: "numeric key" },
    Object.assign(Object.create(null), { nullProto: true }),
    new Map<unknown, unknown>([
      ["k", 1],
      [{ obj: 1 }, [2]],
    ]),
    new Set([1, "a", { b: 2 }]),
    new Date(1_700_000_000_000),
    /ab+c/gi,
    new Uint8Array([1, 2, 3]),
    new Float64Array([0.5, -1]),
    new Int32Array(0),
    new ArrayBuffer(4),
    new Error("an error"),
    new RangeError("a range error"),
    { date: new Date(0), big: 1n, typed: new Uint16Array([65535]) },
    cyclic,
    nested,
    [undefined, undefined],
  ];
  // The oracle: what structured clone (postMessage) would deliver.
  const expected = items.map((item) => structuredClone(item));
  const same = (got: unknown, want: unknown, label: string): void => {
    if (want instanceof Error) {
      assert.ok(got instanceof Error, label);
      assert.equal(got.message, want.message, label);
      assert.equal(got.constructor, want.constructor, label);
    } else {
      assert.deepStrictEqual(got, want, label);
    }
    if (Object.is(want, -0)) assert.ok(Object.is(got, -0), "-0 stays -0");
  };
  for (const [name, make] of FIFO_KINDS) {
    const q = make();
    for (const item of items) await q.put(item);
    for (let i = 0; i < items.length; i++) same(await q.get(), expected[i], `${name}: item ${i}`);
    assert.equal(q.qsize(), 0);
  }
  const lifo = new LifoQueue();
  for (const item of items) await lifo.put(item);
  for (let i = items.length - 1; i >= 0; i--) same(await lifo.get(), expected[i], `LifoQueue: item ${i}`);
  const pq = new PriorityQueue<[number, unknown]>();
  for (let i = 0; i < items.length; i++) await pq.put([i, items[i]]);
  for (let i = 0; i < items.length; i++) {
    const [at, got] = await pq.get();
    assert.equal(at, i);
    same(got, expected[i], `PriorityQueue: item ${i}`);
  }
});

test("items: strings that are not well-formed UTF-16 round-trip exactly", T, async () => {
  const strings = ["\uD800", "a\uDC00b", "x\uD83D", "\uDE00\uD83D", "\uD800".repeat(40), "ok 😀 \uD800 ok ".repeat(10)];
  for (const [name, make] of [...FIFO_KINDS, ["LifoQueue", () => new LifoQueue()] as const]) {
    const q = make();
    for (const s of strings) {
      await q.put(s);
      await q.put({ [s]: s, list: [s] });
    }
    const order = name === "LifoQueue" ? [...strings].reverse() : strings;
    for (const s of order) {
      const [first, second] = name === "LifoQueue" ? [await q.get(), await q.get()].reverse() : [await q.get(), await q.get()];
      assert.equal(first, s, `${name}: lone surrogates were replaced`);
      assert.deepStrictEqual(second, { [s]: s, list: [s] }, name);
    }
  }
  const pq = new PriorityQueue<string>();
  pq.putNowait("b\uD800");
  pq.putNowait("a\uDC00");
  assert.deepEqual(drain(pq), ["a\uDC00", "b\uD800"]);
});

test("items: an own property named __proto__ round-trips as data", T, async () => {
  const item = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}') as Record<string, unknown>;
  assert.ok(Object.hasOwn(item, "__proto__"));
  const q = new Queue<Record<string, unknown>>();
  await q.put(item);
  const got = await q.get();
  assert.equal(Object.getPrototypeOf(got), Object.prototype, "the item's data became its prototype");
  assert.ok(Object.hasOwn(got, "__proto__"));
  assert.deepStrictEqual(got, item);
});

test("items: what cannot be sent is a TypeError naming its path, and nothing is put", T, async () => {
  const q = new Queue();
  await assert.rejects(q.put({ job: { callback: () => 1 } }), (e) => e instanceof TypeError && /item\.job\.callback/.test(e.message));
  await assert.rejects(q.put([1, Symbol("s")]), (e) => e instanceof TypeError && /item\[1\]/.test(e.message));
  assert.throws(() => q.putNowait(() => 1), TypeError);
  await assert.rejects(q.put({ p: Promise.resolve() }), TypeError);
  await assert.rejects(q.put(new WeakMap()), TypeError);
  assert.equal(q.qsize(), 0);
  await q.put("fine");
  assert.equal(await q.get(), "fine");
});

test("items: class instances arrive as plain data, like structured clone", T, async () => {
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
    norm(): number {
      return Math.hypot(this.x, this.y);
    }
  }
  const q = new Queue();
  await q.put(new Point(3, 4));
  const got = (await q.get()) as Record<string, unknown>;
  assert.deepEqual({ ...got }, { x: 3, y: 4 });
  assert.equal(got.norm, undefined);
});

test("items of mixed and growing sizes keep their order (store growth, wrap-around and shrinking)", T, async () => {
  const sizes = [0, 1, 5, 100, 3000, 5000, 70_000, 10, 200_000, 4, 65_535, 65_536, 65_537, 8000, 1];
  for (const [name, make] of ALL_KINDS) {
    const q = make() as AnyQueue<unknown>;
    const isPriority = q instanceof PriorityQueue;
    let seq = 0;
    const expected: unknown[] = [];
    for (let round = 0; round < 3; round++) {
      for (const size of sizes) {
        const item = isPriority ? [seq, "p".repeat(size)] : { seq, body: "b".repeat(size) };
        seq++;
        await q.put(item);
        expected.push(item);
        // take some out as we go, to make the ring wrap
        if (seq % 3 === 0) {
          const got = await q.get();
          const want = q instanceof LifoQueue ? expected.pop() : expected.shift();
          assert.deepEqual(got, want, `${name} item ${seq}`);
        }
      }
    }
    const rest = drain(q);
    assert.deepEqual(rest, q instanceof LifoQueue ? expected.reverse() : expected, name);
  }
});

test("model check: random put/get sequences behave as a list (all kinds, random sizes)", T, async () => {
  const itemArb = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 99 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 6000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 140_000 }) },
  );
  const opArb = fc.oneof(
    { weight: 5, arbitrary: itemArb.map((size) => ({ op: "put" as const, size })) },
    { weight: 4, arbitrary: fc.constant({ op: "get" as const, size: 0 }) },
  );
  for (const kind of ["Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"] as const) {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 0, max: 8 }), (ops, maxsize) => {
        const q: AnyQueue<[number, number, string]> =
          kind === "Queue"
            ? new Queue({ maxsize })
            : kind === "LifoQueue"
              ? new LifoQueue({ maxsize })
              : kind === "PriorityQueue"
                ? new PriorityQueue({ maxsize })
                : new SimpleQueue();
        const bound = kind === "SimpleQueue" ? 0 : maxsize;
        let model: [number, number, string][] = [];
        let seq = 0;
        for (const { op, size } of ops) {
          if (op === "put") {
            const item: [number, number, string] = [kind === "PriorityQueue" ? size % 5 : 0, seq++, String.fromCharCode(97 + (seq % 26)).repeat(size)];
            if (bound > 0 && model.length >= bound) {
              assert.throws(() => q.putNowait(item), Full);
            } else {
              q.putNowait(item);
              model.push(item);
            }
          } else if (model.length === 0) {
            assert.throws(() => q.getNowait(), Empty);
          } else {
            let want: [number, number, string];
            if (kind === "LifoQueue") want = model.pop()!;
            else if (kind === "PriorityQueue") {
              model = [...model].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
              want = model.shift()!;
            } else want = model.shift()!;
            const got = q.getNowait();
            assert.equal(got[1], want[1]);
            assert.equal(got[2].length, want[2].length);
            assert.equal(got[2], want[2]);
          }
          assert.equal(q.qsize(), model.length);
        }
        q.shutdown({ immediate: true });
        assert.equal(q.qsize(), 0);
      }),
      { numRuns: 60 },
    );
  }
});

test("an item of tens of MiB passes through a queue of each kind", T, async () => {
  const big = "x".repeat(24 * 1024 * 1024) + "end";
  for (const [name, make] of ALL_KINDS) {
    const q = make() as AnyQueue<unknown>;
    const item = q instanceof PriorityQueue ? [1, big] : { big };
    await q.put("before");
    await q.put(item);
    await q.put("after");
    const got = q instanceof LifoQueue ? [await q.get(), await q.get(), await q.get()].reverse() : [await q.get(), await q.get(), await q.get()];
    if (q instanceof PriorityQueue) {
      // ["before"] and ["after"] are strings; [1, big] an array: not comparable, so arrival order
      assert.equal(got.length, 3);
    } else {
      assert.equal(got[0], "before", name);
      assert.equal(got[2], "after", name);
    }
    const bigGot = got.find((g) => typeof g === "object") as { big: string } | [number, string];
    const text = Array.isArray(bigGot) ? bigGot[1] : bigGot.big;
    assert.equal(text.length, big.length, name);
    assert.ok(text === big, name);
  }
});

// ---------------------------------------------------------------- shared objects in items

test("shared objects inside items arrive as live handles to the same memory", T, async () => {
  const q = new Queue<unknown>();
  const lock = new Lock();
  const inner = new Queue<unknown>();
  await q.put({ lock, nested: [{ inner }], plain: 1 });
  const got = (await q.get()) as { lock: Lock; nested: [{ inner: Queue<unknown> }]; plain: number };
  assert.ok(got.lock instanceof Lock);
  assert.ok(got.nested[0].inner instanceof Queue);
  assert.equal(got.plain, 1);
  await got.lock.acquire();
  assert.equal(lock.locked(), true);
  lock.release();
  assert.equal(got.lock.locked(), false);
  await got.nested[0].inner.put("through the copy");
  assert.equal(await inner.get(), "through the copy");

  // in the general (v8.serialize) path too: a Map holding a shared object
  await q.put(new Map<string, unknown>([["lock", lock], ["when", new Date(0)], ["big", 1n]]));
  const map = (await q.get()) as Map<string, unknown>;
  await (map.get("lock") as Lock).acquire();
  assert.equal(lock.locked(), true);
  lock.release();
  // in a priority item, and in a LIFO one
  const pq = new PriorityQueue<[number, Lock]>();
  await pq.put([2, new Lock()]);
  await pq.put([1, lock]);
  const [, first] = await pq.get();
  await first.acquire();
  assert.equal(lock.locked(), true);
  lock.release();
  const lifo = new LifoQueue<{ q: Queue<unknown> }>();
  await lifo.put({ q: inner });
  await (await lifo.get()).q.put(5);
  assert.equal(await inner.get(), 5);
});

test("every kind of shared object inside an item arrives live (Event, Semaphore, SharedValue, SharedArray, ...)", T, async () => {
  const q = new Queue<unknown>();
  const failures: string[] = [];
  const check = async (name: string, make: () => object, probe: (sent: never, got: never) => void | Promise<void>): Promise<void> => {
    const sent = make();
    try {
      await q.put({ wrapped: [sent] });
      const got = ((await q.get()) as { wrapped: [object] }).wrapped[0];
      assert.equal(got.constructor, sent.constructor);
      await probe(sent as never, got as never);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
      drain(q);
    }
  };
  await check("Event", () => new Event(), (sent: Event, got: Event) => {
    got.set();
    assert.equal(sent.isSet(), true);
  });
  await check("Semaphore", () => new Semaphore(1), async (sent: Semaphore, got: Semaphore) => {
    assert.equal(await got.acquire({ blocking: false }), true);
    assert.equal(await sent.acquire({ blocking: false }), false);
  });
  await check("BoundedSemaphore", () => new BoundedSemaphore(1), async (sent: BoundedSemaphore, got: BoundedSemaphore) => {
    assert.equal(await got.acquire({ blocking: false }), true);
    assert.equal(await sent.acquire({ blocking: false }), false);
  });
  await check("RLock", () => new RLock(), async (sent: RLock, got: RLock) => {
    await got.acquire();
    assert.equal(await sent.acquire({ blocking: false }), true, "same thread re-enters: same lock");
    sent.release();
    got.release();
  });
  await check("Condition", () => new Condition(), async (sent: Condition, got: Condition) => {
    assert.throws(() => got.notify(), RuntimeError, "notify without the lock");
    await sent.acquire();
    got.notify(); // the lock taken through `sent` is the one `got` checks
    sent.release();
  });
  await check("Barrier", () => new Barrier(3), (sent: Barrier, got: Barrier) => {
    assert.equal(got.parties, 3);
    got.abort();
    assert.equal(sent.broken, true);
  });
  await check("SharedValue", () => new SharedValue("int32", 5), (sent: SharedValue, got: SharedValue) => {
    got.value = 42;
    assert.equal(sent.value, 42);
  });
  await check("SharedArray", () => new SharedArray("float64", 3), (sent: SharedArray, got: SharedArray) => {
    got.array[2] = 1.5;
    assert.equal(sent.array[2], 1.5);
  });
  await check("SimpleQueue", () => new SimpleQueue(), async (sent: SimpleQueue, got: SimpleQueue) => {
    await got.put("x");
    assert.equal(await sent.get(), "x");
  });
  assert.deepEqual(failures, [], "these shared objects do not arrive live inside a queue item");
});

test("a shared object that cannot travel in an item is a TypeError at put, never a broken handle", T, async () => {
  // Whatever kinds are (not yet) able to travel: put either delivers a working handle, or
  // refuses the item with a TypeError and puts nothing.
  const q = new Queue<unknown>();
  for (const make of [() => new SharedValue("int32", 1), () => new SharedArray("int32", 2), () => new Event(), () => new Semaphore(1), () => new RLock(), () => new Condition()]) {
    const sent = make();
    let put = true;
    try {
      await q.put({ sent });
    } catch (error) {
      assert.ok(error instanceof TypeError, `${sent.constructor.name}: ${String(error)}`);
      put = false;
      assert.equal(q.qsize(), 0);
    }
    if (put) {
      const got = ((await q.get()) as { sent: SharedValue | SharedArray | Event | Semaphore | RLock | Condition }).sent;
      if (got instanceof SharedValue) {
        got.value = 9;
        assert.equal((sent as SharedValue).value, 9);
      } else if (got instanceof SharedArray) {
        got.array[1] = 9;
        assert.equal((sent as SharedArray).array[1], 9);
      } else if (got instanceof Event) {
        got.set();
        assert.equal((sent as Event).isSet(), true);
      } else if (got instanceof RLock || got instanceof Condition) {
        await got.acquire();
        got.release();
      } else {
        assert.equal(await got.acquire({ blocking: false }), true);
        assert.equal(await (sent as Semaphore).acquire({ blocking: false }), false);
      }
    }
  }
});

test("a shared object held only by a queued item stays alive (garbage collection)", T, async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const q = new Queue<{ inner: Queue<number>; tag: number }>();
  (() => {
    for (let i = 0; i < 20; i++) {
      const inner = new Queue<number>();
      inner.putNowait(1000 + i);
      q.putNowait({ inner, tag: i });
    }
  })();
  for (let round = 0; round < 3; round++) {
    gc();
    await tick();
    await delay(5);
  }
  // new shared objects must not reuse memory still referenced by the queued items
  const fresh = Array.from({ length: 40 }, (_, i) => {
    const f = new Queue<number>();
    f.putNowait(-i - 1);
    return f;
  });
  for (let i = 0; i < 20; i++) {
    const { inner, tag } = q.getNowait();
    assert.equal(tag, i);
    assert.equal(inner.qsize(), 1, "the queued shared object's memory was freed and reused");
    assert.equal(inner.getNowait(), 1000 + i);
  }
  fresh.forEach((f, i) => assert.equal(f.getNowait(), -i - 1));

  // and items discarded by an immediate shutdown release their references cleanly
  const q2 = new Queue<{ lock: Lock }>();
  (() => {
    for (let i = 0; i < 10; i++) q2.putNowait({ lock: new Lock() });
  })();
  q2.shutdown({ immediate: true });
  gc();
  await tick();
  await delay(5);
  const after = new Lock();
  assert.equal(after.locked(), false);
  await after.acquire();
  assert.equal(after.locked(), true);
});

// ------------------------------------------------------------ the Sync forms on main

test("*Sync forms on the main thread throw MainThreadBlockingError naming the async form", T, async () => {
  const q = new Queue<number>({ maxsize: 1 });
  assert.throws(() => q.getSync(), (e) => e instanceof MainThreadBlockingError && /get\(\)/.test(e.message));
  assert.throws(() => q.getSync({ timeout: 10 }), MainThreadBlockingError);
  q.putNowait(1);
  assert.throws(() => q.putSync(2), (e) => e instanceof MainThreadBlockingError && /put\(/.test(e.message));
  assert.equal(q.qsize(), 1, "the refused putSync put nothing");
  q.taskDone();
  assert.equal(q.getSync({ blocking: false }), 1, "a getSync that need not wait is fine on main");
  assert.throws(() => q.getSync({ blocking: false }), Empty);
  q.putSync(3, { blocking: false });
  assert.equal(q.getNowait(), 3);
  q.taskDone();
  await q.put(4);
  assert.throws(() => q.joinSync(), (e) => e instanceof MainThreadBlockingError && /join\(\)/.test(e.message));
  assert.equal(await q.get(), 4);
  q.taskDone();
  const simple = new SimpleQueue();
  assert.throws(() => simple.getSync(), MainThreadBlockingError);
});

test("*Sync forms with allowMainThreadBlocking: put/get, timeouts, abort, join, shutdown", T, async () => {
  await withMainBlocking(() => {
    for (const [name, make] of ALL_KINDS) {
      const q = make() as AnyQueue<number>;
      q.putSync(2);
      q.putSync(1, { timeout: 1000 });
      q.putSync(3, { blocking: true });
      const got = [q.getSync(), q.getSync({ timeout: 1000 }), q.getSync({ blocking: true })];
      const want = name === "LifoQueue" ? [3, 1, 2] : name === "PriorityQueue" ? [1, 2, 3] : [2, 1, 3];
      assert.deepEqual(got, want, name);
      const started = performance.now();
      assert.throws(() => q.getSync({ timeout: 40 }), Empty, name);
      assert.ok(performance.now() - started >= 35, "waited about the timeout");
      const reason = new Error("aborted");
      assert.throws(() => q.getSync({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      q.putSync(9);
      assert.throws(() => q.putSync(8, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(q.qsize(), 1);
      q.shutdown();
      assert.throws(() => q.putSync(10), ShutDown);
      assert.equal(q.getSync(), 9);
      assert.throws(() => q.getSync(), ShutDown);
      assert.throws(() => q.getSync({ timeout: 1000 }), ShutDown);
    }
    const bounded = new Queue<number>({ maxsize: 1 });
    bounded.putSync(1);
    assert.throws(() => bounded.putSync(2, { timeout: 30 }), Full);
    assert.throws(() => bounded.putSync(2, { timeout: 0 }), Full);
    assert.throws(() => bounded.putSync(2, { timeout: -1 }), RangeError);
    assert.equal(bounded.getSync(), 1);
    bounded.taskDone();
    bounded.joinSync();
    assert.equal(bounded.qsize(), 0);
  });
  assert.throws(() => new Queue().getSync(), MainThreadBlockingError, "the default is restored");
});

test("join() and joinSync() agree with the async forms on a queue used from both", T, async () => {
  const q = new Queue<number>();
  await withMainBlocking(async () => {
    q.putSync(1);
    const joined = q.join();
    assert.equal(await state(joined), "pending");
    assert.equal(q.getSync(), 1);
    q.taskDone();
    await joined;
    q.joinSync();
  });
});

test("a new queue reserves little memory; a big item's memory is not kept after it is got", T, async () => {
  const { heapStats } = (await import(new URL("../../dist/core/memory.js", import.meta.url).href)) as {
    heapStats(): { reservedBytes: number; committedBytes: number; usedBytes: number };
  };
  const before = heapStats().usedBytes;
  const rssBefore = process.memoryUsage().arrayBuffers;
  const queues: AnyQueue[] = [];
  for (let i = 0; i < 1000; i++) {
    const kind = i % 4;
    queues.push(kind === 0 ? new Queue() : kind === 1 ? new LifoQueue({ maxsize: 100 }) : kind === 2 ? new PriorityQueue() : new SimpleQueue());
  }
  // (a few KiB each is fine; what must not happen is reserving room for big items up front)
  const emptyGrowth = heapStats().usedBytes - before;
  assert.ok(emptyGrowth < 16 * 1024 * 1024, `1000 empty queues took ${emptyGrowth} bytes of the shared heap`);
  // one small item in each: a store appears, but a small one
  for (const q of queues) q.putNowait(1);
  const growth = heapStats().usedBytes - before;
  assert.ok(growth < 32 * 1024 * 1024, `1000 queues with one item took ${growth} bytes of the shared heap`);
  const abGrowth = process.memoryUsage().arrayBuffers - rssBefore;
  assert.ok(abGrowth < 64 * 1024 * 1024, `1000 queues grew array buffer memory by ${abGrowth} bytes`);
  for (const q of queues) assert.equal(q.getNowait(), 1);
  assert.ok(new LifoQueue() instanceof Queue);
  assert.ok(new PriorityQueue() instanceof Queue);
  assert.ok(!(new SimpleQueue() instanceof Queue));

  // A big item goes through, then small items: the heap does not grow by the big size each time.
  const q = new Queue<string>();
  const big = "y".repeat(8 * 1024 * 1024);
  await q.put(big);
  assert.equal((await q.get()).length, big.length);
  const afterFirst = heapStats().usedBytes;
  for (let i = 0; i < 5; i++) {
    await q.put(big);
    assert.equal((await q.get()).length, big.length);
  }
  const regrowth = heapStats().usedBytes - afterFirst;
  assert.ok(regrowth < 4 * 1024 * 1024, `passing the same big item 5 more times grew the heap by ${regrowth} bytes`);
});

test("aborted async gets on a queue that nobody puts to leave nothing behind after a second", T, async () => {
  // An async wait cannot be withdrawn once parked; with one long park, each aborted get
  // stayed in memory (~2 KiB) until enough puts came along to wake them all.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const q = new Queue<number>();
  const abortedGets = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const controller = new AbortController();
      const got = q.get({ signal: controller.signal });
      controller.abort(new Error("gave up"));
      await assert.rejects(got, /gave up/);
    }
  };
  await abortedGets(200);
  await delay(2000);
  gc();
  const before = process.memoryUsage().heapUsed;
  await abortedGets(2000);
  await delay(2000); // abandoned waits end within a second (the async wait driver's slices, core/wait.ts); a margin for a loaded machine
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 1024 * 1024, `the heap grew by ${(grown / 1024).toFixed(0)} KiB over 2000 aborted gets`);
  // The queue still works, and a live getter is not lost among the old waits.
  const live = q.get();
  await q.put(7);
  assert.equal(await live, 7);
});
