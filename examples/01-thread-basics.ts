/**
 * 01 — Thread basics: create a thread, start it, join it.
 *
 * Python:
 *
 *     def worker():
 *         print("Thread is running")
 *     t = threading.Thread(target=worker)
 *     t.start()
 *     t.join()
 *     print("Thread finished")
 *
 * weft: the same, except that `join()` returns a Promise on the main thread (so the event
 * loop keeps running while we wait) and the thread runs on a worker thread of its own.
 *
 * Run alone: `node build/examples/01-thread-basics.js`.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Thread, currentThread, isMainThread, setExcepthook } from "weft-threads";

/** What {@link main} found, for the tour and the tests to check. */
export interface ThreadBasicsResult {
  /** The name and ident the thread reported for itself. */
  reported: { name: string; ident: number | null };
  /** The `Thread` object's own view, which must agree with `reported`. */
  name: string;
  ident: number | null;
  /** `isAlive()` right after `start()`, and after `join()`. */
  aliveAfterStart: boolean;
  aliveAfterJoin: boolean;
  /** `thread.result` of a target that returns a value. */
  result: number | undefined;
  /** `thread.error` of a target that throws: its class name, `instanceof RangeError`, and message. */
  errorName: string | undefined;
  errorIsRangeError: boolean;
  errorMessage: string | undefined;
  /** `thread.result` of a module target (this file's `greet` export). */
  moduleResult: string | undefined;
}

/**
 * A module target: the thread imports this file and calls this export. It may use the
 * module's imports (`currentThread` here) because the thread loads the whole module —
 * which is why the top-level demo at the bottom is guarded by `isMainThread`.
 */
export function greet(greeting: string): string {
  const me = currentThread();
  console.log(`  [${me.name}] ${greeting} from a module target (ident ${me.ident})`);
  return `${greeting}, said ${me.name}`;
}

/** Runs the scenario; `print` receives the main thread's narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<ThreadBasicsResult> {
  // 1. A self-contained function: its source is sent to the thread, so it can use its
  //    parameters and globals, and import what it needs — but not this module's variables.
  const thread = new Thread({
    target: async function worker(label: string) {
      const { currentThread } = await import("weft-threads");
      const me = currentThread();
      console.log(`Thread is running (name "${me.name}", ident ${me.ident}, label "${label}")`);
      return { name: me.name, ident: me.ident };
    },
    args: ["hello"],
  });
  print(`Created ${thread.name}: ident ${thread.ident} until it starts`);
  thread.start();
  const aliveAfterStart = thread.isAlive();
  print(`Started it: ident ${thread.ident}, isAlive() = ${aliveAfterStart}`);
  await thread.join();
  const aliveAfterJoin = thread.isAlive();
  console.log("Thread finished");
  print(`  join() resolved only after the thread's output was out; isAlive() = ${aliveAfterJoin}`);
  const reported = thread.result ?? { name: "?", ident: null };

  // 2. Results and errors: Python's Thread drops both; weft keeps them on the Thread.
  const adder = new Thread({ target: (a: number, b: number) => a + b, args: [20, 22], name: "adder" });
  adder.start();
  await adder.join();
  print(`Thread "${adder.name}" returned ${adder.result} (thread.result)`);

  const failing = new Thread({
    target: function failing(n: number) {
      if (n < 0) throw new RangeError(`n must be >= 0, got ${n}`);
      return Math.sqrt(n);
    },
    args: [-1],
  });
  // An uncaught error goes to the excepthook (default: "Exception in thread NAME:" and the
  // stack on stderr, as Python's); here a hook of our own narrates it instead.
  setExcepthook(({ error, thread }) => print(`  excepthook: ${thread.name} raised ${(error as Error).name}`));
  failing.start();
  await failing.join(); // join() still resolves: a failed thread is not a failed join
  setExcepthook(null);
  const error = failing.error;
  print(
    `Thread "${failing.name}" threw: thread.error is a ${error instanceof Error ? error.name : typeof error}` +
      ` (instanceof RangeError: ${error instanceof RangeError}) — the same class as in the thread`,
  );

  // 3. A module target: the thread imports this file and calls its `greet` export.
  const moduleThread = new Thread<string, [string]>({
    target: { module: import.meta.url, export: "greet" },
    args: ["Good morning"],
  });
  moduleThread.start();
  await moduleThread.join();
  print(`Module target returned: "${moduleThread.result}"`);

  return {
    reported,
    name: thread.name,
    ident: thread.ident,
    aliveAfterStart,
    aliveAfterJoin,
    result: adder.result,
    errorName: error instanceof Error ? error.name : undefined,
    errorIsRangeError: error instanceof RangeError,
    errorMessage: error instanceof Error ? error.message : undefined,
    moduleResult: moduleThread.result,
  };
}

// Python's `if __name__ == "__main__":` — run only when this file is the program, and
// never in a thread that imports it for the `greet` module target.
if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
