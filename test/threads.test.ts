/**
 * Behaviour of Thread and the threading functions (API.md, "threading" and "Shipping code
 * to a thread").
 *
 * This file is also a module target: the exports below are run in threads through
 * `{ module: import.meta.url, export }`, so every test is registered under
 * `if (isMainThread)`, as the contract asks of any module a thread imports.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import { test } from "node:test";
import {
  Lock,
  MainThreadBlockingError,
  RuntimeError,
  Thread,
  ValueError,
  WorkerCrashedError,
  activeCount,
  configure,
  currentThread,
  enumerate,
  getIdent,
  isMainThread,
  mainThread,
  setExcepthook,
  sleep,
  sleepSync,
  type ExceptHookArgs,
  type ThreadHandle,
} from "weft-threads";
import { assertClean, runFixture, until } from "./helpers/common.js";

// ---------------------------------------------------------------------------------------
// Module targets (run inside threads). They may use this module's imports.

export function addInModule(a: number, b: number): number {
  return a + b;
}

export async function describeSelf(tag: string): Promise<{ tag: string; name: string; ident: number | null; main: boolean }> {
  await sleep(5);
  const me = currentThread();
  return { tag, name: me.name, ident: me.ident, main: isMainThread };
}

export function throwValueError(): never {
  throw new ValueError("bad value from a module target");
}

export const notAFunction = 42;

// ---------------------------------------------------------------------------------------

const T = { timeout: 20_000 };
const fixtures = new URL("../../test/fixtures/", import.meta.url);
const targetsUrl = new URL("targets.mjs", fixtures);

/** A flag in shared memory that a thread can wait on: cells[0] = released, cells[1] = thread arrived. */
function makeGate(): { cells: Int32Array; open(): void } {
  const cells = new Int32Array(new SharedArrayBuffer(8));
  return {
    cells,
    open() {
      Atomics.store(cells, 0, 1);
      Atomics.notify(cells, 0);
    },
  };
}

/** A target that marks its arrival, then blocks until the gate opens. Self-contained. */
function waitAtGate(cells: Int32Array, value?: unknown): unknown {
  Atomics.store(cells, 1, 1);
  while (Atomics.load(cells, 0) === 0) Atomics.wait(cells, 0, 0, 1000);
  return value;
}

async function runThread<R, A extends unknown[]>(options: ConstructorParameters<typeof Thread<R, A>>[0]): Promise<Thread<R, A>> {
  const thread = new Thread<R, A>(options);
  thread.start();
  await thread.join();
  return thread;
}

/** Runs `node script` with weft's self-reference available; resolves with what it printed. */
function runNode(script: URL, args: string[] = [], killAfterMs = 15_000) {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(script), ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const killer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// Failing threads report to the excepthook; keep them off stderr here, and let tests look.
const reported: ExceptHookArgs[] = [];
const recordingHook = (args: ExceptHookArgs): void => void reported.push(args);

if (isMainThread) {
  setExcepthook(recordingHook);
  registerTests();
}

function registerTests(): void {
  // ----------------------------------------------------------------- function targets

  test("a sync function target runs in another thread and its return value is the result", T, async () => {
    const thread = await runThread({
      target: function work(a: number, b: number) {
        return { sum: a + b, text: `${a}+${b}` };
      },
      args: [40, 2],
    });
    assert.deepEqual(thread.result, { sum: 42, text: "40+2" });
    assert.equal(thread.error, undefined);
    assert.equal(thread.isAlive(), false);
  });

  test("an async function target is awaited", T, async () => {
    const thread = await runThread({
      target: async function slow(x: number) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return x + 1;
      },
      args: [1],
    });
    assert.equal(thread.result, 2);
  });

  test("arrow functions and method shorthand are rebuilt from their source", T, async () => {
    const arrow = await runThread({ target: (s: string) => s.toUpperCase(), args: ["abc"] });
    assert.equal(arrow.result, "ABC");
    const holder = {
      method(n: number): number {
        return n * 3;
      },
    };
    const method = await runThread({ target: holder.method, args: [5] });
    assert.equal(method.error, undefined);
    assert.equal(method.result, 15);
    const asyncArrow = await runThread({ target: async (n: number) => n - 1, args: [5] });
    assert.equal(asyncArrow.result, 4);
  });

  test("a function target may use globals and dynamic import", T, async () => {
    const thread = await runThread({
      target: async function usesImports() {
        const os = await import("node:os");
        const weft = await import("weft-threads");
        return [typeof os.cpus, typeof structuredClone, weft.isMainThread, Math.max(1, 2)];
      },
    });
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, ["function", "function", false, 2]);
  });

  test("a function that reads a variable of its module fails with a ReferenceError and a hint", T, async () => {
    const secretOfThisModule = 41;
    const thread = await runThread({
      target: function peeks() {
        return secretOfThisModule + 1;
      },
    });
    assert.equal(thread.result, undefined);
    const error = thread.error as Error;
    assert.ok(error instanceof ReferenceError, `expected a ReferenceError, got ${String(error)}`);
    assert.match(error.message, /secretOfThisModule/);
    assert.match(error.message, /args/);
    assert.match(error.message, /module target/);
    assert.match(error.message, /Thread-\d+ \(peeks\)/);
  });

  test("a built-in or bound function is refused as a target when the thread is made", T, () => {
    assert.throws(() => new Thread({ target: Math.max }), (e: unknown) => e instanceof TypeError && /options\.target/.test(e.message));
    const bound = function f(this: unknown) {
      return this;
    }.bind(null);
    assert.throws(() => new Thread({ target: bound }), TypeError);
  });

  // ------------------------------------------------------------------- module targets

  test("a module target { module: import.meta.url, export } runs the export", T, async () => {
    const thread = await runThread({ target: { module: import.meta.url, export: "addInModule" }, args: [2, 3] });
    assert.equal(thread.error, undefined);
    assert.equal(thread.result, 5);
    assert.match(thread.name, /^Thread-\d+ \(addInModule\)$/);
  });

  test("a module target sees its module's imports (unlike a function target)", T, async () => {
    const thread = await runThread({ target: { module: import.meta.url, export: "describeSelf" }, args: ["x"] });
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, { tag: "x", name: thread.name, ident: thread.ident, main: false });
  });

  test("a module target may be given as an absolute path or a URL object", T, async () => {
    const byPath = await runThread({ target: { module: fileURLToPath(targetsUrl), export: "double" }, args: [21] });
    assert.equal(byPath.error, undefined);
    assert.equal(byPath.result, 42);
    const byUrl = await runThread({ target: { module: targetsUrl, export: "slowEcho" }, args: ["hi"] });
    assert.equal(byUrl.error, undefined);
    assert.deepEqual(byUrl.result, { value: "hi", thread: byUrl.name });
    const byDefault = await runThread({ target: { module: targetsUrl.href, export: "default" }, args: [7] });
    assert.equal(byDefault.result, "default:7");
  });

  test("a missing export fails the thread with an error naming it", T, async () => {
    const missing = await runThread({ target: { module: import.meta.url, export: "noSuchExport" } });
    assert.ok(missing.error instanceof TypeError);
    assert.match((missing.error as Error).message, /noSuchExport/);
    const notFunction = await runThread({ target: { module: import.meta.url, export: "notAFunction" } });
    assert.ok(notFunction.error instanceof TypeError);
    assert.match((notFunction.error as Error).message, /notAFunction/);
  });

  test("a module that cannot be found fails the thread, not the caller", T, async () => {
    const thread = await runThread({ target: { module: new URL("no-such-module.mjs", fixtures), export: "x" } });
    assert.ok(thread.error instanceof Error);
    assert.match((thread.error as Error).message, /no-such-module/);
  });

  test("a malformed target is a TypeError naming the option", T, () => {
    const bad: unknown[] = [undefined, null, 5, "worker", {}, { module: import.meta.url }];
    for (const target of bad) {
      assert.throws(
        () => new Thread({ target } as never),
        (e: unknown) => e instanceof TypeError && /options\.target/.test(e.message),
        `target ${String(target)}`,
      );
    }
    assert.throws(
      () => new Thread({ target: { module: "relative/path.js", export: "x" } }),
      (e: unknown) => e instanceof TypeError && /options\.target\.module/.test(e.message),
    );
    assert.throws(
      () => new Thread({ target: { module: import.meta.url, export: "" } }),
      (e: unknown) => e instanceof TypeError && /options\.target\.export/.test(e.message),
    );
  });

  // --------------------------------------------------------------------------- errors

  test("an error arrives as the same class, with the thread's name in the message and its stack", T, async () => {
    const thread = await runThread({
      name: "thrower",
      target: function explode() {
        throw new TypeError("boom");
      },
    });
    const error = thread.error as TypeError;
    assert.ok(error instanceof TypeError);
    assert.equal(error.name, "TypeError");
    assert.match(error.message, /boom/);
    assert.match(error.message, /thrower/);
    assert.match(error.stack ?? "", /at explode/, "the thread's own frames are in the stack");
    assert.match(error.stack ?? "", /thrower/);
  });

  test("weft's error classes arrive as themselves (RuntimeError, ValueError which is also a RangeError)", T, async () => {
    const runtime = await runThread({
      target: async function raises() {
        const { RuntimeError } = await import("weft-threads");
        throw new RuntimeError("bad state");
      },
    });
    assert.ok(runtime.error instanceof RuntimeError, String(runtime.error));
    assert.equal((runtime.error as Error).name, "RuntimeError");

    const value = await runThread({ target: { module: import.meta.url, export: "throwValueError" } });
    assert.ok(value.error instanceof ValueError, String(value.error));
    assert.ok(value.error instanceof RangeError);
    assert.match((value.error as Error).message, /bad value from a module target/);

    const range = await runThread({
      target: function ranges() {
        return new Array(-1);
      },
    });
    assert.ok(range.error instanceof RangeError);
  });

  test("custom properties and the cause of an error survive the trip", T, async () => {
    const thread = await runThread({
      target: function failsWithDetail() {
        const error = new Error("with detail", { cause: new RangeError("underlying") }) as Error & Record<string, unknown>;
        error.code = "E_WEFT";
        error.errno = -2;
        error.detail = { path: "/x", tries: [1, 2] };
        throw error;
      },
    });
    const error = thread.error as Error & Record<string, unknown>;
    assert.ok(error instanceof Error);
    assert.equal(error.code, "E_WEFT");
    assert.equal(error.errno, -2);
    assert.deepEqual(error.detail, { path: "/x", tries: [1, 2] });
    assert.ok(error.cause instanceof RangeError, String(error.cause));
    assert.match((error.cause as Error).message, /underlying/);
  });

  test("a thrown non-Error value arrives as that value", T, async () => {
    const cases: unknown[] = ["just a string", 42, { code: "PLAIN", list: [1, 2] }, null];
    for (const value of cases) {
      const thread = await runThread({
        target: function throwsValue(v: unknown) {
          throw v;
        },
        args: [value],
      });
      assert.deepEqual(thread.error, value);
      assert.equal(thread.result, undefined);
    }
  });

  test("an unsendable result fails the thread with an error that says so", T, async () => {
    const fn = await runThread({
      target: function returnsFunction() {
        return { callback: () => 1 };
      },
    });
    assert.ok(fn.error instanceof TypeError, String(fn.error));
    assert.match((fn.error as Error).message, /result\.callback/);
    assert.match((fn.error as Error).message, /functions cannot be sent/);

    // Passes the walk but not structured cloning.
    const proxy = await runThread({
      target: function returnsProxy() {
        return new Proxy({}, {});
      },
    });
    assert.ok(proxy.error instanceof Error, String(proxy.error));
    assert.match((proxy.error as Error).message, /result/);
    assert.match((proxy.error as Error).message, /could not be cloned/);
  });

  // ------------------------------------------------------------------------ arguments

  test("unsendable arguments fail at start() with a TypeError naming the path; nothing starts", T, async () => {
    const before = activeCount();
    const cases: [unknown[], RegExp][] = [
      [[{ callback() {} }], /^args\[0\]\.callback: functions cannot be sent to a thread/],
      [[1, [2, [3, () => 0]]], /^args\[1\]\[1\]\[1\]: functions cannot be sent/],
      [[new Map([["k", () => 0]])], /^args\[0\]\.get\("k"\): functions cannot be sent/],
      [[{ nested: new Map([[1, [Symbol("s")]]]) }], /^args\[0\]\.nested\.get\(1\)\[0\]: symbols cannot be sent/],
      [[{ pending: Promise.resolve(1) }], /^args\[0\]\.pending: a Promise cannot be sent/],
    ];
    for (const [args, message] of cases) {
      const thread = new Thread({ target: function neverRuns(..._: unknown[]) {}, args });
      assert.throws(() => thread.start(), (e: unknown) => e instanceof TypeError && message.test(e.message), String(message));
      assert.equal(thread.ident, null, "a thread whose arguments were refused has no ident");
      assert.equal(thread.nativeId, null);
      assert.equal(thread.isAlive(), false);
      await assert.rejects(thread.join(), RuntimeError, "it was never started");
    }
    assert.equal(activeCount(), before);
  });

  test("a process started with V8 flags a worker refuses (--expose-gc, --max-old-space-size) still starts threads and pool workers, the flags holding there", T, async () => {
    const outcome = await runFixture("v8-flags.mjs", [], 25_000, ["--expose-gc", "--max-old-space-size=512"]);
    assertClean(outcome);
    assert.match(outcome.stdout, /^thread: gc is a function$/m);
    assert.match(outcome.stdout, /^pool: gc is a function$/m);
  });

  test("arguments that pass the checks but not cloning (a MessagePort) also fail at start(), leaving nothing behind", T, async () => {
    const before = activeCount();
    const { port1, port2 } = new MessageChannel();
    try {
      const thread = new Thread({ name: "port-taker", target: function takesPort(p: unknown) {
        return typeof p;
      }, args: [{ port: port1 }] });
      assert.throws(() => thread.start(), (e: unknown) => e instanceof TypeError && /^args/.test(e.message));
      assert.equal(thread.ident, null);
      assert.equal(thread.isAlive(), false);
      assert.equal(activeCount(), before);
      assert.ok(!enumerate().some((t) => t.name === "port-taker"));
      // Threads after it are fine (the carrier it was offered is not wedged).
      const next = await runThread({ target: () => "fine" });
      assert.equal(next.result, "fine");
    } finally {
      port1.close();
      port2.close();
    }
  });

  test("a weft Lock inside the arguments arrives live: the thread holds it and main sees it", T, async () => {
    const lock = new Lock();
    const gate = makeGate();
    const thread = new Thread({
      daemon: true,
      target: function holder(box: { locks: Lock[] }, cells: Int32Array) {
        box.locks[0].acquireSync();
        Atomics.store(cells, 1, 1);
        while (Atomics.load(cells, 0) === 0) Atomics.wait(cells, 0, 0, 1000);
        box.locks[0].release();
        return "released";
      },
      args: [{ locks: [lock] }, gate.cells],
    });
    try {
      thread.start();
      await until(() => Atomics.load(gate.cells, 1) === 1, "the thread to take the lock");
      assert.equal(lock.locked(), true);
      assert.equal(await lock.acquire({ blocking: false }), false);
    } finally {
      gate.open();
    }
    await thread.join();
    assert.equal(thread.error, undefined);
    assert.equal(thread.result, "released");
    assert.equal(lock.locked(), false);
  });

  test("main waits asynchronously for a lock that a thread holds", T, async () => {
    const lock = new Lock();
    const gate = makeGate();
    const thread = new Thread({
      daemon: true,
      target: function holdsBriefly(l: Lock, cells: Int32Array) {
        l.acquireSync();
        Atomics.store(cells, 1, 1);
        Atomics.wait(cells, 0, 0, 100);
        l.release();
      },
      args: [lock, gate.cells],
    });
    thread.start();
    await until(() => Atomics.load(gate.cells, 1) === 1, "the thread to take the lock");
    assert.equal(await lock.acquire({ timeout: 10_000 }), true);
    lock.release();
    await thread.join();
    assert.equal(thread.error, undefined);
  });

  // ------------------------------------------------------------------------ lifecycle

  test("start() twice is a RuntimeError", T, async () => {
    const thread = new Thread({ target: () => 1 });
    thread.start();
    assert.throws(() => thread.start(), (e: unknown) => e instanceof RuntimeError && e.message === "threads can only be started once");
    await thread.join();
    assert.throws(() => thread.start(), RuntimeError, "also once it has finished");
  });

  test("join() before start() is a RuntimeError, and so is joinSync()", T, async () => {
    const thread = new Thread({ target: () => 1 });
    await assert.rejects(thread.join(), RuntimeError);
    assert.throws(() => thread.joinSync(), RuntimeError);
  });

  test("daemon is settable before start() only", T, async () => {
    const thread = new Thread({ target: () => 1 });
    assert.equal(thread.daemon, false, "a thread made on the main thread is not a daemon by default");
    thread.daemon = true;
    assert.equal(thread.daemon, true);
    thread.start();
    assert.throws(() => (thread.daemon = false), RuntimeError);
    assert.equal(thread.daemon, true);
    await thread.join();
    assert.equal(new Thread({ target: () => 1, daemon: true }).daemon, true);
  });

  test("a thread started by a daemon thread is a daemon unless told otherwise, as in Python", T, async () => {
    const thread = await runThread({
      daemon: true,
      target: async function startsChildren() {
        const { Thread } = await import("weft-threads");
        const inherited = new Thread({ target: () => 0 });
        const explicit = new Thread({ target: () => 0, daemon: false });
        inherited.start();
        explicit.start();
        await Promise.all([inherited.join(), explicit.join()]);
        return [inherited.daemon, explicit.daemon];
      },
    });
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, [true, false]);
  });

  test("bad options are TypeErrors naming the option", T, async () => {
    assert.throws(() => new Thread(null as never), TypeError);
    assert.throws(() => new Thread(undefined as never), TypeError);
    assert.throws(() => new Thread({ target: () => 1, args: "x" as never }), /options\.args/);
    assert.throws(() => new Thread({ target: () => 1, name: 5 as never }), /options\.name/);
    assert.throws(() => new Thread({ target: () => 1, daemon: "yes" as never }), /options\.daemon/);
    for (const [options, pattern] of [
      [{ target: () => 1, args: "x" }, /options\.args/],
      [{ target: () => 1, name: 5 }, /options\.name/],
      [{ target: () => 1, daemon: 1 }, /options\.daemon/],
    ] as const) {
      assert.throws(() => new Thread(options as never), (e: unknown) => e instanceof TypeError && pattern.test(e.message));
    }
    const thread = new Thread({ target: () => 1 });
    thread.start();
    await assert.rejects(thread.join("soon" as never), TypeError);
    await assert.rejects(thread.join({ signal: {} as never }), (e: unknown) => e instanceof TypeError && /options\.signal/.test(e.message));
    await thread.join();
    assert.throws(() => (thread.name = 5 as never), TypeError);
  });

  test("a negative or NaN join timeout is a ValueError that is also a RangeError", T, async () => {
    const thread = new Thread({ target: () => 1 });
    thread.start();
    for (const timeout of [-1, Number.NaN, -Infinity]) {
      await assert.rejects(thread.join({ timeout }), (e: unknown) => e instanceof ValueError && e instanceof RangeError && /timeout/.test(e.message));
      assert.throws(() => thread.joinSync({ timeout }), (e: unknown) => e instanceof ValueError && e instanceof RangeError);
    }
    await thread.join({ timeout: Infinity });
    await thread.join({ timeout: 0 });
    assert.equal(thread.result, 1);
  });

  test("join({ timeout }) returns with a long-running thread still alive", T, async () => {
    const gate = makeGate();
    const thread = new Thread({ daemon: true, target: waitAtGate, args: [gate.cells, "done"] });
    try {
      thread.start();
      assert.equal(thread.isAlive(), true);
      await thread.join({ timeout: 50 });
      assert.equal(thread.isAlive(), true);
      assert.equal(thread.result, undefined);
      await thread.join({ timeout: 0 });
      assert.equal(thread.isAlive(), true);
    } finally {
      gate.open();
    }
    await thread.join({ timeout: 15_000 });
    assert.equal(thread.isAlive(), false);
    assert.equal(thread.result, "done");
  });

  test("join({ signal }) rejects with the signal's reason and the thread runs on", T, async () => {
    const gate = makeGate();
    const thread = new Thread({ daemon: true, target: waitAtGate, args: [gate.cells, "finished anyway"] });
    try {
      thread.start();
      const controller = new AbortController();
      const reason = new Error("stop waiting");
      const joining = thread.join({ signal: controller.signal });
      setTimeout(() => controller.abort(reason), 20);
      await assert.rejects(joining, (e: unknown) => e === reason);
      assert.equal(thread.isAlive(), true);
      await assert.rejects(thread.join({ signal: AbortSignal.abort("already") }), (e: unknown) => e === "already");
      assert.equal(thread.isAlive(), true);
    } finally {
      gate.open();
    }
    await thread.join();
    assert.equal(thread.result, "finished anyway");
  });

  test("joinSync() on the main thread throws MainThreadBlockingError naming thread.join()", T, async () => {
    const thread = new Thread({ target: () => 1 });
    thread.start();
    assert.throws(() => thread.joinSync(), (e: unknown) => e instanceof MainThreadBlockingError && /thread\.join\(\)/.test(e.message));
    await thread.join();
  });

  test("joinSync() works on the main thread after configure({ allowMainThreadBlocking: true })", T, async () => {
    configure({ allowMainThreadBlocking: true });
    try {
      const quick = new Thread({
        target: function naps() {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
          return "woke";
        },
      });
      quick.start();
      quick.joinSync();
      assert.equal(quick.isAlive(), false);
      assert.equal(quick.result, "woke");

      const gate = makeGate();
      const slow = new Thread({ daemon: true, target: waitAtGate, args: [gate.cells, "late"] });
      try {
        slow.start();
        slow.joinSync({ timeout: 30 });
        assert.equal(slow.isAlive(), true);
      } finally {
        gate.open();
      }
      slow.joinSync({ timeout: 15_000 });
      assert.equal(slow.isAlive(), false);
      assert.equal(slow.result, "late");

      const failing = new Thread({ target: () => { throw new RangeError("sync join sees errors"); } });
      failing.start();
      failing.joinSync();
      assert.ok(failing.error instanceof RangeError);
    } finally {
      configure({ allowMainThreadBlocking: false });
    }
  });

  test("a thread may start a thread and joinSync it", T, async () => {
    const thread = await runThread({
      target: async function parent(n: number) {
        const { Thread } = await import("weft-threads");
        const child = new Thread({ target: (x: number) => x * 10, args: [n] });
        child.start();
        child.joinSync();
        const asyncChild = new Thread({ target: async (x: number) => x + 1, args: [n] });
        asyncChild.start();
        await asyncChild.join();
        return [child.result, asyncChild.result, child.error ?? null];
      },
      args: [4],
    });
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, [40, 5, null]);
  });

  test("joining the current thread is a RuntimeError", T, async () => {
    await assert.rejects(mainThread().join(), RuntimeError);
    const thread = await runThread({
      target: async function joinsItself() {
        const { currentThread, RuntimeError } = await import("weft-threads");
        try {
          await (currentThread() as unknown as { join(): Promise<void> }).join();
          return "joined?!";
        } catch (error) {
          return error instanceof RuntimeError ? "RuntimeError" : String(error);
        }
      },
    });
    assert.equal(thread.result, "RuntimeError");
  });

  // ------------------------------------------------------------------------- identity

  test("the default name is Thread-N (targetName), N counting up; a custom name is kept", T, async () => {
    const a = new Thread({ target: function alpha() {} });
    const b = new Thread({ target: { module: import.meta.url, export: "addInModule" } });
    const anonymous = [() => 1][0];
    const c = new Thread({ target: anonymous });
    const ma = /^Thread-(\d+) \(alpha\)$/.exec(a.name);
    const mb = /^Thread-(\d+) \(addInModule\)$/.exec(b.name);
    assert.ok(ma, a.name);
    assert.ok(mb, b.name);
    assert.ok(Number(mb[1]) > Number(ma[1]), `${a.name} then ${b.name}`);
    assert.match(c.name, /^Thread-\d+$/);
    const named = await runThread({
      name: "worker-7",
      target: async function reportsName() {
        const { currentThread } = await import("weft-threads");
        return currentThread().name;
      },
    });
    assert.equal(named.name, "worker-7");
    assert.equal(named.result, "worker-7");
    const renamed = new Thread({ target: () => 1 });
    renamed.name = "renamed";
    renamed.start();
    await renamed.join();
    assert.equal(renamed.name, "renamed");
  });

  test("ident and nativeId: null before start, set after, idents unique among live threads", T, async () => {
    const gate = makeGate();
    const threads = Array.from({ length: 5 }, () => new Thread({ daemon: true, target: waitAtGate, args: [gate.cells] }));
    for (const thread of threads) {
      assert.equal(thread.ident, null);
      assert.equal(thread.nativeId, null);
    }
    try {
      for (const thread of threads) thread.start();
      const idents = threads.map((t) => t.ident);
      for (const ident of idents) assert.ok(Number.isInteger(ident) && (ident as number) > 0, String(ident));
      assert.equal(new Set([...idents, mainThread().ident]).size, threads.length + 1);
      const nativeIds = threads.map((t) => t.nativeId);
      for (const id of nativeIds) assert.ok(Number.isInteger(id) && (id as number) > 0, String(id));
      assert.equal(new Set(nativeIds).size, threads.length, "live threads run on distinct workers");
    } finally {
      gate.open();
    }
    await Promise.all(threads.map((t) => t.join()));
  });

  test("join with a signal or a timeout that ends early leaves nothing behind; the thread's end still resolves later joins", T, async () => {
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const gate = makeGate();
    const thread = new Thread({ daemon: true, target: waitAtGate, args: [gate.cells, "done"] });
    thread.start();
    try {
      for (let i = 0; i < 200; i++) {
        const controller = new AbortController();
        const joined = thread.join({ signal: controller.signal });
        controller.abort(new Error("gave up"));
        await assert.rejects(joined, /gave up/);
      }
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 5000; i++) {
        const controller = new AbortController();
        const joined = thread.join({ signal: controller.signal });
        controller.abort(new Error("gave up"));
        await joined.catch(() => {});
      }
      await thread.join({ timeout: 5 });
      assert.equal(thread.isAlive(), true);
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      assert.ok(grown < 2 * 1024 * 1024, `the heap grew by ${(grown / 1024).toFixed(0)} KiB over 5000 abandoned joins`);
      const pending = thread.join({ signal: new AbortController().signal });
      gate.open();
      await pending;
      assert.equal(thread.result, "done");
    } finally {
      gate.open();
    }
  });

  test("warm carriers: a second burst of 6 threads runs on the workers of the first (no start-up, no tear-down)", T, async () => {
    const burst = async (): Promise<number[]> => {
      const threads = Array.from({ length: 6 }, () => new Thread({ target: () => 1 }));
      // Started in one go: a carrier comes back only through this event loop, so the
      // burst takes six of them.
      for (const thread of threads) thread.start();
      await Promise.all(threads.map((t) => t.join()));
      return threads.map((t) => t.nativeId as number);
    };
    const first = await burst();
    const second = await burst();
    assert.equal(new Set(first).size, 6);
    // At least 5 of 6 (a thread of another test ending in between could lend its carrier);
    // keeping only 4 idle carriers, as weft once did, reuses at most 4.
    const reused = second.filter((id) => first.includes(id)).length;
    assert.ok(reused >= 5, `the second burst reused ${reused} of the first burst's 6 workers`);
  });

  test("inside a thread: currentThread(), getIdent(), isMainThread and mainThread() tell the truth", T, async () => {
    const thread = await runThread({
      name: "introspector",
      daemon: true,
      target: async function introspect() {
        const weft = await import("weft-threads");
        const me = weft.currentThread();
        const main = weft.mainThread();
        return {
          name: me.name,
          ident: me.ident,
          nativeId: me.nativeId,
          daemon: me.daemon,
          alive: me.isAlive(),
          getIdent: weft.getIdent(),
          isMainThread: weft.isMainThread,
          mainName: main.name,
          mainIdent: main.ident,
          mainAlive: main.isAlive(),
        };
      },
    });
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, {
      name: "introspector",
      ident: thread.ident,
      nativeId: thread.nativeId,
      daemon: true,
      alive: true,
      getIdent: thread.ident,
      isMainThread: false,
      mainName: "MainThread",
      mainIdent: mainThread().ident,
      mainAlive: true,
    });
  });

  test("on the main thread: MainThread, isMainThread, getIdent()", T, () => {
    assert.equal(isMainThread, true);
    assert.equal(mainThread().name, "MainThread");
    assert.equal(currentThread(), mainThread());
    assert.equal(getIdent(), mainThread().ident);
    assert.equal(mainThread().isAlive(), true);
    assert.equal(mainThread().daemon, false);
  });

  test("enumerate() and activeCount() include running threads and the main thread, and drop finished ones", T, async () => {
    const before = activeCount();
    assert.ok(enumerate().includes(mainThread()));
    assert.equal(enumerate().length, before);
    const gate = makeGate();
    const threads = [0, 1, 2].map((i) => new Thread({ name: `listed-${i}`, daemon: true, target: waitAtGate, args: [gate.cells] }));
    try {
      for (const thread of threads) thread.start();
      assert.equal(activeCount(), before + 3);
      const listed = enumerate();
      assert.equal(listed.length, before + 3);
      assert.ok(listed.includes(mainThread()));
      for (const thread of threads) assert.ok(listed.includes(thread), `${thread.name} is listed as its Thread object`);
    } finally {
      gate.open();
    }
    await Promise.all(threads.map((t) => t.join()));
    assert.equal(activeCount(), before);
    const after = enumerate();
    for (const thread of threads) assert.ok(!after.includes(thread));
    assert.ok(!after.some((t) => t.name.startsWith("listed-")));
  });

  test("enumerate() from inside a thread lists the main thread, itself and its live siblings", T, async () => {
    const gate = makeGate();
    const sibling = new Thread({ name: "sibling", daemon: true, target: waitAtGate, args: [gate.cells] });
    try {
      sibling.start();
      const thread = await runThread({
        name: "looker",
        target: async function looks() {
          const weft = await import("weft-threads");
          return { names: weft.enumerate().map((t) => `${t.name}#${t.ident}`), count: weft.activeCount() };
        },
      });
      assert.equal(thread.error, undefined);
      const { names, count } = thread.result as { names: string[]; count: number };
      assert.ok(names.includes(`MainThread#${mainThread().ident}`), names.join());
      assert.ok(names.includes(`looker#${thread.ident}`), names.join());
      assert.ok(names.includes(`sibling#${sibling.ident}`), names.join());
      assert.equal(count, names.length);
    } finally {
      gate.open();
    }
    await sibling.join();
  });

  // ----------------------------------------------------------------------- excepthook

  test("the excepthook receives { error, thread } before join() resolves", T, async () => {
    const events: string[] = [];
    let seen: ExceptHookArgs | undefined;
    setExcepthook((args) => {
      seen = args;
      events.push("hook");
    });
    try {
      const thread = new Thread({
        target: function fails() {
          throw new SyntaxError("bad syntax, sort of");
        },
      });
      thread.start();
      await thread.join().then(() => events.push("joined"));
      assert.deepEqual(events, ["hook", "joined"]);
      assert.equal(seen?.thread, thread);
      assert.equal(seen?.error, thread.error);
      assert.ok(seen?.error instanceof SyntaxError);
      // No report for a thread that succeeds.
      await runThread({ target: () => "ok" });
      assert.deepEqual(events, ["hook", "joined"]);
    } finally {
      setExcepthook(recordingHook);
    }
  });

  test("a throwing excepthook falls back to the default, which prints to stderr", T, async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    setExcepthook(() => {
      throw new Error("the hook itself failed");
    });
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const thread = await runThread({ name: "hooked-badly", target: () => { throw new Error("original"); } });
      assert.ok(thread.error instanceof Error);
    } finally {
      process.stderr.write = write;
      setExcepthook(recordingHook);
    }
    const output = written.join("");
    assert.match(output, /Exception in thread hooked-badly:/);
    assert.match(output, /the hook itself failed|original/);
  });

  test("setExcepthook(null) restores the default; a non-function is a TypeError", T, async () => {
    assert.throws(() => setExcepthook("hook" as never), TypeError);
    const written: string[] = [];
    const write = process.stderr.write;
    setExcepthook(null);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await runThread({ name: "default-hooked", target: function failsLoudly() { throw new TypeError("loud"); } });
    } finally {
      process.stderr.write = write;
      setExcepthook(recordingHook);
    }
    const output = written.join("");
    assert.match(output, /^Exception in thread default-hooked:\n/);
    assert.match(output, /TypeError: loud/);
    assert.match(output, /at failsLoudly/);
  });

  test("the default excepthook prints to the process's real stderr (child process)", T, async () => {
    const { code, stdout, stderr } = await runNode(new URL("excepthook-default.mjs", fixtures));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /Exception in thread plain-failure:\nTypeError: kaboom/);
    assert.match(stderr, /at failing/);
    assert.match(stderr, /Exception in thread after-reset:\nRangeError: after reset/);
    assert.doesNotMatch(stderr, /custom-only/, "the custom hook's thread was not printed by the default");
    assert.match(stderr, /Exception in thread hook-throws:/);
    assert.match(stdout, /custom hook saw custom-only: Error: custom-only/);
    assert.match(stdout, /main done/);
  });

  // ------------------------------------------------------------------- crashes, exits

  test("process.exit(3) in a thread ends that thread only, quietly, like sys.exit(3); later threads run", T, async () => {
    reported.length = 0;
    const thread = await runThread({
      name: "exiter",
      target: function exits() {
        process.exit(3);
      },
    });
    assert.equal(thread.error, undefined);
    assert.equal(thread.result, undefined);
    assert.equal(thread.isAlive(), false);
    assert.equal(reported.length, 0);
    assert.ok(!enumerate().includes(thread));
    const later = await runThread({ target: (x: number) => x + 1, args: [1] });
    assert.equal(later.result, 2);
  });

  test("process.exit(0) in a thread ends it quietly, like sys.exit()", T, async () => {
    reported.length = 0;
    const thread = await runThread({
      target: function exitsCleanly() {
        process.exit(0);
      },
    });
    assert.equal(thread.error, undefined);
    assert.equal(thread.isAlive(), false);
    assert.equal(reported.length, 0);
  });

  test("an uncaught exception from a timer while the thread runs fails that thread, as its class", T, async () => {
    const thread = await runThread({
      name: "timer-thrower",
      target: async function timerThrows() {
        setTimeout(() => {
          throw new RangeError("thrown from a timer");
        }, 5);
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        return "not reached";
      },
    });
    assert.equal(thread.result, undefined);
    assert.ok(thread.error instanceof RangeError, String(thread.error));
    assert.match((thread.error as Error).message, /thrown from a timer/);
    assert.match((thread.error as Error).message, /timer-thrower/);
    const later = await runThread({ target: () => "still fine" });
    assert.equal(later.result, "still fine");
  });

  test("a timer that throws after its thread returned does not disturb the process or later threads", T, async () => {
    const thread = await runThread({
      target: function leavesBomb() {
        setTimeout(() => {
          throw new Error("late bomb");
        }, 0);
        return "returned";
      },
    });
    assert.equal(thread.error, undefined);
    assert.equal(thread.result, "returned");
    await sleep(100);
    for (let i = 0; i < 5; i++) {
      const later = await runThread({ target: (n: number) => n * n, args: [i] });
      assert.equal(later.result, i * i);
    }
  });

  // ------------------------------------------------------------------------ isolation

  test("a global created by one thread is not visible to the next", T, async () => {
    const first = await runThread({
      target: function setsGlobal() {
        (globalThis as Record<string, unknown>).weftLeak = "leaked";
        return typeof (globalThis as Record<string, unknown>).weftLeak;
      },
    });
    assert.equal(first.result, "string");
    for (let i = 0; i < 4; i++) {
      const next = await runThread({
        target: function readsGlobal() {
          return typeof (globalThis as Record<string, unknown>).weftLeak;
        },
      });
      assert.equal(next.result, "undefined");
    }
    assert.equal((globalThis as Record<string, unknown>).weftLeak, undefined, "nor on the main thread");
  });

  test("an interval left running by a thread does not leak into later threads", T, async () => {
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const first = await runThread({
      target: function leavesInterval(cells: Int32Array) {
        setInterval(() => Atomics.add(cells, 0, 1), 1);
        return "left an interval";
      },
      args: [counter],
    });
    assert.equal(first.result, "left an interval");
    // The interval stops: its worker is retired rather than reused.
    let last = -1;
    await until(() => {
      const now = Atomics.load(counter, 0);
      const stable = now === last;
      last = now;
      return stable;
    }, "the interval to stop");
    await sleep(50);
    const settled = Atomics.load(counter, 0);
    for (let i = 0; i < 4; i++) {
      const later = await runThread({
        target: function listsResources() {
          return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout");
        },
      });
      assert.deepEqual(later.result, [], "no timer from an earlier thread");
      assert.notEqual(later.nativeId, first.nativeId);
    }
    await sleep(50);
    assert.equal(Atomics.load(counter, 0), settled);
  });

  // ----------------------------------------------------------------------------- scale

  test("200 trivial threads started and joined one after another each return the right result", T, async () => {
    for (let i = 0; i < 200; i++) {
      const thread = new Thread({ target: (n: number) => n * 2 + 1, args: [i] });
      thread.start();
      await thread.join();
      assert.equal(thread.result, i * 2 + 1);
      assert.equal(thread.error, undefined);
    }
  });

  test("16 threads at once each return their own result", T, async () => {
    const threads = Array.from({ length: 16 }, (_, i) => new Thread({ target: async (n: number) => `r${n}`, args: [i] }));
    for (const thread of threads) thread.start();
    await Promise.all(threads.map((t) => t.join()));
    assert.deepEqual(
      threads.map((t) => t.result),
      threads.map((_, i) => `r${i}`),
    );
  });

  // ----------------------------------------------------------------------------- sleep

  test("sleep() waits asynchronously; sleepSync() on the main thread names sleep()", T, async () => {
    await sleep(1);
    await assert.rejects(sleep(-1), ValueError);
    await assert.rejects(sleep(1_000, { signal: AbortSignal.abort("cut") }), (e: unknown) => e === "cut");
    assert.throws(() => sleepSync(1), (e: unknown) => e instanceof MainThreadBlockingError && /sleep\(/.test(e.message));
    const thread = await runThread({
      target: async function sleepsSync() {
        const { sleepSync } = await import("weft-threads");
        sleepSync(5);
        return "slept";
      },
    });
    assert.equal(thread.result, "slept");
  });
}
