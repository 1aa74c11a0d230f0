/**
 * The recorder behind `trace`: every thread writes its events into an event buffer of its
 * own in the shared heap, so recording is a few stores, never a message, and the home
 * thread reads every buffer when the trace stops, those of threads that ended included.
 *
 * Why the switch lives in the heap's header: every weft thread maps the heap as it starts,
 * so a cell there is one plain read away in every thread, with no message to send and no
 * handle to pass. While tracing is off that read is all any instrumented path pays.
 *
 * Layout (Int32 cells unless said otherwise):
 *   heap header (core/memory.ts keeps cells 0..33; these two lie in its unused tail)
 *     [62] TRACE_ROOT  byte offset of the control block; 0 until the first trace
 *     [63] TRACE_ON    the session number while a trace runs, 0 when off
 *   control block (allocated by the home thread at its first trace, kept for good)
 *     [0] LAST_SESSION  the last session number handed out
 *     [1] EVENTS        events per buffer for buffers claimed in this session
 *     [2..3] START_MS   Float64: the session's start, on the monotonic clock, in ms
 *     [4..4+MAX_BUFFERS) REGISTRY  byte offsets of every event buffer ever made (0: free slot)
 *   event buffer (one per worker; claimed anew each session, never freed)
 *     [0] SESSION   the session whose events it holds (claimed by compare-and-swap;
 *                   minus the session while its claimer resets it)
 *     [1] COUNT     events written this session; the ring holds the last CAPACITY
 *     [2] CAPACITY  event slots
 *     [3] STR_TOP   bytes used in the string area
 *     [4] STR_CAP   bytes in the string area
 *     [5] WRITER    the worker's threadId, for debugging
 *     from byte 32: CAPACITY events of EVENT_BYTES, then the string area
 *   event (32 bytes)
 *     Float64 [0]  TS      µs since the session started
 *     Int32   [2]  CODE    kind | waitKind << 8 | outcome << 16
 *     Int32   [3]  IDENT   the thread that recorded it
 *     Int32   [4]  OBJECT  what it is about: a primitive's heap offset, a task id
 *     Int32   [5]  LABEL   1 + the label's offset in the string area (0: none)
 *     Int32   [6]  DETAIL  kind-specific (a pool's id, the ident a join waits for)
 *   string   Uint16 byte length, then UTF-8 bytes, at an even offset
 *
 * A buffer belongs to one worker at a time, which makes writing lock-free: the writer
 * fills the slot, then publishes it by storing COUNT. The reader takes only published
 * slots and drops anything stamped after the stop. A worker that ended leaves its buffer
 * in the registry, so its events are still read; a buffer unused for a whole session is
 * taken by the next worker that needs one, so terminated workers do not leak buffers.
 */
import { threadId } from "node:worker_threads";
import { RuntimeError } from "./errors.js";
import { currentIdent, homeMemory } from "./identity.js";
import { allocateBlock, heapBuffer } from "./memory.js";
import { addWaitHook, addWaitProbe, type WaitKind, type WaitOutcome, type WaitSite } from "./wait-hooks.js";

/** @internal The heap header cell that holds the session number while tracing is on. */
export const TRACE_ON = 63;
const TRACE_ROOT = 62;

const LAST_SESSION = 0;
const EVENTS = 1;
const START_MS_AT = 8;
const REGISTRY = 4;
const MAX_BUFFERS = 1024;
const CONTROL_BYTES = (REGISTRY + MAX_BUFFERS) * 4;

const SESSION = 0;
const COUNT = 1;
const CAPACITY = 2;
const STR_TOP = 3;
const STR_CAP = 4;
const WRITER = 5;
const BUFFER_HEADER = 32;
const EVENT_BYTES = 32;
const EVENT_CELLS = EVENT_BYTES / 4;
const STRING_SHARE = 16; // the string area is 1/16 of the event area

/** Events per thread unless `trace.start()` is told otherwise: a 1 MiB buffer. */
export const DEFAULT_EVENTS = 30_000;

/**
 * @internal The heap's header, as every thread maps it: `traceFlags[TRACE_ON] !== 0` is
 * the one plain read a fast path makes before it records anything.
 */
export const traceFlags = new Int32Array(heapBuffer(), 0, 64);

/** @internal Event kinds, as stored in CODE's low byte. */
export const EV = {
  THREAD_START: 1,
  THREAD_END: 2,
  WAIT_START: 3,
  WAIT_END: 4,
  ACQUIRE: 5,
  RELEASE: 6,
  TASK_SUBMIT: 7,
  TASK_START: 8,
  TASK_END: 9,
  QUEUE_PUT: 10,
  QUEUE_GET: 11,
  MARK: 12,
} as const;

/**
 * @internal The wait kinds in CODE's second byte (index + 1; 0: none). A kind missing here
 * is recorded as none (its label still says what it is): add new kinds at the end.
 */
export const WAIT_KINDS: readonly WaitKind[] = ["lock", "rlock", "condition", "semaphore", "event", "barrier", "queue-get", "queue-put", "join", "sleep", "future", "queue-join"];
/** @internal The outcomes in CODE's third byte (index + 1; 0: none). */
export const OUTCOMES: readonly WaitOutcome[] = ["ok", "timed-out", "aborted", "failed"];

const words = new Int32Array(heapBuffer());
const bytes = new Uint8Array(heapBuffer());
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The monotonic clock in ms, the same in every thread (CLOCK_MONOTONIC under
 * `process.hrtime`). Not `performance.now()`: each worker counts that from its own start,
 * and the offset between the two, sampled early in a worker, was off by milliseconds here.
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

// This thread's writer state: the session it claimed a buffer for, views over the buffer's
// header and events (fixed-length views: the JIT keeps their accesses cheap), and the
// labels already in its string area.
let session = 0;
let fullSession = 0; // a session in which the registry had no buffer for this thread
let buffer = 0; // byte offset of the buffer's header; 0: none
let header: Int32Array<ArrayBufferLike> = new Int32Array(8);
let slotsI32: Int32Array<ArrayBufferLike> = new Int32Array(EVENT_CELLS);
let slotsF64: Float64Array<ArrayBufferLike> = new Float64Array(EVENT_CELLS / 2);
let capacity = 1;
let sinceMs = 0; // the session's start on monotonicMs()
const labels = new Map<string, number>();

/**
 * @internal Records one event for the running thread, if tracing is on: the function a
 * primitive or the pool calls (behind its own `traceFlags[TRACE_ON] !== 0` where every
 * nanosecond counts). `code` is a kind from {@link EV}, optionally with a wait kind and an
 * outcome packed above it.
 */
export function traceEvent(code: number, object: number, label?: string, detail = 0): void {
  const on = traceFlags[TRACE_ON];
  if (on === 0) return;
  if (on !== session && !claim(on)) return;
  const ts = (monotonicMs() - sinceMs) * 1000;
  const count = header[COUNT];
  const slot = count % capacity;
  slotsF64[slot * 4] = ts;
  const w = slot * EVENT_CELLS;
  slotsI32[w + 2] = code;
  slotsI32[w + 3] = currentIdent;
  slotsI32[w + 4] = object;
  slotsI32[w + 5] = label === undefined ? 0 : labelOf(label);
  slotsI32[w + 6] = detail;
  Atomics.store(header, COUNT, count + 1);
}

/**
 * @internal A lock was acquired or released (kind EV.ACQUIRE / EV.RELEASE), recorded by
 * the Lock's traced methods (sync/lock.ts) with its name as the label.
 */
export function traceLock(kind: number, lockCells: Int32Array, label?: string, waitKind: "lock" | "rlock" = "lock"): void {
  traceEvent(kind | ((waitKind === "lock" ? 1 : 2) << 8), lockCells.byteOffset, label);
}

/** Takes a buffer for session `on`: this thread's own if nobody took it, else a stale or new one. */
function claim(on: number): boolean {
  const control = controlCells();
  if (control === 0 || fullSession === on) return false;
  const wanted = words[control + EVENTS];
  const c = buffer >> 2;
  // A buffer is claimed in two steps, through -on ("being set up", which neither the reader
  // nor another claimer takes), so that nobody sees the new session with the old count.
  const mine = buffer !== 0 && words[c + CAPACITY] === wanted && Atomics.compareExchange(words, c + SESSION, session, -on) === session;
  if (!mine) {
    const found = takeStale(control, on, wanted) || makeBuffer(control, on, wanted);
    if (found === 0) {
      fullSession = on; // the registry is full: this thread records nothing this session
      return false;
    }
    buffer = found;
  }
  const heap = heapBuffer();
  capacity = words[(buffer >> 2) + CAPACITY];
  header = new Int32Array(heap, buffer, BUFFER_HEADER / 4);
  slotsI32 = new Int32Array(heap, buffer + BUFFER_HEADER, capacity * EVENT_CELLS);
  slotsF64 = new Float64Array(heap, buffer + BUFFER_HEADER, capacity * (EVENT_CELLS / 2));
  header[COUNT] = 0;
  header[STR_TOP] = 0;
  header[WRITER] = threadId;
  Atomics.store(header, SESSION, on);
  labels.clear();
  sinceMs = new Float64Array(heap, (control << 2) + START_MS_AT, 1)[0];
  session = on;
  attachTraceHook();
  return true;
}

function controlCells(): number {
  return Atomics.load(traceFlags, TRACE_ROOT) >> 2;
}

/** Claims (as -on) a registered buffer of the right size that no thread used in the last session. */
function takeStale(control: number, on: number, wanted: number): number {
  for (let i = 0; i < MAX_BUFFERS; i++) {
    const at = Atomics.load(words, control + REGISTRY + i);
    if (at === 0) return 0;
    const claimed = Atomics.load(words, (at >> 2) + SESSION);
    if (claimed < 0 || claimed > on - 2 || words[(at >> 2) + CAPACITY] !== wanted) continue;
    if (Atomics.compareExchange(words, (at >> 2) + SESSION, claimed, -on) === claimed) return at;
  }
  return 0;
}

/** Allocates a buffer, claimed (as -on), and registers it; 0 if the registry is full. */
function makeBuffer(control: number, on: number, events: number): number {
  const strings = Math.max(1024, Math.ceil((events * EVENT_BYTES) / STRING_SHARE / 8) * 8);
  const block = allocateBlock(BUFFER_HEADER + events * EVENT_BYTES + strings, false);
  const at = block.byteOffset;
  const c = at >> 2;
  words[c + CAPACITY] = events;
  words[c + STR_CAP] = strings;
  Atomics.store(words, c + SESSION, -on);
  for (let i = 0; i < MAX_BUFFERS; i++) {
    if (Atomics.compareExchange(words, control + REGISTRY + i, 0, at) === 0) return at;
  }
  return 0; // full: the block stays allocated (it is small next to 1024 buffers)
}

/** The label's place in this buffer's string area (1-based; 0 when the area is full). */
function labelOf(label: string): number {
  const known = labels.get(label);
  if (known !== undefined) return known;
  const encoded = encoder.encode(label).subarray(0, 0xffff);
  const top = header[STR_TOP];
  const start = buffer + BUFFER_HEADER + capacity * EVENT_BYTES;
  if (top + 2 + encoded.length > header[STR_CAP]) return 0;
  bytes[start + top] = encoded.length & 0xff;
  bytes[start + top + 1] = encoded.length >> 8;
  bytes.set(encoded, start + top + 2);
  header[STR_TOP] = (top + 2 + encoded.length + 1) & ~1;
  labels.set(label, top + 1);
  return top + 1;
}

// --- the wait hook -----------------------------------------------------------------------

let detach: (() => void) | undefined;
let detachQueued = false;
const switches: ((on: boolean) => void)[] = [];

/**
 * @internal Registers what a primitive switches when this thread starts or stops
 * recording: the Lock swaps in traced `acquire`/`release` methods, so that its fast paths
 * carry no check at all while tracing is off (sync/lock.ts).
 */
export function onTraceSwitch(change: (on: boolean) => void): void {
  switches.push(change);
  if (detach !== undefined) change(true);
}

// A thread that only waits learns of a trace at its next slow-path wait.
addWaitProbe(attachTraceHook);

/**
 * @internal Adds the tracing wait hook in this thread, if tracing is on and it is not
 * added yet. A thread adds it at its first event of a session (its start, a pool task, a
 * lock acquired), or wherever a slow path calls this; the hook takes itself off at the
 * first wait after the trace stops, so that `hooked` falls back to false.
 */
export function attachTraceHook(): void {
  if (detach !== undefined || traceFlags[TRACE_ON] === 0) return;
  detach = addWaitHook({ waitStart, waitEnd });
  for (const change of switches) change(true);
}

/** @internal Takes the wait hook off in this thread (once tracing is off). */
export function detachTraceHook(): void {
  const remove = detach;
  detach = undefined;
  detachQueued = false;
  if (remove === undefined) return;
  remove();
  for (const change of switches) change(false);
}

function detachIfOff(): void {
  detachQueued = false;
  if (traceFlags[TRACE_ON] === 0) detachTraceHook();
}

function waitStart(site: WaitSite): void {
  if (traceFlags[TRACE_ON] === 0) {
    // Not now: the hooks are being walked. The next turn of this thread's loop will do.
    if (!detachQueued) queueMicrotask(detachIfOff);
    detachQueued = true;
    return;
  }
  traceEvent(EV.WAIT_START | ((WAIT_KINDS.indexOf(site.kind) + 1) << 8), objectOf(site), site.label, site.target ?? 0);
}

function waitEnd(site: WaitSite, outcome: WaitOutcome): void {
  traceEvent(EV.WAIT_END | ((WAIT_KINDS.indexOf(site.kind) + 1) << 8) | ((OUTCOMES.indexOf(outcome) + 1) << 16), objectOf(site), site.label, site.target ?? 0);
}

function objectOf(site: WaitSite): number {
  return site.cells !== undefined ? site.cells.byteOffset : 0;
}

// --- the home thread's side: sessions and reading --------------------------------------

/** One event as read from a buffer, before names are attached. */
export interface RawEvent {
  ts: number;
  code: number;
  ident: number;
  object: number;
  label: string | undefined;
  detail: number;
}

/** What a stopped session left. */
export interface SessionRecord {
  readonly events: RawEvent[];
  /** Events that fell out of full rings. */
  readonly dropped: number;
  /** How long the session ran, in µs. */
  readonly durationUs: number;
}

let running: { session: number; startMs: number } | undefined;

/** True while this home thread runs a trace. */
export function tracing(): boolean {
  return running !== undefined;
}

/** Starts a session: every thread records from its next event on. Home thread only. */
export function startSession(eventsPerThread: number): void {
  if (homeMemory !== undefined) throw new RuntimeError("trace.start() is for the main thread");
  let root = Atomics.load(traceFlags, TRACE_ROOT);
  if (root === 0) {
    root = allocateBlock(CONTROL_BYTES).byteOffset;
    Atomics.store(traceFlags, TRACE_ROOT, root);
  }
  const control = root >> 2;
  const next = words[control + LAST_SESSION] + 1;
  words[control + LAST_SESSION] = next;
  words[control + EVENTS] = eventsPerThread;
  const startMs = monotonicMs();
  new Float64Array(heapBuffer(), root + START_MS_AT, 1)[0] = startMs;
  running = { session: next, startMs };
  Atomics.store(traceFlags, TRACE_ON, next); // publishes the writes above
  attachTraceHook();
}

/** Stops the session and reads every buffer claimed for it. Home thread only. */
export function stopSession(): SessionRecord {
  if (running === undefined) throw new RuntimeError("trace.stop() without trace.start()");
  const { session: stopped, startMs } = running;
  running = undefined;
  Atomics.store(traceFlags, TRACE_ON, 0);
  detachTraceHook();
  const durationUs = (monotonicMs() - startMs) * 1000;
  const control = Atomics.load(traceFlags, TRACE_ROOT) >> 2;
  const events: RawEvent[] = [];
  let dropped = 0;
  for (let i = 0; i < MAX_BUFFERS; i++) {
    const at = Atomics.load(words, control + REGISTRY + i);
    if (at === 0) break;
    if (Atomics.load(words, (at >> 2) + SESSION) !== stopped) continue;
    dropped += readBuffer(at, durationUs, events);
  }
  return { events, dropped, durationUs };
}

/** Appends a buffer's published events stamped before the stop; returns how many it lost. */
function readBuffer(at: number, untilUs: number, out: RawEvent[]): number {
  const c = at >> 2;
  const count = Atomics.load(words, c + COUNT);
  const slots = words[c + CAPACITY];
  const strings = at + BUFFER_HEADER + slots * EVENT_BYTES;
  const heapF64 = new Float64Array(heapBuffer(), 0, heapBuffer().byteLength >> 3);
  const first = Math.max(0, count - slots);
  const names = new Map<number, string>();
  const read: RawEvent[] = [];
  for (let n = first; n < count; n++) {
    const e = at + BUFFER_HEADER + (n % slots) * EVENT_BYTES;
    const w = e >> 2;
    const ts = heapF64[e >> 3];
    if (ts > untilUs) continue;
    const label = words[w + 5];
    let text: string | undefined;
    if (label !== 0) {
      text = names.get(label);
      if (text === undefined) {
        const s = strings + label - 1;
        const length = bytes[s] | (bytes[s + 1] << 8);
        text = decoder.decode(bytes.slice(s + 2, s + 2 + length));
        names.set(label, text);
      }
    }
    read.push({ ts, code: words[w + 2], ident: words[w + 3], object: words[w + 4], label: text, detail: words[w + 6] });
  }
  // A writer that read the switch just before the stop may have overwritten the oldest slot.
  const late = Atomics.load(words, c + COUNT) - count;
  out.push(...(late > 0 && first > 0 ? read.slice(late) : read));
  return first + (late > 0 && first > 0 ? late : 0);
}

/**
 * @internal A thread's target is about to run on this worker (carrier-main.ts). With
 * tracing off, a hook left from an earlier trace goes, so the new thread starts unhooked.
 */
export function traceThreadStart(ident: number, name: string): void {
  if (traceFlags[TRACE_ON] !== 0) traceEvent(EV.THREAD_START, ident, name);
  else if (detach !== undefined) detachTraceHook();
}

/** @internal A thread's target ended on this worker; with tracing off, the wait hook goes too. */
export function traceThreadEnd(ident: number, name: string): void {
  if (traceFlags[TRACE_ON] !== 0) traceEvent(EV.THREAD_END, ident, name);
  else if (detach !== undefined) detachTraceHook();
}
