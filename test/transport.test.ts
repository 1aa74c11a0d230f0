/**
 * What crosses a thread boundary (API.md, "Shipping code to a thread" and "Conventions"):
 * arguments and results are structured-cloned, weft's shared objects arrive live wherever
 * they sit, what cannot be sent is a TypeError naming its path, and errors arrive as the
 * same class with the thread's name and stack.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BrokenBarrierError,
  Event,
  Lock,
  MainThreadBlockingError,
  RuntimeError,
  SharedValue,
  Thread,
  TimeoutError,
  ValueError,
  WorkerCrashedError,
  isMainThread,
  setExcepthook,
  type SendableArgs,
} from "weft-threads";

// A module target that builds objects with weft's own classes.
export async function makeHeldLock(): Promise<{ nested: [{ lock: Lock }] }> {
  const lock = new Lock();
  lock.acquireSync();
  return { nested: [{ lock }] };
}

const T = { timeout: 20_000 };

async function run<R, A extends unknown[]>(target: (...args: A) => R | Promise<R>, ...args: SendableArgs<A>): Promise<Thread<R, A>> {
  const thread = new Thread<R, A>({ target, args });
  thread.start();
  await thread.join();
  return thread;
}

function echo(value: unknown): unknown {
  return value;
}

if (isMainThread) {
  setExcepthook(() => {}); // failing threads are expected here; the tests read thread.error
  registerTests();
}

function registerTests(): void {
  // ------------------------------------------------------------------ plain values

  test("structured-cloneable values make the round trip unchanged", T, async () => {
    const cyclic: Record<string, unknown> = { name: "cycle" };
    cyclic.self = cyclic;
    const values: unknown[] = [
      undefined,
      null,
      true,
      0,
      -0,
      Number.NaN,
      Infinity,
      2n ** 70n,
      "ünïcödé ✓ 𝄞",
      "",
      [1, [2, [3, [4]]]],
      [1, , 3], // eslint-disable-line no-sparse-arrays
      { a: { b: { c: "deep" } }, list: [{ x: 1 }] },
      new Date(1_700_000_000_000),
      /weft+/gi,
      new Map<unknown, unknown>([
        ["k", 1],
        [{ objectKey: true }, [2]],
      ]),
      new Set([1, "two", { three: 3 }]),
      new Float64Array([1.5, -2.5]),
      new Uint8Array([1, 2, 255]),
      new ArrayBuffer(8),
    ];
    for (const value of values) {
      const thread = await run(echo, value);
      assert.equal(thread.error, undefined, `echo of ${String(value)}`);
      assert.deepEqual(thread.result, value);
    }
    const cycle = (await run(echo, cyclic)).result as Record<string, unknown>;
    assert.equal(cycle.self, cycle, "a cycle arrives as a cycle");
  });

  test("values are copies: the thread's changes do not reach the caller", T, async () => {
    const original = { list: [1, 2, 3] };
    const thread = await run((o: { list: number[] }) => {
      o.list.push(4);
      return o.list.length;
    }, original);
    assert.equal(thread.result, 4);
    assert.deepEqual(original.list, [1, 2, 3]);
  });

  test("a SharedArrayBuffer is shared, not copied", T, async () => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const thread = await run((c: Int32Array) => {
      Atomics.store(c, 1, 99);
      return c.buffer instanceof SharedArrayBuffer;
    }, cells);
    assert.equal(thread.result, true);
    assert.equal(cells[1], 99);
  });

  test("class instances arrive as plain data (structured cloning keeps no prototypes)", T, async () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const thread = await run((p: Point) => ({ proto: Object.getPrototypeOf(p) === Object.prototype, x: p.x, y: p.y }), new Point(1, 2));
    assert.deepEqual(thread.result, { proto: true, x: 1, y: 2 });
  });

  test("an Error passed as data (not thrown) arrives as an error", T, async () => {
    const thread = await run((e: Error) => [e instanceof Error, e.message], new TypeError("as data"));
    assert.deepEqual(thread.result, [true, "as data"]);
  });

  // -------------------------------------------------------------- what cannot be sent

  test("unsendable arguments are refused at start() with their path", T, () => {
    const cases: [unknown[], RegExp][] = [
      [[() => 1], /^args\[0\]: functions cannot be sent to a thread/],
      [[{ callback() {} }], /^args\[0\]\.callback: functions cannot be sent to a thread/],
      [[0, { deep: { deeper: [1, 2, () => 3] } }], /^args\[1\]\.deep\.deeper\[2\]: functions/],
      [[{ "odd key": () => 0 }], /^args\[0\]\["odd key"\]: functions/],
      [[new Map([["k", () => 0]])], /^args\[0\]\.get\("k"\): functions/],
      [[new Map([[() => 0, "v"]])], /^args\[0\]\.<key 0>: functions/],
      [[new Set([1, Symbol("s")])], /^args\[0\]\.<item 1>: symbols cannot be sent/],
      [[Symbol.iterator], /^args\[0\]: symbols/],
      [[Promise.resolve()], /^args\[0\]: a Promise cannot be sent/],
      [[new WeakMap()], /^args\[0\]: a WeakMap cannot be sent/],
      [[{ set: new WeakSet() }], /^args\[0\]\.set: a WeakSet cannot be sent/],
      [[new WeakRef({})], /^args\[0\]: a WeakRef cannot be sent/],
    ];
    for (const [args, pattern] of cases) {
      const thread = new Thread({ target: (..._: unknown[]) => 0, args });
      assert.throws(() => thread.start(), (e: unknown) => e instanceof TypeError && pattern.test(e.message), String(pattern));
      assert.equal(thread.ident, null);
    }
  });

  test("a cycle in the arguments is fine, and so is a shared object inside it", T, async () => {
    const lock = new Lock();
    const box: Record<string, unknown> = { lock };
    box.self = box;
    const thread = await run(
      (b: Record<string, unknown>) => {
        const l = b.lock as Lock;
        return [b.self === b, l.acquireSync({ blocking: false })];
      },
      box,
    );
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, [true, true]);
    assert.equal(lock.locked(), true, "the thread took the caller's lock");
    lock.release();
  });

  test("an unsendable result is the thread's error, naming the result", T, async () => {
    const fn = await run(() => [1, { nested: Symbol("nope") }]);
    assert.ok(fn.error instanceof TypeError, String(fn.error));
    assert.match((fn.error as Error).message, /^result\[1\]\.nested: symbols cannot be sent/);
    const weak = await run(() => new WeakMap());
    assert.match((weak.error as Error).message, /^result: a WeakMap cannot be sent/);
  });

  // ------------------------------------------------------------ shared objects, live

  test("shared objects arrive live wherever they sit in the arguments", T, async () => {
    const locks = [new Lock(), new Lock(), new Lock(), new Lock()];
    const args = {
      inObject: { deep: { lock: locks[0] } },
      inArray: [0, [locks[1]]],
      inMap: new Map([["key", locks[2]]]),
      inSet: new Set([locks[3]]),
    };
    const thread = await run(async (a: typeof args) => {
      const { Lock } = await import("weft-threads");
      const found = [a.inObject.deep.lock, (a.inArray[1] as Lock[])[0], a.inMap.get("key") as Lock, [...a.inSet][0]];
      return found.map((l) => l instanceof Lock && l.acquireSync({ blocking: false }));
    }, args);
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, [true, true, true, true]);
    for (const lock of locks) {
      assert.equal(lock.locked(), true);
      lock.release();
    }
  });

  test("the same lock passed twice is one lock on the other side", T, async () => {
    const lock = new Lock();
    const thread = await run((a: Lock, b: Lock) => {
      a.acquireSync();
      const second = b.acquireSync({ blocking: false });
      a.release();
      return second;
    }, lock, lock);
    assert.equal(thread.error, undefined);
    assert.equal(thread.result, false, "b is held because a is");
    assert.equal(lock.locked(), false);
  });

  test("a lock made in a thread and returned in the result is live in the caller", T, async () => {
    const thread = new Thread({ target: { module: import.meta.url, export: "makeHeldLock" } });
    thread.start();
    await thread.join();
    assert.equal(thread.error, undefined);
    const { lock } = (thread.result as { nested: [{ lock: Lock }] }).nested[0];
    assert.ok(lock instanceof Lock);
    assert.equal(lock.locked(), true, "held by the thread that made it");
    lock.release();
    assert.equal(lock.locked(), false);
    assert.equal(await lock.acquire({ blocking: false }), true);
    lock.release();
  });

  test("a shared object in a thrown error's properties arrives live", T, async () => {
    const lock = new Lock();
    const thread = await run((l: Lock) => {
      l.acquireSync();
      throw Object.assign(new Error("holding"), { lock: l });
    }, lock);
    const error = thread.error as Error & { lock: Lock };
    assert.ok(error instanceof Error);
    assert.ok(error.lock instanceof Lock);
    assert.equal(error.lock.locked(), true);
    error.lock.release();
    assert.equal(lock.locked(), false);
  });

  test("other shared kinds (Event, SharedValue) arrive live too", T, async () => {
    const event = new Event();
    const value = new SharedValue("int32", 5);
    const thread = await run(
      (box: { event: Event; counter: SharedValue }) => {
        box.counter.add(10);
        box.event.set();
        return box.counter.value;
      },
      { event, counter: value },
    );
    assert.equal(thread.error, undefined);
    assert.equal(thread.result, 15);
    assert.equal(value.value, 15);
    assert.equal(event.isSet(), true);
  });

  // --------------------------------------------------------------------------- errors

  test("every built-in and weft error class arrives as itself", T, async () => {
    const classes: [string, new (message: string) => Error][] = [
      ["Error", Error],
      ["TypeError", TypeError],
      ["RangeError", RangeError],
      ["SyntaxError", SyntaxError],
      ["ReferenceError", ReferenceError],
      ["EvalError", EvalError],
      ["URIError", URIError],
      ["RuntimeError", RuntimeError],
      ["ValueError", ValueError],
      ["MainThreadBlockingError", MainThreadBlockingError],
      ["BrokenBarrierError", BrokenBarrierError],
      ["TimeoutError", TimeoutError],
      ["WorkerCrashedError", WorkerCrashedError],
    ];
    for (const [name, cls] of classes) {
      const thread = new Thread({
        name: `raises-${name}`,
        target: async function raise(className: string) {
          const weft = (await import("weft-threads")) as unknown as Record<string, new (m: string) => Error>;
          const Cls = weft[className] ?? (globalThis as unknown as Record<string, new (m: string) => Error>)[className];
          throw new Cls(`a ${className}`);
        },
        args: [name],
      });
      thread.start();
      await thread.join();
      const error = thread.error as Error;
      assert.ok(error instanceof cls, `${name}: got ${String(error)}`);
      assert.equal(error.name, name);
      assert.equal(error.constructor, cls);
      assert.match(error.message, new RegExp(`^a ${name} \\[in thread "raises-${name}"\\]$`));
      assert.match(error.stack ?? "", /at raise/);
      assert.match(error.stack ?? "", new RegExp(`raises-${name}`));
    }
  });

  test("ValueError from a thread is also a RangeError; BrokenBarrierError also a RuntimeError", T, async () => {
    const value = await run(async () => {
      const { ValueError } = await import("weft-threads");
      throw new ValueError("v");
    });
    assert.ok(value.error instanceof ValueError && value.error instanceof RangeError);
    const barrier = await run(async () => {
      const { BrokenBarrierError } = await import("weft-threads");
      throw new BrokenBarrierError("b");
    });
    assert.ok(barrier.error instanceof BrokenBarrierError && barrier.error instanceof RuntimeError);
  });

  test("an AggregateError arrives as one, with its errors", T, async () => {
    const thread = await run(async () => {
      await Promise.any([Promise.reject(new TypeError("first")), Promise.reject(new RangeError("second"))]);
    });
    const error = thread.error as AggregateError;
    assert.ok(error instanceof AggregateError, String(error));
    assert.equal(error.errors.length, 2);
    assert.ok(error.errors[0] instanceof TypeError);
    assert.ok(error.errors[1] instanceof RangeError);
  });

  test("a custom error class keeps its name, message and properties (its class is not known here)", T, async () => {
    const thread = await run(() => {
      class QuotaError extends Error {
        override name = "QuotaError";
        readonly limit = 10;
      }
      throw new QuotaError("over quota");
    });
    const error = thread.error as Error & { limit: number };
    assert.ok(error instanceof Error);
    assert.equal(error.name, "QuotaError");
    assert.match(error.message, /over quota/);
    assert.equal(error.limit, 10);
    assert.match(String(error.stack), /QuotaError/);
  });

  test("an error property that cannot be sent does not lose the error", T, async () => {
    const thread = await run(() => {
      throw Object.assign(new RangeError("with a callback"), { retry: () => 1, code: "E_RETRY" });
    });
    const error = thread.error as RangeError & { code: string; retry: unknown };
    assert.ok(error instanceof RangeError);
    assert.equal(error.code, "E_RETRY");
    assert.equal(typeof error.retry, "string", "the function is described, not sent");
  });

  test("a cause chain keeps each error's class", T, async () => {
    const thread = await run(() => {
      const root = new URIError("root");
      const middle = new TypeError("middle", { cause: root });
      throw new Error("top", { cause: middle });
    });
    const top = thread.error as Error;
    assert.match(top.message, /^top/);
    const middle = top.cause as Error;
    assert.ok(middle instanceof TypeError, String(middle));
    assert.ok(middle.cause instanceof URIError, String(middle.cause));
  });

  test("an AbortError (a DOMException) keeps its name", T, async () => {
    const thread = await run(() => {
      throw AbortSignal.abort().reason;
    });
    const error = thread.error as Error;
    assert.ok(error instanceof Error);
    assert.equal(error.name, "AbortError");
  });

  // -------------------------------------------------------------------------- targets

  test("functions with default, rest and destructured parameters are rebuilt faithfully", T, async () => {
    const thread = await run(
      function shapes({ a, b = 2 }: { a: number; b?: number }, [c, ...rest]: number[], ...more: string[]) {
        return { a, b, c, rest, more };
      },
      { a: 1 },
      [3, 4, 5],
      "x",
      "y",
    );
    assert.deepEqual(thread.result, { a: 1, b: 2, c: 3, rest: [4, 5], more: ["x", "y"] });
  });

  test("a static class method is a valid target", T, async () => {
    class Jobs {
      static triple(n: number): number {
        return n * 3;
      }
    }
    const thread = await run(Jobs.triple, 7);
    assert.equal(thread.error, undefined);
    assert.equal(thread.result, 21);
  });

  test("the same function source is reused across threads without confusion between different functions", T, async () => {
    const results: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      results.push((await run((n: number) => n + 1, i)).result);
      results.push((await run((n: number) => n - 1, i)).result);
    }
    assert.deepEqual(results, [1, -1, 2, 0, 3, 1, 4, 2, 5, 3]);
  });
}
