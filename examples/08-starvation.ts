/**
 * 08 — The seed's starvation, made visible: a greedy thread hogs a lock.
 *
 * Python:
 *
 *     def greedy():
 *         while running:
 *             with lock:
 *                 work()          # and straight back for the lock
 *     def polite():
 *         while running:
 *             with lock:
 *                 work()
 *             other_work()        # then asks again
 *
 * Python's Lock, like weft's default one, is unfair: a thread that releases it and asks
 * again at once usually wins it back before a waiting thread has even woken up, so the
 * polite thread starves — and Python gives no way to see it. weft's `lock.stats()` shows
 * each thread's share and its longest wait; `new Lock({ fair: true })` grants the lock in
 * arrival order, and the same run then shares it. The fair run's timeline is saved as a page.
 *
 * Run alone: `node build/examples/08-starvation.js`.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Barrier, Lock, SharedValue, Thread, isMainThread, trace, type TraceEvent } from "weft-threads";

/** How long each run lasts, and how long a thread holds the lock (and works outside it) each time. */
const RUN_MS = 800;
const HOLD_MS = 0.5;

/** One thread's part of a run. */
export interface Share {
  name: string;
  acquisitions: number;
  /** Its share of all acquisitions, 0..1. */
  share: number;
  /** Its longest wait for the lock, in ms. */
  waitMsMax: number;
}

/** What {@link main} found, for the tour and the tests to check. */
export interface StarvationResult {
  unfair: Share[];
  fair: Share[];
  timeline: string;
}

/** The greedy and the polite thread: same work under the lock; the polite one also works outside it. */
function contend(lock: Lock, running: SharedValue<"int32">, start: Barrier, holdMs: number, polite: boolean): number {
  const busy = (ms: number): void => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // the work: keeps this core busy for `ms`
    }
  };
  let times = 0;
  start.waitSync();
  while (running.value === 1) {
    lock.acquireSync();
    busy(holdMs);
    lock.release();
    times++;
    if (polite) busy(holdMs);
  }
  return times;
}

async function run(fair: boolean): Promise<{ shares: Share[]; events: TraceEvent[] }> {
  const lock = new Lock({ fair, name: fair ? "fair lock" : "unfair lock" });
  const running = new SharedValue("int32", 1);
  const start = new Barrier(3);
  const threads = [
    new Thread({ name: "greedy", target: contend, args: [lock, running, start, HOLD_MS, false] }),
    new Thread({ name: "polite", target: contend, args: [lock, running, start, HOLD_MS, true] }),
  ];
  for (const t of threads) t.start();
  if (fair) trace.start();
  await start.wait();
  await new Promise((done) => setTimeout(done, RUN_MS));
  running.value = 0;
  for (const t of threads) await t.join();
  const events = fair ? trace.stop() : [];
  for (const t of threads) if (t.error !== undefined) throw t.error;
  const stats = lock.stats();
  const shares = threads.map((t) => {
    const mine = stats.byThread.find((entry) => entry.ident === t.ident);
    const acquisitions = mine?.acquisitions ?? 0;
    return { name: t.name, acquisitions, share: stats.acquisitions > 0 ? acquisitions / stats.acquisitions : 0, waitMsMax: mine?.waitMsMax ?? 0 };
  });
  return { shares, events };
}

function report(print: (line: string) => void, title: string, shares: Share[]): void {
  print(title);
  for (const s of shares) {
    print(
      `  ${s.name.padEnd(7)} ${String(s.acquisitions).padStart(6)} acquisitions, ${(100 * s.share).toFixed(1).padStart(5)}% of the lock, ` +
        `longest wait ${s.waitMsMax.toFixed(1)} ms`,
    );
  }
}

/** Runs the scenario twice, unfair then fair; `print` receives the narration (default: console.log). */
export async function main(print: (line: string) => void = console.log): Promise<StarvationResult> {
  const unfair = await run(false);
  report(print, `new Lock() (unfair, as Python's), ${RUN_MS} ms:`, unfair.shares);
  const fair = await run(true);
  report(print, `new Lock({ fair: true }), ${RUN_MS} ms:`, fair.shares);
  const timeline = join(tmpdir(), "weft-starvation-timeline.html");
  writeFileSync(timeline, trace.toHTML(fair.events));
  print(`the fair run's timeline (${fair.events.length} events) is in ${timeline}`);
  return { unfair: unfair.shares, fair: fair.shares, timeline };
}

// Python's `if __name__ == "__main__":`.
if (isMainThread && process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
