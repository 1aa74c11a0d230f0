/**
 * Timer (API.md, "threading": Python's `threading.Timer`): it runs its target on a thread of
 * its own after the delay, unless cancelled first; a cancel once the target runs does
 * nothing; it is a Thread (join, isAlive, name "Thread-N", result, error, excepthook).
 *
 * This file is also a module target (the exports below run in timer threads), so the tests
 * are registered under `if (isMainThread)`. No test asserts an upper bound on a duration:
 * only that a timer does not fire early, and that a cancelled one ends (with a generous limit).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { Event, RuntimeError, SharedValue, Thread, Timer, ValueError, isMainThread, setExcepthook, type ExceptHookArgs } from "weft-threads";

export function addInModule(counter: SharedValue<"int32">, a: number, b: number): number {
  counter.add(1);
  return a + b;
}

export function failInModule(): never {
  throw new ValueError("a timer's target failed");
}

const T = { timeout: 30_000 };
const here = import.meta.url;
/** A hang guard for joins, not a timing assertion. */
const GUARD = { timeout: 20_000 };

if (isMainThread) registerTests();

function registerTests(): void {
  test("a Timer runs its target after the delay (not before) on a thread of its own, and is a Thread", T, async () => {
    const ran = new SharedValue("int32", 0);
    const timer = new Timer(60, (counter: SharedValue<"int32">, x: number) => {
      counter.add(1);
      return x * 2;
    }, [ran, 21]);
    assert.ok(timer instanceof Thread);
    assert.equal(timer.interval, 60);
    assert.match(timer.name, /^Thread-\d+$/, "Python's Timer is named Thread-N, without a target name");
    assert.match(inspect(timer), /^<Timer\(Thread-\d+, initial\)>$/);
    const started = performance.now();
    timer.start();
    assert.equal(timer.isAlive(), true);
    await timer.join(GUARD);
    const elapsed = performance.now() - started;
    assert.equal(timer.isAlive(), false);
    assert.equal(ran.value, 1);
    assert.equal(timer.result, 42);
    assert.ok(elapsed >= 59, `the timer fired after ${elapsed.toFixed(1)} ms, before its 60 ms`);
    assert.throws(() => timer.start(), RuntimeError);
  });

  test("a module export is a target too; a Timer of 0 ms fires at once", T, async () => {
    const ran = new SharedValue("int32", 0);
    const timer = new Timer(0, { module: here, export: "addInModule" }, [ran, 40, 2]);
    timer.start();
    await timer.join(GUARD);
    assert.equal(timer.result, 42);
    assert.equal(ran.value, 1);
  });

  test("cancel() while it waits: the target never runs and the thread ends without waiting the delay out", T, async () => {
    const ran = new SharedValue("int32", 0);
    const timer = new Timer(60_000, (counter: SharedValue<"int32">) => counter.add(1), [ran]);
    timer.start();
    timer.cancel();
    await timer.join(GUARD);
    assert.equal(timer.isAlive(), false, "the cancelled timer's thread still waits");
    assert.equal(ran.value, 0);
    assert.equal(timer.result, undefined);
    assert.equal(timer.error, undefined);
    timer.cancel(); // again, after the end: nothing happens
  });

  test("cancel() before start(): the timer ends as soon as it starts, without running the target", T, async () => {
    const ran = new SharedValue("int32", 0);
    const timer = new Timer(10, (counter: SharedValue<"int32">) => counter.add(1), [ran]);
    timer.cancel();
    timer.start();
    await timer.join(GUARD);
    assert.equal(timer.isAlive(), false);
    assert.equal(ran.value, 0);
  });

  test("cancel() once the target runs does nothing: it runs to its end", T, async () => {
    const began = new Event();
    const gate = new Event();
    const timer = new Timer(0, (b: Event, g: Event) => {
      b.set();
      if (!g.waitSync({ timeout: 20_000 })) throw new Error("the gate was never opened");
      return "ran to the end";
    }, [began, gate]);
    timer.start();
    assert.equal(await began.wait({ timeout: 20_000 }), true);
    timer.cancel();
    gate.set();
    await timer.join(GUARD);
    assert.equal(timer.result, "ran to the end");
  });

  test("a target that throws: thread.error holds it and the excepthook gets it, as for any thread", T, async () => {
    const seen: ExceptHookArgs[] = [];
    setExcepthook((args) => seen.push(args));
    try {
      const timer = new Timer(0, { module: here, export: "failInModule" });
      timer.start();
      await timer.join(GUARD);
      assert.ok(timer.error instanceof ValueError, String(timer.error));
      assert.match((timer.error as Error).message, /a timer's target failed/);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].thread, timer);
      // A shipped function that reads a variable of its module gets the usual hint.
      const closure = new Timer(0, () => here.length);
      closure.start();
      await closure.join(GUARD);
      assert.ok(closure.error instanceof ReferenceError, String(closure.error));
      assert.match((closure.error as Error).message, /args|module target/);
    } finally {
      setExcepthook(null);
    }
  });

  test("bad arguments: TypeError / ValueError at the call; unsendable args at start(), naming their path", T, () => {
    const noop = (): void => {};
    assert.throws(() => new Timer(-1, noop), ValueError);
    assert.throws(() => new Timer(NaN, noop), RangeError);
    assert.throws(() => new Timer("10" as never, noop), TypeError);
    assert.throws(() => new Timer(10, 42 as never), (error: unknown) => error instanceof TypeError && /target/.test(error.message));
    assert.throws(() => new Timer(10, noop, "args" as never), (error: unknown) => error instanceof TypeError && /args/.test(error.message));
    const unsendable = new Timer(10, (_f: unknown) => 1, [() => 2]);
    assert.throws(() => unsendable.start(), (error: unknown) => error instanceof TypeError && /args\[0\]/.test(error.message));
    assert.equal(unsendable.isAlive(), false);
    // Types: the args follow the target.
    const typeChecksOnly = (): void => {
      // @ts-expect-error a string where the target takes a number
      new Timer(10, (n: number) => n, ["x"]);
      const typed: Timer<number, [number]> = new Timer(10, (n: number) => n + 1, [1]);
      const result: number | undefined = typed.result;
      void result;
    };
    void typeChecksOnly;
  });
}
