/**
 * 09 — multiprocessing: the seed's four processes, each on a process of its own.
 *
 * Python:
 *
 *     def task():
 *         total = sum(i * i for i in range(1_000_000))
 *         print("Task completed")
 *
 *     if __name__ == "__main__":
 *         processes = [multiprocessing.Process(target=task) for _ in range(4)]
 *         for p in processes:
 *             p.start()
 *         for p in processes:
 *             p.join()
 *
 * weft: the same shape. The target is a module export (this file's `task`), so each child
 * imports this file to find it; `isMainThread` is false there, which keeps the guarded
 * code at the bottom from running again, exactly as `__name__ == "__main__"` does in a
 * Python child. weft's threads already run in parallel, so a process is for what a thread
 * cannot give: a heap of its own, a crash or `process.exit()` that stays inside it, its
 * own working directory and environment. What a child prints goes straight to the
 * parent's stdout, before its `join()` resolves.
 *
 * Run alone: `node build/examples/09-multiprocessing.js`.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Pipe, Process, currentProcess, isMainThread, type Connection } from "weft-threads";

/** The seed's task: some CPU-bound work, then "Task completed". */
export function task(): void {
  let total = 0;
  for (let i = 0; i < 1_000_000; i++) total += i * i;
  console.log(`Task completed (${currentProcess().name}, pid ${process.pid}, total ${total})`);
}

/** A task that reports back through a Pipe instead of printing. */
export function report(conn: Connection): void {
  conn.send({ name: currentProcess().name, pid: process.pid, heapMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) });
  conn.close();
}

/** A task that ends its process, as a crash would: only that process goes. */
export function crash(): void {
  process.exit(3);
}

/** What {@link main} found, for the tour and the tests to check. */
export interface MultiprocessingResult {
  /** The four seed processes: name, pid and exit code of each. */
  processes: { name: string; pid: number | null; exitCode: number | null }[];
  /** This process's pid: every child's differs from it and from the others'. */
  parentPid: number;
  /** What the child sent back through the Pipe. */
  reported: { name: string; pid: number; heapMB: number };
  /** The exit code of the child that called process.exit(3); the parent went on. */
  crashExitCode: number | null;
  /** Wall time of starting and joining the four, in ms. */
  ms: number;
}

/** Runs the scenario; `print` receives the narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<MultiprocessingResult> {
  const target = { module: import.meta.url, export: "task" };
  // 1. The seed: four processes, started, then joined. Their "Task completed" lines are
  //    printed by the children themselves, on this process's stdout.
  const began = performance.now();
  const processes = Array.from({ length: 4 }, () => new Process({ target }));
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  const ms = performance.now() - began;
  print(`all 4 joined in ${ms.toFixed(0)} ms; exit codes ${processes.map((p) => p.exitCode).join(", ")}`);

  // 2. A result comes back through a Pipe: the child's end is passed in args.
  const [here, there] = Pipe();
  const reporter = new Process({ target: { module: import.meta.url, export: "report" }, args: [there] });
  reporter.start();
  const reported = (await here.recv()) as MultiprocessingResult["reported"];
  await reporter.join();
  print(`${reported.name} (pid ${reported.pid}, its own ${reported.heapMB} MB heap) reported through a Pipe`);

  // 3. Isolation: a child that exits (or crashes) ends only itself.
  const crasher = new Process({ target: { module: import.meta.url, export: "crash" } });
  crasher.start();
  await crasher.join();
  print(`a child called process.exit(3): its exitCode is ${crasher.exitCode}, and this process goes on`);

  return {
    processes: processes.map((p) => ({ name: p.name, pid: p.pid, exitCode: p.exitCode })),
    parentPid: process.pid,
    reported,
    crashExitCode: crasher.exitCode,
    ms,
  };
}

// Python's `if __name__ == "__main__":` — false in the children, which import this file.
if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
