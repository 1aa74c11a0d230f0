/**
 * local (API.md, "threading": Python's `threading.local`): one value per thread, `init`
 * called lazily once per thread; a later thread on the same warm worker (carriers are
 * reused) does not see an earlier thread's value; in a pool, each worker thread keeps its
 * own value across its tasks (Python's per-thread connection idiom).
 *
 * This file is also a module target (the exports below run in threads and pool workers),
 * so the tests are registered under `if (isMainThread)`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { RuntimeError, Thread, ThreadPoolExecutor, currentThread, getIdent, isMainThread, local, type Local } from "weft-threads";

/** Made when this module loads: once per isolate, shared by every thread run there in turn. */
const state = local(() => ({ ident: getIdent(), bumps: 0 }));
const connection = local<string>();

/** Bumps this thread's value `times` times: what it sees then. */
export function bump(times: number): { ident: number; initIdent: number; bumps: number } {
  for (let i = 0; i < times; i++) state.value.bumps++;
  return { ident: getIdent(), initIdent: state.value.ident, bumps: state.value.bumps };
}

/** What a thread sees of `connection` before it sets it, then sets it. */
export function setConnection(name: string): string | undefined {
  const before = connection.value;
  connection.value = name;
  return before;
}

/** A pool initializer: opens this worker's "connection". */
export function openConnection(): void {
  connection.value = `connection of ${currentThread().name}`;
}

/** A pool task: the connection of the worker it runs on. */
export function useConnection(): { connection: string | undefined; worker: string } {
  return { connection: connection.value, worker: currentThread().name };
}

const T = { timeout: 30_000 };
const here = import.meta.url;

async function runExport<R>(exportName: string, args: unknown[]): Promise<Thread<R, unknown[]>> {
  const thread = new Thread<R, unknown[]>({ target: { module: here, export: exportName }, args, daemon: true });
  thread.start();
  await thread.join({ timeout: 20_000 });
  if (thread.error !== undefined) throw thread.error;
  return thread;
}

if (isMainThread) registerTests();

function registerTests(): void {
  test("on one thread: init runs lazily, once; a set value stays; without init the value is undefined until set", T, () => {
    let calls = 0;
    const counter = local(() => ++calls);
    assert.equal(calls, 0, "init is lazy");
    assert.equal(counter.value, 1);
    assert.equal(counter.value, 1);
    assert.equal(calls, 1);
    counter.value = 10;
    assert.equal(counter.value, 10);
    assert.equal(calls, 1);
    const plain = local<string>();
    assert.equal(plain.value, undefined);
    assert.equal(inspect(plain), "<local unset>");
    plain.value = "set";
    assert.equal(plain.value, "set");
    assert.equal(inspect(plain), "<local>");
  });

  test("each thread gets its own value, also a later thread on the same warm worker", T, async () => {
    const runs: { ident: number; initIdent: number; bumps: number; worker: number | null }[] = [];
    // One after another: each thread most likely runs on the carrier the previous one left.
    for (let i = 0; i < 4; i++) {
      const thread = await runExport<{ ident: number; initIdent: number; bumps: number }>("bump", [3]);
      runs.push({ ...(thread.result as { ident: number; initIdent: number; bumps: number }), worker: thread.nativeId });
    }
    for (const run of runs) {
      assert.equal(run.bumps, 3, `a thread saw an earlier thread's bumps: ${JSON.stringify(runs)}`);
      assert.equal(run.initIdent, run.ident, `init ran for another thread: ${JSON.stringify(runs)}`);
    }
    assert.ok(new Set(runs.map((run) => run.worker)).size < runs.length, `no two threads shared a worker, so reuse went untested: ${JSON.stringify(runs)}`);
    const fresh = await runExport<string | undefined>("setConnection", ["a"]);
    assert.equal(fresh.result, undefined);
    const next = await runExport<string | undefined>("setConnection", ["b"]);
    assert.equal(next.result, undefined, "the value set by the previous thread leaked into the next one");
    // The main thread's own value is apart from all of them.
    assert.equal(state.value.ident, getIdent());
    assert.equal(state.value.bumps, 0);
  });

  test("in a pool, each worker keeps its own value across its tasks (an initializer's connection)", T, async () => {
    await using pool = new ThreadPoolExecutor({ maxWorkers: 2, minWorkers: 2, threadNamePrefix: "local-pool", initializer: { module: here, export: "openConnection" } });
    const seen = await Promise.all(Array.from({ length: 20 }, () => pool.submit({ module: here, export: "useConnection" })));
    for (const { connection: value, worker } of seen as { connection: string | undefined; worker: string }[]) {
      assert.equal(value, `connection of ${worker}`);
    }
  });

  test("an init that throws is called again at the next read; one that reads its own value is a RuntimeError", T, () => {
    let attempts = 0;
    const flaky = local(() => {
      if (++attempts === 1) throw new Error("first attempt fails");
      return "second";
    });
    assert.throws(() => flaky.value, /first attempt fails/);
    assert.equal(flaky.value, "second");
    const selfish: Local<number> = local((): number => selfish.value + 1);
    assert.throws(() => selfish.value, RuntimeError);
    assert.throws(() => local(42 as never), TypeError);
    // Types: with init, the value's type is init's; without, it may be undefined.
    const typeChecksOnly = (): void => {
      const n: number = local(() => 1).value;
      const maybe: string | undefined = local<string>().value;
      // @ts-expect-error without init the value may be undefined
      const sure: string = local<string>().value;
      void [n, maybe, sure];
    };
    void typeChecksOnly;
  });
}
