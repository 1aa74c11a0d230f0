/**
 * ClusterExecutor and `weft worker` against a real Redis (API.md, "Scale-out"): tasks
 * spread over two worker processes, map in input order, errors as their class, cancel,
 * shutdown, the argument checks, and the faults for real: a worker killed with SIGKILL
 * mid-task, a Redis restart mid-run, a server that is not there.
 *
 * redis-server must be installed (CI installs it); test/helpers/redis.ts starts it on a
 * free loopback port. The workers run with short BullMQ locks (`--lock-duration`,
 * `--stalled-interval`) so that a dead worker's task is taken again within seconds. Tasks
 * that must be seen to run (or not) leave a line in a file, the only state a task on
 * another process shares with the test. No test asserts a duration.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  BrokenExecutorError,
  CancelledError,
  ClusterExecutor,
  Lock,
  RuntimeError,
  SharedValue,
  ValueError,
  WorkerCrashedError,
  FIRST_COMPLETED,
  TimeoutError,
  asCompleted,
  sleep,
  wait,
  type Future,
} from "weft-threads";
import { assertClean, runFixture, until } from "./helpers/common.js";
import { freePort, startRedis, startWorker, type RedisServer, type WorkerProcess, lines, mark } from "./helpers/redis.js";

const FAST_LOCKS = ["--lock-duration", "2000", "--stalled-interval", "1000"];
const targets = new URL("../../test/fixtures/targets.mjs", import.meta.url);
const cli = fileURLToPath(new URL("../../dist/cluster/cli.js", import.meta.url));

let redis: RedisServer;
let workers: WorkerProcess[] = [];
let scratch: string;

before(async () => {
  redis = await startRedis();
  scratch = mkdtempSync(join(tmpdir(), "weft-cluster-"));
  // Three workers of two threads each, taking nothing ahead: a task waiting in the queue stays
  // there. Started once for the file (a worker process takes seconds to start on a loaded box);
  // the last tests restart Redis under them and kill two of them.
  workers = [0, 1, 2].map(() => startWorker(redis.url, ["--concurrency", "2", "--prefetch", "0", ...FAST_LOCKS]));
  await Promise.all(workers.map((worker) => worker.ready));
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await redis?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** How many times each future's done callbacks ran (settling twice would throw, or run them twice). */
function countSettlements(futures: Future<unknown>[]): number[] {
  const counts = futures.map(() => 0);
  futures.forEach((future, i) => future.addDoneCallback(() => counts[i]++));
  return counts;
}

test("submit runs tasks on several worker processes and gives back their results", { timeout: 30_000 }, async () => {
  await using executor = new ClusterExecutor({ connection: redis.url });
  const futures = Array.from({ length: 40 }, (_, i) =>
    executor.submit(async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { x: x * x, pid: process.pid, when: new Date(0), big: 10n ** 20n, map: new Map([[x, "x"]]) };
    }, i),
  );
  const results = await Promise.all(futures);
  assert.deepEqual(results.map((result) => result.x), Array.from({ length: 40 }, (_, i) => i * i));
  // Structured clone, not JSON: a Date, a bigint and a Map arrive as themselves.
  assert.ok(results[3].when instanceof Date);
  assert.equal(results[3].big, 10n ** 20n);
  assert.equal(results[3].map.get(3), "x");
  const pids = new Set(results.map((result) => result.pid));
  const ours = new Set(workers.map((worker) => worker.child.pid));
  assert.ok(pids.size >= 2, `tasks ran on several worker processes: ${[...pids]}`);
  assert.ok([...pids].every((pid) => ours.has(pid)), "on the workers started here");
  // A module target, by URL, as every worker imports it.
  assert.equal(await executor.submit({ module: targets, export: "double" }, 21), 42);
});

test("map yields in input order, with chunks and several iterables; asCompleted works on its futures", { timeout: 30_000 }, async () => {
  await using executor = new ClusterExecutor({ connection: redis.url });
  const squares: number[] = [];
  for await (const value of executor.map((x: number) => x * x, Array.from({ length: 50 }, (_, i) => i), { chunksize: 7 })) squares.push(value);
  assert.deepEqual(squares, Array.from({ length: 50 }, (_, i) => i * i));
  const sums: number[] = [];
  for await (const value of executor.map((a: number, b: number) => a + b, [1, 2, 3, 4], [10, 20, 30], { chunksize: 2 })) sums.push(value);
  assert.deepEqual(sums, [11, 22, 33], "zipped, stopping at the shortest");
  const one: string[] = [];
  for await (const value of executor.map((s: string) => s.toUpperCase(), new Set(["a", "b", "c"]))) one.push(value);
  assert.deepEqual(one, ["A", "B", "C"]);
  const futures = [300, 10, 150].map((ms) => executor.submit(async (delay: number) => {
    await new Promise((resolve) => setTimeout(resolve, delay));
    return delay;
  }, ms));
  const seen: number[] = [];
  for await (const future of asCompleted(futures, { timeout: 20_000 })) seen.push(await future.result());
  assert.deepEqual([...seen].sort((a, b) => a - b), [10, 150, 300]);
  const { done, notDone } = await wait([executor.submit(() => "quick"), executor.submit(() => new Promise((resolve) => setTimeout(resolve, 1500)))], { returnWhen: FIRST_COMPLETED });
  assert.equal(done.size, 1);
  assert.equal(notDone.size, 1);
  assert.equal(await [...done][0], "quick");
});

test("a task's error arrives as its class, with its message and the remote stack; it is not retried unless asked", { timeout: 30_000 }, async () => {
  await using executor = new ClusterExecutor({ connection: redis.url });
  const failing = executor.submit(function failingTask(limit: number) {
    throw new RangeError(`over the limit of ${limit}`);
  }, 3);
  await assert.rejects(failing, (error: Error) => {
    assert.ok(error instanceof RangeError);
    assert.match(error.message, /^over the limit of 3/);
    assert.match(error.stack ?? "", /failingTask/, "the stack of the worker's thread is there");
    assert.match(error.stack ?? "", /cluster\.test/, "pointing into the file the function was written in");
    return true;
  });
  const weftError = executor.submit(async () => {
    const { ValueError: Remote } = await import("weft-threads");
    throw new Remote("bad value");
  });
  await assert.rejects(weftError, ValueError);

  const file = join(scratch, "retries");
  const flaky = async (path: string, failures: number): Promise<number> => {
    const { appendFileSync, readFileSync: read } = await import("node:fs");
    appendFileSync(path, "run\n");
    const runs = read(path, "utf8").split("\n").filter(Boolean).length;
    if (runs <= failures) throw new Error(`run ${runs} fails`);
    return runs;
  };
  await assert.rejects(executor.submit(flaky, `${file}-0`, 5), /run 1 fails/);
  await sleep(300);
  assert.equal(lines(`${file}-0`).length, 1, "a task that throws runs once");
  await using retrying = new ClusterExecutor({ connection: redis.url, retries: 2 });
  assert.equal(await retrying.submit(flaky, `${file}-2`, 2), 3, "two retries: the third run succeeds");
  await using limited = new ClusterExecutor({ connection: redis.url, timeout: 200 });
  await assert.rejects(limited.submit(() => new Promise((resolve) => setTimeout(resolve, 600))), (error: Error) => error instanceof TimeoutError && /time limit of 200 ms/.test(error.message));
  // The worker reported the timeout, but its thread runs the task to its end (a thread cannot be
  // stopped mid-task): let it end before the next tests count threads.
  await sleep(800);
});

test("arguments: shared memory is a TypeError naming its path, at submit; bad options are clear errors", { timeout: 30_000 }, async () => {
  await using executor = new ClusterExecutor({ connection: redis.url });
  const lock = new Lock();
  assert.throws(() => executor.submit((x: unknown) => x, { nested: [1, { lock }] }), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^args\[0\]\.nested\[1\]\.lock: weft's shared-memory objects/);
    return true;
  });
  assert.throws(() => executor.submit((x: unknown) => x, new SharedValue("int32")), /args\[0\]: weft's shared-memory/);
  assert.throws(() => executor.submit((x: unknown) => x, { f: (() => 1) as never }), /args\[0\]\.f: functions cannot be sent/);
  assert.throws(() => new ClusterExecutor({ connection: "localhost:6379" }), (error: Error) => error instanceof ValueError && /redis:\/\//.test(error.message));
  assert.throws(() => new ClusterExecutor({} as never), /options\.connection is required/);
  assert.throws(() => new ClusterExecutor({ connection: redis.url, attempts: 0 }), ValueError);
  assert.throws(() => executor.map((x: number) => x, [1], { chunksize: 0 }), ValueError);
});

test("cancel removes a task that waits in the queue: its job leaves Redis", { timeout: 30_000 }, async () => {
  // A queue no worker serves: the task surely waits there.
  const queue = "unserved";
  await using executor = new ClusterExecutor({ connection: redis.url, queue });
  const { Redis } = await import("ioredis");
  const client = new Redis(redis.url);
  try {
    const waiting = executor.submit((x: number) => x, 1);
    const kept = executor.submit((x: number) => x, 2);
    const jobs = async (): Promise<number> => (await client.llen(`bull:${queue}:wait`)) + (await client.zcard(`bull:${queue}:prioritized`));
    const deadline = Date.now() + 10_000;
    while ((await jobs()) < 2 && Date.now() < deadline) await sleep(50);
    assert.equal(await jobs(), 2, "both jobs wait in Redis");
    assert.equal(waiting.running(), false);
    assert.equal(waiting.cancel(), true);
    assert.equal(waiting.cancelled(), true);
    await assert.rejects(waiting, CancelledError);
    while ((await jobs()) > 1 && Date.now() < deadline) await sleep(50);
    assert.equal(await jobs(), 1, "the cancelled task's job is gone; the other waits on");
    await executor.shutdown({ wait: false, cancelFutures: true });
    assert.equal(kept.cancelled(), true);
  } finally {
    client.disconnect();
  }
});

test("shutdown({ cancelFutures }) cancels what has not started and lets the rest finish; submit after it is a RuntimeError", { timeout: 30_000 }, async () => {
  const executor = new ClusterExecutor({ connection: redis.url });
  const file = join(scratch, "shutdown");
  const threads = workers.length * 2;
  const running = Array.from({ length: threads }, (_, i) => executor.submit(mark, file, `running ${i}`, 800));
  await until(() => lines(file).length === threads, "the first tasks to start");
  await sleep(300); // and the executor heard they started
  const queued = Array.from({ length: 6 }, (_, i) => executor.submit(mark, file, `queued ${i}`, 0));
  await sleep(200);
  await executor.shutdown({ cancelFutures: true });
  assert.deepEqual(await Promise.all(running), Array.from({ length: threads }, (_, i) => `running ${i}`));
  // A worker freed by a lapsed lock on a loaded machine may have taken one: those ran to the end.
  assert.ok(queued.every((future) => future.done()));
  const cancelled = queued.filter((future) => future.cancelled());
  assert.ok(cancelled.length > 0, "the tasks still queued were cancelled");
  assert.throws(() => executor.submit(() => 1), RuntimeError);
  await sleep(500);
  assert.equal(lines(file).filter((line) => line.startsWith("queued")).length, queued.length - cancelled.length, "no cancelled task ran");
});

test("Redis restarted mid-run (its data lost): no task is lost, none settles twice", { timeout: 40_000 }, async () => {
  const file = join(scratch, "restart");
  // attempts: 5 — a loaded machine may let a lock lapse in the restart; that is a rerun, not a loss.
  await using executor = new ClusterExecutor({ connection: redis.url, attempts: 5 });
  const futures = Array.from({ length: 60 }, (_, i) => executor.submit(mark, file, String(i), 100));
  const settled = countSettlements(futures);
  await until(() => futures.filter((future) => future.done()).length >= 10, "some tasks to finish");
  await redis.restart();
  const results = await Promise.all(futures);
  assert.deepEqual(results, Array.from({ length: 60 }, (_, i) => String(i)));
  await sleep(500);
  assert.ok(settled.every((count) => count === 1), `each future settled once: ${settled}`);
  const ran = new Set(lines(file));
  for (let i = 0; i < 60; i++) assert.ok(ran.has(String(i)), `task ${i} ran`);
});

test("a worker killed with SIGKILL mid-task: the task runs again on another worker and settles once; past attempts, WorkerCrashedError", { timeout: 40_000 }, async () => {
  const file = join(scratch, "crash");
  const byPid = (pid: string): WorkerProcess => workers.find((worker) => String(worker.child.pid) === pid)!;
  await using executor = new ClusterExecutor({ connection: redis.url });
  const slow = async (path: string, ms: number): Promise<number> => {
    const { appendFileSync } = await import("node:fs");
    appendFileSync(path, `${process.pid}\n`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return process.pid;
  };
  const future = executor.submit(slow, file, 2000);
  const settled = countSettlements([future]);
  await until(() => lines(file).length === 1, "the task to start");
  const victim = byPid(lines(file)[0]);
  victim.child.kill("SIGKILL");
  await victim.exit;
  const pid = await future;
  assert.notEqual(pid, victim.child.pid, "another worker ran it");
  assert.deepEqual(lines(file), [String(victim.child.pid), String(pid)], "it ran twice: once on each");
  await sleep(300);
  assert.deepEqual(settled, [1], "and settled once");

  // attempts: 1 — a task whose worker dies is not run again (the last worker standing says so).
  await using once = new ClusterExecutor({ connection: redis.url, attempts: 1 });
  const doomed = once.submit(slow, `${file}-once`, 10_000);
  await until(() => lines(`${file}-once`).length === 1, "the doomed task to start");
  byPid(lines(`${file}-once`)[0]).child.kill("SIGKILL");
  await assert.rejects(doomed, (error: Error) => error instanceof WorkerCrashedError && /started 1 time/.test(error.message));
  assert.equal(lines(`${file}-once`).length, 1, "not run again");
});

test("no Redis there: futures fail with BrokenExecutorError naming it, nothing hangs; the worker command exits with the reason", { timeout: 30_000 }, async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const executor = new ClusterExecutor({ connection: url });
  const future = executor.submit((x: number) => x, 1);
  await assert.rejects(future, (error: Error) => {
    assert.ok(error instanceof BrokenExecutorError);
    assert.match(error.message, new RegExp(`cannot connect to Redis at redis://127\\.0\\.0\\.1:${port}`));
    return true;
  });
  assert.throws(() => executor.submit((x: number) => x, 2), BrokenExecutorError);
  await executor.shutdown();

  const worker = startWorker(url);
  const { code } = await worker.exit;
  assert.equal(code, 1);
  assert.match(worker.output(), /cannot connect to Redis at/);
});

test("Redis gone for good after it answered: pending futures fail with BrokenExecutorError; shutdown, before and after, does not hang", { timeout: 30_000 }, async () => {
  const own = await startRedis();
  const { Redis } = await import("ioredis");
  const client = new Redis(own.url);
  const waiting = async (queue: string, count: number): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while ((await client.llen(`bull:${queue}:wait`)) < count) {
      if (Date.now() > deadline) throw new Error(`the executor did not add its job to ${queue}`);
      await sleep(25);
    }
  };
  const executor = new ClusterExecutor({ connection: own.url, queue: "gone", reconnectTimeout: 1000 });
  // No worker on this queue: the task waits until the server goes.
  const future = executor.submit((x: number) => x, 1);
  // An executor with nothing pending, connected (its one task cancelled), and patient: it is
  // shut down while Redis is away but not yet given up (its clients wait to reconnect).
  const idle = new ClusterExecutor({ connection: own.url, queue: "idle", reconnectTimeout: 60_000 });
  const cancelled = idle.submit((x: number) => x, 1);
  await waiting("gone", 1);
  await waiting("idle", 1);
  assert.equal(cancelled.cancel(), true);
  client.disconnect();
  await own.stop();
  await assert.rejects(future, (error: Error) => error instanceof BrokenExecutorError && /lost the connection to Redis/.test(error.message));
  assert.throws(() => executor.submit((x: number) => x, 2), BrokenExecutorError);
  await executor.shutdown();
  await idle.shutdown();
});

test("a program that never shuts its executor down ends on its own once nothing is pending", { timeout: 30_000 }, async () => {
  const outcome = await runFixture("cluster-no-shutdown.mjs", [redis.url, "weft"], 25_000);
  assertClean(outcome);
  assert.match(outcome.stdout, /result 42/);
  assert.match(outcome.stdout, /results 2,3,4/, "it reconnected after closing its idle connections");
});

test("weft --help, and a missing --connection, say how to use it", { timeout: 15_000 }, async () => {
  const run = (args: string[]): Promise<{ code: number | null; out: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WEFT_REDIS_URL: "" } });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
      child.stderr.setEncoding("utf8").on("data", (text: string) => (out += text));
      child.on("close", (code) => resolve({ code, out }));
    });
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: weft worker --connection/);
  assert.match(help.out, /--concurrency N/);
  const missing = await run(["worker"]);
  assert.equal(missing.code, 2);
  assert.match(missing.out, /--connection is required/);
});

test("weft loads without bullmq; a ClusterExecutor without it says what to install", { timeout: 15_000 }, async () => {
  const { code, stdout, stderr } = await runFixture("no-bullmq.mjs");
  assert.equal(code, 0, stderr);
  assert.match(stdout, /pool 2/);
  assert.match(stdout, /cluster BrokenExecutorError .*npm install bullmq ioredis/);
});
