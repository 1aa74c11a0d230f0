/**
 * Deadlock detection, as a wait hook (core/wait-hooks.ts).
 *
 * Every wait that is about to park is recorded in the waiting thread's slot of the shared
 * thread table (core/thread-table.ts): the thread dumps and the watchdog read these
 * records, and owner death uses them to find the parked waiters of an ended thread's
 * locks, so recording is always on. With `deadlockDetection` on (the default), a wait on a
 * Lock, an RLock or a join then follows the chain of owners: what this thread waits for is
 * held by a thread, which waits for something held by another, and so on (a thread with
 * several waits, an event loop, branches the search). If a chain comes back to this
 * thread, the wait would never end, and it throws `DeadlockError` instead of parking.
 *
 * Exactly one thread of a cycle throws: publishing the wait and searching is done under
 * one process-wide mutex, so of two threads closing a cycle at once the first sees no
 * cycle (the second's wait is not recorded yet) and parks, and the second sees it.
 *
 * No false reports: records are read without stopping their threads, and a thread that
 * has just been woken (or timed out) still shows its old wait until it clears it. So a
 * cycle found is confirmed before anything is thrown: after a short pause every record of
 * the cycle is read again (its sequence number tells whether it is the same wait) and
 * every owner too; only if nothing changed does the wait fail. Two collections with
 * nothing changed in between are a consistent snapshot, and in it every thread of the
 * cycle waits for the next: none can release what the previous one waits for.
 *
 * An event loop is several tasks under one ident: which of them holds a lock is not
 * recorded. So a cycle through a thread with several waits (the main thread awaiting a
 * lock in one task and a join in another) proves nothing by itself: the task holding the
 * lock may be one that runs on. A cycle is reported only if the whole set of threads it
 * reaches is stuck: every wait of every thread in it is on a Lock, RLock or join held by
 * a thread of the set (the AND model of deadlock). Then every task that could release
 * anything is waiting inside the set, unless a task holds a lock across a wait that weft
 * does not see (an `await` on I/O): such a task is assumed not to exist. For the same
 * reason an edge from a thread to itself counts only for a wait known to block (see
 * core/wait-targets.ts, waitMode): on an event loop another task holds the lock and will
 * release it. And before a set with another event loop in it is believed, that loop must
 * be seen to run a task (its doorbell): a task of it that held a lock between two awaits
 * when the records were read has then moved on.
 */
import { currentConfig } from "../core/config.js";
import { DeadlockError, type DeadlockEdge } from "../core/errors.js";
import { currentIdent } from "../core/identity.js";
import { lockMutex, unlockMutex } from "../core/mutex.js";
import {
  RECORDS,
  clearWait,
  currentSlot,
  detectorMutex,
  doorbellOf,
  isRegistered,
  liveThreads,
  nameOfIdent,
  recordSeq,
  recordWait,
  slotOfIdent,
  waitsOf,
  type RecordKind,
  type WaitRecord,
} from "../core/thread-table.js";
import { addWaitHook, type WaitSite } from "../core/wait-hooks.js";
import { loopHeld } from "../core/wait.js";
import { labelOfWait, offsetOf, ownerOfWait, versionOfWait, waitMode } from "../core/wait-targets.js";

/** How long a found cycle is watched before it is believed (ms). */
const CONFIRM_PAUSE_MS = 1;

/** The kinds of wait whose object has an owner that a chain can follow. */
const OWNED: ReadonlySet<RecordKind> = new Set<RecordKind>(["lock", "rlock", "join"]);

/** One wait of a chain, with the owner of what it waits for as read then. */
export interface ChainLink {
  readonly record: WaitRecord;
  readonly owner: number;
  /** The object's version then (a lock's acquisition count): unchanged means held by `owner` all along. */
  readonly version: number;
}

/** Record handles of this thread's open waits, by site (a site may wait several times at once). */
const open = new Map<WaitSite, number[]>();
const pause = new Int32Array(new SharedArrayBuffer(4));

function waitStart(site: WaitSite): void {
  const me = currentIdent;
  const slot = currentSlot(me);
  if (slot < 0) return;
  // Unless the primitive said it blocks, the wait counts as async: its event loop may run on.
  const async = !waitMode.blocking;
  const abort = waitMode.abort;
  waitMode.blocking = false;
  waitMode.abort = undefined;
  if (async) answerDoorbell(slot, me);
  const offset = offsetOf(site.cells);
  const target = site.target ?? 0;
  let handle: number;
  let found: Deadlock | undefined;
  if (!currentConfig().deadlockDetection || !OWNED.has(site.kind)) {
    handle = recordWait(slot, site.kind, offset, target, async);
  } else {
    const mutex = detectorMutex();
    lockMutex(mutex.cells, mutex.at);
    try {
      handle = recordWait(slot, site.kind, offset, target, async);
      found = handle < 0 ? undefined : findCycleFrom(me, slot, handle);
    } finally {
      unlockMutex(mutex.cells, mutex.at);
    }
    if (found !== undefined && async) {
      // An event loop cannot wait here for its own tasks to move on: confirm later, from a task.
      if (abort !== undefined) confirmLater(found, me, abort, site);
    } else if (found !== undefined && confirmed(found.links, me)) {
      clearWait(handle);
      throw deadlockError(found.chain, site);
    }
  }
  if (handle < 0) return;
  const handles = open.get(site);
  if (handles === undefined) open.set(site, [handle]);
  else handles.push(handle);
}

function waitEnd(site: WaitSite): void {
  const handles = open.get(site);
  if (handles === undefined) return;
  const handle = handles.pop() as number;
  if (handles.length === 0) open.delete(site);
  clearWait(handle);
}

/** A deadlock found: the cycle to report, and every wait of the stuck set, to confirm. */
export interface Deadlock {
  readonly chain: ChainLink[];
  readonly links: ChainLink[];
}

/** The deadlock that the record just made closes, if it closes one. */
function findCycleFrom(me: number, slot: number, handle: number): Deadlock | undefined {
  const mine = waitsOf(slot, me).find((record) => record.slot * RECORDS + record.index === handle);
  if (mine === undefined) return undefined;
  const chain = searchCycle(me, mine);
  if (chain === undefined) return undefined;
  const links = stuckSet(me);
  return links === undefined ? undefined : { chain, links };
}

/**
 * The waits of every thread reachable from `me` through the owners of what they wait
 * for, if all of them are stuck: each such thread waits (for nothing but Locks, RLocks
 * and joins), and each of its waits is on something held by a thread of the set.
 * Undefined if some thread of the set may go on (it runs, waits for something else, or
 * waits for a free lock or a thread that ended).
 */
export function stuckSet(me: number): ChainLink[] | undefined {
  const links: ChainLink[] = [];
  const members = new Set<number>([me]);
  const queue = [me];
  while (queue.length > 0) {
    const ident = queue.pop() as number;
    const slot = slotOfIdent(ident);
    if (slot < 0) return undefined;
    const waits = waitsOf(slot, ident);
    if (waits.length === 0) return undefined;
    for (const record of waits) {
      if (!OWNED.has(record.kind)) return undefined;
      const owner = ownerOfWait(record.kind, record.offset, record.target);
      if (owner === 0 || (owner === ident && record.async)) return undefined;
      links.push({ record, owner, version: versionOfWait(record.kind, record.offset) });
      if (!members.has(owner)) {
        members.add(owner);
        queue.push(owner);
      }
    }
  }
  return links;
}

/**
 * Depth-first search from `start` (a wait of thread `me`) along owners, for a chain back
 * to `me`. Exported for the dumps and the watchdog, which look for cycles without waiting.
 */
export function searchCycle(me: number, start: WaitRecord): ChainLink[] | undefined {
  const visited = new Set<number>();
  const path: ChainLink[] = [];
  const walk = (record: WaitRecord): boolean => {
    const owner = ownerOfWait(record.kind, record.offset, record.target);
    if (owner === 0) return false;
    if (owner === record.ident) {
      // An event loop waiting for itself: another task there holds it, and will release it.
      if (record.async || record.ident !== me) return false;
      path.push({ record, owner, version: versionOfWait(record.kind, record.offset) });
      return true;
    }
    path.push({ record, owner, version: versionOfWait(record.kind, record.offset) });
    if (owner === me) return true;
    if (!visited.has(owner)) {
      visited.add(owner);
      const slot = slotOfIdent(owner);
      if (slot >= 0) for (const next of waitsOf(slot, owner)) if (OWNED.has(next.kind) && walk(next)) return true;
    }
    path.pop();
    return false;
  };
  return walk(start) ? path : undefined;
}

/** Every deadlock among the live threads now (each cycle once), for dumps and the watchdog. */
export function findCycles(): ChainLink[][] {
  const cycles: ChainLink[][] = [];
  const seen = new Set<string>();
  for (const thread of liveThreads()) {
    for (const record of waitsOf(thread.slot, thread.ident)) {
      if (!OWNED.has(record.kind)) continue;
      const chain = searchCycle(thread.ident, record);
      if (chain === undefined || stuckSet(thread.ident) === undefined) continue;
      const key = chain
        .map((link) => `${link.record.ident}:${link.record.index}`)
        .sort()
        .join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      cycles.push(chain);
    }
  }
  return cycles;
}

/**
 * True if the stuck set found is still stuck, the same, after a pause, and after every
 * other event loop in it has been seen to run (see {@link answerDoorbell}): a task there
 * that held a lock between two awaits has then reached its next await or let the lock go.
 */
function confirmed(links: readonly ChainLink[], me: number): boolean {
  const since = performance.now();
  Atomics.wait(pause, 0, 0, CONFIRM_PAUSE_MS);
  if (!stillHolds(links)) return false;
  const loops = new Set<number>();
  for (const { record } of links) if (record.async && record.ident !== me) loops.add(record.ident);
  if (loops.size > 0) {
    // A task there may hold a lock across an await weft does not see (a timer, I/O): give
    // it LOOP_CONFIRM_MS, with the loop seen running at the start and at the end.
    for (const ident of loops) if (!loopRuns(ident)) return false;
    const left = since + LOOP_CONFIRM_MS - performance.now();
    if (left > 0) Atomics.wait(pause, 0, 0, left);
    for (const ident of loops) if (!loopRuns(ident)) return false;
  }
  const again = stuckSet(me);
  return again !== undefined && sameLinks(links, again);
}

/** How long a cycle through an event loop must stay the same before it is believed (ms). */
const LOOP_CONFIRM_MS = 200;

/**
 * An async wait that closed a cycle: after LOOP_CONFIRM_MS (this loop's tasks have run
 * meanwhile), if it is still the same wait and still in a stuck set, it fails with a
 * DeadlockError, through the abort controller its primitive gave (waitMode.abort).
 */
function confirmLater(found: Deadlock, me: number, abort: AbortController, site: WaitSite): void {
  const timer = setTimeout(() => {
    if (abort.signal.aborted || !stillHolds(found.links) || hasOtherWork()) return;
    for (const { record } of found.links) if (record.async && record.ident !== me && !loopRuns(record.ident)) return;
    const again = stuckSet(me);
    if (again === undefined || !sameLinks(found.links, again)) return;
    abort.abort(deadlockError(found.chain, site));
  }, LOOP_CONFIRM_MS);
  timer.unref();
}

function sameLinks(a: readonly ChainLink[], b: readonly ChainLink[]): boolean {
  const key = (link: ChainLink): string => `${link.record.ident}/${link.record.index}/${link.record.seq}/${link.owner}/${link.version}`;
  const keys = new Set(a.map(key));
  return a.length === b.length && b.every((link) => keys.has(key(link)));
}

/** How long a detector waits for another event loop to show that it runs (ms). */
const LOOP_ANSWER_MS = 250;

/** Rings the doorbell of thread `ident`'s event loop; true once it answers (it ran a task since). */
function loopRuns(ident: number): boolean {
  const slot = slotOfIdent(ident);
  if (slot < 0) return false;
  const { cells, bell, answer } = doorbellOf(slot);
  const ticket = Atomics.add(cells, bell, 1) + 1;
  Atomics.notify(cells, bell);
  const deadline = performance.now() + LOOP_ANSWER_MS;
  for (;;) {
    const answered = Atomics.load(cells, answer);
    if (((answered - ticket) | 0) >= 0) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    Atomics.wait(cells, answer, answered, left);
  }
}

let doorbellSlot = -1;
let doorbellIdent = 0;

/**
 * Makes this thread's event loop answer its doorbell (once per thread), from a task of
 * its own: an answer means every task that was running or queued when the bell rang has
 * run to its next await. An async wait arms it, since only a thread with async waits is
 * asked. The pending `waitAsync` does not keep the loop alive.
 */
function answerDoorbell(slot: number, ident: number): void {
  if (slot === doorbellSlot && ident === doorbellIdent) return;
  doorbellSlot = slot;
  doorbellIdent = ident;
  const { cells, bell, answer } = doorbellOf(slot);
  const listen = (): void => {
    if (!isRegistered(slot, ident)) return;
    const rung = Atomics.load(cells, bell);
    // A loop with work pending that weft does not see does not answer: a task of it may
    // hold a lock across that await and release it later, so no cycle through it is believed.
    if (Atomics.load(cells, answer) !== rung && !hasOtherWork()) {
      Atomics.store(cells, answer, rung);
      Atomics.notify(cells, answer);
    }
    const parked = Atomics.waitAsync(cells, bell, rung);
    if (parked.async) void parked.value.then(listen);
    else setTimeout(listen, 0).unref();
  };
  Atomics.store(cells, answer, Atomics.load(cells, bell));
  const parked = Atomics.waitAsync(cells, bell, Atomics.load(cells, answer));
  if (parked.async) void parked.value.then(listen);
  else setTimeout(listen, 0).unref();
}

/** Resources an event loop holds that cannot make one of its tasks go on (weft's own, stdio). */
const QUIET = new Set(["MessagePort", "Worker", "TTYWrap", "PipeWrap", "SignalWrap", "CloseReq"]);

/**
 * Whether this event loop has pending work besides weft's waits: a timer, I/O, a socket
 * (Node's active resources, less weft's one referenced timer while it holds the loop).
 */
function hasOtherWork(): boolean {
  let timers = loopHeld() ? -1 : 0;
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === "Timeout" || kind === "Immediate") timers++;
    else if (!QUIET.has(kind)) return true;
  }
  return timers > 0;
}

/** True if every record of the chain is unchanged and every owner the same. */
export function stillHolds(chain: readonly ChainLink[]): boolean {
  for (const { record, owner, version } of chain) {
    if (recordSeq(record.slot, record.index) !== record.seq) return false;
    if (ownerOfWait(record.kind, record.offset, record.target) !== owner) return false;
    if (versionOfWait(record.kind, record.offset) !== version) return false;
  }
  return true;
}

function threadName(ident: number): string {
  return nameOfIdent(ident) ?? `thread ${ident}`;
}

/** One wait of a cycle in words: "waits for Lock#2 held by worker-2". */
export function describeLink(link: ChainLink, label?: string): string {
  const { record, owner } = link;
  if (record.kind === "join") return `waits for ${threadName(owner)} to finish (join)`;
  return `waits for ${label ?? labelOfWait(record.kind, record.offset)} held by ${threadName(owner)}`;
}

/** A cycle in words: "worker-1 waits for Lock#2 held by worker-2, which waits for Lock#1 held by worker-1". */
export function describeCycle(chain: readonly ChainLink[], firstLabel?: string): string {
  return chain
    .map((link, i) => `${i === 0 ? threadName(link.record.ident) + " " : "which "}${describeLink(link, i === 0 ? firstLabel : undefined)}`)
    .join(", ");
}

function deadlockError(chain: readonly ChainLink[], site: WaitSite): DeadlockError {
  const edges: DeadlockEdge[] = chain.map((link, i) => ({
    thread: threadName(link.record.ident),
    ident: link.record.ident,
    waitsFor: link.record.kind === "join" ? `the end of ${threadName(link.owner)}` : i === 0 ? site.label : labelOfWait(link.record.kind, link.record.offset),
    heldBy: threadName(link.owner),
    heldByIdent: link.owner,
  }));
  const message =
    `deadlock: ${describeCycle(chain, site.label)}. ` +
    `This ${site.kind === "join" ? "join" : "acquisition"} would close the cycle, so it fails instead of waiting forever ` +
    `(acquire locks in one global order; configure({ deadlockDetection: false }) turns detection off)`;
  return new DeadlockError(message, edges);
}

// The recorder is always installed: dumps, the watchdog and owner death read its records.
// Whether a wait also looks for a cycle is read from the settings at each wait.
addWaitHook({ waitStart, waitEnd });

/** @internal For tests: the number of sites with open waits in this thread. */
export function openWaits(): number {
  return open.size;
}
