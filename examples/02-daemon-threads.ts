/**
 * 02 — Daemon threads: background threads that do not keep the program alive.
 *
 * Python:
 *
 *     t = threading.Thread(target=background, daemon=True)
 *     t.start()
 *     # the program exits when the main thread is done; daemon threads are stopped
 *
 * weft has the same rule: a non-daemon thread keeps the Node process alive until it ends
 * (as a pending timer would); a daemon thread does not, and is stopped when the process
 * exits. To show the process-level behaviour honestly, `main()` runs this very file again
 * as a child process in two modes and times how long each child lives.
 *
 * Run alone: `node build/examples/02-daemon-threads.js`.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { RuntimeError, Thread, isMainThread } from "weft-threads";

/** How long the background thread in the child process works, in ms. */
const CHILD_WORK_MS = 1000;

/** One child process run: how long it lived and whether the thread's last line came out. */
export interface ChildRun {
  daemon: boolean;
  wallMs: number;
  exitCode: number | null;
  threadFinished: boolean;
  stdout: string;
}

/** What {@link main} found, for the tour and the tests to check. */
export interface DaemonResult {
  /** `daemon` of a thread created on the main thread without saying: false, as in Python. */
  defaultDaemon: boolean;
  /** Setting `daemon` after `start()` threw a RuntimeError. */
  setAfterStartThrew: boolean;
  /** `join({ timeout })` on a busy thread returned with the thread still alive... */
  aliveAfterTimedJoin: boolean;
  /** ...and a plain `join()` afterwards waited for the end. */
  aliveAfterFullJoin: boolean;
  /** The two child processes. */
  nonDaemonChild: ChildRun;
  daemonChild: ChildRun;
}

/**
 * The child process: starts one thread that works for CHILD_WORK_MS and then prints,
 * and returns from the main module at once without joining it.
 */
function child(daemon: boolean): void {
  const t = new Thread({
    target: async function background(ms: number) {
      const { sleepSync } = await import("weft-threads");
      sleepSync(ms); // a blocking wait is fine inside a thread
      console.log("background thread finished its work");
    },
    args: [CHILD_WORK_MS],
    daemon,
  });
  t.start();
  console.log(`main module done (thread daemon=${t.daemon}, alive=${t.isAlive()})`);
}

function runChild(daemon: boolean): ChildRun {
  const began = performance.now();
  const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), daemon ? "--child=daemon" : "--child=non-daemon"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  const wallMs = performance.now() - began;
  return {
    daemon,
    wallMs,
    exitCode: out.status,
    threadFinished: out.stdout.includes("background thread finished its work"),
    stdout: out.stdout,
  };
}

/** Runs the scenario; `print` receives the narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<DaemonResult> {
  // 1. The flag. A thread inherits `daemon` from the thread that creates it; the main
  //    thread is not a daemon, so neither is a new thread unless you say so.
  const busy = new Thread({
    target: async function busy(ms: number) {
      const { sleepSync } = await import("weft-threads");
      sleepSync(ms); // a blocking wait is fine inside a thread
      return "done";
    },
    args: [400],
  });
  const defaultDaemon = busy.daemon;
  const background = new Thread({ target: () => "background", daemon: true });
  print(`new Thread({ target }).daemon is ${defaultDaemon}; new Thread({ target, daemon: true }).daemon is ${background.daemon}`);
  busy.start();
  let setAfterStartThrew = false;
  try {
    busy.daemon = true; // only allowed before start(), like Python's t.daemon = True
  } catch (error) {
    setAfterStartThrew = error instanceof RuntimeError;
    print(`Setting daemon after start(): ${(error as Error).name}: ${(error as Error).message}`);
  }

  // 2. join with a timeout returns when the time is up, whether or not the thread ended:
  //    as in Python, check isAlive() to know which.
  await busy.join({ timeout: 50 });
  const aliveAfterTimedJoin = busy.isAlive();
  print(`join({ timeout: 50 }) on a 400 ms job returned; isAlive() = ${aliveAfterTimedJoin} (it timed out)`);
  await busy.join();
  const aliveAfterFullJoin = busy.isAlive();
  print(`join() waited for the end; isAlive() = ${aliveAfterFullJoin}, result = ${JSON.stringify(busy.result)}`);

  // 3. Process lifetime: run this file as a child whose main module starts a thread that
  //    works for CHILD_WORK_MS, and returns at once without joining it.
  print(`Child process, NON-daemon thread working ${CHILD_WORK_MS} ms, main module returns without join():`);
  const nonDaemonChild = runChild(false);
  for (const line of nonDaemonChild.stdout.trimEnd().split("\n")) print(`  child> ${line}`);
  print(
    `  the process lived ${nonDaemonChild.wallMs.toFixed(0)} ms: it waited for the thread ` +
      `(thread finished: ${nonDaemonChild.threadFinished})`,
  );
  print(`Child process, DAEMON thread, same work:`);
  const daemonChild = runChild(true);
  for (const line of daemonChild.stdout.trimEnd().split("\n")) print(`  child> ${line}`);
  print(
    `  the process lived ${daemonChild.wallMs.toFixed(0)} ms: it exited as soon as the main module was done, ` +
      `stopping the thread (thread finished: ${daemonChild.threadFinished})`,
  );

  return { defaultDaemon, setAfterStartThrew, aliveAfterTimedJoin, aliveAfterFullJoin, nonDaemonChild, daemonChild };
}

// Python's `if __name__ == "__main__":` — and the child mode used by main().
if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const mode = process.argv.find((arg) => arg.startsWith("--child="));
  if (mode !== undefined) child(mode === "--child=daemon");
  else await main();
}
