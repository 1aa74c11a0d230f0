/**
 * dumpThreads(): every live thread, its state, what it waits on and who holds it; the
 * dump on a signal (configure({ dumpOnSignal })), and the hang watchdog
 * (configure({ watchdog: { afterMs } })), each in a child process with a real wait.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Event, Lock, Thread, configure, dumpThreads, type SendableArgs } from "weft-threads";
import { runFixture, until as waitUntil } from "./helpers/common.js";

const T = { timeout: 30_000 };

function run<A extends unknown[], R>(name: string, target: (...args: A) => R, ...args: A): Thread<Awaited<R>, A> {
  const thread = new Thread<Awaited<R>, A>({ target: target as (...args: A) => Awaited<R>, args: args as unknown as SendableArgs<A>, name, daemon: true });
  thread.start();
  return thread;
}

const until = (predicate: () => boolean, what: string): Promise<void> => waitUntil(predicate, what, { detail: dumpThreads });

test("the dump names every thread, its state, what it waits on and who holds it", T, async () => {
  const accounts = new Lock({ name: "accounts" });
  const held = new Event();
  const leave = new Event();
  const holder = run("holder", (lock: Lock, held: Event, leave: Event) => {
    lock.acquireSync();
    held.set();
    leave.waitSync();
    lock.release();
  }, accounts, held, leave);
  await held.wait();
  const waiter = run("waiter", (lock: Lock) => lock.withLockSync(() => 1), accounts);
  await until(() => /"waiter"[^\n]*\n\s+state: waiting/.test(dumpThreads()), "the waiter parks");
  const mainWait = accounts.acquire();
  await until(() => dumpThreads().includes("awaiting accounts"), "the main thread's wait is recorded");
  const dump = dumpThreads();
  assert.match(dump, /^weft thread dump, .*, pid \d+, \d+ threads/);
  assert.match(dump, /"MainThread" ident=\d+ main/);
  assert.match(dump, new RegExp(`"holder" ident=${holder.ident} native=\\d+ daemon`));
  assert.match(dump, new RegExp(`"waiter" ident=${waiter.ident} native=\\d+ daemon\\n\\s+state: waiting\\n\\s+- waiting on accounts held by "holder" \\(ident ${holder.ident}\\), for \\d+`));
  assert.match(dump, /"MainThread"[^\n]*\n\s+state: running \(making this dump\) \(1 async wait\)\n\s+- awaiting accounts held by "holder"/);
  assert.match(dump, /"holder"[^\n]*\n\s+state: waiting\n\s+- waiting on event/);
  assert.match(dump, /no cycle of waits/);
  leave.set();
  assert.equal(await mainWait, true);
  accounts.release();
  await holder.join();
  await waiter.join();
  assert.equal(waiter.result, 1);
  assert.doesNotMatch(dumpThreads(), /"waiter"/);
});

test("a thread with no wait is running; a sleeping one is sleeping", T, async () => {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const spinner = run("spinner", (stop: Int32Array) => {
    while (Atomics.load(stop, 0) === 0);
  }, stop);
  const sleeper = run("sleeper", async () => {
    const { sleepSync } = await import("weft-threads");
    sleepSync(1500);
  });
  await until(() => /"sleeper"[^\n]*\n\s+state: sleeping/.test(dumpThreads()), "the sleeper sleeps");
  assert.match(dumpThreads(), /"spinner"[^\n]*\n\s+state: running/);
  Atomics.store(stop, 0, 1);
  await spinner.join();
  await sleeper.join();
});

test("configure() checks the diagnostics' options", () => {
  assert.throws(() => configure({ dumpOnSignal: "USR2" as NodeJS.Signals }), /dumpOnSignal must be a signal name/);
  assert.throws(() => configure({ dumpOnSignal: "SIGKILL" }), /cannot be SIGKILL/);
  assert.throws(() => configure({ watchdog: { afterMs: -1 } }), /afterMs must be a positive/);
  assert.throws(() => configure({ watchdog: 5 as unknown as { afterMs: number } }), /watchdog must be \{ afterMs: number \} or false/);
  assert.throws(() => configure({ deadlockDetection: "yes" as unknown as boolean }), /must be a boolean/);
  configure({ watchdog: null, dumpOnSignal: null });
});

test("dumpOnSignal: the process sends itself SIGUSR2 and prints the dump", T, async () => {
  const outcome = await runFixture("dump-on-signal.mjs");
  assert.equal(outcome.code, 0, outcome.stderr);
  assert.match(outcome.stdout, /signalled\ndone/);
  assert.match(outcome.stderr, /weft thread dump/);
  assert.match(outcome.stderr, /"blocked-worker"[^\n]*\n\s+state: waiting\n\s+- waiting on signal-lock held by "MainThread"/);
});

test("watchdog: a real hang prints the dump and the cycle once no thread makes progress", T, async () => {
  const outcome = await runFixture("watchdog-hang.mjs");
  assert.equal(outcome.code, 0, outcome.stderr);
  assert.match(outcome.stdout, /still hung: true/);
  assert.match(outcome.stderr, /weft watchdog: no thread has made progress for \d+ ms/);
  assert.match(outcome.stderr, /"hung-1"/);
  assert.match(outcome.stderr, /deadlock: hung-\d waits for wd-[ab] held by hung-\d, which waits for wd-[ab] held by hung-\d/);
  assert.equal(outcome.stderr.split("weft watchdog:").length - 1, 1, "reported once");
});

test("watchdog: it reports a hang in which the main thread is blocked in a *Sync call (its event loop runs nothing)", T, async () => {
  const outcome = await runFixture("watchdog-main-blocked.mjs");
  assert.equal(outcome.code, 0, outcome.stderr);
  assert.match(outcome.stdout, /main woke by itself: true/);
  assert.match(outcome.stderr, /weft watchdog: no thread has made progress for \d+ ms, and every thread is parked/);
  assert.match(outcome.stderr, /"MainThread"[^\n]*\n\s+state: waiting\n\s+- waiting on event/, "a blocking wait of main is not an async one");
  assert.match(outcome.stderr, /"stuck-worker"[^\n]*\n\s+state: waiting\n\s+- waiting on event/);
  assert.equal(outcome.stderr.split("weft watchdog:").length - 1, 1, "reported once");
});

