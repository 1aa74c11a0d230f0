/**
 * ClusterExecutor's bundles (cluster-executor.ts): a batch of more tasks than fit one job
 * each travels several tasks to a job, and every task still keeps its own outcome, error
 * and cancel. Against a real Redis and a real `weft worker` process, as in cluster.test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { CancelledError, ClusterExecutor, sleep } from "weft-threads";
import { clusterScene, lines, mark } from "./helpers/redis.js";

/** More than one batch's worth of single-task jobs (SPREAD): these go bundled. */
const TASKS = 2100;

const scene = clusterScene("weft-bundle-");

test("a large batch goes in fewer jobs than tasks; each task keeps its own result and its own error", { timeout: 90_000 }, async () => {
  const queue = "bundled";
  await scene.worker(["--queue", queue, "--concurrency", "2", "--prefetch", "4"]);
  await using executor = new ClusterExecutor({ connection: scene.redis.url, queue });
  const { Redis } = await import("ioredis");
  const client = new Redis(scene.redis.url);
  try {
    assert.equal(await executor.submit((x: number) => x * 2, 21), 42);
    const before = await client.zcard(`bull:${queue}:completed`);
    const futures = Array.from({ length: TASKS }, (_, i) =>
      executor.submit((x: number) => {
        if (x % 500 === 7) throw new RangeError(`task ${x} fails`);
        return x * 2;
      }, i),
    );
    const outcomes = await Promise.allSettled(futures);
    outcomes.forEach((outcome, i) => {
      if (i % 500 === 7) {
        assert.equal(outcome.status, "rejected", `task ${i} failed`);
        const reason = (outcome as PromiseRejectedResult).reason as Error;
        assert.ok(reason instanceof RangeError, `task ${i}'s error is its own class`);
        assert.match(reason.message, new RegExp(`^task ${i} fails`));
      } else {
        assert.deepEqual(outcome, { status: "fulfilled", value: i * 2 }, `task ${i}'s own result`);
      }
    });
    const jobs = (await client.zcard(`bull:${queue}:completed`)) - before;
    assert.ok(jobs > 0 && jobs <= TASKS / 2, `${TASKS} tasks went in ${jobs} jobs`);
  } finally {
    client.disconnect();
  }
});

test("cancelling tasks of waiting bundles: the others run once each, the cancelled ones never", { timeout: 90_000 }, async () => {
  // No worker serves the queue until the cancels are done: every bundle waits in Redis.
  const queue = "bundled-waiting";
  const file = join(scene.scratch, "cancel");
  await using executor = new ClusterExecutor({ connection: scene.redis.url, queue });
  const { Redis } = await import("ioredis");
  const client = new Redis(scene.redis.url);
  try {
    const futures = Array.from({ length: TASKS }, (_, i) => executor.submit(mark, file, String(i), 0));
    const deadline = Date.now() + 30_000;
    let waiting = 0;
    for (let last = -1; waiting === 0 || waiting !== last; await sleep(200)) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the jobs to be added");
      last = waiting;
      waiting = await client.llen(`bull:${queue}:wait`);
    }
    assert.ok(waiting < TASKS, `the tasks wait in ${waiting} jobs`);
    // A whole bundle's worth at the start, single tasks out of others, and the last task.
    const cancelled = new Set([0, 1, 2, 3, 4, 10, 1000, TASKS - 1]);
    for (const i of cancelled) assert.equal(futures[i].cancel(), true, `task ${i} cancelled`);
    // The cancelled bundles leave the queue and their other tasks go again as jobs of their
    // own: wait until the queue's length has moved and then holds still.
    for (let moved = false, last = waiting; ; ) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the cancelled bundles' tasks to go again");
      await sleep(200);
      const now = await client.llen(`bull:${queue}:wait`);
      if (moved && now === last) break;
      moved ||= now !== waiting;
      last = now;
    }
    await scene.worker(["--queue", queue, "--concurrency", "2", "--prefetch", "4"]);
    for (const [i, future] of futures.entries()) {
      if (cancelled.has(i)) await assert.rejects(future, CancelledError);
      else assert.equal(await future, String(i));
    }
    await sleep(500); // a cancelled task that was run anyway would have written by now
    const ran = lines(file);
    assert.equal(ran.length, new Set(ran).size, "no task ran twice");
    assert.deepEqual(
      ran.map(Number).sort((a, b) => a - b),
      futures.map((_, i) => i).filter((i) => !cancelled.has(i)),
      "every task ran but the cancelled ones",
    );
  } finally {
    client.disconnect();
  }
});
