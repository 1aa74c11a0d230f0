/**
 * The examples run and say what they claim: each example's main() is run and its result
 * checked, 01 is run as a program to check the order of its output, and the guided tour
 * (`npm run demo`) must exit 0.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { main as threadBasics } from "../examples/01-thread-basics.js";
import { main as daemonThreads } from "../examples/02-daemon-threads.js";
import { main as sharedCounter } from "../examples/03-shared-counter.js";
import { main as producerConsumer } from "../examples/05-producer-consumer.js";
import { main as threadPool } from "../examples/06-thread-pool.js";
import { LIMIT, main as cpuParallelism } from "../examples/04-cpu-parallelism.js";
import { main as deadlock } from "../examples/07-deadlock.js";
import { main as starvation } from "../examples/08-starvation.js";
import { main as multiprocessing } from "../examples/09-multiprocessing.js";
import { readFileSync } from "node:fs";

const T = { timeout: 60_000 };
const quiet = (): void => {};

/** Runs a compiled example (build/examples/NAME.js) as its own process. */
function runExample(name: string, limitMs = 55_000, env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const file = fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
  const out = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: limitMs, env });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

test("01-thread-basics: the thread prints before the main thread's 'Thread finished'", T, () => {
  const { status, stdout, stderr } = runExample("01-thread-basics");
  assert.equal(status, 0, stderr);
  const lines = stdout.split("\n");
  const running = lines.findIndex((line) => line.startsWith("Thread is running"));
  const finished = lines.findIndex((line) => line === "Thread finished");
  assert.ok(running >= 0, `no "Thread is running" line in:\n${stdout}`);
  assert.ok(finished >= 0, `no "Thread finished" line in:\n${stdout}`);
  assert.ok(running < finished, `"Thread is running" must come before "Thread finished":\n${stdout}`);
  assert.match(lines[running] as string, /name "Thread-\d+ \(worker\)", ident \d+/);
});

test("01-thread-basics: name, ident, result, error, module target", T, async () => {
  const r = await threadBasics(quiet);
  assert.equal(r.reported.name, r.name);
  assert.equal(r.reported.ident, r.ident);
  assert.equal(typeof r.ident, "number");
  assert.match(r.name, /^Thread-\d+ \(worker\)$/);
  assert.equal(r.aliveAfterStart, true);
  assert.equal(r.aliveAfterJoin, false);
  assert.equal(r.result, 42);
  assert.equal(r.errorName, "RangeError");
  assert.equal(r.errorIsRangeError, true);
  assert.match(r.errorMessage ?? "", /n must be >= 0, got -1/);
  assert.match(r.moduleResult ?? "", /^Good morning, said Thread-\d+ \(greet\)$/);
});

test("02-daemon-threads: daemon flag, timed join, and who keeps the process alive", T, async () => {
  const r = await daemonThreads(quiet);
  assert.equal(r.defaultDaemon, false);
  assert.equal(r.setAfterStartThrew, true);
  assert.equal(r.aliveAfterTimedJoin, true);
  assert.equal(r.aliveAfterFullJoin, false);
  assert.equal(r.nonDaemonChild.exitCode, 0, r.nonDaemonChild.stdout);
  assert.equal(r.nonDaemonChild.threadFinished, true, "the process must wait for a non-daemon thread");
  assert.ok(r.nonDaemonChild.wallMs >= 1000, `the non-daemon child exited after ${r.nonDaemonChild.wallMs} ms`);
  assert.equal(r.daemonChild.exitCode, 0, r.daemonChild.stdout);
  assert.equal(r.daemonChild.threadFinished, false, "the process must not wait for a daemon thread");
});

test("03-shared-counter: exact with a Lock, atomic add exact, unlocked never above", T, async () => {
  const r = await sharedCounter(quiet);
  assert.equal(r.locked.expected, 10_000);
  assert.equal(r.locked.actual, 10_000);
  assert.equal(r.atomic.actual, r.atomic.expected);
  // Lost updates are likely but not certain: only check that the numbers are coherent.
  assert.ok(r.unlocked.actual > 0 && r.unlocked.actual <= r.unlocked.expected, `unlocked count ${r.unlocked.actual}`);
  assert.equal(r.unlocked.lost, r.unlocked.expected - r.unlocked.actual);
});

test("04-cpu-parallelism: one thread and N threads find the same primes", T, async () => {
  // A fifth of LIMIT keeps the suite short (the tour test below does the same; `npm run demo` counts to LIMIT).
  const r = await cpuParallelism(quiet, LIMIT / 5);
  assert.equal(r.limit, 1_000_000);
  assert.equal(r.single.primes, 78_498); // the primes below 1,000,000
  assert.equal(r.parallel.primes, r.single.primes);
  assert.ok(r.threads >= 1);
  // No assertion on the speedup: it is a timing, and depends on the machine's load.
  assert.ok(Number.isFinite(r.speedup) && r.speedup > 0);
});

// The whole tour takes ~30 s on a quiet 2-core box (~20 s with WEFT_TOUR_QUICK, whose CPU
// section counts to a fifth of its limit, as the 04 test above does), and may run beside
// another test file: a hang guard, not a timing bound.
test("tour: `node build/examples/tour.js` runs every section and exits 0", { timeout: 150_000 }, () => {
  const { status, stdout, stderr } = runExample("tour", 140_000, { ...process.env, WEFT_TOUR_QUICK: "1" });
  assert.equal(status, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /Summary/);
  assert.doesNotMatch(stdout, /FAILED/);
  // Each section shows its Python and the weft that mirrors it.
  assert.match(stdout, /t = threading\.Thread\(target=worker\)/);
  assert.match(stdout, /const t = new Thread\(\{ target: worker \}\)/);
  assert.match(stdout, /lock\.withLockSync/);
});

test("05-producer-consumer: every item once, in order; join, shutdown and for await", T, async () => {
  const r = await producerConsumer(quiet);
  assert.deepEqual(r.consumed, [0, 1, 2, 3, 4]);
  assert.equal(r.joined, true);
  assert.deepEqual(r.drained, ["threads", "share", "a", "queue"]);
  assert.equal(r.putAfterShutdown, "ShutDown");
});

test("06-thread-pool: map in input order, submit, same prime count on 1 and N workers", T, async () => {
  const r = await threadPool(quiet);
  assert.deepEqual(r.squares, [0, 1, 4, 9, 16]);
  assert.equal(r.power, 1024);
  assert.equal(r.primes.one, r.primes.all);
  assert.equal(r.primes.one, 148933);
});

test("07-deadlock: exactly one thread gets the DeadlockError, naming both threads and locks; the other finishes", T, async () => {
  const r = await deadlock(quiet);
  assert.equal(r.refused.length, 1);
  assert.equal(r.finished.length, 1);
  for (const word of ["worker-1", "worker-2", "accounts", "audit"]) assert.ok(r.message.includes(word), `${word} missing from: ${r.message}`);
  assert.match(readFileSync(r.timeline, "utf8"), /worker-1/);
});

test("08-starvation: lock.stats() gives both threads' shares in both runs; the timeline is saved", T, async () => {
  const r = await starvation(quiet);
  for (const run of [r.unfair, r.fair]) {
    assert.deepEqual(run.map((s) => s.name), ["greedy", "polite"]);
    // The unfair run may starve the polite thread outright: that is the point of the scenario.
    for (const s of run) assert.ok(Number.isInteger(s.acquisitions) && s.share >= 0 && s.share <= 1, JSON.stringify(s));
    assert.ok(run[0].acquisitions > 0, "the greedy thread took the lock");
    assert.ok(Math.abs(run[0].share + run[1].share - 1) < 1e-9);
  }
  // No assertion on who wins: shares are timings, and depend on the machine's load.
  assert.match(readFileSync(r.timeline, "utf8"), /polite/);
});

test("09-multiprocessing: four processes print 'Task completed', each from its own pid, before the parent goes on", T, () => {
  const { status, stdout, stderr } = runExample("09-multiprocessing");
  assert.equal(status, 0, stderr);
  const lines = stdout.split("\n");
  const completed = lines.filter((line) => line.startsWith("Task completed"));
  assert.equal(completed.length, 4, stdout);
  const pids = new Set(completed.map((line) => /pid (\d+)/.exec(line)?.[1]));
  assert.equal(pids.size, 4, `four different processes:\n${stdout}`);
  const joined = lines.findIndex((line) => line.startsWith("all 4 joined"));
  assert.ok(joined > lines.lastIndexOf(completed[3] as string), `the children print before the joins resolve:\n${stdout}`);
});

test("09-multiprocessing: exit codes, a Pipe from a child, a child's exit stays in the child", T, async () => {
  const r = await multiprocessing(quiet);
  assert.deepEqual(r.processes.map((p) => p.exitCode), [0, 0, 0, 0]);
  assert.equal(new Set([r.parentPid, ...r.processes.map((p) => p.pid)]).size, 5);
  assert.match(r.reported.name, /^Process-\d+$/);
  assert.notEqual(r.reported.pid, r.parentPid);
  assert.equal(r.crashExitCode, 3);
});
