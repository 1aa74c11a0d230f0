/**
 * The hang watchdog, `configure({ watchdog: { afterMs } })`: once every thread has been
 * parked in the same waits for `afterMs` (no thread made progress), it prints the thread
 * dump and the cycles of waits found to stderr, once per hang.
 *
 * "Parked" is read from the wait records (core/thread-table.ts): every live thread, the
 * main thread included, has a recorded wait, and none of them is a sleep (a sleeping
 * thread wakes by itself). "The same waits" is the same record sequence numbers: a wait
 * that ends or starts again changes them. It runs on the main thread (an unreferenced
 * timer: it never keeps the process alive), checking a few times per `afterMs`.
 */
import { onConfigure, type WatchdogConfig } from "../core/config.js";
import { isMainThread } from "../core/identity.js";
import { liveThreads, waitsOf } from "../core/thread-table.js";
import { dumpThreads } from "./dump.js";

let timer: ReturnType<typeof setInterval> | undefined;
let current: WatchdogConfig | false = false;

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

function start(config: WatchdogConfig): void {
  let seen: string | undefined;
  let since = 0;
  let reported = false;
  timer = setInterval(
    () => {
      const signature = parkedSignature();
      if (signature === undefined || signature !== seen) {
        seen = signature;
        since = performance.now();
        reported = false;
        return;
      }
      const stuck = performance.now() - since;
      if (reported || stuck < config.afterMs) return;
      reported = true;
      process.stderr.write(
        `weft watchdog: no thread has made progress for ${Math.round(stuck)} ms, and every thread is parked\n${dumpThreads()}`,
      );
    },
    Math.max(1, Math.min(1000, config.afterMs / 4)),
  );
  timer.unref();
}

onConfigure((config) => {
  if (!isMainThread || config.watchdog === current) return;
  current = config.watchdog;
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  if (current !== false) start(current);
});
