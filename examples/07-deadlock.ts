/**
 * 07 — The seed's deadlock, answered: two threads take two locks in opposite order.
 *
 * Python:
 *
 *     def worker_1():
 *         with lock_a:
 *             time.sleep(0.1)
 *             with lock_b: ...     # waits for worker_2, forever
 *     def worker_2():
 *         with lock_b:
 *             time.sleep(0.1)
 *             with lock_a: ...     # waits for worker_1, forever
 *
 * In CPython this program hangs, silently. In weft the thread whose wait would close the
 * cycle gets a `DeadlockError` at once, naming both threads and both locks; it lets go of
 * what it holds, and the other thread goes on. The timeline of the run is saved as a page.
 *
 * Run alone: `node build/examples/07-deadlock.js`.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Barrier, Lock, Thread, isMainThread, trace } from "weft-threads";

/** What {@link main} found, for the tour and the tests to check. */
export interface DeadlockResult {
  /** Which threads got a DeadlockError (exactly one), and its message. */
  refused: string[];
  message: string;
  /** Which threads finished their work (the other one). */
  finished: string[];
  /** How long, in ms, from starting the threads to both being done. */
  ms: number;
  /** The timeline page. */
  timeline: string;
}

/** Takes `first`, waits until the other thread holds its first lock too, then takes `second`. */
function transfer(first: Lock, second: Lock, bothHoldOne: Barrier): string {
  first.acquireSync();
  try {
    bothHoldOne.waitSync();
    try {
      second.acquireSync(); // one of the two threads closes the cycle here
    } catch (error) {
      // The error is weft's DeadlockError (the same class on every thread); the target is
      // shipped as source, so it tells it by name rather than by an imported class.
      if ((error as Error).name === "DeadlockError") return `refused: ${(error as Error).message}`;
      throw error;
    }
    second.release();
    return "finished";
  } finally {
    first.release();
  }
}

/** Runs the scenario; `print` receives the narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<DeadlockResult> {
  const accounts = new Lock({ name: "accounts" });
  const audit = new Lock({ name: "audit" });
  const bothHoldOne = new Barrier(2);
  trace.start();
  const started = performance.now();
  const threads = [
    new Thread({ name: "worker-1", target: transfer, args: [accounts, audit, bothHoldOne] }),
    new Thread({ name: "worker-2", target: transfer, args: [audit, accounts, bothHoldOne] }),
  ];
  for (const t of threads) t.start();
  for (const t of threads) await t.join();
  const ms = performance.now() - started;
  const events = trace.stop();

  const refused: string[] = [];
  const finished: string[] = [];
  let message = "";
  for (const t of threads) {
    if (t.error !== undefined) throw t.error;
    const outcome = t.result ?? "";
    if (outcome.startsWith("refused: ")) {
      refused.push(t.name);
      message = outcome.slice("refused: ".length);
      print(`${t.name}: DeadlockError: ${message}`);
    } else {
      finished.push(t.name);
      print(`${t.name}: took both locks and finished, once the other let go`);
    }
  }
  const timeline = join(tmpdir(), "weft-deadlock-timeline.html");
  writeFileSync(timeline, trace.toHTML(events));
  print(`both threads done in ${ms.toFixed(0)} ms; the timeline (${events.length} events) is in ${timeline}`);
  return { refused, message, finished, ms, timeline };
}

// Python's `if __name__ == "__main__":`.
if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
