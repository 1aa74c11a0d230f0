/**
 * multiprocessing.Process (API.md, "multiprocessing"): a target runs in a process of its
 * own, with Python's exit codes, names, lifetime rules and misuse errors. The child
 * reports what it saw through its exit code; what only shows from outside (output, the
 * main guard, orphans) runs a fixture script with `node`.
 */
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { test } from "node:test";
import {
  MainThreadBlockingError,
  Process,
  RuntimeError,
  Thread,
  ValueError,
  activeChildren,
  currentProcess,
  parentProcess,
} from "weft-threads";
import { assertClean, runFixture } from "./helpers/common.js";

const T = { timeout: 30_000 };
/** Tests that run a fixture script: it boots Node and a child or two, slow on a loaded machine. */
const TF = { timeout: 60_000 };
const fixtures = new URL("../../test/fixtures/", import.meta.url);
const targets = new URL("process-targets.mjs", fixtures);

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

test("a process runs its target in another process and exits 0", T, async () => {
  const p = new Process({ target: (parentPid: number) => process.exit(process.pid !== parentPid && process.ppid === parentPid ? 0 : 3), args: [process.pid] });
  assert.equal(p.pid, null);
  assert.equal(p.exitCode, null);
  assert.equal(p.isAlive(), false);
  assert.match(p.name, /^Process-\d+$/);
  p.start();
  assert.equal(typeof p.pid, "number");
  assert.notEqual(p.pid, process.pid);
  assert.equal(p.isAlive(), true);
  assert.equal(p.exitCode, null);
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.equal(p.isAlive(), false);
});

test("a module target sees its name, its parent and isMainThread false", T, async () => {
  const p = new Process({ target: { module: targets, export: "whoAmI" }, args: ["who", process.pid], name: "who" });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
});

test("exit codes: process.exit(n) gives n, a throw gives 1, terminate -15, kill -9", T, async () => {
  const exits = new Process({ target: { module: targets, export: "exitWith" }, args: [5] });
  const throws = new Process({
    target: () => {
      throw new Error("expected: this error is printed by the child");
    },
  });
  const terminated = new Process({ target: { module: targets, export: "sleepFor" }, args: [60_000] });
  const killed = new Process({ target: { module: targets, export: "sleepFor" }, args: [60_000] });
  for (const p of [exits, throws, terminated, killed]) p.start();
  terminated.terminate();
  killed.kill();
  await Promise.all([exits, throws, terminated, killed].map((p) => p.join()));
  assert.deepEqual([exits, throws, terminated, killed].map((p) => p.exitCode), [5, 1, -15, -9]);
});

test("the child works in the parent's current directory and environment at start()", T, async () => {
  process.env.WEFT_TEST_VALUE = "from the parent";
  try {
    const p = new Process({
      target: (cwd: string) => process.exit(process.env.WEFT_TEST_VALUE === "from the parent" && process.cwd() === cwd && !("WEFT_CHILD_PROCESS" in process.env) ? 0 : 3),
      args: [process.cwd()],
    });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
  } finally {
    delete process.env.WEFT_TEST_VALUE;
  }
});

test("join({ timeout }) returns with the process alive; activeChildren lists it until it ends", T, async () => {
  const p = new Process({ target: { module: targets, export: "sleepFor" }, args: [60_000], daemon: true });
  p.start();
  await p.join({ timeout: 50 });
  assert.equal(p.isAlive(), true);
  assert.equal(p.exitCode, null);
  assert.ok(activeChildren().includes(p));
  p.terminate();
  await p.join();
  assert.equal(activeChildren().includes(p), false);
  assert.equal(currentProcess().name, "MainProcess");
  assert.equal(currentProcess().pid, process.pid);
  assert.equal(parentProcess(), null);
});

test("misuse: start twice, join before start, close while running, use after close", T, async () => {
  const p = new Process({ target: { module: targets, export: "sleepFor" }, args: [60_000] });
  await assert.rejects(p.join(), /can only join a started process/);
  assert.throws(() => p.terminate(), RuntimeError);
  p.start();
  assert.throws(() => p.start(), (error: unknown) => error instanceof RuntimeError && /cannot start a process twice/.test(error.message));
  assert.throws(() => (p.daemon = true), RuntimeError);
  assert.throws(() => p.close(), (error: unknown) => error instanceof ValueError && /still running/.test(error.message));
  assert.throws(() => p.joinSync(), MainThreadBlockingError);
  p.kill();
  await p.join();
  p.close();
  assert.throws(() => p.exitCode, (error: unknown) => error instanceof ValueError && /closed/.test(error.message));
  assert.throws(() => p.start(), ValueError);
});

test("an argument that cannot reach another process is a TypeError naming its path, at start()", T, () => {
  const { port1, port2 } = new MessageChannel();
  const cases: [unknown[], RegExp][] = [
    [[1, { callback: () => 1 }], /^args\[1\]\.callback: functions cannot be sent to another process/],
    [[{ port: port1 }], /^args\[0\]\.port: a MessagePort .* cannot be sent to another process/],
    [[new Int32Array(new SharedArrayBuffer(4))], /^args\[0\]: a SharedArrayBuffer is memory of this process/],
  ];
  try {
    for (const [args, message] of cases) {
      const p = new Process({ target: () => {}, args: args as never });
      assert.throws(() => p.start(), (error: unknown) => error instanceof TypeError && message.test(error.message), String(message));
      assert.equal(p.pid, null, "nothing started");
      assert.equal(p.isAlive(), false);
    }
  } finally {
    port1.close();
    port2.close();
  }
});

test("joinSync() inside a thread blocks until the process has ended", T, async () => {
  const thread = new Thread({
    target: async () => {
      const { Process } = await import("weft-threads");
      const p = new Process({ target: () => process.exit(4) });
      p.start();
      p.joinSync({ timeout: 0 }); // a zero timeout only looks
      p.joinSync();
      return p.exitCode;
    },
  });
  thread.start();
  await thread.join();
  assert.equal(thread.error, undefined);
  assert.equal(thread.result, 4);
});

test("joinSync() on the main thread, where allowed, waits and honours its timeout", TF, async () => {
  const outcome = await runFixture("process-joinsync.mjs", [], 50_000);
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), ["after timeout: alive true exitCode null", "after join: alive false exitCode 7"]);
});

test("joinSync() where no /proc shows a child's end (macOS, Windows): a RuntimeError naming join(), which works", TF, async () => {
  const outcome = await runFixture("process-joinsync-elsewhere.mjs", [], 50_000);
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), [
    "RuntimeError: Process.joinSync() needs Linux's /proc to see a child's end while this thread blocks (darwin has no /proc); use `await process.join()`",
    "after join: exitCode 5",
  ]);
});

test("what a child prints comes out before join() resolves, its exit listeners' output and code too; a throw prints 'Process NAME:' and the stack", TF, async () => {
  const outcome = await runFixture("process-output.mjs", [], 50_000);
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), [
    "child says hi",
    "printer joined: 0",
    "failing joined: 1",
    "listener: bye",
    "late listener: bye",
    "listening joined: 3",
    "nested joined: 7",
  ]);
  assert.match(outcome.stderr, /^Process failing:\nRangeError: boom in the child\n\s+at failing \(.*process-output\.mjs:\d+:\d+\)/m);
});

test("a module that starts a process without the isMainThread guard fails in the child, clearly, and does not recurse", TF, async () => {
  const outcome = await runFixture("process-unguarded.mjs", [], 50_000);
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), ["parent: exitCode 1"]);
  assert.match(outcome.stderr, /^Process Process-1:\nRuntimeError: An attempt has been made to start a new process before the current process has finished its bootstrapping phase/m);
  assert.match(outcome.stderr, /if \(isMainThread\)/);
  assert.doesNotMatch(outcome.stdout, /work ran/);
});

test("a non-daemon process keeps its parent alive until it ends", TF, async () => {
  const outcome = await runFixture("process-lifetime.mjs", ["nondaemon"], 50_000);
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout).slice(1), ["parent done", "child done"]);
});

/** Resolves true once no process `pid` exists (polling), false after `limitMs`. */
async function goneWithin(pid: number, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

test("a daemon process is terminated when its parent exits", TF, async () => {
  const outcome = await runFixture("process-lifetime.mjs", ["daemon"], 50_000);
  assertClean(outcome);
  const pid = Number(/child pid (\d+)/.exec(outcome.stdout)?.[1]);
  assert.ok(pid > 0, outcome.stdout);
  assert.equal(await goneWithin(pid, 15_000), true, `daemon child ${pid} outlived its parent`);
});

test("a child exits when its parent is killed with SIGKILL", TF, async () => {
  const { spawn } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const parent = spawn(process.execPath, [fileURLToPath(new URL("process-lifetime.mjs", fixtures)), "orphan"], { env, stdio: ["ignore", "pipe", "inherit"] });
  try {
    let stdout = "";
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const match = /child pid (\d+)/.exec(stdout);
        if (match !== null) resolve(Number(match[1]));
      });
      parent.on("exit", () => reject(new Error(`the parent exited first:\n${stdout}`)));
    });
    process.kill(pid, 0); // the child runs
    parent.kill("SIGKILL");
    assert.equal(await goneWithin(pid, 20_000), true, `child ${pid} outlived its SIGKILLed parent`);
  } finally {
    parent.kill("SIGKILL");
  }
});
