/**
 * 05 — Producer and consumer sharing a queue, with `task_done()` and a sentinel.
 *
 * Python:
 *
 *     q = queue.Queue()
 *     def producer():
 *         for i in range(5):
 *             q.put(i)
 *         q.put(None)              # the sentinel: "no more items"
 *     def consumer():
 *         while (item := q.get()) is not None:
 *             print("consumed", item)
 *             q.task_done()
 *         q.task_done()
 *
 * weft: the queue lives in shared memory and is passed to both threads in `args`; each
 * thread puts and gets directly (no detour through the main thread). The main thread waits
 * for every task with `await q.join()`, then shows Python 3.13's `shutdown()` as the
 * sentinel-free way to end a stream, and `for await` over a queue.
 *
 * Run alone: `node build/examples/05-producer-consumer.js`.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue, ShutDown, Thread, isMainThread } from "weft-threads";

/** What {@link main} found, for the tour and the tests to check. */
export interface ProducerConsumerResult {
  /** Items the consumer thread got, in order (the sentinel version). */
  consumed: number[];
  /** Whether `await queue.join()` returned once every item was marked done. */
  joined: boolean;
  /** Items drained by `for await` on the main thread after a thread shut the queue down. */
  drained: string[];
  /** What a put after shutdown threw. */
  putAfterShutdown: string;
}

/** Runs the scenario; `print` receives the main thread's narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<ProducerConsumerResult> {
  const queue = new Queue<number | null>();

  const producer = new Thread({
    name: "producer",
    target: (q: Queue<number | null>, n: number) => {
      for (let i = 0; i < n; i++) {
        q.putSync(i);
        console.log(`  [producer] put ${i}`);
      }
      q.putSync(null); // the sentinel
    },
    args: [queue, 5],
  });
  const consumer = new Thread({
    name: "consumer",
    target: (q: Queue<number | null>) => {
      const got: number[] = [];
      for (let item = q.getSync(); item !== null; item = q.getSync()) {
        console.log(`  [consumer] consumed ${item}`);
        got.push(item);
        q.taskDone();
      }
      q.taskDone(); // for the sentinel
      return got;
    },
    args: [queue],
  });
  consumer.start();
  producer.start();
  // join() waits for the items put so far: wait for the producer first, as a Python program
  // should too (a thread may not have put anything yet when join() is called).
  await producer.join();
  await queue.join();
  print("queue.join() returned: every item put was marked done with taskDone()");
  await consumer.join();
  const consumed = consumer.result ?? [];
  print(`The consumer got ${JSON.stringify(consumed)}, in order, each exactly once`);

  // Python 3.13's shutdown() instead of a sentinel: the producer shuts the queue down,
  // the consumer (here the main thread, with `for await`) drains what is left, then stops.
  const words = new Queue<string>({ maxsize: 2 });
  const writer = new Thread({
    name: "writer",
    target: (q: Queue<string>) => {
      for (const word of ["threads", "share", "a", "queue"]) q.putSync(word);
      q.shutdown();
      try {
        q.putSync("late");
        return "nothing";
      } catch (error) {
        return (error as Error).name;
      }
    },
    args: [words],
  });
  writer.start();
  const drained: string[] = [];
  for await (const word of words) drained.push(word);
  await writer.join();
  print(`for await drained ${JSON.stringify(drained)} and ended when the queue was shut down and empty`);
  print(`A put after shutdown threw ${writer.result} (the ShutDown class is exported: ${ShutDown.name})`);
  return { consumed, joined: true, drained, putAfterShutdown: String(writer.result) };
}

if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
