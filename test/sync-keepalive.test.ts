/**
 * A pending async wait must keep the process alive (a bare Atomics.waitAsync does not).
 * Each case runs in a child process whose only pending work is the wait: the releasing
 * timer is unref'd, so without weft's keep-alive handle the process would exit with
 * Node's "unsettled top-level await" (code 13) before the wait resolved.
 * (RLock.acquire waits in Lock.acquire, covered here; on one thread it never waits.)
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const T = { timeout: 20_000 };
const entry = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

function runModule(source: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--input-type=module", "-e", source], { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const cases: Record<string, string> = {
  "Lock.acquire": `const x = new w.Lock(); await x.acquire();
    later(() => x.release()); await x.acquire();`,
  "Condition.wait": `const c = new w.Condition(new w.Lock()); await c.acquire();
    later(() => { c.acquireSync({ blocking: false }); c.notify(); c.release(); });
    if (!(await c.wait())) throw new Error("timed out");`,
  "Semaphore.acquire": `const s = new w.Semaphore(0); later(() => s.release());
    if (!(await s.acquire())) throw new Error("no permit");`,
  "Event.wait": `const e = new w.Event(); later(() => e.set());
    if (!(await e.wait())) throw new Error("not set");`,
};

for (const [name, body] of Object.entries(cases)) {
  test(`keep-alive: a pending ${name}() keeps the process alive until it resolves`, T, async () => {
    const source =
      `const w = await import(${JSON.stringify(entry)});\n` +
      `const later = (fn) => setTimeout(fn, 150).unref();\n` +
      `${body}\nconsole.log("resolved");`;
    const { code, stdout, stderr } = await runModule(source);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.equal(stdout.trim(), "resolved");
  });
}

test("keep-alive: a barrier wait keeps the process alive until the last party arrives", T, async () => {
  const source =
    `const w = await import(${JSON.stringify(entry)});\n` +
    `const b = new w.Barrier(2);\n` +
    `setTimeout(() => void b.wait(), 150).unref();\n` +
    `const index = await b.wait();\nconsole.log("resolved", index);`;
  const { code, stdout, stderr } = await runModule(source);
  assert.equal(stderr, "");
  assert.equal(code, 0);
  assert.equal(stdout.trim(), "resolved 0");
});

test("keep-alive: the control case exits early (a bare waitAsync does not hold the loop)", T, async () => {
  const source =
    `const cells = new Int32Array(new SharedArrayBuffer(4));\n` +
    `setTimeout(() => Atomics.notify(cells, 0), 150).unref();\n` +
    `await Atomics.waitAsync(cells, 0, 0).value;\nconsole.log("resolved");`;
  const { code, stdout } = await runModule(source);
  assert.equal(code, 13);
  assert.equal(stdout, "");
});
