/**
 * ThreadPoolExecutor against real worker threads (API.md, "concurrent.futures" and
 * "Shipping code to a thread"): submit with both target kinds, results and errors, map
 * (order, chunks, the first failure at its position, lazy reading of the iterable,
 * timeout, signal), cancel, shutdown, `await using`, the options (names, initializer,
 * task quota, idle timeout, heap limits), and every way a worker can die: each fails only
 * the task it was running, the pool replaces the worker, and no future stays pending.
 *
 * This file is also a module target: the exports below run in the pool's workers through
 * `{ module: import.meta.url, export }`, so the tests are registered under
 * `if (isMainThread)`. The machine running these is small and loaded: no test asserts a
 * duration, and every wait that could hang has a generous limit.
 */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertClean, runFixture, until } from "./helpers/common.js";
import {
  BrokenExecutorError,
  CancelledError,
  Event,
  Future,
  RuntimeError,
  SharedArray,
  SharedValue,
  ThreadPoolExecutor,
  TimeoutError,
  type ThreadPoolOptions,
  type UnhandledFailure,
  ValueError,
  WorkerCrashedError,
  asCompleted,
  currentThread,
  enumerate,
  getIdent,
  isMainThread,
  sleep,
  wait,
} from "weft-threads";

// ---------------------------------------------------------------------------------------
// Module targets (run in the pool's workers). They may use this module's imports.

export function square(x: number): number {
  return x * x;
}

export function addInModule(a: number, b: number): number {
  return a + b;
}

export async function slowSquare(x: number, ms: number): Promise<number> {
  await sleep(ms);
  return x * x;
}

/** Who runs the task: the worker thread's name and ident. */
export function whoAmI(): Who {
  return { name: currentThread().name, ident: getIdent() };
}

export function failWithValueError(message: string): never {
  throw new ValueError(message);
}

/** An initializer: counts its runs and leaves a mark that tasks can read. */
export function initWorker(counter: SharedValue<"int32">, tag: string): void {
  counter.add(1);
  (globalThis as { poolTag?: string }).poolTag = `${tag}@${currentThread().name}`;
}

/** A task that reads what the initializer left in its worker. */
export function readTag(): { tag: string | undefined; name: string } {
  return { tag: (globalThis as { poolTag?: string }).poolTag, name: currentThread().name };
}

export function failingInitializer(): never {
  throw new ValueError("the initializer failed on purpose");
}

/** An initializer that kills its worker. */
export function exitingInitializer(code: number): never {
  process.exit(code);
}

/** Allocates until the worker's heap limit kills it. */
export function allocateForever(): never {
  const keep: number[][] = [];
  for (let i = 0; ; i++) keep.push(new Array(100_000).fill(i));
}

// ---------------------------------------------------------------------------------------

interface Who {
  name: string;
  ident: number;
}

const T = { timeout: 30_000 };
const LONG = { timeout: 60_000 };
const here = import.meta.url;
const fixtures = new URL("../../test/fixtures/", import.meta.url);

/** Asserts that every future settles (none stays pending), within a generous limit. */
async function assertAllSettle(futures: Future<unknown>[], ms = 25_000): Promise<void> {
  const { notDone } = await wait(futures, { timeout: ms });
  assert.equal(notDone.size, 0, `${notDone.size} future(s) still pending: ${[...notDone].join(", ")}`);
}

/** The outcome of a settled future, without throwing. */
async function outcome<T>(future: Future<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await future.result({ timeout: 25_000 }) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Names of the live threads whose name starts with `prefix`. */
function poolThreads(prefix: string): string[] {
  return enumerate()
    .map((thread) => thread.name)
    .filter((name) => name.startsWith(`${prefix}_`));
}

/** `true` exactly when X and Y are the same type (a compile-time check). */
type Equal<X, Y> = (<V>() => V extends X ? 1 : 2) extends <V>() => V extends Y ? 1 : 2 ? true : false;

/** Collects what an async iterable yields. */
async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** A task that blocks its worker until `gate` is set. Self-contained. */
function blockUntil(gate: Event, value?: unknown): unknown {
  if (!gate.waitSync({ timeout: 25_000 })) throw new Error("the gate was never opened");
  return value;
}

if (isMainThread) registerTests();

/** An endless source of 0, 1, 2, ... that counts the items pulled from it and tells whether it was closed. */
function countingNaturals(): { pulled: number; closed: boolean; naturals(): Generator<number> } {
  const source = {
    pulled: 0,
    closed: false,
    *naturals(): Generator<number> {
      try {
        for (let i = 0; ; i++) {
          source.pulled++;
          yield i;
        }
      } finally {
        source.closed = true;
      }
    },
  };
  return source;
}

function registerTests(): void {
  // ------------------------------------------------------------------ the seed scenario

  test("the seed scenario: map(square, range(5)) gives [0, 1, 4, 9, 16]", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const range5 = [0, 1, 2, 3, 4];
    assert.deepEqual(await collect(pool.map({ module: here, export: "square" }, range5)), [0, 1, 4, 9, 16]);
    assert.deepEqual(await collect(pool.map((x: number) => x * x, range5)), [0, 1, 4, 9, 16]);
  });

  // ---------------------------------------------------------------------------- submit

  test("submit: a function target runs in a worker thread and its return value is the result", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "fn-target" });
    const future = pool.submit((a: number, b: string) => ({ sum: a + b.length, main: (globalThis as { process?: unknown }).process !== undefined }), 40, "ab");
    assert.ok(future instanceof Future);
    assert.deepEqual(await future, { sum: 42, main: true });
    assert.equal(future.done(), true);
    assert.equal(future.running(), false);
    assert.equal(future.cancelled(), false);
    assert.equal(await future.exception(), undefined);
  });

  test("submit: a module target ({ module: import.meta.url, export }) and a module by URL", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    assert.equal(await pool.submit({ module: here, export: "addInModule" }, 40, 2), 42);
    assert.equal(await pool.submit({ module: new URL("targets.mjs", fixtures), export: "double" }, 21), 42);
    assert.equal(await pool.submit({ module: fileURLToPath(new URL("targets.mjs", fixtures)), export: "default" }, 7), "default:7");
  });

  test("submit: async targets are awaited (function and module)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const fn = pool.submit(async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return x + 1;
    }, 41);
    const mod = pool.submit({ module: here, export: "slowSquare" }, 7, 20);
    assert.equal(await fn, 42);
    assert.equal(await mod, 49);
  });

  test("submit: the types follow the target (arguments checked, result awaited)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const sync: Future<number> = pool.submit((a: number, b: string) => a + b.length, 1, "xy");
    const asynchronous: Future<string> = pool.submit(async (n: number) => String(n), 5);
    assert.equal(await sync, 3);
    assert.equal(await asynchronous, "5");
    const typeChecksOnly = (): void => {
      // @ts-expect-error a string where the target takes a number
      pool.submit((a: number) => a, "nope");
      // @ts-expect-error a missing argument
      pool.submit((a: number, b: number) => a + b, 1);
      // @ts-expect-error the result is a number, not a string
      const wrong: Future<string> = pool.submit((a: number) => a, 1);
      void wrong;
      const mapped: AsyncIterable<string> = pool.map((x: number) => String(x), [1, 2]);
      void mapped;
    };
    void typeChecksOnly;
  });

  test("submit: a failing task rejects with the same class, its message naming the worker", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "failing-pool" });
    const fromModule = pool.submit({ module: here, export: "failWithValueError" }, "bad value in a module target");
    const fromFunction = pool.submit(() => {
      throw new TypeError("bad type in a function target");
    });
    const viaResult = await fromModule.exception();
    assert.ok(viaResult instanceof ValueError, String(viaResult));
    assert.ok(viaResult instanceof RangeError);
    assert.match((viaResult as Error).message, /bad value in a module target/);
    assert.match((viaResult as Error).message, /worker/);
    assert.match((viaResult as Error).message, /failing-pool/);
    await assert.rejects(fromFunction.result(), (error: unknown) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /bad type in a function target/);
      assert.match(error.message, /worker.*failing-pool/);
      return true;
    });
    await assert.rejects(fromModule.result(), ValueError);
    // The pool goes on after failures.
    assert.equal(await pool.submit((x: number) => x * 2, 21), 42);
  });

  test("submit: a function target that touches a module variable fails with a hint", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    await assert.rejects(
      pool.submit(() => square(3)).result(),
      (error: unknown) => {
        assert.ok(error instanceof ReferenceError, String(error));
        assert.match(error.message, /square/);
        assert.match(error.message, /args|module target/);
        return true;
      },
    );
  });

  test("submit: unsendable arguments throw a TypeError naming their path, at submit, and nothing runs", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const ran = new SharedValue("int32", 0);
    assert.throws(
      () => pool.submit((_f: unknown) => 1, () => 2),
      (error: unknown) => error instanceof TypeError && /args\[0\]/.test(error.message) && /function/.test(error.message),
    );
    assert.throws(
      () => pool.submit((counter: SharedValue<"int32">, _o: unknown) => counter.add(1), ran, { callback: () => 2 }),
      (error: unknown) => error instanceof TypeError && /args\[1\]\.callback/.test(error.message),
    );
    assert.throws(
      () => pool.submit((counter: SharedValue<"int32">, _s: unknown) => counter.add(1), ran, Symbol("nope")),
      (error: unknown) => error instanceof TypeError && /args\[1\]/.test(error.message),
    );
    // A shared object anywhere inside the arguments is fine, and arrives live.
    assert.equal(await pool.submit((o: { deep: { counter: SharedValue<"int32"> } }) => o.deep.counter.add(5), { deep: { counter: ran } }), 0);
    assert.equal(ran.value, 5, "only the sendable task ran");
    // The failed submits left nothing unfinished behind: shutdown completes.
    await pool.shutdown();
  });

  test("submit: a result that cannot be sent back fails the task with a TypeError", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    await assert.rejects(
      pool.submit(() => ({ fn: () => 1 })).result(),
      (error: unknown) => error instanceof TypeError && /result/.test(error.message),
    );
    assert.equal(await pool.submit(() => "still working"), "still working");
  });

  test("submit: a non-function, non-module target is a TypeError naming the target", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.throws(() => pool.submit(42 as never), (error: unknown) => error instanceof TypeError && /target/.test(error.message));
    assert.throws(() => pool.submit({ module: here } as never), (error: unknown) => error instanceof TypeError && /target/.test(error.message));
  });

  test("submit: 20,000 tiny tasks, a new closure each, all resolve with the right results", LONG, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const n = 20_000;
    const futures: Future<number>[] = [];
    for (let i = 0; i < n; i++) futures.push(pool.submit((x: number) => x + 1, i));
    const results = await Promise.all(futures);
    assert.equal(results.length, n);
    for (let i = 0; i < n; i++) if (results[i] !== i + 1) assert.fail(`task ${i} gave ${results[i]}`);
  });

  test("submit: tasks awaited one at a time (the pool going idle and busy again) all resolve", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    for (let i = 0; i < 300; i++) assert.equal(await pool.submit((x: number) => x * 3, i), i * 3);
  });

  test("submit: a pool going idle and busy again thousands of times keeps no memory per round", T, async () => {
    // Each busy period once left a join (with a signal) on every worker: ~2 KiB per task here.
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const inc = (x: number): number => x + 1;
    for (let i = 0; i < 500; i++) await pool.submit(inc, i);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5000; i++) await pool.submit(inc, i);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 3 * 1024 * 1024, `the heap grew by ${(grown / 1024).toFixed(0)} KiB over 5000 one-at-a-time tasks`);
  });

  // ------------------------------------------------------------------------------- map

  test("map: results come in input order whatever order the tasks finish in", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 3 });
    const items = Array.from({ length: 12 }, (_, i) => i);
    // Early items sleep longest, so they finish last.
    const results = await collect(
      pool.map(async (i: number) => {
        await new Promise((resolve) => setTimeout(resolve, (12 - i) * 5));
        return `item ${i}`;
      }, items),
    );
    assert.deepEqual(results, items.map((i) => `item ${i}`));
  });

  test("map: chunksize groups items into tasks and keeps the order (sizes that do and do not divide)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const items = Array.from({ length: 100 }, (_, i) => i);
    for (const chunksize of [1, 7, 10, 100, 1000]) {
      assert.deepEqual(await collect(pool.map({ module: here, export: "square" }, items, { chunksize })), items.map((i) => i * i), `chunksize ${chunksize}`);
    }
    assert.deepEqual(await collect(pool.map((x: number) => x, [], { chunksize: 3 })), []);
    // With a chunk per task, a chunk runs on one worker: consecutive items share a thread.
    const names = (await collect(pool.map({ module: here, export: "whoAmI" }, Array.from({ length: 20 }), { chunksize: 10 }))) as Who[];
    assert.equal(new Set(names.slice(0, 10).map((who) => who.name)).size, 1);
    assert.equal(new Set(names.slice(10).map((who) => who.name)).size, 1);
  });

  test("map: an async iterable is read as well", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    async function* source(): AsyncGenerator<number> {
      for (let i = 0; i < 10; i++) {
        await sleep(1);
        yield i;
      }
    }
    assert.deepEqual(await collect(pool.map((x: number) => 100 - x, source(), { chunksize: 3 })), [100, 99, 98, 97, 96, 95, 94, 93, 92, 91]);
  });

  for (const chunksize of [1, 2]) {
    test(`map: the first failure is thrown at its position, after the earlier results (chunksize ${chunksize})`, T, async () => {
      await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
      const yielded: number[] = [];
      let failure: unknown;
      try {
        for await (const value of pool.map(
          (x: number) => {
            if (x === 3 || x === 6) throw new RangeError(`item ${x} is bad`);
            return x * 10;
          },
          [0, 1, 2, 3, 4, 5, 6, 7],
          { chunksize },
        )) {
          yielded.push(value);
        }
      } catch (error) {
        failure = error;
      }
      assert.ok(failure instanceof RangeError, String(failure));
      assert.match((failure as Error).message, /item 3 is bad/);
      // With chunks of 2, item 2 shares its chunk with the failing item 3, as in Python.
      assert.deepEqual(yielded, chunksize === 1 ? [0, 10, 20] : [0, 10]);
    });
  }

  test("map: reads the iterable lazily, a bounded window ahead (an endless generator, 50 results, break)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const source = countingNaturals();
    const taken: number[] = [];
    for await (const value of pool.map((x: number) => x * 2, source.naturals())) {
      taken.push(value);
      if (taken.length === 50) break;
    }
    assert.deepEqual(taken, Array.from({ length: 50 }, (_, i) => i * 2));
    assert.ok(source.pulled >= 50 && source.pulled < 1000, `the generator was pulled ${source.pulled} items`);
    assert.equal(source.closed, true, "breaking out of map closes the source generator");
  });

  test("map: a generator of 10 million items is not drained into memory first (with chunks too)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    let pulled = 0;
    function* tenMillion(): Generator<number> {
      for (let i = 0; i < 10_000_000; i++) {
        pulled++;
        yield i;
      }
    }
    const results = pool.map((x: number) => x + 1, tenMillion(), { chunksize: 16 });
    const first = await results.next();
    assert.deepEqual(first, { value: 1, done: false });
    assert.ok(pulled < 10_000, `the generator was pulled ${pulled} items before the first result`);
    let seen = 1;
    for await (const value of results) {
      assert.equal(value, seen + 1);
      if (++seen === 200) break;
    }
    assert.ok(pulled < 10_000, `the generator was pulled ${pulled} items for 200 results`);
  });

  test("map: next() called many times without awaiting gives every result once, in order", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const results = pool.map((x: number) => x * 3, Array.from({ length: 50 }, (_, i) => i), { chunksize: 4 });
    const steps = await Promise.all(Array.from({ length: 52 }, () => results.next()));
    assert.deepEqual(
      steps.slice(0, 50).map((step) => step.value),
      Array.from({ length: 50 }, (_, i) => i * 3),
    );
    assert.ok(steps.slice(0, 50).every((step) => step.done === false));
    assert.deepEqual(steps.slice(50), [
      { value: undefined, done: true },
      { value: undefined, done: true },
    ]);
  });

  test("map: a plain iterable's first tasks start at the call, before the first next(); a source that throws at once throws there", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const ran = new SharedArray("int32", 1);
    const results = pool.map((r: SharedArray<"int32">) => Atomics.add(r.array, 0, 1), [ran]);
    await until(() => Atomics.load(ran.array, 0) === 1, "the task runs without anyone iterating");
    assert.deepEqual(await collect(results), [0]);
    function* broken(): Generator<number> {
      throw new ValueError("bad source");
    }
    assert.throws(() => pool.map((x: number) => x, broken()), ValueError);
    function* laterBroken(): Generator<number> {
      yield 1;
      yield 2;
      throw new ValueError("bad later");
    }
    // Read a window ahead: the failure comes out of the iteration, after nothing is lost.
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const value of pool.map((x: number) => x * 10, laterBroken(), { chunksize: 1 })) seen.push(value);
    }, ValueError);
    assert.ok(seen.length <= 2);
  });

  test("map: a string is an iterable of characters, as in Python", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.deepEqual(await collect(pool.map((c: string) => c + c, "abc")), ["aa", "bb", "cc"]);
  });

  test("map: a source that fails at the call and then fails to close reports the first error, with no unhandled rejection", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const items: unknown[] = [1, 2, () => 3]; // the function cannot be sent
      let i = 0;
      const iterable: Iterable<unknown> = {
        [Symbol.iterator]: () => ({
          next: () => (i < items.length ? { value: items[i++], done: false } : { value: undefined, done: true }),
          return(): IteratorResult<unknown> {
            throw new Error("return failed");
          },
        }),
      };
      assert.throws(() => pool.map((x: unknown) => x, iterable), (error: unknown) => error instanceof TypeError && /args/.test(error.message));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  test("map: an input whose next() throws is not asked to return(); one left half-read by a break is", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const make = (failAt: number, log: string[]): Iterable<number> => ({
      [Symbol.iterator]: () => {
        let i = 0;
        return {
          next: (): IteratorResult<number> => {
            if (i === failAt) throw new ValueError(`bad item ${i}`);
            return { value: i++, done: false };
          },
          return: (): IteratorResult<number> => {
            log.push("return");
            return { value: undefined, done: true };
          },
        };
      },
    });
    const failing: string[] = [];
    await assert.rejects(collect(pool.map((x: number) => x, make(20, failing), { chunksize: 1, buffersize: 4 })), ValueError);
    assert.deepEqual(failing, []);
    const endless: string[] = [];
    for await (const value of pool.map((x: number) => x, make(-1, endless))) if (value === 3) break;
    assert.deepEqual(endless, ["return"]);
  });

  test("map: a timeout while the pool is busy cancels the awaited task too (it never runs)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const ran = new SharedArray("int32", 1);
    const gate = new Event();
    const blocker = pool.submit((g: Event) => g.waitSync({ timeout: 20_000 }), gate);
    const results = pool.map((r: SharedArray<"int32">) => Atomics.add(r.array, 0, 1), [ran, ran, ran], { timeout: 50 });
    await assert.rejects(results.next(), TimeoutError);
    gate.set();
    await blocker;
    await pool.shutdown();
    assert.equal(Atomics.load(ran.array, 0), 0, "no map task ran after the TimeoutError");
  });

  test("map: a timeout that runs out throws TimeoutError; the rest is cancelled", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const ran = new SharedArray("int32", 8);
    const items = Array.from({ length: 8 }, (_, i) => ({ i, gate, ran }));
    const yielded: number[] = [];
    await assert.rejects(async () => {
      for await (const value of pool.map(
        ({ i, gate, ran }: { i: number; gate: Event; ran: SharedArray<"int32"> }) => {
          Atomics.store(ran.array, i, 1);
          if (i >= 1) gate.waitSync({ timeout: 25_000 });
          return i;
        },
        items,
        { timeout: 300 },
      )) {
        yielded.push(value);
      }
    }, TimeoutError);
    assert.deepEqual(yielded, [0]);
    gate.set();
    await pool.shutdown();
    // Item 1 may or may not have started; nothing after it ran.
    assert.deepEqual([...ran.array.slice(2)], [0, 0, 0, 0, 0, 0]);
  });

  test("map: aborting the signal rejects with its reason and cancels what has not started", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const ran = new SharedArray("int32", 10);
    const controller = new AbortController();
    const reason = new Error("stop mapping");
    const results = pool.map(
      ({ i, gate, ran }: { i: number; gate: Event; ran: SharedArray<"int32"> }) => {
        Atomics.store(ran.array, i, 1);
        if (i >= 1) gate.waitSync({ timeout: 25_000 });
        return i;
      },
      Array.from({ length: 10 }, (_, i) => ({ i, gate, ran })),
      { signal: controller.signal },
    );
    assert.deepEqual(await results.next(), { value: 0, done: false });
    await until(() => Atomics.load(ran.array, 1) === 1, "item 1 runs");
    const second = results.next();
    controller.abort(reason);
    await assert.rejects(second, (error: unknown) => error === reason);
    assert.deepEqual(await results.next(), { value: undefined, done: true });
    gate.set();
    await pool.shutdown();
    assert.deepEqual([...ran.array.slice(2)], [0, 0, 0, 0, 0, 0, 0, 0], "nothing after the running item ran");
  });

  test("map: an already aborted signal throws its reason at the call", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const reason = new Error("aborted before");
    assert.throws(() => pool.map((x: number) => x, [1, 2], { signal: AbortSignal.abort(reason) }), (error: unknown) => error === reason);
  });

  test("map: bad options and a non-iterable are TypeError / ValueError naming the argument, thrown at the call", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const run = (options: unknown) => () => pool.map((x: number) => x, [1], options as never);
    assert.throws(run({ chunksize: 0 }), (error: unknown) => error instanceof ValueError && /chunksize/.test(error.message));
    assert.throws(run({ chunksize: 1.5 }), (error: unknown) => error instanceof ValueError && /chunksize/.test(error.message));
    assert.throws(run({ chunksize: "2" }), (error: unknown) => error instanceof TypeError && /chunksize/.test(error.message));
    assert.throws(run({ timeout: -1 }), (error: unknown) => error instanceof ValueError && /timeout/.test(error.message));
    assert.throws(run({ timeout: NaN }), (error: unknown) => error instanceof RangeError && /timeout/.test(error.message));
    assert.throws(run({ timeout: "10" }), (error: unknown) => error instanceof TypeError && !(error instanceof RangeError) && /timeout/.test(error.message));
    assert.throws(run({ signal: "no" }), (error: unknown) => error instanceof TypeError && /signal/.test(error.message));
    assert.throws(run(null), TypeError);
    assert.throws(() => pool.map((x: number) => x, 42 as never), (error: unknown) => error instanceof TypeError && /iterable/.test(error.message));
    // Nothing was submitted by the calls that threw.
    assert.deepEqual(await collect(pool.map((x: number) => x + 1, [1, 2])), [2, 3]);
  });

  // ------------------------------------------------------ map: several iterables, options

  test("map: several iterables are zipped as in Python, stopping at the shortest (chunked too, module targets too)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    assert.deepEqual(await collect(pool.map((a, b) => a + b, [1, 2], [3, 4])), [4, 6]);
    assert.deepEqual(await collect(pool.map((a, b) => a + b, [1, 2, 3], [10, 20])), [11, 22]);
    async function* letters(): AsyncGenerator<string> {
      yield* ["x", "y", "z", "w"];
    }
    for (const chunksize of [1, 2, 3]) {
      const mixed = pool.map((n: number, c: string, s: string) => `${n}${c}${s}`, new Set([1, 2, 3]), letters(), "abc", { chunksize });
      assert.deepEqual(await collect(mixed), ["1xa", "2yb", "3zc"], `chunksize ${chunksize}`);
      assert.deepEqual(await collect(pool.map({ module: here, export: "addInModule" }, [1, 2, 3, 4, 5], [10, 20, 30, 40, 50], { chunksize })), [11, 22, 33, 44, 55]);
    }
    // With no iterable at all nothing runs, as Python's executor.map(fn) (an empty zip).
    assert.deepEqual(await collect(pool.map(() => 1)), []);
    assert.deepEqual(await collect(pool.map(() => 1, { chunksize: 2 })), []);
  });

  test("map: when the shortest input ends, the others are closed (the one that ended is not asked)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const closed: string[] = [];
    function* tracked(name: string, length: number): Generator<number> {
      try {
        for (let i = 0; i < length; i++) yield i;
      } finally {
        closed.push(name);
      }
    }
    assert.deepEqual(await collect(pool.map((a: number, b: number) => a * b, tracked("long", 1000), tracked("short", 3))), [0, 1, 4]);
    assert.deepEqual(closed.sort(), ["long", "short"]); // "short" ran its finally by ending
    closed.length = 0;
    for await (const value of pool.map((a: number, b: number) => a + b, tracked("left", 1000), tracked("right", 1000))) if (value === 4) break;
    assert.deepEqual(closed.sort(), ["left", "right"], "breaking out closes every input");
  });

  test("map: the options come last as a plain object; an iterable is never taken for them; errors say what was expected", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    // An array, a Map, a string last: inputs, not options.
    assert.deepEqual(await collect(pool.map((a: number, b: number) => a - b, [5, 6], [1, 2])), [4, 4]);
    assert.deepEqual(await collect(pool.map((a: number, e: [string, number]) => `${a}${e[0]}${e[1]}`, [1], new Map([["k", 2]]))), ["1k2"]);
    assert.deepEqual(await collect(pool.map((a: number, b: number) => a + b, [1, 2], [3, 4], undefined)), [4, 6]);
    const expectTypeError = (pattern: RegExp, ...args: unknown[]): void => {
      assert.throws(
        () => (pool.map as (...a: unknown[]) => unknown)((x: number) => x, ...args),
        (error: unknown) => error instanceof TypeError && !(error instanceof RangeError) && pattern.test(error.message),
      );
    };
    expectTypeError(/unknown option "a".*iterable/, [1], { a: 1 }); // a plain object meant as an input
    expectTypeError(/last argument must be an iterable, an async iterable or a plain options object.*Date/, [1], new Date());
    expectTypeError(/iterables\[1\] must be an iterable.*got 5.*options.*last/, [1], 5);
    expectTypeError(/iterables\[0\] must be an iterable.*got 5/, 5, [1], {});
    expectTypeError(/options must be an object, got null/, [1], null);
    expectTypeError(/iterable must be an iterable.*got undefined/, undefined, {});
  });

  test("map: the types follow the target and the iterables (1 to 3 inputs, options, async inputs)", T, () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    void pool.shutdown();
    const typeChecksOnly = (): void => {
      async function* flags(): AsyncGenerator<boolean> {
        yield true;
      }
      const one = pool.map((x: number) => String(x), [1]);
      const two = pool.map((a, b) => a + b, [1, 2], [3, 4]);
      const three = pool.map((n, s, f) => [n, s, f] as const, [1], "ab", flags(), { buffersize: 2 });
      const awaited = pool.map(async (s: string) => s.length, new Set(["a"]), { chunksize: 2 });
      const moduleTarget = pool.map({ module: here, export: "addInModule" }, [1], [2]);
      const checks: [
        Equal<typeof one, AsyncIterableIterator<string>>,
        Equal<typeof two, AsyncIterableIterator<number>>,
        Equal<typeof three, AsyncIterableIterator<readonly [number, string, boolean]>>,
        Equal<typeof awaited, AsyncIterableIterator<number>>,
        Equal<typeof moduleTarget, AsyncIterableIterator<unknown>>,
      ] = [true, true, true, true, true];
      void checks;
      // @ts-expect-error the second input's items are strings, the target takes numbers
      pool.map((a: number, b: number) => a + b, [1], ["x"]);
      // @ts-expect-error one input for a target that needs two arguments
      pool.map((a: number, b: number) => a + b, [1]);
      // @ts-expect-error a bad option
      pool.map((a: number) => a, [1], { chunksize: "2" });
      // @ts-expect-error not iterable
      pool.map((a: number) => a, 42);
    };
    void typeChecksOnly;
  });

  test("map: buffersize bounds the tasks submitted and not yet yielded, reading the input only as results are yielded", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const source = countingNaturals();
    // As Python's test_map_buffersize_when_buffer_is_full: the call reads exactly buffersize items.
    const results = pool.map((x: number) => x * 2, source.naturals(), { buffersize: 3 });
    assert.equal(source.pulled, 3);
    let yielded = 0;
    for await (const value of results) {
      assert.equal(value, yielded * 2);
      yielded++;
      assert.ok(source.pulled - yielded <= 3, `${source.pulled} items read for ${yielded} yielded, with buffersize 3`);
      if (yielded === 20) break;
    }
    assert.equal(source.closed, true);
    // Counted in tasks: with chunksize 4, 2 tasks of 4 items.
    source.pulled = 0;
    const chunked = pool.map((x: number) => x + 1, source.naturals(), { buffersize: 2, chunksize: 4 });
    assert.equal(source.pulled, 8);
    assert.deepEqual(await chunked.next(), { value: 1, done: false });
    await chunked.return?.();
    // Several infinite inputs (Python's test_map_buffersize_on_multiple_infinite_iterables).
    const sums = pool.map((a: number, b: number) => a + b, source.naturals(), source.naturals(), { buffersize: 2 });
    assert.deepEqual([(await sums.next()).value, (await sums.next()).value, (await sums.next()).value], [0, 2, 4]);
    await sums.return?.();
  });

  test("map: a bad buffersize is a TypeError / ValueError naming it, at the call", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const run = (buffersize: unknown) => () => pool.map((x: number) => x, [1], { buffersize } as never);
    for (const bad of [0, -1, 1.5, Infinity, NaN]) assert.throws(run(bad), (error: unknown) => error instanceof ValueError && /buffersize.*positive integer/.test(error.message), String(bad));
    for (const bad of ["2", null, 2n]) assert.throws(run(bad), (error: unknown) => error instanceof TypeError && !(error instanceof RangeError) && /buffersize/.test(error.message), String(bad));
    assert.deepEqual(await collect(pool.map((x: number) => x, [1, 2, 3], { buffersize: 1 })), [1, 2, 3]);
  });

  // ------------------------------------------------------------------ onUnhandledFailure

  test("onUnhandledFailure: at shutdown, reports each failed future nobody asked about, and only those", T, async () => {
    const reported: UnhandledFailure[] = [];
    const pool = new ThreadPoolExecutor({ maxWorkers: 2, onUnhandledFailure: (failure) => reported.push(failure) });
    const fail = (tag: string): never => {
      throw new RangeError(`failed: ${tag}`);
    };
    const ignored = pool.submit(fail, "ignored");
    const awaited = pool.submit(fail, "awaited");
    const readLater = pool.submit(fail, "read later");
    const withCallback = pool.submit(fail, "callback");
    withCallback.addDoneCallback(() => {});
    const succeeded = pool.submit((x: number) => x, 1);
    await assert.rejects(Promise.resolve(awaited), RangeError);
    await assert.rejects(pool.map(fail, ["in map"]).next(), RangeError);
    await assertAllSettle([ignored, readLater, withCallback, succeeded]); // wait() does not count as asking
    assert.equal(reported.length, 0, "nothing is reported before the pool shuts down");
    assert.ok((await readLater.exception()) instanceof RangeError);
    await pool.shutdown();
    assert.equal(reported.length, 1, reported.map((failure) => String(failure.error)).join("; "));
    assert.equal(reported[0].future, ignored);
    assert.ok(reported[0].error instanceof RangeError);
    assert.match((reported[0].error as Error).message, /failed: ignored/);
    assert.throws(() => new ThreadPoolExecutor({ onUnhandledFailure: "log" as never }), TypeError);
  });

  // ---------------------------------------------------------------------------- cancel

  test("cancel: a pending future is cancelled and never runs; a running one cannot be", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const counter = new SharedValue("int32", 0);
    const first = pool.submit(blockUntil, gate, "first");
    const second = pool.submit((c: SharedValue<"int32">) => c.add(1), counter);
    await until(() => first.running(), "the first task runs");
    assert.equal(second.running(), false);
    assert.equal(second.cancel(), true);
    assert.equal(second.cancelled(), true);
    assert.equal(second.done(), true);
    assert.equal(second.cancel(), true, "cancelling again is still true");
    await assert.rejects(second.result(), CancelledError);
    assert.equal(first.cancel(), false);
    assert.equal(first.running(), true);
    assert.equal(first.cancelled(), false);
    gate.set();
    assert.equal(await first, "first");
    assert.equal(first.cancel(), false, "a finished future cannot be cancelled");
    // A later task on the same single worker has run, so the cancelled one would have too.
    assert.equal(await pool.submit((c: SharedValue<"int32">) => c.value, counter), 0);
    assert.equal(counter.value, 0, "the cancelled task never ran");
  });

  test("cancel: done callbacks and asCompleted see a cancellation", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const first = pool.submit(blockUntil, gate, 1);
    const queued = [pool.submit(() => 2), pool.submit(() => 3)];
    const called: boolean[] = [];
    queued[0].addDoneCallback((future) => called.push(future.cancelled()));
    assert.equal(queued[0].cancel(), true);
    const order: Future<unknown>[] = [];
    const iteration = (async () => {
      for await (const future of asCompleted([first, ...queued], { timeout: 25_000 })) order.push(future);
    })();
    gate.set();
    await iteration;
    assert.deepEqual(called, [true]);
    assert.equal(order[0], queued[0], "the cancelled future comes first");
    assert.equal(order.length, 3);
    assert.equal(await queued[1], 3);
  });

  test("cancel races the workers: a task runs if and only if its future was not cancelled", LONG, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const ran = new SharedArray("uint8", 3000);
    const futures = Array.from({ length: 3000 }, (_, i) => pool.submit((flags: SharedArray<"uint8">, k: number) => void Atomics.store(flags.array, k, 1), ran, i));
    // Cancel every third one while the workers are taking them.
    for (let i = 0; i < futures.length; i += 3) {
      futures[i].cancel();
      if (i % 300 === 0) await sleep(0);
    }
    await assertAllSettle(futures, 50_000);
    for (let i = 0; i < futures.length; i++) {
      const future = futures[i];
      assert.equal(Atomics.load(ran.array, i), future.cancelled() ? 0 : 1, `task ${i}: cancelled ${future.cancelled()} but ran ${Atomics.load(ran.array, i)}`);
      if (i % 3 !== 0) assert.equal(future.cancelled(), false);
    }
  });

  test("more tasks than task slots (the submit-side backlog): cancel, unsendable arguments and order all hold", LONG, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const counter = new SharedValue("int32", 0);
    const first = pool.submit(blockUntil, gate, -1);
    await until(() => first.running(), "the first task runs");
    const n = 17_000; // beyond the 16,384 slots, so the last ones wait on the submitting side
    const futures = Array.from({ length: n }, (_, i) =>
      pool.submit((c: SharedValue<"int32">, k: number) => {
        c.add(1);
        return k;
      }, counter, i),
    );
    assert.throws(() => pool.submit((_f: unknown) => 0, () => 0), (error: unknown) => error instanceof TypeError && /args\[0\]/.test(error.message));
    const cancelled = [5, 100, 16_500, 16_999].map((i) => futures[i]);
    for (const future of cancelled) assert.equal(future.cancel(), true);
    gate.set();
    await assertAllSettle([first, ...futures], 50_000);
    for (let i = 0; i < n; i++) {
      if (cancelled.includes(futures[i])) assert.equal(futures[i].cancelled(), true);
      else assert.equal(await futures[i], i);
    }
    assert.equal(counter.value, n - cancelled.length);
  });

  test("map: breaking out of the loop cancels the tasks not started yet", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const ran = new SharedArray("int32", 10);
    for await (const value of pool.map(
      ({ i, gate, ran }: { i: number; gate: Event; ran: SharedArray<"int32"> }) => {
        Atomics.store(ran.array, i, 1);
        if (i >= 1) gate.waitSync({ timeout: 25_000 });
        return i;
      },
      Array.from({ length: 10 }, (_, i) => ({ i, gate, ran })),
    )) {
      assert.equal(value, 0);
      await until(() => Atomics.load(ran.array, 1) === 1, "item 1 runs");
      break;
    }
    gate.set();
    await pool.shutdown();
    assert.deepEqual([...ran.array.slice(2)], [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  // -------------------------------------------------------------------------- shutdown

  test("shutdown({ wait: true }) waits for the running tasks, then the workers are gone", T, async () => {
    const prefix = "shutdown-wait";
    const pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: prefix });
    const gate = new Event();
    const running = [pool.submit(blockUntil, gate, "a"), pool.submit(blockUntil, gate, "b")];
    await until(() => running.every((future) => future.running()), "both tasks run");
    let finished = false;
    const shutdown = pool.shutdown({ wait: true }).then(() => (finished = true));
    await sleep(100);
    assert.equal(finished, false, "shutdown resolved while tasks were still blocked");
    assert.ok(running.every((future) => !future.done()));
    gate.set();
    await shutdown;
    assert.deepEqual(await Promise.all(running), ["a", "b"]);
    assert.deepEqual(poolThreads(prefix), [], "the pool's threads are gone after shutdown");
  });

  test("shutdown({ wait: false }) returns at once; the submitted tasks still complete", T, async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const futures = [pool.submit(blockUntil, gate, 1), pool.submit(() => 2), pool.submit(() => 3)];
    await pool.shutdown({ wait: false });
    assert.ok(!futures[2].done());
    gate.set();
    assert.deepEqual(await Promise.all(futures), [1, 2, 3]);
    await pool.shutdown(); // a second shutdown is harmless
  });

  test("shutdown({ cancelFutures: true }) cancels the queued tasks; the running one finishes", T, async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const counter = new SharedValue("int32", 0);
    const first = pool.submit(blockUntil, gate, "ran");
    const queued = Array.from({ length: 5 }, () => pool.submit((c: SharedValue<"int32">) => c.add(1), counter));
    await until(() => first.running(), "the first task runs");
    const shutdown = pool.shutdown({ cancelFutures: true });
    assert.ok(queued.every((future) => future.cancelled()), "every queued future is cancelled");
    assert.equal(first.cancelled(), false);
    gate.set();
    await shutdown;
    assert.equal(await first, "ran");
    for (const future of queued) await assert.rejects(future.result(), CancelledError);
    assert.equal(counter.value, 0, "no cancelled task ran");
  });

  test("submit or map after shutdown is a RuntimeError", T, async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.equal(await pool.submit(() => 1), 1);
    await pool.shutdown();
    assert.throws(() => pool.submit(() => 2), (error: unknown) => error instanceof RuntimeError && /shutdown/.test(error.message));
    assert.throws(() => pool.map((x: number) => x, [1]), RuntimeError);
    // Even right after a non-waiting shutdown.
    const other = new ThreadPoolExecutor({ maxWorkers: 1 });
    void other.shutdown({ wait: false });
    assert.throws(() => other.submit(() => 2), RuntimeError);
  });

  test("await using shuts the pool down and waits at the end of the block", T, async () => {
    const prefix = "await-using";
    let future: Future<string> | undefined;
    {
      await using pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: prefix });
      future = pool.submit(async (s: string) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return s.toUpperCase();
      }, "done");
      assert.ok(poolThreads(prefix).length > 0);
    }
    assert.equal(future.done(), true, "the task finished before the block was left");
    assert.equal(await future, "DONE");
    assert.deepEqual(poolThreads(prefix), []);
  });

  // --------------------------------------------------------------------------- options

  test("threadNamePrefix names the worker threads (currentThread().name inside a task); a default otherwise", T, async () => {
    await using named = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "my-workers" });
    const who = (await named.submit({ module: here, export: "whoAmI" })) as Who;
    assert.match(who.name, /^my-workers_\d+$/);
    assert.notEqual(who.ident, getIdent());
    assert.ok(enumerate().some((thread) => thread.name === who.name), "the worker is listed by enumerate()");
    await using unnamed = new ThreadPoolExecutor({ maxWorkers: 1 });
    assert.match(((await unnamed.submit({ module: here, export: "whoAmI" })) as Who).name, /^ThreadPoolExecutor-\d+_\d+$/);
  });

  test("maxWorkers bounds the threads; fewer tasks start fewer threads", T, async () => {
    const prefix = "bounded";
    await using pool = new ThreadPoolExecutor({ maxWorkers: 3, threadNamePrefix: prefix });
    const gate = new Event();
    const futures = Array.from({ length: 8 }, (_, i) => pool.submit(blockUntil, gate, i));
    await until(() => futures.filter((future) => future.running()).length === 3, "three tasks run");
    assert.equal(poolThreads(prefix).length, 3);
    assert.equal(futures.filter((future) => future.running()).length, 3);
    gate.set();
    assert.deepEqual(await Promise.all(futures), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(poolThreads(prefix).length <= 3);
  });

  test("maxWorkers defaults to os.availableParallelism()", T, async () => {
    const cpus = availableParallelism();
    await using pool = new ThreadPoolExecutor({ threadNamePrefix: "default-size" });
    const gate = new Event();
    const futures = Array.from({ length: cpus + 2 }, (_, i) => pool.submit(blockUntil, gate, i));
    await until(() => futures.filter((future) => future.running()).length === cpus, `${cpus} tasks run`);
    await sleep(100);
    assert.equal(futures.filter((future) => future.running()).length, cpus, "no more tasks run than there are CPUs");
    assert.equal(poolThreads("default-size").length, cpus);
    gate.set();
    await Promise.all(futures);
  });

  test("initializer runs once per worker, before its tasks, with initargs (function and module)", T, async () => {
    const counter = new SharedValue("int32", 0);
    {
      await using pool = new ThreadPoolExecutor({
        maxWorkers: 2,
        initializer: { module: here, export: "initWorker" },
        initargs: [counter, "tagged"],
      });
      const gate = new Event();
      // Two blocked tasks make sure that both workers start.
      const blockers = [pool.submit(blockUntil, gate), pool.submit(blockUntil, gate)];
      await until(() => blockers.every((future) => future.running()), "both workers run");
      gate.set();
      await Promise.all(blockers);
      const seen = (await Promise.all(Array.from({ length: 20 }, () => pool.submit({ module: here, export: "readTag" })))) as ReturnType<typeof readTag>[];
      for (const { tag, name } of seen) assert.equal(tag, `tagged@${name}`, "the task saw its own worker's initializer");
      assert.equal(counter.value, 2, "one initializer run per worker");
    }
    const fnCounter = new SharedValue("int32", 0);
    {
      await using pool = new ThreadPoolExecutor({
        maxWorkers: 1,
        initializer: (c: SharedValue<"int32">, base: number) => {
          c.add(1);
          (globalThis as { base?: number }).base = base;
        },
        initargs: [fnCounter, 100],
      });
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => pool.submit((x: number) => (globalThis as { base?: number }).base! + x, i)));
      assert.deepEqual(results, [100, 101, 102, 103, 104]);
      assert.equal(fnCounter.value, 1);
    }
  });

  test("a failing initializer breaks the pool: pending futures and later submits fail with BrokenExecutorError", T, async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2, initializer: { module: here, export: "failingInitializer" } });
    const isBroken = (error: unknown): boolean => {
      assert.ok(error instanceof BrokenExecutorError, String(error));
      assert.ok(error instanceof RuntimeError);
      assert.match(error.message, /initializer failed on purpose/);
      return true;
    };
    const pending: Future<number>[] = [pool.submit((x: number) => x, 0)];
    // The first worker may fail its initializer before the next submits: from then on,
    // submit itself throws, as Python's does once the pool is known to be broken.
    for (let i = 1; i < 4; i++) {
      try {
        pending.push(pool.submit((x: number) => x, i));
      } catch (error) {
        isBroken(error);
      }
    }
    await assertAllSettle(pending);
    for (const future of pending) await assert.rejects(future.result(), isBroken);
    assert.throws(() => pool.submit((x: number) => x, 9), isBroken);
    assert.throws(() => pool.map((x: number) => x, [1]), BrokenExecutorError);
    await pool.shutdown();
  });

  test("an initializer that kills its worker (process.exit, out of memory) breaks the pool instead of respawning forever", LONG, async () => {
    const cases: [string, ThreadPoolOptions][] = [
      ["process.exit", { initializer: { module: here, export: "exitingInitializer" }, initargs: [4] }],
      ["out of memory", { initializer: { module: here, export: "allocateForever" }, resourceLimits: { maxOldGenerationSizeMb: 32 } }],
    ];
    for (const [label, options] of cases) {
      const pool = new ThreadPoolExecutor({ maxWorkers: 2, ...options });
      const pending: Future<number>[] = [];
      try {
        for (let i = 0; i < 3; i++) pending.push(pool.submit((x: number) => x, i));
      } catch (error) {
        assert.ok(error instanceof BrokenExecutorError, `${label}: ${String(error)}`);
      }
      await assertAllSettle(pending, 50_000);
      for (const future of pending) await assert.rejects(future.result(), BrokenExecutorError, label);
      assert.throws(() => pool.submit((x: number) => x, 9), BrokenExecutorError, label);
      await pool.shutdown();
    }
  });

  test("a worker that cannot even start (a heap too small to boot) does not leave its task pending", T, async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 1, maxYoungGenerationSizeMb: 1 } });
    const future = pool.submit((x: number) => x, 1);
    await assertAllSettle([future]);
    const result = await outcome(future);
    if (!result.ok) assert.ok(result.error instanceof BrokenExecutorError || result.error instanceof WorkerCrashedError, String(result.error));
    await pool.shutdown({ cancelFutures: true });
  });

  test("maxTasksPerChild: a worker runs at most that many tasks, then a fresh one (and its initializer) takes over", T, async () => {
    const inits = new SharedValue("int32", 0);
    await using pool = new ThreadPoolExecutor({
      maxWorkers: 1,
      maxTasksPerChild: 2,
      initializer: (c: SharedValue<"int32">) => void c.add(1),
      initargs: [inits],
    });
    const who = (await Promise.all(Array.from({ length: 7 }, () => pool.submit({ module: here, export: "whoAmI" })))) as Who[];
    const perIdent = new Map<number, number>();
    for (const { ident } of who) perIdent.set(ident, (perIdent.get(ident) ?? 0) + 1);
    assert.ok([...perIdent.values()].every((count) => count <= 2), `tasks per ident: ${[...perIdent.values()]}`);
    assert.equal(perIdent.size, 4, "7 tasks, 2 per worker: 4 workers");
    assert.equal(new Set(who.map(({ name }) => name)).size, 4);
    assert.equal(inits.value, 4, "each fresh worker ran the initializer");
    // Sequential tasks too.
    const one = (await pool.submit({ module: here, export: "whoAmI" })) as Who;
    const two = (await pool.submit({ module: here, export: "whoAmI" })) as Who;
    const three = (await pool.submit({ module: here, export: "whoAmI" })) as Who;
    assert.ok(!(one.ident === two.ident && two.ident === three.ident), "three tasks in a row on one worker");
  });

  test("idleTimeout: idle workers leave (enumerate() no longer lists them); the pool starts new ones on demand", T, async () => {
    const prefix = "idle-pool";
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, idleTimeout: 150, threadNamePrefix: prefix });
    const gate = new Event();
    const blockers = [pool.submit(blockUntil, gate, 1), pool.submit(blockUntil, gate, 2)];
    await until(() => blockers.every((future) => future.running()), "both workers run");
    assert.equal(poolThreads(prefix).length, 2);
    gate.set();
    await Promise.all(blockers);
    await until(() => poolThreads(prefix).length === 0, "the idle workers leave");
    assert.equal(await pool.submit((x: number) => x + 1, 1), 2, "a new worker runs the next task");
  });

  test("an idle pool whose new worker fails its initializer is broken, not refilled forever", T, async () => {
    const runs = new SharedArray("int32", 1);
    const pool = new ThreadPoolExecutor({
      maxWorkers: 2,
      minWorkers: 2,
      // The first worker starts fine; every later one fails its initializer, after the pool went idle.
      initializer: (count: SharedArray<"int32">) => {
        if (Atomics.add(count.array, 0, 1) >= 1) return new Promise((_, reject) => setTimeout(() => reject(new Error("flaky init")), 100));
        return undefined;
      },
      initargs: [runs],
    });
    assert.equal(await pool.submit((x: number) => x + 1, 1), 2);
    // Wait (a hang guard, not a timing assert) until the second worker's failure broke the
    // pool; tasks submitted meanwhile run on the first worker.
    const brokenNow = (): boolean => {
      try {
        pool.submit((x: number) => x, 1);
        return false;
      } catch (error) {
        return error instanceof BrokenExecutorError;
      }
    };
    await until(brokenNow, "the pool is broken");
    await sleep(500); // time for a replacement, had one been started, to run the initializer
    assert.equal(Atomics.load(runs.array, 0), 2, "only the two workers ever ran the initializer");
    assert.throws(() => pool.submit((x: number) => x, 1), BrokenExecutorError);
    await pool.shutdown({ wait: false });
  });

  test("idleTimeout with minWorkers: that many workers stay", T, async () => {
    const prefix = "idle-min-pool";
    await using pool = new ThreadPoolExecutor({ maxWorkers: 3, minWorkers: 1, idleTimeout: 100, threadNamePrefix: prefix });
    const gate = new Event();
    const blockers = [1, 2, 3].map((i) => pool.submit(blockUntil, gate, i));
    await until(() => blockers.every((future) => future.running()), "three workers run");
    gate.set();
    await Promise.all(blockers);
    await until(() => poolThreads(prefix).length === 1, "the pool shrinks to minWorkers");
    await sleep(600); // several idle timeouts more
    assert.equal(poolThreads(prefix).length, 1, "minWorkers stay");
    assert.deepEqual(await Promise.all([1, 2, 3, 4].map((i) => pool.submit((x: number) => x * 2, i))), [2, 4, 6, 8]);
  });

  test("resourceLimits reach the workers", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 48 } });
    const limit = await pool.submit(async () => {
      const { getHeapStatistics } = await import("node:v8");
      return getHeapStatistics().heap_size_limit;
    });
    assert.ok(limit < 256 * 1024 * 1024, `heap limit ${limit}`);
  });

  test("bad options are TypeError / ValueError naming the option", T, () => {
    const make = (options: unknown) => () => new ThreadPoolExecutor(options as never);
    const named = (cls: typeof TypeError | typeof ValueError, name: string) => (error: unknown) => {
      assert.ok(error instanceof cls, `${String(error)} is not a ${cls.name}`);
      assert.match((error as Error).message, new RegExp(name));
      return true;
    };
    assert.throws(make(null), TypeError);
    assert.throws(make(5), TypeError);
    assert.throws(make({ maxWorkers: 0 }), named(ValueError, "maxWorkers"));
    assert.throws(make({ maxWorkers: -2 }), named(ValueError, "maxWorkers"));
    assert.throws(make({ maxWorkers: 1.5 }), named(ValueError, "maxWorkers"));
    assert.throws(make({ maxWorkers: NaN }), named(ValueError, "maxWorkers"));
    assert.throws(make({ maxWorkers: "2" }), named(TypeError, "maxWorkers"));
    assert.throws(make({ minWorkers: -1 }), named(ValueError, "minWorkers"));
    assert.throws(make({ minWorkers: "1" }), named(TypeError, "minWorkers"));
    assert.throws(make({ threadNamePrefix: 5 }), named(TypeError, "threadNamePrefix"));
    assert.throws(make({ initializer: 5 }), named(TypeError, "initializer"));
    assert.throws(make({ initializer: () => 1, initargs: "x" }), named(TypeError, "initargs"));
    assert.throws(make({ initializer: () => 1, initargs: [() => 1] }), named(TypeError, "initargs\\[0\\]"));
    assert.throws(make({ maxTasksPerChild: 0 }), named(ValueError, "maxTasksPerChild"));
    assert.throws(make({ maxTasksPerChild: "3" }), named(TypeError, "maxTasksPerChild"));
    assert.throws(make({ idleTimeout: -1 }), named(ValueError, "idleTimeout"));
    assert.throws(make({ idleTimeout: NaN }), named(ValueError, "idleTimeout"));
    assert.throws(make({ idleTimeout: "100" }), (error: unknown) => named(TypeError, "idleTimeout")(error) && !(error instanceof RangeError));
    // The default maxWorkers is os.availableParallelism(); a constructed pool starts no thread.
    const before = enumerate().length;
    new ThreadPoolExecutor();
    new ThreadPoolExecutor({ maxWorkers: 1, minWorkers: 5 });
    assert.equal(enumerate().length, before);
  });

  // ------------------------------------------------------------------- dying workers

  test("process.exit(3) in a task fails that task with WorkerCrashedError (code in the message); the others complete", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "exit-pool" });
    const gate = new Event();
    const neighbour = pool.submit(blockUntil, gate, "neighbour");
    await until(() => neighbour.running(), "the neighbour runs");
    const exits = pool.submit(() => process.exit(3));
    const queued = Array.from({ length: 6 }, (_, i) => pool.submit((x: number) => x * 10, i));
    await assertAllSettle([exits]);
    await assert.rejects(exits.result(), (error: unknown) => {
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.match(error.message, /\b3\b/);
      assert.match(error.message, /exit-pool/);
      return true;
    });
    gate.set();
    await assertAllSettle([neighbour, ...queued]);
    assert.equal(await neighbour, "neighbour");
    assert.deepEqual(await Promise.all(queued), [0, 10, 20, 30, 40, 50]);
    assert.equal(await pool.submit((x: number) => x + 1, 41), 42, "later submits work");
  });

  test("process.exit(0) in a task still fails that task (it never returned) and the pool goes on", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const exits = pool.submit(() => process.exit(0));
    const after = pool.submit(() => "after");
    await assertAllSettle([exits, after]);
    await assert.rejects(exits.result(), WorkerCrashedError);
    assert.equal(await after, "after");
  });

  test("shutdown({ wait: true }) while a task crashes its worker: the future fails and shutdown resolves", T, async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const first = pool.submit(blockUntil, gate, "first");
    const crash = pool.submit(() => process.exit(2));
    const last = pool.submit(() => "last");
    await until(() => first.running(), "the first task runs");
    const shutdown = pool.shutdown({ wait: true });
    gate.set();
    await shutdown;
    assert.equal(await first, "first");
    await assert.rejects(crash.result(), (error: unknown) => error instanceof WorkerCrashedError && /\b2\b/.test(error.message));
    assert.equal(await last, "last", "a replacement worker ran the task queued behind the crash");
  });

  test("an uncaught exception from a timer inside a task fails that task; the pool keeps working", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const crashing = pool.submit(() => {
      setTimeout(() => {
        throw new RangeError("thrown from a timer");
      }, 10);
      return new Promise<never>(() => {}); // never settles by itself
    });
    const others = Array.from({ length: 4 }, (_, i) => pool.submit(async (x: number) => x, i));
    await assertAllSettle([crashing, ...others]);
    const failure = await crashing.exception();
    // The worker died of it: the pool reports a crash that carries the original message.
    assert.ok(failure instanceof WorkerCrashedError || failure instanceof RangeError, String(failure));
    assert.match((failure as Error).message, /thrown from a timer/);
    assert.deepEqual(await Promise.all(others), [0, 1, 2, 3]);
    assert.equal(await pool.submit(() => "alive"), "alive");
  });

  test("out of memory under resourceLimits fails the task with WorkerCrashedError; the pool keeps working", LONG, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const hog = pool.submit({ module: here, export: "allocateForever" });
    const fine = pool.submit(async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return x;
    }, 7);
    await assertAllSettle([hog, fine], 50_000);
    await assert.rejects(hog.result(), (error: unknown) => {
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.match(error.message, /memory/i);
      return true;
    });
    assert.equal(await fine, 7);
    assert.equal(await pool.submit((x: number) => x * 2, 21), 42);
  });

  test("a crash inside a chunk of map fails map at that chunk's position", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    const yielded: number[] = [];
    await assert.rejects(async () => {
      for await (const value of pool.map(
        (x: number) => {
          if (x === 5) process.exit(9);
          return x;
        },
        Array.from({ length: 12 }, (_, i) => i),
        { chunksize: 2 },
      )) {
        yielded.push(value);
      }
    }, (error: unknown) => error instanceof WorkerCrashedError && /\b9\b/.test(error.message));
    assert.deepEqual(yielded, [0, 1, 2, 3]);
    assert.deepEqual(await collect(pool.map((x: number) => x, [1, 2, 3])), [1, 2, 3]);
  });

  test("a storm of crashes of every kind among normal tasks: each crash fails its own task only, none stays pending", LONG, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, threadNamePrefix: "storm" });
    const futures: Future<number>[] = [];
    for (let i = 0; i < 40; i++) {
      futures.push(
        pool.submit(async (x: number) => {
          if (x % 10 === 3) process.exit(7);
          if (x % 10 === 6) {
            setTimeout(() => {
              throw new Error(`timer ${x}`);
            }, 1);
            await new Promise(() => {});
          }
          if (x % 10 === 8) throw new RangeError(`plain failure ${x}`);
          return x;
        }, i),
      );
    }
    await assertAllSettle(futures, 50_000);
    for (let i = 0; i < futures.length; i++) {
      const result = await outcome(futures[i]);
      if (i % 10 === 3) assert.ok(!result.ok && result.error instanceof WorkerCrashedError && /\b7\b/.test(result.error.message), `task ${i}: ${String(!result.ok && result.error)}`);
      else if (i % 10 === 6) assert.ok(!result.ok && new RegExp(`timer ${i}\\b`).test(String((result.error as Error).message)), `task ${i}: ${String(!result.ok && result.error)}`);
      else if (i % 10 === 8) assert.ok(!result.ok && result.error instanceof RangeError && !(result.error instanceof WorkerCrashedError), `task ${i}`);
      else assert.deepEqual(result, { ok: true, value: i }, `task ${i}`);
    }
    assert.ok(poolThreads("storm").length <= 2, "crashed workers were replaced, not added");
    for await (const future of asCompleted([pool.submit(() => 1), pool.submit(() => 2)], { timeout: 20_000 })) assert.ok(future.done());
  });

  // --------------------------------------------------------- the process, from outside

  test("the process exits by itself once the futures are done, without shutdown (child process)", T, async () => {
    const run = await runFixture("pool-exit.mjs");
    assertClean(run);
    assert.match(run.stdout, /^results 0,1,4,9,16$/m);
    assert.match(run.stdout, /^module 42$/m);
    assert.match(run.stdout, /^callback 99$/m, "a task nobody awaits still completes before the process exits");
    assert.match(run.stdout, /^main done$/m);
  });

  test("crashing workers print no 'Exception in thread' and the process still exits by itself (child process)", LONG, async () => {
    const run = await runFixture("pool-crash-quiet.mjs", [], 50_000);
    assertClean(run);
    assert.match(run.stdout, /^exit: WorkerCrashedError .*\b3\b/m);
    assert.match(run.stdout, /^timer: (WorkerCrashedError|Error) .*from a timer/m);
    assert.match(run.stdout, /^oom: WorkerCrashedError/m);
    assert.match(run.stdout, /^after: 42$/m);
    assert.doesNotMatch(run.stderr, /Exception in thread/);
  });

  test("the seed's example: map(task, range(5)) in a `with` block prints Processing 0..4, in order with one worker (child process)", LONG, async () => {
    // One worker takes the tasks in submission order and runs them one at a time, and a
    // thread's output goes straight to the process's stdout: the order is guaranteed.
    const ordered = await runFixture("map-prints.mjs", ["1"]);
    assertClean(ordered);
    assert.equal(ordered.stdout, "Processing 0\nProcessing 1\nProcessing 2\nProcessing 3\nProcessing 4\n");
    assert.equal(ordered.stderr, "");
    // With 3 workers (the example's max_workers=3) the order between workers is theirs, as
    // in Python; every line comes out once and whole.
    const parallel = await runFixture("map-prints.mjs", ["3"]);
    assertClean(parallel);
    assert.deepEqual(parallel.stdout.split("\n").sort(), ["", "Processing 0", "Processing 1", "Processing 2", "Processing 3", "Processing 4"]);
  });

  test("AbortSignal per task: aborting a pending task cancels it (it never runs)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const gate = new Event();
    const ran = new SharedValue("int32", 0);
    const blocker = pool.submit((g: Event) => void g.waitSync(), gate);
    const controller = new AbortController();
    const pending = pool.submit((_signal: AbortSignal, count: SharedValue<"int32">) => count.add(1), controller.signal, ran);
    controller.abort();
    assert.equal(pending.cancelled(), true);
    await assert.rejects(Promise.resolve(pending.result()), CancelledError);
    gate.set();
    await blocker;
    await pool.submit(() => 0); // the queue has moved past the cancelled task
    assert.equal(ran.value, 0);
  });

  test("AbortSignal per task: an already aborted signal cancels at once", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const controller = new AbortController();
    controller.abort();
    const future = pool.submit((_signal: AbortSignal) => 1, controller.signal);
    await assert.rejects(Promise.resolve(future.result()), CancelledError);
  });

  test("AbortSignal per task: a running task that listens receives the abort", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
    const started = new Event();
    const controller = new AbortController();
    const future = pool.submit(
      (signal: AbortSignal, began: Event) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => resolve("ran to the end"), 20_000);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
          began.set();
        }),
      controller.signal,
      started,
    );
    await started.wait({ timeout: 20_000 });
    assert.equal(future.running(), true);
    controller.abort();
    await assert.rejects(Promise.resolve(future.result()), (error: unknown) => error instanceof Error && error.name === "AbortError");
    assert.equal(await pool.submit((x: number) => x + 1, 41), 42);
  });

  test("a worker that dies taking a task (out of memory decoding its arguments) fails that task, not hangs it", LONG, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    assert.equal(await pool.submit((x: number) => x + 1, 1), 2);
    // Decoding two million objects does not fit a 16 MB heap: the worker dies after taking
    // the task from the queue and before it could mark it as its own.
    const big = Array.from({ length: 2_000_000 }, (_, i) => ({ i, s: `v${i}` }));
    const future = pool.submit((items: unknown[]) => items.length, big);
    const { notDone } = await wait([future], { timeout: 40_000 });
    assert.equal(notDone.size, 0, "the future stayed pending");
    await assert.rejects(Promise.resolve(future.result()), WorkerCrashedError);
    assert.equal(await pool.submit((x: number) => x * 2, 21), 42);
  });
}
