/**
 * `trace` (API.md, "Diagnostics") against real threads and a real pool: events from every
 * thread arrive with the right idents and names, timestamps in µs that run forward, starts
 * paired with ends, nothing recorded while tracing is off or after `stop()`, threads that
 * began before the trace or ended (worker and all) during it included; and the Chrome
 * trace it makes holds together as the format wants.
 *
 * This file is also a module target: the exports below run in threads through
 * `{ module: import.meta.url, export }`, so the tests are registered under `if (isMainThread)`.
 * No test asserts a duration: the machine running these is small and loaded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Event, Lock, RuntimeError, SharedArray, Thread, ThreadPoolExecutor, isMainThread, sleep, trace, type TraceEvent } from "weft-threads";

const here = import.meta.url;

/** Thread target: `count` marks labelled `${prefix}0`, `${prefix}1`, … */
export function marks(prefix: string, count: number): number {
  for (let i = 0; i < count; i++) trace.mark(`${prefix}${i}`);
  return count;
}

/** Thread target: waits for `go[0]`, then marks; `go` is set by the test once tracing is on. */
export function marksWhenTold(go: SharedArray<"int32">, prefix: string, count: number): number {
  const cell = go.array as Int32Array;
  while (Atomics.load(cell, 0) === 0) Atomics.wait(cell, 0, 0, 20);
  return marks(prefix, count);
}

/** Thread target: marks until `stop[0]` is set; counts its marks in `stop[1]`. */
export function marksUntilStopped(stop: SharedArray<"int32">): number {
  const cell = stop.array as Int32Array;
  let n = 0;
  while (Atomics.load(cell, 0) === 0) {
    trace.mark(`m${n++}`);
    Atomics.store(cell, 1, n);
    if (n % 64 === 0) Atomics.wait(cell, 0, 0, 1);
  }
  return n;
}

/** Thread target: waits on `event` (a wait every thread reports through the wait driver). */
export function waitsOn(event: Event): boolean {
  return event.waitSync({ timeout: 30_000 });
}

/** Thread target: takes and releases `lock` `times` times (after a trace event, so this thread records). */
export function holds(lock: Lock, times: number): number {
  trace.mark("holding");
  for (let i = 0; i < times; i++) {
    lock.acquireSync();
    lock.release();
  }
  return times;
}

/** Pool task. */
export function square(x: number): number {
  return x * x;
}

async function run<R>(thread: Thread<R, unknown[]>): Promise<R> {
  thread.start();
  await thread.join();
  if (thread.error !== undefined) throw thread.error;
  return thread.result as R;
}

function startThread(exportName: string, args: unknown[], name: string, extra: { resourceLimits?: { maxOldGenerationSizeMb: number } } = {}): Thread<unknown, unknown[]> {
  return new Thread<unknown, unknown[]>({ target: { module: here, export: exportName }, args, name, daemon: true, ...extra });
}

function ofThread(events: readonly TraceEvent[], ident: number | null): TraceEvent[] {
  return events.filter((e) => e.ident === ident);
}

function assertSortedMicroseconds(events: readonly TraceEvent[], elapsedUs: number): void {
  for (let i = 0; i < events.length; i++) {
    const ts = events[i].ts;
    assert.ok(Number.isFinite(ts) && ts >= 0, `event ${i} has ts ${ts}`);
    assert.ok(ts <= elapsedUs, `event ${i} at ${ts} µs lies after the trace ended (${elapsedUs} µs)`);
    if (i > 0) assert.ok(ts >= events[i - 1].ts, `events are not sorted at ${i}: ${events[i - 1].ts} then ${ts}`);
  }
}

if (isMainThread) {
  test("tracing off records nothing: threads and a pool that run before start() leave no events", async () => {
    assert.equal(trace.active, false);
    await run(startThread("marks", ["off", 5], "untraced"));
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    await Promise.all([1, 2, 3].map((x) => pool.submit(square, x)));
    await pool.shutdown();
    trace.mark("off-main");
    trace.start();
    const events = trace.stop();
    assert.deepEqual(events, []);
    assert.equal(trace.dropped, 0);
  });

  test("several threads: start and end events with each thread's ident and name, µs timestamps in order", async () => {
    const t0 = performance.now();
    trace.start();
    assert.equal(trace.active, true);
    trace.mark("main-0");
    const threads = ["alpha", "beta", "gamma"].map((name) => startThread("marks", [`${name}-`, 20], name));
    for (const t of threads) t.start();
    for (const t of threads) await t.join();
    trace.mark("main-1");
    const events = trace.stop();
    const elapsedUs = (performance.now() - t0) * 1000;
    assert.equal(trace.active, false);
    assertSortedMicroseconds(events, elapsedUs);

    const main = ofThread(events, 1).filter((e) => e.kind === "mark");
    assert.deepEqual(main.map((e) => [e.kind, e.label, e.threadName]), [["mark", "main-0", "MainThread"], ["mark", "main-1", "MainThread"]]);
    for (const e of ofThread(events, 1)) if (e.kind !== "mark") assert.equal(e.waitKind, "join", `the main thread only marks and joins: ${e.kind}`);
    for (const t of threads) {
      const own = ofThread(events, t.ident);
      assert.ok(own.every((e) => e.threadName === t.name), `${t.name}: every event carries its name`);
      assert.equal(own[0].kind, "thread-start", `${t.name}: first event`);
      assert.equal(own[0].label, t.name);
      assert.equal(own[0].object, t.ident);
      assert.equal(own.at(-1)?.kind, "thread-end", `${t.name}: last event`);
      const labels = own.filter((e) => e.kind === "mark").map((e) => e.label);
      assert.deepEqual(labels, Array.from({ length: 20 }, (_, i) => `${t.name}-${i}`), `${t.name}: its marks, in the order made`);
      assert.ok(own[0].ts > main[0].ts && own.at(-1)!.ts < main[1].ts, `${t.name} ran between the main thread's two marks`);
    }
    assert.equal(trace.dropped, 0);
  });

  test("a thread already running when the trace starts records too", async () => {
    const go = new SharedArray("int32", 1);
    const early = startThread("marksWhenTold", [go, "early-", 3], "early-bird");
    early.start();
    await sleep(50);
    trace.start();
    Atomics.store(go.array as Int32Array, 0, 1);
    Atomics.notify(go.array as Int32Array, 0);
    await early.join();
    const events = trace.stop();
    const own = ofThread(events, early.ident);
    assert.deepEqual(own.map((e) => e.kind), ["mark", "mark", "mark", "thread-end"], "no start event: it began before the trace");
    assert.ok(own.every((e) => e.threadName === "early-bird"));
  });

  test("a thread whose worker exited during the trace still has its events", async () => {
    trace.start();
    // resourceLimits: the thread gets a worker of its own, retired (terminated) once it ends.
    const solo = startThread("marks", ["solo-", 4], "solo", { resourceLimits: { maxOldGenerationSizeMb: 64 } });
    await run(solo);
    await sleep(100);
    const events = trace.stop();
    const own = ofThread(events, solo.ident);
    assert.deepEqual(own.map((e) => e.kind), ["thread-start", "mark", "mark", "mark", "mark", "thread-end"]);
  });

  test("nothing is recorded after stop(), and the next trace holds only its own events", async () => {
    const stop = new SharedArray("int32", 2);
    const cell = stop.array as Int32Array;
    trace.start();
    const t = startThread("marksUntilStopped", [stop], "chatty");
    t.start();
    while (Atomics.load(cell, 1) < 200) await sleep(5);
    const first = trace.stop();
    const stoppedUs = first.at(-1)?.ts ?? 0;
    const madeAtStop = Atomics.load(cell, 1);
    const firstMarks = first.filter((e) => e.kind === "mark" && e.ident === t.ident);
    assert.ok(firstMarks.length >= 200 && firstMarks.length <= madeAtStop + 1, `${firstMarks.length} marks, ${madeAtStop} made by the stop`);
    while (Atomics.load(cell, 1) < madeAtStop + 200) await sleep(5); // it keeps marking, unrecorded
    trace.start();
    trace.mark("second");
    const second = trace.stop();
    Atomics.store(cell, 0, 1);
    Atomics.notify(cell, 0);
    const made = await t.join().then(() => t.result as number);
    assert.ok(made >= madeAtStop + 200);
    const firstLabels = new Set(firstMarks.map((e) => e.label));
    const secondMarks = second.filter((e) => e.kind === "mark" && e.ident === t.ident);
    assert.ok(secondMarks.every((e) => !firstLabels.has(e.label)), "the second trace repeats nothing of the first");
    assert.ok(second.some((e) => e.label === "second"));
    assert.ok(stoppedUs >= 0);
  });

  test("a full buffer keeps a thread's latest events and counts the others as dropped", async () => {
    trace.start({ eventsPerThread: 16 });
    const t = startThread("marks", ["r", 100], "ringed");
    await run(t);
    const events = trace.stop();
    const own = ofThread(events, t.ident);
    assert.equal(own.length, 16);
    assert.deepEqual(own.map((e) => e.label).slice(0, 15), Array.from({ length: 15 }, (_, i) => `r${85 + i}`));
    assert.equal(own.at(-1)?.kind, "thread-end");
    assert.ok(trace.dropped >= 86, `dropped ${trace.dropped}`);
    trace.start();
    assert.deepEqual(trace.stop(), [], "the next trace starts empty");
  });

  test("a pool: each task is submitted on the main thread, then starts and ends on one worker", async () => {
    trace.start();
    const pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "tracepool" });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.submit(square, i)));
    await pool.shutdown();
    const events = trace.stop();
    assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => i * i));
    const submits = events.filter((e) => e.kind === "task-submit");
    assert.equal(submits.length, 10);
    for (const submit of submits) {
      assert.equal(submit.ident, 1);
      assert.equal(submit.threadName, "MainThread");
      const same = (e: TraceEvent): boolean => e.object === submit.object && e.detail === submit.detail;
      const start = events.find((e) => e.kind === "task-start" && same(e));
      const end = events.find((e) => e.kind === "task-end" && same(e));
      assert.ok(start !== undefined && end !== undefined, `task ${submit.object} started and ended`);
      assert.equal(start.ident, end.ident, "on one worker");
      assert.match(start.threadName, /^tracepool_\d+$/);
      assert.ok(submit.ts <= start.ts && start.ts <= end.ts);
      assert.equal(start.label, "square");
      assert.equal(submit.label, "square", "the submission takes the label of the task's run");
    }
    const workers = new Set(events.filter((e) => e.kind === "task-start").map((e) => e.ident));
    for (const ident of workers) {
      const own = ofThread(events, ident);
      assert.equal(own[0].kind, "thread-start");
      assert.equal(own.at(-1)?.kind, "thread-end", "the pool's workers ended with its shutdown");
    }
  });

  test("waits are recorded from every thread, with their kind, object and outcome", async () => {
    const event = new Event();
    trace.start();
    const waiter = startThread("waitsOn", [event], "waiter");
    waiter.start();
    await sleep(100);
    event.set();
    await waiter.join();
    const events = trace.stop();
    const own = ofThread(events, waiter.ident);
    const start = own.find((e) => e.kind === "wait-start" && e.waitKind === "event");
    const end = own.find((e) => e.kind === "wait-end" && e.waitKind === "event");
    assert.ok(start !== undefined && end !== undefined, `an event wait in ${JSON.stringify(own.map((e) => e.kind))}`);
    assert.equal(start.object, end.object);
    assert.equal(end.outcome, "ok");
    assert.ok(end.ts - start.ts >= 10_000, `the wait lasted while the main thread slept: ${end.ts - start.ts} µs`);
  });

  test("lock holds: every acquisition and release from two threads and the main thread, labelled with the lock's name", async () => {
    const lock = new Lock({ name: "ledger" });
    trace.start();
    const threads = [startThread("holds", [lock, 40], "holder-1"), startThread("holds", [lock, 40], "holder-2")];
    for (const t of threads) t.start();
    for (const t of threads) await t.join();
    await lock.acquire();
    lock.release();
    const events = trace.stop();
    for (const [ident, times] of [[threads[0].ident, 40], [threads[1].ident, 40], [events.find((e) => e.threadName === "MainThread")?.ident ?? -1, 1]] as const) {
      const own = ofThread(events, ident).filter((e) => e.kind === "acquire" || e.kind === "release");
      assert.equal(own.filter((e) => e.kind === "acquire").length, times, `acquisitions of thread ${ident}`);
      assert.equal(own.filter((e) => e.kind === "release").length, times, `releases of thread ${ident}`);
      // Each acquisition is followed by its release: holds alternate.
      own.forEach((e, i) => assert.equal(e.kind, i % 2 === 0 ? "acquire" : "release"));
      for (const e of own) assert.equal(e.label, "ledger");
    }
    // Tracing off again: nothing more is recorded.
    await lock.acquire();
    lock.release();
    trace.start();
    assert.equal(trace.stop().filter((e) => e.kind === "acquire").length, 0);
  });

  test("toChromeTrace: JSON that survives a round trip, one thread_name per thread, complete events with durations", async () => {
    trace.start();
    const threads = ["one", "two"].map((name) => startThread("marks", [`${name}-`, 3], name));
    for (const t of threads) t.start();
    for (const t of threads) await t.join();
    const pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "chrome" });
    await Promise.all([1, 2, 3, 4].map((x) => pool.submit(square, x)));
    await pool.shutdown();
    const events = trace.stop();
    const chrome = trace.toChromeTrace(events);
    const parsed = JSON.parse(JSON.stringify(chrome)) as typeof chrome;
    assert.deepEqual(parsed, chrome);
    assert.ok(Array.isArray(parsed.traceEvents) && parsed.traceEvents.length > 0);
    const phases = new Set(["X", "B", "E", "i", "M", "s", "f"]);
    for (const e of parsed.traceEvents) {
      assert.equal(typeof e.name, "string");
      assert.ok(phases.has(e.ph), `phase ${e.ph}`);
      assert.equal(typeof e.pid, "number");
      assert.equal(typeof e.tid, "number");
      if (e.ph !== "M") assert.ok(typeof e.ts === "number" && e.ts >= 0, `ts of ${e.name}`);
      if (e.ph === "X") assert.ok(typeof e.dur === "number" && e.dur >= 0, `dur of ${e.name}`);
      if (e.ph === "i") assert.equal(e.s, "t");
    }
    const names = parsed.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name");
    const tids = new Set(parsed.traceEvents.filter((e) => e.ph !== "M").map((e) => e.tid));
    assert.deepEqual(new Set(names.map((e) => e.tid)), tids, "a thread_name for every thread that has events");
    assert.equal(names.length, tids.size, "exactly one each");
    for (const t of threads) {
      assert.equal(names.find((e) => e.tid === t.ident)?.args?.name, t.name);
      const life = parsed.traceEvents.find((e) => e.ph === "X" && e.cat === "thread" && e.tid === t.ident);
      assert.ok(life !== undefined && (life.dur ?? 0) > 0, `${t.name}'s life as a complete event`);
    }
    assert.equal(parsed.traceEvents.filter((e) => e.ph === "X" && e.cat === "task").length, 4);
    assert.equal(parsed.traceEvents.filter((e) => e.ph === "s").length, 4, "a flow from each submission");
    assert.equal(parsed.traceEvents.filter((e) => e.ph === "f").length, 4, "to each task's start");
  });

  test("misuse: start twice, stop without start, start from a thread", async () => {
    trace.start();
    assert.throws(() => trace.start(), RuntimeError);
    trace.stop();
    assert.throws(() => trace.stop(), RuntimeError);
    assert.throws(() => trace.start({ eventsPerThread: 1.5 }), RangeError);
    const inThread = new Thread({
      target: async (url: string) => {
        const weft = (await import(url)) as typeof import("weft-threads");
        try {
          weft.trace.start();
          return "started";
        } catch (error) {
          return (error as Error).name;
        }
      },
      args: [new URL("../../dist/index.js", here).href],
    });
    assert.equal(await run(inThread), "RuntimeError");
  });
}
