/**
 * The hang watchdog, `configure({ watchdog: { afterMs } })`: once every thread has been
 * parked in the same waits for `afterMs` (no thread made progress), it prints the thread
 * dump and the cycles of waits found to stderr, once per hang.
 *
 * "Parked" is read from the wait records (core/thread-table.ts): every live thread, the
 * main thread included, has a recorded wait, and none of them is a sleep (a sleeping
 * thread wakes by itself). "The same waits" is the same record sequence numbers: a wait
 * that ends or starts again changes them.
 *
 * Why it runs as a service (threads/services.ts), on a worker of its own, and not on a
 * timer of the main thread: the hang it must report may be the main thread's own, blocked
 * in a `*Sync` call (with `allowMainThreadBlocking`), and a blocked event loop runs no
 * timer. It looks a few times per `afterMs` and writes straight to file descriptor 2.
 */
import { writeSync } from "node:fs";
import { onConfigure, type WatchdogConfig } from "../core/config.js";
import { isMainThread } from "../core/identity.js";
import { liveThreads, waitsOf } from "../core/thread-table.js";
import { startService } from "../threads/carrier.js";
import { registerService } from "../threads/services.js";
import { dumpThreads } from "./dump.js";

/** A picture of every thread's waits; undefined while some thread is not parked. */
export function parkedSignature(): string | undefined {
  const parts: string[] = [];
  for (const thread of liveThreads()) {
    const waits = waitsOf(thread.slot, thread.ident);
    if (waits.length === 0 || waits.some((wait) => wait.kind === "sleep")) return undefined;
    parts.push(`${thread.ident}:${waits.map((wait) => `${wait.index}/${wait.seq}`).join("+")}`);
  }
  return parts.length > 0 ? parts.join(",") : undefined;
}

/** What the service is given: the setting, and a cell that ends it (set to 1, notified). */
interface WatchPayload {
  readonly afterMs: number;
  readonly stop: Int32Array;
}

/** The service's loop: looks, sleeps on the stop cell, looks again, until stopped. */
function watch({ afterMs, stop }: WatchPayload): void {
  const every = Math.max(1, Math.min(1000, afterMs / 4));
  let seen: string | undefined;
  let since = 0;
  let reported = false;
  while (Atomics.wait(stop, 0, 0, every) === "timed-out") {
    const signature = parkedSignature();
    if (signature === undefined || signature !== seen) {
      seen = signature;
      since = performance.now();
      reported = false;
      continue;
    }
    const stuck = performance.now() - since;
    if (reported || stuck < afterMs) continue;
    reported = true;
    writeSync(2, `weft watchdog: no thread has made progress for ${Math.round(stuck)} ms, and every thread is parked\n${dumpThreads()}`);
  }
}

registerService("watchdog", watch);

let current: WatchdogConfig | false = false;
let stopCurrent: (() => void) | undefined;

onConfigure((config) => {
  if (!isMainThread || config.watchdog === current) return;
  current = config.watchdog;
  stopCurrent?.();
  stopCurrent = undefined;
  if (current === false) return;
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const retire = startService("watchdog", { afterMs: current.afterMs, stop } satisfies WatchPayload);
  stopCurrent = () => {
    Atomics.store(stop, 0, 1);
    Atomics.notify(stop, 0);
    retire();
  };
});
