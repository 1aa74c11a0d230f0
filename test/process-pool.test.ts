/**
 * ProcessPoolExecutor against real child processes (API.md, "concurrent.futures" and
 * "multiprocessing"): submit with both target kinds, errors arriving as their class with
 * the remote stack, map (order, chunks, several iterables), cancel, shutdown, `await
 * using`, the options (initializer, task quota), arguments that cannot reach a process,
 * and workers that die in a task: each fails only that task, and the pool goes on.
 *
 * Module targets live in helpers/process-targets.ts (a test file imported in a child would
 * register its tests there). The machine running these is small and loaded: no test
 * asserts a duration.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { inspect } from "node:util";
import { MessageChannel } from "node:worker_threads";
import { assertClean, runFixture } from "./helpers/common.js";
import {
  BrokenExecutorError,
  CancelledError,
  Lock,
  ProcessPoolExecutor,
  RuntimeError,
  SharedValue,
  WorkerCrashedError,
  asCompleted,
  wait,
  type UnhandledFailure,
} from "weft-threads";

const T = { timeout: 30_000 };
const targets = new URL("./helpers/process-targets.js", import.meta.url).href;
const target = (name: string): { module: string; export: string } => ({ module: targets, export: name });

/** One pool for the tests that do not need a pool of their own (each process boots in ~50 ms or more). */
const pool = new ProcessPoolExecutor({ maxWorkers: 2 });
after(() => pool.shutdown());

test("submit runs a function target in another process and gives its result", T, async () => {
  assert.equal(await pool.submit((a: number, b: number) => a + b, 2, 3), 5);
  const pid = await pool.submit(() => process.pid);
  assert.equal(typeof pid, "number");
  assert.notEqual(pid, process.pid);
  // Structured values make the trip both ways.
  const value = await pool.submit((m: Map<string, number[]>): Map<string, number[]> => new Map([...m].map(([k, v]) => [k.toUpperCase(), v.map((x) => x * 2)])), new Map([["a", [1, 2]]]));
  assert.deepEqual(value, new Map([["A", [2, 4]]]));
});

test("submit runs a module export", T, async () => {
  const future = pool.submit(target("square"), 7);
  assert.equal(await future, 49);
  assert.equal(future.done(), true);
  assert.notEqual(await pool.submit(target("pid")), process.pid);
});

test("an error raised in a task arrives as its class, with the remote stack", T, async () => {
  const error = await pool
    .submit(function fails(): never {
      throw new RangeError("out of range here");
    })
    .exception();
  assert.ok(error instanceof RangeError);
  assert.match((error as Error).message, /out of range here/);
  assert.match((error as Error).stack ?? "", /at fails/);
  assert.match((error as Error).stack ?? "", /--- in worker process .* \(pid \d+\); received at ---/);
  await assert.rejects(pool.submit(target("throwRuntime"), "module error"), (e: unknown) => e instanceof RuntimeError && /module error/.test(e.message));
});

test("map yields in input order, with chunks and with several iterables zipped", T, async () => {
  const squares: number[] = [];
  for await (const y of pool.map((x: number) => x * x, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])) squares.push(y);
  assert.deepEqual(squares, [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]);

  const items = Array.from({ length: 1000 }, (_, i) => i);
  const chunked: number[] = [];
  for await (const y of pool.map(target("square"), items, { chunksize: 7 })) chunked.push(y as number);
  assert.deepEqual(chunked, items.map((x) => x * x));

  // Zipped as Python's zip: stops at the shortest.
  const sums: number[] = [];
  for await (const y of pool.map((a: number, b: number) => a + b, [1, 2, 3, 4], [10, 20, 30], { chunksize: 2 })) sums.push(y);
  assert.deepEqual(sums, [11, 22, 33]);
});

test("asCompleted and wait work on the pool's futures", T, async () => {
  const futures = [3, 1, 2].map((n) => pool.submit<[number, number], number>(target("slow"), n, n * 30));
  const seen: number[] = [];
  for await (const future of asCompleted(futures)) seen.push(await future.result());
  assert.deepEqual([...seen].sort(), [1, 2, 3]);
  const { done, notDone } = await wait([pool.submit(target("square"), 3)]);
  assert.equal(done.size, 1);
  assert.equal(notDone.size, 0);
});

test("an argument that cannot reach another process is a TypeError naming its path, at submit()", T, async () => {
  const fn = (..._args: unknown[]): number => 1;
  assert.throws(() => pool.submit(fn, 1, { callback: () => 2 } as never), (e: unknown) => e instanceof TypeError && /^args\[1\]\.callback: functions cannot be sent to another process/.test(e.message));
  assert.throws(() => pool.submit(fn, [new Lock()]), (e: unknown) => e instanceof TypeError && /^args\[0\]\[0\]: a Lock cannot be sent to a process pool's task/.test(e.message));
  assert.throws(() => pool.submit(fn, { v: new SharedValue("int32") }), (e: unknown) => e instanceof TypeError && /^args\[0\]\.v: /.test(e.message));
  const { port1, port2 } = new MessageChannel();
  assert.throws(() => pool.submit(fn, port1), (e: unknown) => e instanceof TypeError && /^args\[0\]: a MessagePort .* cannot be sent to another process/.test(e.message));
  port1.close();
  port2.close();
  assert.throws(() => pool.submit(fn, new Int32Array(new SharedArrayBuffer(4))), (e: unknown) => e instanceof TypeError && /^args\[0\]: a SharedArrayBuffer is memory of this process/.test(e.message));
  // A bad item in map's input is refused as its chunk is submitted.
  assert.throws(() => pool.map(fn, [1, () => 2], { chunksize: 2 }), (e: unknown) => e instanceof TypeError && /^args\[1\]: functions/.test(e.message));
});

test("cancel succeeds while a task waits in the pool, not once it was sent to a process", T, async () => {
  await using own = new ProcessPoolExecutor({ maxWorkers: 1 });
  const first = own.submit(target("slow"), 1, 300);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(first.cancel(), false); // sent: running, as in Python's pool
  const later = Array.from({ length: 6 }, (_, i) => own.submit(target("square"), i));
  const last = later[later.length - 1];
  assert.equal(last.cancel(), true);
  assert.equal(last.cancelled(), true);
  await assert.rejects(last.result(), CancelledError);
  assert.equal(await first, 1);
  assert.deepEqual(await Promise.all(later.slice(0, -1)), [0, 1, 4, 9, 16]);
});

test("shutdown({ cancelFutures }) cancels what has not been sent and waits for the rest", T, async () => {
  const own = new ProcessPoolExecutor({ maxWorkers: 1 });
  const running = own.submit(target("slow"), 5, 200);
  await new Promise((resolve) => setImmediate(resolve));
  const queued = Array.from({ length: 5 }, (_, i) => own.submit(target("slow"), i, 10));
  await own.shutdown({ cancelFutures: true });
  assert.equal(await running, 5);
  // The window sends one task ahead of the running one; the others were still waiting.
  assert.ok(queued.filter((f) => f.cancelled()).length >= 4, queued.map(String).join(" "));
  for (const future of queued) assert.ok(future.done());
  assert.throws(() => own.submit(target("square"), 2), RuntimeError);
});

test("submit after shutdown is a RuntimeError, also after `await using`", T, async () => {
  let kept: ProcessPoolExecutor | undefined;
  {
    await using own = new ProcessPoolExecutor({ maxWorkers: 1 });
    kept = own;
    assert.equal(await own.submit(target("square"), 4), 16);
  }
  assert.throws(() => kept?.submit(target("square"), 2), (e: unknown) => e instanceof RuntimeError && /after shutdown/.test(e.message));
  assert.throws(() => kept?.map(target("square"), [1]), RuntimeError);
});

test("process.exit(3) in a task fails only that task, with WorkerCrashedError and its exit code; the pool goes on", T, async () => {
  await using own = new ProcessPoolExecutor({ maxWorkers: 1 });
  const before = await own.submit(target("pid"));
  const [ok1, exits, ok2, ok3] = [own.submit(target("square"), 2), own.submit(target("exitWith"), 3), own.submit(target("square"), 3), own.submit(target("square"), 4)];
  const error = await exits.exception();
  assert.ok(error instanceof WorkerCrashedError, String(error));
  assert.match(error.message, /exited with code 3 while running the task/);
  assert.equal((error as WorkerCrashedError & { exitCode: number }).exitCode, 3);
  assert.deepEqual(await Promise.all([ok1, ok2, ok3]), [4, 9, 16]);
  const after = await own.submit(target("pid"));
  assert.notEqual(after, before);
});

test("a worker killed by SIGKILL fails its task with WorkerCrashedError and its signal; the pool goes on", T, async () => {
  await using own = new ProcessPoolExecutor({ maxWorkers: 1 });
  const before = await own.submit(target("pid"));
  const error = await own.submit(target("killSelf")).exception();
  assert.ok(error instanceof WorkerCrashedError, String(error));
  assert.match(error.message, /killed by SIGKILL/);
  assert.equal((error as WorkerCrashedError & { signal: string }).signal, "SIGKILL");
  // Tasks submitted after the crash run on the replacement.
  assert.deepEqual(await Promise.all([own.submit(target("square"), 5), own.submit(target("square"), 6)]), [25, 36]);
  assert.notEqual(await own.submit(target("pid")), before);
});

test("maxTasksPerChild gives a fresh process after that many tasks", T, async () => {
  await using own = new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerChild: 2 });
  const pids: number[] = [];
  for (let i = 0; i < 4; i++) pids.push((await own.submit(target("pid"))) as number);
  assert.equal(new Set(pids).size, 2, String(pids));
  assert.equal(pids[0], pids[1]);
  assert.notEqual(pids[1], pids[2]);
  // Also when the tasks come all at once: no process runs more than 2.
  const burst = await Promise.all(Array.from({ length: 4 }, () => own.submit(target("pid"))));
  const counts = new Map<number, number>();
  for (const p of burst as number[]) counts.set(p, (counts.get(p) ?? 0) + 1);
  assert.ok([...counts.values()].every((n) => n <= 2), String(burst));
});

test("the initializer runs in each process before its tasks; one that throws breaks the pool", T, async () => {
  {
    await using own = new ProcessPoolExecutor({ maxWorkers: 1, initializer: target("initialize"), initargs: [{ db: "ready" }] });
    assert.deepEqual(await own.submit(target("initialized")), { db: "ready" });
  }
  const broken = new ProcessPoolExecutor({ maxWorkers: 1, initializer: target("failingInitializer") });
  const error = await broken.submit(target("square"), 2).exception();
  assert.ok(error instanceof BrokenExecutorError, String(error));
  assert.match(error.message, /A process initializer failed.*no database here/);
  assert.throws(() => broken.submit(target("square"), 3), BrokenExecutorError);
  await broken.shutdown();
});

test("idleTimeout lets an idle process go; the next task gets a fresh one", T, async () => {
  await using own = new ProcessPoolExecutor({ maxWorkers: 1, idleTimeout: 100 });
  const first = await own.submit(target("pid"));
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.match(inspect(own), /workers=0/);
  assert.notEqual(await own.submit(target("pid")), first);
});

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pids: number[], withinMs: number): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; ) {
    if (!pids.some(alive)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !pids.some(alive);
}

const pidsOf = (stdout: string): number[] => (/pids ([\d ]+)/.exec(stdout)?.[1] ?? "").split(" ").filter(Boolean).map(Number);

test("a pool never shut down lets its program end, and its processes go with it", T, async () => {
  const outcome = await runFixture("process-pool-parent.mjs", ["idle"]);
  assertClean(outcome);
  const pids = pidsOf(outcome.stdout);
  assert.equal(pids.length, 2, outcome.stdout);
  assert.ok(await gone(pids, 10_000), `still running: ${pids.filter(alive)}`);
});

test("the worker processes exit when their parent is killed with SIGKILL (no orphans)", T, async () => {
  const outcome = await runFixture("process-pool-parent.mjs", ["kill"]);
  assert.equal(outcome.signal, "SIGKILL", outcome.stderr);
  const pids = pidsOf(outcome.stdout);
  assert.equal(pids.length, 2, outcome.stdout);
  assert.ok(await gone(pids, 10_000), `orphans still running: ${pids.filter(alive)}`);
});

test("onUnhandledFailure: at shutdown, reports each failed task nobody asked about (a crashed one too), never map's or an awaited one", T, async () => {
  const reported: UnhandledFailure[] = [];
  const own = new ProcessPoolExecutor({ maxWorkers: 1, onUnhandledFailure: (failure) => reported.push(failure) });
  const fail = (tag: string): never => {
    throw new RangeError(`failed: ${tag}`);
  };
  const ignored = own.submit(fail, "ignored");
  const awaited = own.submit(fail, "awaited");
  const withCallback = own.submit(fail, "callback");
  withCallback.addDoneCallback(() => {});
  const crashed = own.submit(() => process.exit(3));
  const succeeded = own.submit((x: number) => x, 1);
  await assert.rejects(Promise.resolve(awaited), RangeError);
  await assert.rejects(own.map(fail, ["in map"]).next(), RangeError);
  const { notDone } = await wait([ignored, withCallback, crashed, succeeded], { timeout: 25_000 }); // wait() is not asking
  assert.equal(notDone.size, 0);
  assert.equal(reported.length, 0, "nothing is reported before the pool shuts down");
  await own.shutdown();
  assert.deepEqual(reported.map((failure) => failure.future), [ignored, crashed], reported.map((failure) => String(failure.error)).join("; "));
  assert.ok(reported[0].error instanceof RangeError);
  assert.match((reported[0].error as Error).message, /failed: ignored/);
  assert.ok(reported[1].error instanceof WorkerCrashedError);
  assert.throws(() => new ProcessPoolExecutor({ onUnhandledFailure: "log" as never }), /options\.onUnhandledFailure must be a function/);
});
