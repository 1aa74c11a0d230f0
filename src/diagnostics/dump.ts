/**
 * `dumpThreads()`: every live thread and what it is doing, as a Java thread dump reads.
 *
 * It reads only shared memory (the thread table's slots and wait records, and the owners
 * of the objects waited on), so it works from any thread and shows threads that are
 * blocked: nothing is asked of them. A thread without a recorded wait is "running" (or
 * spinning before it parks, which is brief). The main thread lists each of its pending
 * async waits. Cycles of waits found among them end the dump.
 *
 *   weft thread dump, 2026-12-01T12:00:00.000Z, pid 4242, 3 threads
 *
 *   "MainThread" ident=1 main
 *      state: waiting (1 async wait)
 *      - awaiting Lock "accounts" held by "worker-1" (ident 2), for 1.2 s
 *
 *   "worker-1" ident=2 native=1
 *      state: waiting
 *      - waiting on Lock#3 held by "MainThread" (ident 1), for 1.2 s
 */
import { currentIdent } from "../core/identity.js";
import { elapsedSince, liveThreads, nameOfIdent, waitsOf, type ThreadRecord, type WaitRecord } from "../core/thread-table.js";
import { labelOfWait, ownerOfWait } from "../core/wait-targets.js";
import { describeCycle, findCycles } from "./deadlock.js";

/** Every live thread with its name, ident, state and waits, and the cycles of waits found. */
export function dumpThreads(): string {
  const threads = liveThreads();
  const lines = [`weft thread dump, ${new Date().toISOString()}, pid ${process.pid}, ${threads.length} thread${threads.length === 1 ? "" : "s"}`];
  for (const thread of threads) lines.push("", ...describeThread(thread));
  const cycles = findCycles();
  lines.push("");
  if (cycles.length === 0) lines.push("no cycle of waits (deadlock) found");
  for (const cycle of cycles) lines.push(`deadlock: ${describeCycle(cycle)}`);
  return lines.join("\n") + "\n";
}

function describeThread(thread: ThreadRecord): string[] {
  const tags = [`ident=${thread.ident}`];
  if (!thread.main) tags.push(`native=${thread.nativeId}`);
  if (thread.daemon) tags.push("daemon");
  if (thread.main) tags.push("main");
  const header = `${JSON.stringify(thread.name)} ${tags.join(" ")}`;
  const waits = waitsOf(thread.slot, thread.ident);
  const here = thread.ident === currentIdent;
  if (waits.length === 0) return [header, `   state: running${here ? " (making this dump)" : ""}`];
  // A record tells a blocking wait from an async one only where the primitive says so
  // (core/wait-targets.ts, waitMode): on a worker, "waiting" is the safe word for both.
  const async = thread.main ? waits.filter((wait) => wait.async).length : 0;
  const sleeping = waits.every((wait) => wait.kind === "sleep");
  const state = sleeping ? "sleeping" : here ? "running (making this dump)" : "waiting";
  const detail = async > 0 ? ` (${async} async wait${async === 1 ? "" : "s"})` : "";
  return [header, `   state: ${state}${detail}`, ...waits.map((wait) => `   - ${describeWait(wait, thread.main)}`)];
}

/** One wait in words: "waiting on Lock#3 held by "worker-1" (ident 2), for 1.2 s". */
export function describeWait(wait: WaitRecord, onEventLoop = true): string {
  const awaiting = wait.async && onEventLoop;
  const verb = awaiting ? "awaiting" : "waiting on";
  const since = `for ${formatMs(elapsedSince(wait.start))}`;
  if (wait.kind === "sleep") return `sleeping, ${since}`;
  if (wait.kind === "join") return `${awaiting ? "awaiting" : "waiting for"} the end of ${who(wait.target)} (join), ${since}`;
  const label = labelOfWait(wait.kind, wait.offset, wait.kind);
  if (wait.kind !== "lock" && wait.kind !== "rlock") return `${verb} ${label}, ${since}`;
  const owner = ownerOfWait(wait.kind, wait.offset, wait.target);
  const held = owner === 0 ? "(free: being handed over)" : `held by ${who(owner)}`;
  return `${verb} ${label} ${held}, ${since}`;
}

function who(ident: number): string {
  const name = nameOfIdent(ident);
  return name === undefined ? `thread ${ident} (ended)` : `${JSON.stringify(name)} (ident ${ident})`;
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
