/**
 * Future, asCompleted and wait (API.md, "concurrent.futures"), driven directly through
 * the internal methods an executor uses (setRunningOrNotifyCancel, setResult,
 * setException, onCancel), so no executor or thread is involved: every state transition,
 * the cancel rules, result/exception with timeouts, the thenable, done callbacks, and the
 * two module-level waits. Timeouts are small and nothing asserts tight timings.
 */
import assert from "node:assert/strict";
import { executorFuture, type ExecutorFuture } from "./helpers/internals.js";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import {
  ALL_COMPLETED,
  asCompleted,
  BrokenExecutorError,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  InvalidStateError,
  RuntimeError,
  TimeoutError,
  ValueError,
  wait,
  type ReturnWhen,
} from "weft-threads";

const T = { timeout: 20_000 };

/** Runs `fn` with process.stderr.write captured; returns what was written. */
async function captureStderr(fn: () => unknown): Promise<string> {
  const original = process.stderr.write;
  let written = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return written;
}

/** Collects everything an async iterable yields. */
async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

function finished<T>(value: T): ExecutorFuture<T> {
  const future = executorFuture<T>();
  future.setResult(value);
  return future;
}

function failed<T = number>(error: unknown): ExecutorFuture<T> {
  const future = executorFuture<T>();
  future.setException(error);
  return future;
}

// ---------------------------------------------------------------------------------------
// Errors

test("errors: the future errors are weft's classes, BrokenExecutorError is a RuntimeError", T, () => {
  assert.equal(new CancelledError("x").name, "CancelledError");
  assert.equal(new InvalidStateError("x").name, "InvalidStateError");
  const broken = new BrokenExecutorError("x");
  assert.equal(broken.name, "BrokenExecutorError");
  assert.ok(broken instanceof RuntimeError);
  assert.ok(broken instanceof Error);
  assert.ok(!(new CancelledError() instanceof RuntimeError));
});

// ---------------------------------------------------------------------------------------
// The state machine

test("Future: PENDING -> RUNNING -> FINISHED with a result", T, async () => {
  const future = executorFuture<number>();
  assert.deepEqual([future.running(), future.done(), future.cancelled()], [false, false, false]);
  assert.match(String(future), /^<Future at 0x[0-9a-f]+ state=pending>$/);

  assert.equal(future.setRunningOrNotifyCancel(), true);
  assert.deepEqual([future.running(), future.done(), future.cancelled()], [true, false, false]);
  assert.match(String(future), /state=running>$/);

  future.setResult(42);
  assert.deepEqual([future.running(), future.done(), future.cancelled()], [false, true, false]);
  assert.match(String(future), /state=finished returned number>$/);
  assert.equal(await future.result(), 42);
  assert.equal(await future.exception(), undefined);
  assert.equal(await future, 42);
});

test("Future: PENDING -> RUNNING -> FINISHED with an exception", T, async () => {
  const future = executorFuture<number>();
  future.setRunningOrNotifyCancel();
  const error = new TypeError("bad");
  future.setException(error);
  assert.deepEqual([future.running(), future.done(), future.cancelled()], [false, true, false]);
  assert.match(String(future), /state=finished raised TypeError>$/);
  await assert.rejects(future.result(), (e) => e === error);
  assert.equal(await future.exception(), error);
  await assert.rejects(async () => {
    await future;
  }, (e) => e === error);
  // Asking again gives the same outcome.
  await assert.rejects(future.result(), (e) => e === error);
});

test("Future: an executor may finish a future straight from PENDING", T, async () => {
  const ok = executorFuture<string>();
  ok.setResult("x");
  assert.equal(await ok, "x");
  const bad = executorFuture<string>();
  bad.setException(new RangeError("r"));
  assert.ok((await bad.exception()) instanceof RangeError);
});

test("Future: any value may be thrown, undefined included", T, async () => {
  const thrownString = failed("boom");
  await assert.rejects(thrownString.result(), (e) => e === "boom");
  assert.equal(await thrownString.exception(), "boom");
  assert.match(String(thrownString), /raised string>$/);

  const thrownUndefined = failed(undefined);
  await assert.rejects(thrownUndefined.result(), (e) => e === undefined);
  assert.equal(await thrownUndefined.exception(), undefined);
  assert.match(String(thrownUndefined), /raised undefined>$/);
});

test("Future: setResult/setException on a done future is an InvalidStateError", T, () => {
  const done = finished(1);
  assert.throws(() => done.setResult(2), InvalidStateError);
  assert.throws(() => done.setException(new Error("late")), InvalidStateError);
  assert.throws(() => done.setResult(2), (e: unknown) => e instanceof Error && e.message.includes("state=finished returned number"));

  const raised = failed(new Error("x"));
  assert.throws(() => raised.setResult(1), InvalidStateError);

  const cancelled = executorFuture<number>();
  cancelled.cancel();
  assert.throws(() => cancelled.setResult(1), InvalidStateError);
  assert.throws(() => cancelled.setException(new Error("x")), InvalidStateError);
  assert.equal(cancelled.cancelled(), true);
});

test("Future: setRunningOrNotifyCancel: true once, false if cancelled, RuntimeError otherwise", T, () => {
  const future = executorFuture<number>();
  assert.equal(future.setRunningOrNotifyCancel(), true);
  assert.throws(() => future.setRunningOrNotifyCancel(), RuntimeError);
  future.setResult(1);
  assert.throws(() => future.setRunningOrNotifyCancel(), RuntimeError);

  const cancelled = executorFuture<number>();
  cancelled.cancel();
  assert.equal(cancelled.setRunningOrNotifyCancel(), false);
  assert.equal(cancelled.setRunningOrNotifyCancel(), false);
  assert.equal(cancelled.running(), false);
  assert.equal(cancelled.cancelled(), true);
});

// ---------------------------------------------------------------------------------------
// cancel

test("Future.cancel: true while pending, and again once cancelled", T, async () => {
  const future = executorFuture<number>();
  assert.equal(future.cancel(), true);
  assert.deepEqual([future.running(), future.done(), future.cancelled()], [false, true, true]);
  assert.match(String(future), /state=cancelled>$/);
  assert.equal(future.cancel(), true);
  await assert.rejects(future.result(), CancelledError);
  await assert.rejects(future.exception(), CancelledError);
  await assert.rejects(async () => {
    await future;
  }, CancelledError);
  // Even a timeout of 0 reports the cancellation, not a timeout.
  await assert.rejects(future.result({ timeout: 0 }), CancelledError);
});

test("Future.cancel: false once running or finished, and the future is unchanged", T, async () => {
  const running = executorFuture<number>();
  running.setRunningOrNotifyCancel();
  assert.equal(running.cancel(), false);
  assert.equal(running.running(), true);
  assert.equal(running.cancelled(), false);
  running.setResult(7);
  assert.equal(running.cancel(), false);
  assert.equal(await running, 7);

  const raised = failed(new Error("x"));
  assert.equal(raised.cancel(), false);
  assert.equal(raised.cancelled(), false);
});

test("Future.cancel: a waiting result() rejects with CancelledError", T, async () => {
  const future = executorFuture<number>();
  const waiting = future.result();
  const waitingException = future.exception({ timeout: 10_000 });
  await delay(5);
  future.cancel();
  await assert.rejects(waiting, CancelledError);
  await assert.rejects(waitingException, CancelledError);
});

test("Future.onCancel: called once when a pending future is cancelled, never otherwise", T, async () => {
  const future = executorFuture<number>();
  let calls = 0;
  future.onCancel = () => calls++;
  future.cancel();
  future.cancel();
  assert.equal(calls, 1);

  const running = executorFuture<number>();
  let runningCalls = 0;
  running.onCancel = () => runningCalls++;
  running.setRunningOrNotifyCancel();
  assert.equal(running.cancel(), false);
  assert.equal(runningCalls, 0);

  const done = executorFuture<number>();
  let doneCalls = 0;
  done.onCancel = () => doneCalls++;
  done.setResult(1);
  assert.equal(done.cancel(), false);
  assert.equal(doneCalls, 0);
});

test("Future.onCancel: a hook that throws is reported; cancel still succeeds and callbacks run", T, async () => {
  const future = executorFuture<number>();
  future.onCancel = () => {
    throw new Error("hook failed");
  };
  let called = false;
  future.addDoneCallback(() => (called = true));
  let result: boolean | undefined;
  const written = await captureStderr(() => (result = future.cancel()));
  assert.equal(result, true);
  assert.equal(called, true);
  assert.equal(future.cancelled(), true);
  assert.match(written, /hook failed/);
});

// ---------------------------------------------------------------------------------------
// result / exception with timeouts

test("Future.result: waits until the result is set", T, async () => {
  const future = executorFuture<string>();
  const waiting = future.result();
  const waitingWithTimeout = future.result({ timeout: 10_000 });
  setTimeout(() => {
    future.setRunningOrNotifyCancel();
    future.setResult("late");
  }, 20);
  assert.equal(await waiting, "late");
  assert.equal(await waitingWithTimeout, "late");
});

test("Future.result/exception: TimeoutError if not done in time; the future stays pending", T, async () => {
  const future = executorFuture<number>();
  const started = performance.now();
  await assert.rejects(future.result({ timeout: 30 }), TimeoutError);
  assert.ok(performance.now() - started >= 25);
  await assert.rejects(future.exception({ timeout: 20 }), TimeoutError);
  await assert.rejects(future.result({ timeout: 0 }), (e: unknown) => {
    return e instanceof TimeoutError && e.message.includes("Future.result()") && e.message.includes("state=pending");
  });
  assert.equal(future.done(), false);
  assert.equal(future.cancelled(), false);
  // It can still run, finish, and be awaited.
  future.setRunningOrNotifyCancel();
  await assert.rejects(future.result({ timeout: 20 }), TimeoutError);
  assert.equal(future.running(), true);
  future.setResult(5);
  assert.equal(await future.result({ timeout: 0 }), 5);
  assert.equal(await future.exception({ timeout: 0 }), undefined);
});

test("Future.exception: waits for the exception", T, async () => {
  const future = executorFuture<number>();
  const waiting = future.exception({ timeout: 10_000 });
  const error = new Error("later");
  setTimeout(() => future.setException(error), 20);
  assert.equal(await waiting, error);
});

test("Future.result/exception: bad options", T, async () => {
  const future = finished(1);
  await assert.rejects(future.result({ timeout: -1 }), ValueError);
  await assert.rejects(future.result({ timeout: Number.NaN }), RangeError);
  await assert.rejects(future.exception({ timeout: -5 }), ValueError);
  await assert.rejects(future.result({ timeout: "10" as unknown as number }), TypeError);
  await assert.rejects(future.result(3 as unknown as object), TypeError);
  await assert.rejects(future.result({ signal: "no" as unknown as AbortSignal }), TypeError);
  assert.equal(await future.result({ timeout: Infinity }), 1);
});

test("Future.result: an aborted signal rejects with its reason and leaves the future alone", T, async () => {
  const future = executorFuture<number>();
  const reason = new Error("enough");
  await assert.rejects(future.result({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
  const controller = new AbortController();
  const waiting = future.result({ signal: controller.signal });
  await delay(5);
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  assert.equal(future.done(), false);
  future.setResult(3);
  assert.equal(await future, 3);
});

// ---------------------------------------------------------------------------------------
// The thenable

test("Future: thenable with Promise.resolve, Promise.all and then(onFulfilled, onRejected)", T, async () => {
  const a = executorFuture<number>();
  const b = executorFuture<string>();
  const both = Promise.all([a, b]);
  a.setResult(1);
  b.setResult("two");
  const [x, y] = await both;
  assert.equal(x + 1, 2);
  assert.equal(y.toUpperCase(), "TWO");
  assert.equal(await Promise.resolve(a), 1);

  assert.equal(await a.then((value) => value * 10), 10);
  const error = new Error("no");
  const bad = failed(error);
  assert.equal(await bad.then(() => "fulfilled", (reason) => reason), error);
  assert.equal(await bad.then(undefined, () => "handled"), "handled");
  await assert.rejects(Promise.resolve(bad), (e) => e === error);

  // An async function that returns a future waits for it.
  const viaAsync = async (): Promise<number> => a;
  assert.equal(await viaAsync(), 1);
});

test("Future: a pending future is awaited until it finishes", T, async () => {
  const future = executorFuture<number[]>();
  setTimeout(() => future.setResult([1, 2]), 10);
  assert.deepEqual(await future, [1, 2]);
});

test("Future: types infer (compile-time checks)", T, async () => {
  const numbers = [finished(1), finished(2)];
  const sum: number = (await numbers[0]!) + (await numbers[1]!.result());
  assert.equal(sum, 3);
  const mixed: Future<unknown>[] = [executorFuture<number>(), executorFuture<string>()];
  assert.equal(mixed.length, 2);
  // In `for await`, each item stays typed as a future (TypeScript would otherwise type it
  // as the future's result, because a Future is a thenable).
  const names = new Map<Future<number>, string>([[numbers[0]!, "one"], [numbers[1]!, "two"]]);
  const order: Future<number>[] = [];
  for await (const future of asCompleted(numbers)) {
    const value: number = await future.result();
    assert.ok(value > 0);
    assert.ok(future instanceof Future);
    assert.ok(future.done());
    order.push(future);
    assert.equal(names.get(future), value === 1 ? "one" : "two");
    assert.ok(numbers.indexOf(future) >= 0);
  }
  assert.deepEqual(order, numbers);
  const { done, notDone } = await wait(numbers);
  const first: Future<number> | undefined = [...done][0];
  assert.ok(first !== undefined && notDone.size === 0);
});

// ---------------------------------------------------------------------------------------
// Done callbacks

test("addDoneCallback: called once with the future, in order, when it finishes", T, async () => {
  const future = executorFuture<number>();
  const calls: string[] = [];
  future.addDoneCallback((f) => calls.push(`a:${f === future}:${f.done()}`));
  future.addDoneCallback(() => calls.push("b"));
  future.addDoneCallback(() => calls.push("c"));
  future.setRunningOrNotifyCancel();
  assert.deepEqual(calls, []);
  future.setResult(1);
  assert.deepEqual(calls, ["a:true:true", "b", "c"]);
  // Nothing runs twice.
  future.cancel();
  assert.throws(() => future.setResult(2), InvalidStateError);
  assert.deepEqual(calls, ["a:true:true", "b", "c"]);
});

test("addDoneCallback: runs at once, synchronously, on a future that is already done", T, async () => {
  for (const future of [finished(1), failed(new Error("x")), (() => {
    const f = executorFuture<number>();
    f.cancel();
    return f;
  })()]) {
    let seen: Future<unknown> | undefined;
    future.addDoneCallback((f) => (seen = f));
    assert.equal(seen, future);
  }
});

test("addDoneCallback: runs on exception and on cancel", T, async () => {
  const raised = executorFuture<number>();
  const cancelled = executorFuture<number>();
  const calls: string[] = [];
  raised.addDoneCallback((f) => calls.push(`raised ${f.done()}`));
  cancelled.addDoneCallback((f) => calls.push(`cancelled ${f.cancelled()}`));
  raised.setException(new Error("x"));
  cancelled.cancel();
  assert.deepEqual(calls, ["raised true", "cancelled true"]);
  assert.ok((await raised.exception()) instanceof Error);
});

test("addDoneCallback: a throwing callback is logged as Python does, and the others still run", T, async () => {
  const future = executorFuture<number>();
  const calls: number[] = [];
  future.addDoneCallback(() => calls.push(1));
  future.addDoneCallback(() => {
    throw new Error("callback broke");
  });
  future.addDoneCallback(() => calls.push(3));
  const written = await captureStderr(() => future.setResult(9));
  assert.deepEqual(calls, [1, 3]);
  assert.match(written, /^exception calling callback for <Future at 0x[0-9a-f]+ state=finished returned number>\n/);
  assert.match(written, /Error: callback broke/);
  assert.equal(await future, 9);

  // Also when added after completion; the exception does not escape addDoneCallback.
  const late = await captureStderr(() =>
    future.addDoneCallback(() => {
      throw new RangeError("late callback broke");
    }),
  );
  assert.match(late, /exception calling callback for <Future/);
  assert.match(late, /RangeError: late callback broke/);

  // A thrown non-Error is shown too.
  const odd = await captureStderr(() =>
    future.addDoneCallback(() => {
      throw { code: 17 };
    }),
  );
  assert.match(odd, /code: 17/);
});

test("addDoneCallback: an async callback that rejects is logged, not an unhandled rejection", T, async () => {
  const future = executorFuture<number>();
  future.addDoneCallback(async () => {
    await delay(1);
    throw new Error("async callback broke");
  });
  const written = await captureStderr(async () => {
    future.setResult(1);
    await delay(30);
  });
  assert.match(written, /exception calling callback for <Future .*state=finished returned number>/);
  assert.match(written, /async callback broke/);
});

test("addDoneCallback: not a function is a TypeError", T, () => {
  const future = executorFuture<number>();
  assert.throws(() => future.addDoneCallback("f" as unknown as () => void), TypeError);
  assert.throws(() => finished(1).addDoneCallback(undefined as unknown as () => void), TypeError);
});

// ---------------------------------------------------------------------------------------
// toString

test("Future.toString: Python's repr, with a distinct number per future", T, () => {
  const a = executorFuture<number>();
  const b = executorFuture<number>();
  const idOf = (f: Future<unknown>): number => Number.parseInt(/0x([0-9a-f]+)/.exec(String(f))![1]!, 16);
  // As Python's id(): distinct while both live, and the same each time a future is shown.
  assert.notEqual(idOf(b), idOf(a));
  assert.equal(idOf(a), idOf(a));
  assert.match(String(finished("s")), /returned string>$/);
  assert.match(String(finished([1])), /returned Array>$/);
  assert.match(String(finished(new Map())), /returned Map>$/);
  assert.match(String(finished({})), /returned Object>$/);
  assert.match(String(finished(Object.create(null))), /returned Object>$/);
  assert.match(String(finished(null)), /returned null>$/);
  assert.match(String(finished(undefined)), /returned undefined>$/);
  assert.match(String(finished(1n)), /returned bigint>$/);
  assert.match(String(finished(() => 1)), /returned Function>$/);
  assert.match(String(failed(new CancelledError("x"))), /raised CancelledError>$/);
  assert.equal(inspect(a), String(a));
  assert.equal(`${a}`, String(a));
});

// ---------------------------------------------------------------------------------------
// No unhandled rejections

const entry = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

function runModule(source: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--input-type=module", "-e", source], { timeout: 15_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
    });
  });
}

test("Future: a failed or cancelled future that nobody awaits does not crash the process", T, async () => {
  const source =
    `const w = await import(${JSON.stringify(entry)});\n` +
    `const a = new w.Future(); a.setException(new Error("never retrieved"));\n` +
    `const b = new w.Future(); b.setRunningOrNotifyCancel(); b.setException(new Error("nor this"));\n` +
    `const c = new w.Future(); c.cancel();\n` +
    `const d = new w.Future(); d.addDoneCallback(() => {}); d.setException(new Error("with a callback"));\n` +
    `const e = new w.Future(); setTimeout(() => e.setException(new Error("later")), 10);\n` +
    `await w.wait([a, b, c, d, e]);\n` +
    `for await (const f of w.asCompleted([a, b, c, d, e])) void f;\n` +
    `await w.wait([a, b, c], { returnWhen: w.FIRST_EXCEPTION });\n` +
    `await new Promise((r) => setTimeout(r, 50));\n` +
    `console.log("ok");\n`;
  const { code, stderr } = await runModule(source);
  assert.equal(stderr, "");
  assert.equal(code, 0);
});

// ---------------------------------------------------------------------------------------
// asCompleted

test("asCompleted: finished futures first in input order, then in the order they complete", T, async () => {
  const done1 = finished(1);
  const pendingA = executorFuture<number>();
  const done2 = failed(new Error("x"));
  const pendingB = executorFuture<number>();
  const cancelledLater = executorFuture<number>();
  const order: Future<number>[] = [];
  setTimeout(() => pendingB.setResult(2), 10);
  setTimeout(() => cancelledLater.cancel(), 25);
  setTimeout(() => pendingA.setException(new Error("y")), 40);
  for await (const future of asCompleted([pendingA, done1, pendingB, done2, cancelledLater])) {
    assert.ok(future instanceof Future, "yields the future itself, not its result");
    order.push(future);
  }
  assert.deepEqual(order, [done1, done2, pendingB, cancelledLater, pendingA]);
});

test("asCompleted: a future given twice is yielded once; no futures yields nothing", T, async () => {
  const a = finished(1);
  const b = executorFuture<number>();
  setTimeout(() => b.setResult(2), 5);
  assert.deepEqual(await drain(asCompleted([a, b, a, b, b])), [a, b]);
  assert.deepEqual(await drain(asCompleted([])), []);
  assert.deepEqual(await drain(asCompleted(new Set([a]))), [a]);
  // Any iterable, e.g. a generator.
  function* gen(): Generator<Future<number>> {
    yield a;
    yield a;
  }
  assert.deepEqual(await drain(asCompleted(gen())), [a]);
});

test("asCompleted: TimeoutError says how many of how many are unfinished, after the finished ones", T, async () => {
  const a = finished(1);
  const b = executorFuture<number>();
  const c = executorFuture<number>();
  const d = executorFuture<number>();
  setTimeout(() => d.setResult(4), 5);
  const seen: Future<number>[] = [];
  await assert.rejects(
    (async () => {
      for await (const future of asCompleted([a, b, c, d, a], { timeout: 50 })) seen.push(future);
    })(),
    (e: unknown) => e instanceof TimeoutError && e.message === "2 (of 4) futures unfinished",
  );
  assert.deepEqual(seen, [a, d]);

  // A timeout of 0 yields what is done, then throws.
  const iterator = asCompleted([a, b], { timeout: 0 });
  assert.deepEqual(await iterator.next(), { done: false, value: a });
  await assert.rejects(iterator.next(), (e: unknown) => e instanceof TimeoutError && e.message === "1 (of 2) futures unfinished");
  // Like a generator that threw, it is over.
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  // No timeout error when everything is done in time.
  assert.deepEqual(await drain(asCompleted([a, d], { timeout: 0 })), [a, d]);
});

test("asCompleted: the timeout counts from the start of iteration, as Python's generator", T, async () => {
  const future = executorFuture<number>();
  const iterator = asCompleted([future], { timeout: 300 });
  await delay(350);
  setTimeout(() => future.setResult(1), 20);
  assert.deepEqual(await iterator.next(), { done: false, value: future });
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
});

test("asCompleted: break ends the iteration; later completions are harmless", T, async () => {
  const a = finished(1);
  const b = executorFuture<number>();
  const c = executorFuture<number>();
  const seen: Future<number>[] = [];
  for await (const future of asCompleted([a, b, c])) {
    seen.push(future);
    break;
  }
  assert.deepEqual(seen, [a]);
  b.setResult(2);
  c.cancel();
  // return() while a next() is waiting ends that next() too.
  const d = executorFuture<number>();
  const iterator = asCompleted([d]);
  const waiting = iterator.next();
  await delay(5);
  assert.deepEqual(await iterator.return!(), { done: true, value: undefined });
  assert.deepEqual(await waiting, { done: true, value: undefined });
  d.setResult(1);
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
});

test("asCompleted: concurrent next() calls are served in order", T, async () => {
  const a = executorFuture<number>();
  const b = executorFuture<number>();
  const iterator = asCompleted([a, b]);
  const first = iterator.next();
  const second = iterator.next();
  const third = iterator.next();
  await new Promise(setImmediate); // the iteration has started: both are pending
  b.setResult(2);
  a.setResult(1);
  assert.deepEqual(await first, { done: false, value: b });
  assert.deepEqual(await second, { done: false, value: a });
  assert.deepEqual(await third, { done: true, value: undefined });
});

test("asCompleted: an aborted signal ends the iteration with its reason", T, async () => {
  const a = finished(1);
  const b = executorFuture<number>();
  const reason = new Error("stop");
  await assert.rejects(asCompleted([a], { signal: AbortSignal.abort(reason) }).next(), (e) => e === reason);
  const controller = new AbortController();
  const seen: Future<number>[] = [];
  setTimeout(() => controller.abort(reason), 10);
  await assert.rejects(
    (async () => {
      for await (const future of asCompleted([a, b], { signal: controller.signal })) seen.push(future);
    })(),
    (e) => e === reason,
  );
  assert.deepEqual(seen, [a]);
  assert.equal(b.done(), false);
});

test("asCompleted: bad arguments are reported at the call", T, () => {
  assert.throws(() => asCompleted(5 as unknown as Future<number>[]), (e: unknown) => e instanceof TypeError && e.message.includes("futures"));
  assert.throws(() => asCompleted(null as unknown as Future<number>[]), TypeError);
  assert.throws(
    () => asCompleted([finished(1), 2 as unknown as Future<number>]),
    (e: unknown) => e instanceof TypeError && e.message.includes("futures[1]"),
  );
  assert.throws(() => asCompleted([], { timeout: -1 }), ValueError);
  assert.throws(() => asCompleted([], { timeout: Number.NaN }), RangeError);
  assert.throws(() => asCompleted([], { timeout: "1" as unknown as number }), TypeError);
  assert.throws(() => asCompleted([], 7 as unknown as object), TypeError);
});

// ---------------------------------------------------------------------------------------
// wait

test("wait: ALL_COMPLETED (the default) waits for every future, failures and cancels included", T, async () => {
  const a = finished(1);
  const b = executorFuture<number>();
  const c = executorFuture<number>();
  const d = executorFuture<number>();
  setTimeout(() => b.setException(new Error("b")), 5);
  setTimeout(() => c.cancel(), 10);
  setTimeout(() => d.setResult(4), 20);
  const { done, notDone } = await wait([a, b, c, d]);
  assert.deepEqual(done, new Set([a, b, c, d]));
  assert.deepEqual(notDone, new Set());
  const explicit = await wait([a, b], { returnWhen: ALL_COMPLETED });
  assert.deepEqual(explicit.done, new Set([a, b]));
});

test("wait: FIRST_COMPLETED returns at the first future done", T, async () => {
  const a = executorFuture<number>();
  const b = executorFuture<number>();
  setTimeout(() => b.setResult(2), 10);
  const { done, notDone } = await wait([a, b], { returnWhen: FIRST_COMPLETED });
  assert.deepEqual(done, new Set([b]));
  assert.deepEqual(notDone, new Set([a]));
  // A cancel counts as done.
  const c = executorFuture<number>();
  setTimeout(() => c.cancel(), 5);
  const second = await wait([a, c], { returnWhen: FIRST_COMPLETED });
  assert.deepEqual(second.done, new Set([c]));
  // Already done: at once, with every future that is done.
  const third = await wait([a, b, c], { returnWhen: FIRST_COMPLETED, timeout: 0 });
  assert.deepEqual(third.done, new Set([b, c]));
  assert.deepEqual(third.notDone, new Set([a]));
});

test("wait: FIRST_EXCEPTION returns at the first failure", T, async () => {
  const ok = finished(1);
  const slow = executorFuture<number>();
  const bad = executorFuture<number>();
  const other = executorFuture<number>();
  setTimeout(() => other.setResult(3), 5);
  setTimeout(() => bad.setException(new Error("bad")), 20);
  const { done, notDone } = await wait([ok, slow, bad, other], { returnWhen: FIRST_EXCEPTION });
  assert.deepEqual(done, new Set([ok, bad, other]));
  assert.deepEqual(notDone, new Set([slow]));
  // A failure already there: at once.
  const again = await wait([slow, bad], { returnWhen: FIRST_EXCEPTION, timeout: 0 });
  assert.deepEqual(again.done, new Set([bad]));
  assert.deepEqual(again.notDone, new Set([slow]));
});

test("wait: FIRST_EXCEPTION with no failure waits for all; a cancel is not an exception", T, async () => {
  const a = executorFuture<number>();
  const b = executorFuture<number>();
  const c = executorFuture<number>();
  setTimeout(() => a.setResult(1), 5);
  setTimeout(() => b.cancel(), 10);
  setTimeout(() => c.setResult(3), 25);
  const { done, notDone } = await wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
  assert.deepEqual(done, new Set([a, b, c]));
  assert.equal(notDone.size, 0);
  assert.equal(c.done(), true);
});

test("wait: a timeout returns what is done so far, without an error", T, async () => {
  const a = finished(1);
  const b = executorFuture<number>();
  for (const returnWhen of [ALL_COMPLETED, FIRST_EXCEPTION] as ReturnWhen[]) {
    const { done, notDone } = await wait([a, b], { returnWhen, timeout: 30 });
    assert.deepEqual(done, new Set([a]));
    assert.deepEqual(notDone, new Set([b]));
  }
  const none = await wait([b], { returnWhen: FIRST_COMPLETED, timeout: 20 });
  assert.deepEqual(none.done, new Set());
  assert.deepEqual(none.notDone, new Set([b]));
  const zero = await wait([a, b], { timeout: 0 });
  assert.deepEqual(zero.notDone, new Set([b]));
  // The future is untouched, and a later wait still sees it finish.
  setTimeout(() => b.setResult(2), 5);
  const later = await wait([a, b], { timeout: 10_000 });
  assert.deepEqual(later.done, new Set([a, b]));
});

test("wait: duplicates count once; no futures return at once", T, async () => {
  const a = finished(1);
  const b = executorFuture<number>();
  setTimeout(() => b.setResult(2), 5);
  const { done, notDone } = await wait([a, b, a, b]);
  assert.deepEqual([...done], [a, b]);
  assert.equal(notDone.size, 0);
  const empty = await wait([]);
  assert.equal(empty.done.size + empty.notDone.size, 0);
  const emptyFirst = await wait([], { returnWhen: FIRST_COMPLETED });
  assert.equal(emptyFirst.done.size, 0);
});

test("wait: an aborted signal rejects with its reason", T, async () => {
  const a = executorFuture<number>();
  const reason = new Error("stop");
  await assert.rejects(wait([a], { signal: AbortSignal.abort(reason) }), (e) => e === reason);
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), 10);
  await assert.rejects(wait([a], { signal: controller.signal }), (e) => e === reason);
  assert.equal(a.done(), false);
  a.setResult(1);
  assert.deepEqual((await wait([a])).done, new Set([a]));
});

test("wait: bad arguments", T, async () => {
  const a = finished(1);
  await assert.rejects(
    wait([a], { returnWhen: "FIRST" as ReturnWhen }),
    (e: unknown) => e instanceof ValueError && e.message.includes("returnWhen") && e.message.includes('"FIRST"'),
  );
  await assert.rejects(wait([a], { returnWhen: 1 as unknown as ReturnWhen }), ValueError);
  await assert.rejects(wait([a], { timeout: -1 }), ValueError);
  await assert.rejects(wait([a], { timeout: Number.NaN }), RangeError);
  await assert.rejects(wait(3 as unknown as Future<number>[]), (e: unknown) => e instanceof TypeError && e.message.includes("futures"));
  await assert.rejects(
    wait([a, Promise.resolve(1) as unknown as Future<number>]),
    (e: unknown) => e instanceof TypeError && e.message.includes("futures[1]"),
  );
  await assert.rejects(wait([a], "x" as unknown as object), TypeError);
  assert.equal(FIRST_COMPLETED, "FIRST_COMPLETED");
  assert.equal(FIRST_EXCEPTION, "FIRST_EXCEPTION");
  assert.equal(ALL_COMPLETED, "ALL_COMPLETED");
});

test("wait/asCompleted: many futures stay fast (linear, not quadratic)", T, async () => {
  const count = 100_000;
  const futures = Array.from({ length: count }, () => executorFuture<number>());
  const waiting = wait(futures);
  const iterator = asCompleted(futures);
  const first = iterator.next();
  futures.forEach((future, i) => future.setResult(i));
  const { done } = await waiting;
  assert.equal(done.size, count);
  assert.equal((await first).value, futures[0]);
  let seen = 1;
  for await (const future of iterator) {
    assert.equal(await future.result(), seen);
    seen++;
  }
  assert.equal(seen, count);
  const failing = Array.from({ length: count }, () => executorFuture<number>());
  const firstException = wait(failing, { returnWhen: FIRST_EXCEPTION });
  failing.forEach((future, i) => (i === count - 1 ? future.setException(new Error("last")) : future.setResult(i)));
  assert.equal((await firstException).notDone.size, 0);
});

// ---------------------------------------------------------------------------------------
// A future is a native promise: every idiom that takes a promise takes it

test("a future is a native Promise: isPromise, Promise.all / allSettled / race / any, catch, finally, assert.rejects", T, async () => {
  const { types } = await import("node:util");
  const ok = executorFuture<number>();
  const bad = executorFuture<number>();
  const slow = executorFuture<number>();
  assert.ok(types.isPromise(ok));
  assert.ok(ok instanceof Future && ok instanceof Promise);
  assert.equal(Promise.resolve(ok), ok, "taken as it is, without a wrapper");
  setTimeout(() => {
    ok.setResult(1);
    bad.setException(new RangeError("bad"));
  }, 1);
  assert.deepEqual(await Promise.all([ok, finished(2)]), [1, 2]);
  const settled = await Promise.allSettled([ok, bad]);
  assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected"]);
  assert.equal(await Promise.race([slow, ok]), 1);
  assert.equal(await Promise.any([bad, ok]), 1);
  assert.equal(await bad.catch((error: unknown) => (error as Error).message), "bad");
  let ran = false;
  assert.equal(await ok.finally(() => (ran = true)), 1);
  assert.ok(ran);
  await assert.rejects(bad, RangeError);
  const cancelled = executorFuture<number>();
  cancelled.cancel();
  await assert.rejects(cancelled, CancelledError);
  // then() gives a plain promise, not a future
  const derived = ok.then((x) => x + 1);
  assert.ok(!(derived instanceof Future));
  assert.equal(await derived, 2);
});

test("a failed or cancelled future nobody asks about is no unhandled rejection", T, async () => {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void seen.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    failed(new Error("nobody asks"));
    const pending = executorFuture<number>();
    pending.setException(new Error("nobody asks either"));
    executorFuture<number>().cancel();
    await delay(20);
    assert.deepEqual(seen, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});
