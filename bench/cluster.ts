/**
 * The cluster group: ClusterExecutor with `weft worker` processes, against raw BullMQ
 * (`Queue.addBulk` + a `Worker` process + `QueueEvents`) doing the same work in the same
 * run, over one local redis-server started for the run.
 *
 * Both sides' workers take 50 jobs at a time (raw: `concurrency: 50`; weft: 2 threads + 48
 * prefetched). Rounds alternate weft and raw, so a drift of the machine's load hits both.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { ClusterExecutor } from "weft-threads";
import { startRedis, startWorker, type WorkerProcess } from "../test/helpers/redis.js";
import { fmtRate, latency, now, rate, type Check, type GroupResult, type Row } from "./stats.js";

const GROUP = "cluster";
const ROUNDS = 3;
const TINY = 3000;
const MAP_ITEMS = 30_000;
const CHUNK = 100;
const TRIPS = 200;
const CPU_TASKS = 40;
const BURN_MS = 20;

function rawWorker(url: string, queue: string, concurrency: number): Promise<ChildProcess> {
  const script = fileURLToPath(new URL("./peers/bullmq-worker.js", import.meta.url));
  const child = spawn(process.execPath, [script, url, queue, String(concurrency)], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (text: string) => text.includes("ready") && resolve(child));
    child.once("exit", (code) => reject(new Error(`the raw BullMQ worker exited (${code})`)));
  });
}

/** Raw BullMQ: jobs added in bulk, completions counted from QueueEvents. */
class RawSide {
  readonly queue: Queue;
  readonly events: QueueEvents;
  #waiting = new Map<string, () => void>();
  #counter = 0;

  constructor(url: string, name: string) {
    this.queue = new Queue(name, { connection: new Redis(url, { maxRetriesPerRequest: null }) });
    this.events = new QueueEvents(name, { connection: new Redis(url, { maxRetriesPerRequest: null }) });
    this.events.on("completed", ({ jobId }) => {
      const done = this.#waiting.get(jobId);
      if (done !== undefined) {
        this.#waiting.delete(jobId);
        done();
      }
    });
  }

  /** Adds the jobs in bulk; resolves once all completed. */
  async run(datas: object[]): Promise<void> {
    const ids = datas.map(() => `r${++this.#counter}`);
    const all = Promise.all(ids.map((id) => new Promise<void>((resolve) => this.#waiting.set(id, resolve))));
    // Every chunk is sent at once, as the executor sends its batches: awaiting one addBulk before
    // the next would leave the worker idle between them and handicap the baseline.
    const adds: Promise<unknown>[] = [];
    for (let at = 0; at < datas.length; at += 1000) {
      adds.push(this.queue.addBulk(datas.slice(at, at + 1000).map((data, i) => ({ name: "t", data, opts: { jobId: ids[at + i], removeOnComplete: { age: 3600 } } }))));
    }
    await Promise.all([...adds, all]);
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
  }
}

export async function benchCluster(): Promise<GroupResult> {
  const rows: Row[] = [];
  const checks: Check[] = [];
  const notes: string[] = [];
  const redis = await startRedis();
  const children: ChildProcess[] = [];
  const weftWorkers: WorkerProcess[] = [];
  try {
    children.push(await rawWorker(redis.url, "raw", 50));
    const tinyWorker = startWorker(redis.url, ["--queue", "tiny", "--concurrency", "2", "--prefetch", "48"]);
    weftWorkers.push(tinyWorker);
    await tinyWorker.ready;
    const raw = new RawSide(redis.url, "raw");
    await raw.events.waitUntilReady();
    const executor = new ClusterExecutor({ connection: redis.url, queue: "tiny" });
    // With retries a task is never bundled (cluster-executor.ts): a job per task, as raw's.
    const perJob = new ClusterExecutor({ connection: redis.url, queue: "tiny", retries: 1 });
    await executor.submit((x: number) => x + 1, 0); // connected, and the worker's pool warm
    await perJob.submit((x: number) => x + 1, 0);
    await raw.run([{ x: 0 }]);

    // Tiny tasks: throughput.
    const weftTiny: number[] = [];
    const rawTiny: number[] = [];
    const paired: number[] = [];
    const perJobTiny: number[] = [];
    const perJobPaired: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let t = now();
      await Promise.all(Array.from({ length: TINY }, (_, i) => executor.submit((x: number) => x + 1, i)));
      weftTiny.push(TINY / ((now() - t) / 1000));
      t = now();
      await raw.run(Array.from({ length: TINY }, (_, i) => ({ x: i })));
      rawTiny.push(TINY / ((now() - t) / 1000));
      paired.push(weftTiny[round] / rawTiny[round]);
      t = now();
      await Promise.all(Array.from({ length: TINY }, (_, i) => perJob.submit((x: number) => x + 1, i)));
      perJobTiny.push(TINY / ((now() - t) / 1000));
      perJobPaired.push(perJobTiny[round] / rawTiny[round]);
    }
    rows.push({ group: GROUP, label: `raw BullMQ: ${TINY} tiny jobs, addBulk + Worker(50) + QueueEvents`, figure: rate(rawTiny, `${TINY} jobs`, 1, "jobs/s") });
    rows.push({ group: GROUP, label: `ClusterExecutor: ${TINY} tiny tasks, submit + Promise.all`, figure: rate(weftTiny, `${TINY} tasks`, 1, "tasks/s"), vs: `raw BullMQ: ${TINY} tiny jobs, addBulk + Worker(50) + QueueEvents`, paired });
    rows.push({
      group: GROUP,
      label: `ClusterExecutor with retries (a job per task, not bundled): ${TINY} tiny tasks, submit + Promise.all`,
      figure: rate(perJobTiny, `${TINY} tasks`, 1, "tasks/s"),
      vs: `raw BullMQ: ${TINY} tiny jobs, addBulk + Worker(50) + QueueEvents`,
      paired: perJobPaired,
    });
    await perJob.shutdown();
    const tinyRatio = paired.slice().sort((a, b) => a - b)[Math.floor(paired.length / 2)];
    checks.push({ target: "tiny-task throughput >= 0.9x raw BullMQ", measured: `${tinyRatio.toFixed(2)}x`, met: tinyRatio >= 0.9 });

    // map with a chunksize: items/s against raw BullMQ's jobs/s.
    const mapRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t = now();
      let count = 0;
      for await (const _ of executor.map((x: number) => x + 1, Array.from({ length: MAP_ITEMS }, (_, i) => i), { chunksize: CHUNK })) count++;
      mapRates.push(count / ((now() - t) / 1000));
    }
    rows.push({ group: GROUP, label: `ClusterExecutor.map, ${MAP_ITEMS} items, chunksize ${CHUNK}`, figure: rate(mapRates, `${MAP_ITEMS} items`, 0, "items/s") });
    const rawMedian = rawTiny.slice().sort((a, b) => a - b)[Math.floor(rawTiny.length / 2)];
    const mapMedian = mapRates.slice().sort((a, b) => a - b)[Math.floor(mapRates.length / 2)];
    checks.push({ target: `map chunksize ${CHUNK} >= 10x raw BullMQ's jobs/s, in items/s`, measured: `${fmtRate(mapMedian)} items/s vs ${fmtRate(rawMedian)} jobs/s = ${(mapMedian / rawMedian).toFixed(1)}x`, met: mapMedian >= 10 * rawMedian });

    // One task's round trip, one at a time.
    const weftTrips: number[] = [];
    const rawTrips: number[] = [];
    for (let i = 0; i < TRIPS + 20; i++) {
      let t = now();
      await executor.submit((x: number) => x + 1, i);
      const weftUs = (now() - t) * 1000;
      t = now();
      await raw.run([{ x: i }]);
      const rawUs = (now() - t) * 1000;
      if (i >= 20) {
        weftTrips.push(weftUs);
        rawTrips.push(rawUs);
      }
    }
    const weftLat = latency(weftTrips, 20);
    const rawLat = latency(rawTrips, 20);
    rows.push({ group: GROUP, label: "raw BullMQ: one job's round trip (add, completed event)", figure: rawLat });
    rows.push({ group: GROUP, label: "ClusterExecutor: one task's round trip (submit, await)", figure: weftLat, vs: "raw BullMQ: one job's round trip (add, completed event)" });
    checks.push({ target: "one-task round trip within 1.2x raw BullMQ's (median)", measured: `${(weftLat.median / rawLat.median).toFixed(2)}x`, met: weftLat.median <= 1.2 * rawLat.median });
    await executor.shutdown();
    await raw.close();

    // CPU-bound tasks: one worker process, then two (one thread each).
    const cpuWorkers = [startWorker(redis.url, ["--queue", "cpu", "--concurrency", "1", "--prefetch", "0"])];
    weftWorkers.push(...cpuWorkers);
    await cpuWorkers[0].ready;
    const cpu = new ClusterExecutor({ connection: redis.url, queue: "cpu" });
    const burn = (ms: number): number => {
      const end = performance.now() + ms;
      let spins = 0;
      while (performance.now() < end) spins++;
      return spins;
    };
    const cpuRound = async (): Promise<number> => {
      const t = now();
      await Promise.all(Array.from({ length: CPU_TASKS }, () => cpu.submit(burn, BURN_MS)));
      return CPU_TASKS / ((now() - t) / 1000);
    };
    await cpuRound();
    const one: number[] = [];
    for (let round = 0; round < ROUNDS; round++) one.push(await cpuRound());
    const second = startWorker(redis.url, ["--queue", "cpu", "--concurrency", "1", "--prefetch", "0"]);
    weftWorkers.push(second);
    await second.ready;
    await cpuRound();
    const two: number[] = [];
    for (let round = 0; round < ROUNDS; round++) two.push(await cpuRound());
    await cpu.shutdown();
    rows.push({ group: GROUP, label: `ClusterExecutor: ${CPU_TASKS} tasks of ${BURN_MS} ms CPU, 1 worker process`, figure: rate(one, `${CPU_TASKS} tasks`, 1, "tasks/s") });
    rows.push({ group: GROUP, label: `ClusterExecutor: ${CPU_TASKS} tasks of ${BURN_MS} ms CPU, 2 worker processes`, figure: rate(two, `${CPU_TASKS} tasks`, 1, "tasks/s"), vs: `ClusterExecutor: ${CPU_TASKS} tasks of ${BURN_MS} ms CPU, 1 worker process`, paired: two.map((x, i) => x / one[i]) });
    const oneMedian = one.slice().sort((a, b) => a - b)[1];
    const twoMedian = two.slice().sort((a, b) => a - b)[1];
    checks.push({ target: "2 worker processes >= 1.6x one, CPU-bound", measured: `${(twoMedian / oneMedian).toFixed(2)}x`, met: twoMedian >= 1.6 * oneMedian });
    notes.push("one local redis-server 7.0 (no persistence); worker processes on the same 2-core machine as the caller and Redis");
    notes.push(`a batch of ${TINY} submits travels bundled (several tasks a job, each with its own outcome); the 'retries' row is one job per task, as raw BullMQ's`);
  } finally {
    await Promise.all(weftWorkers.map((worker) => worker.stop()));
    for (const child of children) child.kill("SIGTERM");
    await redis.stop();
  }
  return { rows, checks, notes };
}
