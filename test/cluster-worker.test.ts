/**
 * `weft worker`'s stop (cluster/cli.ts), against a real Redis and real worker processes: a
 * first SIGTERM finishes the running task and takes no new one, then exits 0; a second
 * signal stops it at once (exit 1), and the task it held runs again on another worker.
 * Tasks leave lines in a file, the only state a task on another process shares with the test.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ClusterExecutor } from "weft-threads";
import { clusterScene, lines, mark, type WorkerProcess } from "./helpers/redis.js";
import { until } from "./helpers/common.js";

/** Short BullMQ locks: a task whose worker stopped at once is taken again within seconds. */
const OPTIONS = ["--concurrency", "1", "--prefetch", "0", "--lock-duration", "2000", "--stalled-interval", "1000"];

const scene = clusterScene("weft-worker-");

function started(): Promise<WorkerProcess> {
  return scene.worker(["--queue", "stopping", ...OPTIONS]);
}

test("weft worker: SIGTERM finishes the running task, takes no new one and exits 0; a second signal stops it at once and its task runs elsewhere", { timeout: 90_000 }, async () => {
  const file = join(scene.scratch, "tasks");
  await using executor = new ClusterExecutor({ connection: scene.redis.url, queue: "stopping" });

  const first = await started();
  const running = executor.submit(mark, file, "running", 1500);
  await until(() => lines(file).includes("running"), "the first task to start");
  first.child.kill("SIGTERM");
  await until(() => first.output().includes("finishing the running tasks"), "the worker to hear the signal");
  const next = executor.submit(mark, file, "next", 0);
  assert.equal(await running, "running", "the running task finished");
  assert.deepEqual(await first.exit, { code: 0, signal: null }, "then the worker exited 0");
  assert.equal(next.done(), false, "the stopping worker took no new task");
  assert.deepEqual(lines(file), ["running"]);

  const second = await started();
  assert.equal(await next, "next", "the task left in the queue runs on the next worker");
  const held = executor.submit(mark, file, "held", 3000);
  await until(() => lines(file).includes("held"), "the held task to start");
  second.child.kill("SIGTERM");
  await until(() => second.output().includes("finishing the running tasks"), "the worker to hear the first signal");
  second.child.kill("SIGTERM");
  assert.deepEqual(await second.exit, { code: 1, signal: null }, "a second signal: it exits at once, 1");

  await started();
  assert.equal(await held, "held", "the held task settles, run again by another worker");
  assert.deepEqual(lines(file), ["running", "next", "held", "held"], "the held task ran twice: started on the stopped worker, then again");
});
