/**
 * The guided tour: `npm run demo`.
 *
 * Runs every example in order, each under a heading, with the Python it corresponds to
 * and what its output means for a Python developer, then a short summary.
 *
 * To add a section (queues, pools, processes, ...), write `examples/NN-name.ts` exporting
 * `main(print)` and append a `section({...})` to SECTIONS below.
 */
import { main as threadBasics } from "./01-thread-basics.js";
import { main as daemonThreads } from "./02-daemon-threads.js";
import { main as sharedCounter } from "./03-shared-counter.js";
import { LIMIT, main as cpuParallelism } from "./04-cpu-parallelism.js";
import { main as producerConsumer } from "./05-producer-consumer.js";
import { main as threadPool } from "./06-thread-pool.js";
import { main as deadlock } from "./07-deadlock.js";
import { main as starvation } from "./08-starvation.js";
import { main as multiprocessing } from "./09-multiprocessing.js";

/** One stop of the tour. */
interface Section<R> {
  /** The heading. */
  title: string;
  /** The file to read for the code (relative to the repository root). */
  file: string;
  /** The Python this section turns into weft, a few lines. */
  python: string;
  /** The same lines in weft, printed beside the Python. */
  weft: string;
  /** Runs the example; its narration goes to `print`. */
  run: (print: (line: string) => void) => Promise<R>;
  /** What the output means, for a Python developer: a few lines, computed from the result. */
  meaning: (result: R) => string[];
  /** One line for the closing summary. */
  summary: (result: R) => string;
}

/** Keeps each section's result type tied to its own `meaning` and `summary`. */
function section<R>(s: Section<R>): Section<unknown> {
  return s as Section<unknown>;
}

const SECTIONS: Section<unknown>[] = [
  section({
    title: "Threads: start, join, result, error",
    file: "examples/01-thread-basics.ts",
    python: `t = threading.Thread(target=worker)\nt.start()\nt.join()\nprint("Thread finished")`,
    weft: `const t = new Thread({ target: worker })\nt.start()\nawait t.join()\nconsole.log("Thread finished")`,
    run: threadBasics,
    meaning: (r) => [
      `new Thread({ target, args }) / start() / join() is threading.Thread; join() is a Promise on the`,
      `main thread (await it), and joinSync() blocks inside threads. "${r.name}" had ident ${r.ident}.`,
      `Unlike Python, the thread's return value (${r.result}) and its exception (${r.errorName}) are kept`,
      `on thread.result / thread.error; the exception still goes to the excepthook first.`,
      `A target is a self-contained function (shipped as source) or a module export`,
      `{ module: import.meta.url, export: "greet" } — guard top-level code with isMainThread.`,
    ],
    summary: (r) => `threads start, join, and hand back results (${r.result}) and errors (${r.errorName})`,
  }),
  section({
    title: "Daemon threads",
    file: "examples/02-daemon-threads.ts",
    python: `t = threading.Thread(target=background,\n                     daemon=True)\nt.start()`,
    weft: `const t = new Thread({ target: background,\n                       daemon: true })\nt.start()`,
    run: daemonThreads,
    meaning: (r) => [
      `Same rule as Python: a non-daemon thread keeps the process alive (the child process lived`,
      `${r.nonDaemonChild.wallMs.toFixed(0)} ms, until its thread finished); a daemon thread does not (that child lived`,
      `${r.daemonChild.wallMs.toFixed(0)} ms and its thread was stopped). join({ timeout }) returns when the time is up;`,
      `isAlive() tells you whether the thread is still running, exactly as in Python.`,
    ],
    summary: (r) =>
      `non-daemon child lived ${r.nonDaemonChild.wallMs.toFixed(0)} ms (waited), daemon child ${r.daemonChild.wallMs.toFixed(0)} ms (did not)`,
  }),
  section({
    title: "A shared counter, with and without a Lock",
    file: "examples/03-shared-counter.ts",
    python: `counter = multiprocessing.Value("i", 0)\nwith lock:\n    counter.value += 1`,
    weft: `const counter = new SharedValue("int32", 0)\nlock.withLockSync(() => {\n  counter.value += 1\n})`,
    run: sharedCounter,
    meaning: (r) => [
      `Threads share no variables; they share what is passed in args and lives in shared memory`,
      `(SharedValue is multiprocessing.Value; Lock is threading.Lock, and both arrive as live handles).`,
      `With the lock the count is exact (${r.locked.actual}). Without it, ${
        r.unlocked.lost > 0 ? `${r.unlocked.lost} of ${r.unlocked.expected} increments were lost this run` : `no increment happened to be lost this run`
      }:`,
      `weft threads run on different cores at the same moment, so a race that the GIL makes rare`,
      `in CPython is the common case here. counter.add(1) is atomic and needs no lock (${r.atomic.actual}).`,
    ],
    summary: (r) =>
      `counter with Lock = ${r.locked.actual}; without = ${r.unlocked.actual} of ${r.unlocked.expected} (${r.unlocked.lost} lost); add(1) = ${r.atomic.actual}`,
  }),
  section({
    title: "CPU-bound work in parallel (the GIL section, turned around)",
    file: "examples/04-cpu-parallelism.ts",
    python: `threads = [Thread(target=count_primes,\n                  args=(part,))\n           for part in parts]   # ~1x in CPython`,
    weft: `const threads = parts.map((part) =>\n  new Thread({ target: countPrimes,\n               args: [part] }))`,
    // WEFT_TOUR_QUICK=1 (the test suite's run of the tour) counts to a fifth of the limit.
    run: (print) => cpuParallelism(print, process.env.WEFT_TOUR_QUICK === "1" ? LIMIT / 5 : LIMIT),
    meaning: (r) => [
      `In CPython the GIL lets one thread run Python code at a time, so threads give ~1x on CPU-bound`,
      `work and the advice is multiprocessing. weft threads are worker threads with their own V8`,
      `isolates: ${r.threads} threads took ${r.parallel.ms.toFixed(0)} ms against ${r.single.ms.toFixed(0)} ms for one, a ${r.speedup.toFixed(2)}x speedup`,
      `(timings vary with what else the machine is doing; the best possible is ${r.threads}x).`,
    ],
    summary: (r) => `${r.threads} threads ran CPU-bound work ${r.speedup.toFixed(2)}x faster than one (CPython's threads: ~1x)`,
  }),
  section({
    title: "Producer and consumer sharing a Queue",
    file: "examples/05-producer-consumer.ts",
    python: `q = queue.Queue()\nq.put(i)            # producer\nitem = q.get()      # consumer\nq.task_done()\nq.join()`,
    weft: `const q = new Queue<number>()\nq.putSync(i)        // producer thread\nconst item = q.getSync()  // consumer\nq.taskDone()\nawait q.join()`,
    run: producerConsumer,
    meaning: (r) => [
      `The Queue lives in shared memory; both threads got it in args and put/get directly, with no`,
      `round trip through the main thread. The consumer got ${JSON.stringify(r.consumed)}; await queue.join()`,
      `returned once every item was marked done. Python 3.13's shutdown() ends a stream without a`,
      `sentinel: \`for await\` drained ${JSON.stringify(r.drained)}, and a later put threw ${r.putAfterShutdown}.`,
    ],
    summary: (r) => `Queue: ${r.consumed.length} items from producer to consumer, each once; shutdown() ended a for-await stream.`,
  }),
  section({
    title: "A pool of worker threads: ThreadPoolExecutor",
    file: "examples/06-thread-pool.ts",
    python: `with ThreadPoolExecutor(max_workers=2) as pool:\n    print(list(pool.map(square, range(5))))`,
    weft: `await using pool = new ThreadPoolExecutor({ maxWorkers: 2 })\nfor await (const y of pool.map(square, [0, 1, 2, 3, 4]))\n  console.log(y)`,
    run: threadPool,
    meaning: (r) => [
      `pool.map yields in input order (${JSON.stringify(r.squares)}); a Future is awaitable (2 ** 10 = ${r.power}).`,
      `Tasks and results cross through shared memory. With the GIL, CPython's thread pool gives ~1x on`,
      `CPU-bound work; here ${r.workers} workers took ${r.ms.all.toFixed(0)} ms against ${r.ms.one.toFixed(0)} ms for one: ${r.speedup.toFixed(2)}x.`,
    ],
    summary: (r) => `ThreadPoolExecutor: map in order, ${r.speedup.toFixed(2)}x on CPU-bound work with ${r.workers} workers.`,
  }),
  section({
    title: "The seed's deadlock: two locks taken in opposite order",
    file: "examples/07-deadlock.ts",
    python: `with lock_a:          # worker_1\n    with lock_b: ...\nwith lock_b:          # worker_2\n    with lock_a: ...  # hangs, silently`,
    weft: `first.acquireSync()\ntry {\n  second.acquireSync() // DeadlockError\n} finally { first.release() }`,
    run: deadlock,
    meaning: (r) => [
      `CPython hangs here forever and says nothing. weft follows the chain of owners as a thread is`,
      `about to wait: ${r.refused.join(", ")} would have closed the cycle, so it alone got a DeadlockError`,
      `naming both threads and both locks; it let go, and ${r.finished.join(", ")} finished. All in ${r.ms.toFixed(0)} ms.`,
      `Open ${r.timeline} in a browser: a lane per thread, the waits and holds as bars.`,
    ],
    summary: (r) => `deadlock: ${r.refused.length} DeadlockError (${r.refused.join(", ")}), no hang`,
  }),
  section({
    title: "The seed's starvation: a greedy thread hogs the lock",
    file: "examples/08-starvation.ts",
    python: `while running:        # greedy\n    with lock: work()\nwhile running:        # polite\n    with lock: work()\n    other_work()`,
    weft: `const lock = new Lock()  // or { fair: true }\nlock.acquireSync(); work(); lock.release()\n...\nlock.stats().byThread  // shares, waits`,
    run: starvation,
    meaning: (r) => {
      const polite = (shares: typeof r.fair) => shares.find((s) => s.name === "polite");
      return [
        `Python's Lock gives no way to see starvation. lock.stats() does: with the unfair lock the polite`,
        `thread got ${(100 * (polite(r.unfair)?.share ?? 0)).toFixed(1)}% of the acquisitions (longest wait ${(polite(r.unfair)?.waitMsMax ?? 0).toFixed(1)} ms); with fair: true, ${(100 * (polite(r.fair)?.share ?? 0)).toFixed(1)}%`,
        `(longest wait ${(polite(r.fair)?.waitMsMax ?? 0).toFixed(1)} ms). An unfair lock is faster when threads only pass through it; a fair one`,
        `makes sure every waiter gets its turn. Timings vary with the machine's load. Timeline: ${r.timeline}`,
      ];
    },
    summary: (r) =>
      `starvation: polite thread's share ${(100 * (r.unfair.find((s) => s.name === "polite")?.share ?? 0)).toFixed(1)}% unfair, ${(100 * (r.fair.find((s) => s.name === "polite")?.share ?? 0)).toFixed(1)}% fair`,
  }),
  section({
    title: "The seed's multiprocessing: four processes, each prints, the parent waits",
    file: "examples/09-multiprocessing.ts",
    python: `if __name__ == "__main__":\n    ps = [Process(target=task)\n          for _ in range(4)]\n    for p in ps: p.start()\n    for p in ps: p.join()`,
    weft: `if (isMainThread) {\n  const ps = [0, 1, 2, 3].map(() =>\n    new Process({ target }))\n  for (const p of ps) p.start()\n  for (const p of ps) await p.join()\n}`,
    run: multiprocessing,
    meaning: (r) => [
      `The "Task completed" lines above were printed by the four children themselves, each a process of`,
      `its own (pids ${r.processes.map((p) => p.pid).join(", ")}; this one is ${r.parentPid}), before their join() resolved.`,
      `\`isMainThread\` is false in a child, which imports this file to find \`task\`: the weft form of`,
      `\`if __name__ == "__main__":\`. A Pipe end passed in args works in the child; a child's exit`,
      `(exitCode ${r.crashExitCode}) stays in the child. Threads are weft's parallelism; processes are for isolation.`,
    ],
    summary: (r) => `multiprocessing: 4 processes, exit codes ${r.processes.map((p) => p.exitCode).join(", ")}, joined in ${r.ms.toFixed(0)} ms`,
  }),
];

const rule = "=".repeat(78);

/** The Python and its weft lines in two columns, or one above the other if a line is too wide. */
function sideBySide(python: string, weft: string): string[] {
  const left = ["Python", ...python.split("\n")];
  const right = ["weft", ...weft.split("\n")];
  const width = Math.max(...left.map((line) => line.length)) + 2;
  if (width + Math.max(...right.map((line) => line.length)) + 4 > (process.stdout.columns || 100)) {
    return [...left.map((line, i) => (i === 0 ? "Python:" : `    ${line}`)), ...right.map((line, i) => (i === 0 ? "weft:" : `    ${line}`))];
  }
  const rows = Math.max(left.length, right.length);
  return Array.from({ length: rows }, (_, i) => `  ${(left[i] ?? "").padEnd(width)}| ${right[i] ?? ""}`.trimEnd());
}

async function tour(): Promise<number> {
  console.log(rule);
  console.log("weft — a guided tour: Python's threading, on Node worker threads, in shared memory");
  console.log(rule);
  const summaries: string[] = [];
  let failures = 0;
  for (const [i, s] of SECTIONS.entries()) {
    console.log(`\n${i + 1}. ${s.title}   (${s.file})`);
    console.log("-".repeat(78));
    for (const line of sideBySide(s.python, s.weft)) console.log(line);
    console.log("weft, running now:");
    try {
      const result = await s.run((line) => console.log(`  ${line}`));
      console.log("What it means:");
      for (const line of s.meaning(result)) console.log(`  ${line}`);
      summaries.push(`${i + 1}. ${s.summary(result)}`);
    } catch (error) {
      failures++;
      console.log(`  !! this section failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      summaries.push(`${i + 1}. FAILED: ${s.title}`);
    }
  }
  console.log(`\n${rule}\nSummary\n${rule}`);
  for (const line of summaries) console.log(line);
  console.log(
    `\nSame names and semantics as Python's threading; blocking calls come in two forms (acquire() ` +
      `on the main thread,\nacquireSync() in threads); and the threads really run in parallel. ` +
      `Read the files above for the code.`,
  );
  return failures;
}

process.exitCode = (await tour()) === 0 ? 0 : 1;
