/**
 * Process lifetime, seen from outside (API.md, "threading"): each test runs a small script
 * from test/fixtures with `node` and looks at its exit code and output. A non-daemon thread
 * keeps the process alive, a daemon thread does not, a thread's output comes before its
 * join() resolves, and a thread that exits or leaves timers behind does not take the
 * process down with it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClean, runFixture } from "./helpers/common.js";

const T = { timeout: 30_000 };

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

for (const mode of ["async", "sync"]) {
  test(`a non-daemon thread keeps the process alive until it finishes (${mode} wait)`, T, async () => {
    const outcome = await runFixture("nondaemon.mjs", [mode]);
    assertClean(outcome);
    assert.deepEqual(lines(outcome.stdout), ["main done", "thread finished"]);
  });

  test(`a daemon thread does not keep the process alive (${mode} wait)`, T, async () => {
    // The daemon would print after 30 s; the process must end well before our 20 s kill.
    const outcome = await runFixture("daemon.mjs", [mode]);
    assertClean(outcome);
    assert.deepEqual(lines(outcome.stdout), ["daemon started", "main done, daemon alive: true"]);
    assert.doesNotMatch(outcome.stdout, /LATE/);
  });
}

for (const mode of ["async", "sync"]) {
  test(`a thread joining the main thread returns once the main program has finished (${mode})`, T, async () => {
    const outcome = await runFixture("join-main.mjs", [mode]);
    assertClean(outcome);
    assert.deepEqual(lines(outcome.stdout), ["main done", "timed join returned", "main's last timer", "thread saw the main program finish"]);
  });
}

test("awaiting join() of a daemon thread keeps the process alive until it ends", T, async () => {
  const outcome = await runFixture("join-daemon.mjs");
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), ["daemon done", "joined 7"]);
});

test("a non-daemon thread started by a thread keeps the process alive", T, async () => {
  const outcome = await runFixture("nested-nondaemon.mjs");
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), ["starter done, child daemon: false", "grandchild finished"]);
});

test("a thread's output comes before what main prints after join(), every time", T, async () => {
  const rounds = 25;
  const outcome = await runFixture("output-order.mjs", [String(rounds)]);
  assertClean(outcome);
  const expected: string[] = [];
  const expectedErr: string[] = [];
  for (let i = 0; i < rounds; i++) {
    expected.push(`thread ${i} a`, `thread ${i} b`, `thread ${i} c`, `main ${i}`);
    expectedErr.push(`thread ${i} err`, `main ${i} err`);
  }
  const out = lines(outcome.stdout);
  assert.deepEqual(out.slice(0, expected.length), expected);
  assert.deepEqual(lines(outcome.stderr), expectedErr);
  // The parallel part: each thread's lines in its own order, all before "all joined".
  const parallel = out.slice(expected.length);
  assert.equal(parallel.at(-1), "all joined");
  assert.equal(parallel.length, 6 * 3 + 1);
  for (let k = 0; k < 6; k++) {
    const mine = parallel.filter((line) => line.startsWith(`parallel ${k} `));
    assert.deepEqual(mine, [0, 1, 2].map((line) => `parallel ${k} ${line}`));
  }
});

test("a thread printing more than a pipe holds loses nothing and still comes first", T, async () => {
  const count = 40_000; // ~4 MB
  const outcome = await runFixture("big-output.mjs", [String(count)]);
  assertClean(outcome);
  const out = lines(outcome.stdout);
  assert.equal(out.length, count + 2);
  assert.equal(out.filter((line) => line === "x".repeat(99)).length, count);
  assert.deepEqual(out.slice(-2), ["thread last line", "main after join"]);
});

test("process.exit(3) in a thread ends only that thread, quietly (no excepthook); the process goes on and exits 0", T, async () => {
  const outcome = await runFixture("exit-code.mjs");
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), ["exiter running", "exiter error: none", "later thread ran", "main done"]);
});

test("a pending async acquire of a weft Lock keeps the process alive", T, async () => {
  const outcome = await runFixture("lock-keepalive.mjs");
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), ["main waiting", "holder releasing", "main acquired"]);
});

test("an interval left by a finished thread does not keep the process alive", T, async () => {
  const outcome = await runFixture("leftover-timers.mjs", ["interval"]);
  assertClean(outcome);
  const out = lines(outcome.stdout).filter((line) => line !== "INTERVAL TICK");
  assert.deepEqual(out, ["thread returned", "later ok"]);
});

test("a timer that throws after its thread returned does not crash the process", T, async () => {
  const outcome = await runFixture("leftover-timers.mjs", ["throw"]);
  assertClean(outcome);
  assert.deepEqual(lines(outcome.stdout), ["thread returned", "later ok"]);
});
