/**
 * The raw BullMQ baseline's worker process: `node build/bench/peers/bullmq-worker.js URL QUEUE CONCURRENCY`.
 * Jobs `{ x }` return `x + 1`; jobs `{ burn: ms }` spin the CPU that long first (what the
 * cluster benchmark's CPU-bound weft tasks do). Prints "ready" once it takes jobs.
 */
import { Worker } from "bullmq";
import { Redis } from "ioredis";

const [url, queue, concurrency] = process.argv.slice(2);
const worker = new Worker<{ x?: number; burn?: number }>(
  queue,
  async (job) => {
    if (job.data.burn !== undefined) {
      const end = performance.now() + job.data.burn;
      while (performance.now() < end);
    }
    return (job.data.x ?? 0) + 1;
  },
  { connection: new Redis(url, { maxRetriesPerRequest: null }), concurrency: Number(concurrency) },
);
worker.on("error", () => {});
await worker.waitUntilReady();
process.stdout.write("ready\n");
process.on("SIGTERM", () => void worker.close().then(() => process.exit(0)));
