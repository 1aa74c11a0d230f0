/**
 * What a trace is made of: {@link TraceEvent}, one thing one thread did at one moment, and
 * how the recorder's packed cells (core/trace-buffer.ts) become one.
 */
import { EV, OUTCOMES, WAIT_KINDS, type RawEvent } from "../core/trace-buffer.js";
import type { WaitKind, WaitOutcome } from "../core/wait-hooks.js";

export type { WaitKind, WaitOutcome } from "../core/wait-hooks.js";

/** What happened. Start/end kinds come in pairs, per thread (and per object for holds). */
export type TraceEventKind =
  | "thread-start"
  | "thread-end"
  | "wait-start"
  | "wait-end"
  | "acquire"
  | "release"
  | "task-submit"
  | "task-start"
  | "task-end"
  | "queue-put"
  | "queue-get"
  | "mark";

/** One event of a trace, as `trace.stop()` returns it. */
export interface TraceEvent {
  /** Microseconds since `trace.start()`, on one clock shared by every thread. */
  readonly ts: number;
  readonly kind: TraceEventKind;
  /** The ident of the thread that recorded it. */
  readonly ident: number;
  /** That thread's name ("MainThread", "Thread-3 (work)"). */
  readonly threadName: string;
  /**
   * What it is about: the heap offset of a primitive's cells (the same in every thread),
   * the ident of the thread for thread events, a task's id for task events; 0 when none.
   */
  readonly object: number;
  /** How the object is named: "Lock#3", a thread's name, a task's function. */
  readonly label: string;
  /** For waits, acquire and release: what kind of object. */
  readonly waitKind?: WaitKind;
  /** For a wait's end: how it ended. */
  readonly outcome?: WaitOutcome;
  /** Kind-specific: a pool's id for task events, the ident waited for by a join. */
  readonly detail: number;
}

const KIND_NAMES: Record<number, TraceEventKind> = {
  [EV.THREAD_START]: "thread-start",
  [EV.THREAD_END]: "thread-end",
  [EV.WAIT_START]: "wait-start",
  [EV.WAIT_END]: "wait-end",
  [EV.ACQUIRE]: "acquire",
  [EV.RELEASE]: "release",
  [EV.TASK_SUBMIT]: "task-submit",
  [EV.TASK_START]: "task-start",
  [EV.TASK_END]: "task-end",
  [EV.QUEUE_PUT]: "queue-put",
  [EV.QUEUE_GET]: "queue-get",
  [EV.MARK]: "mark",
};

/**
 * Turns raw events into TraceEvents, sorted by time: `nameOf` names threads, and an object
 * recorded without a label (a lock's fast path records none) takes the label it has
 * elsewhere in the trace.
 */
export function decodeEvents(raw: readonly RawEvent[], nameOf: (ident: number) => string): TraceEvent[] {
  // Task ids are per pool, primitives are heap offsets: the two are keyed apart.
  const keyOf = (e: RawEvent): string => {
    const kind = e.code & 0xff;
    return kind >= EV.TASK_SUBMIT && kind <= EV.TASK_END ? `t${e.detail}:${e.object}` : `o${e.object}`;
  };
  const objectLabels = new Map<string, string>();
  for (const e of raw) if (e.label !== undefined && e.object !== 0 && !objectLabels.has(keyOf(e))) objectLabels.set(keyOf(e), e.label);
  const sorted = raw.slice().sort((a, b) => a.ts - b.ts);
  return sorted.map((e) => {
    const kind = KIND_NAMES[e.code & 0xff] ?? "mark";
    const waitKind = WAIT_KINDS[((e.code >> 8) & 0xff) - 1];
    const outcome = OUTCOMES[((e.code >> 16) & 0xff) - 1];
    const label = e.label ?? objectLabels.get(keyOf(e)) ?? fallbackLabel(kind, waitKind, e.object);
    const event: { -readonly [K in keyof TraceEvent]: TraceEvent[K] } = {
      ts: e.ts,
      kind,
      ident: e.ident,
      threadName: nameOf(e.ident),
      object: e.object,
      label,
      detail: e.detail,
    };
    if (waitKind !== undefined) event.waitKind = waitKind;
    if (outcome !== undefined) event.outcome = outcome;
    return event;
  });
}

function fallbackLabel(kind: TraceEventKind, waitKind: WaitKind | undefined, object: number): string {
  if (kind.startsWith("task-")) return `task ${object}`;
  if (waitKind === "lock") return `Lock@${object}`;
  if (waitKind === "rlock") return `RLock@${object}`;
  if (waitKind !== undefined) return object !== 0 ? `${waitKind}@${object}` : waitKind;
  return object !== 0 ? `@${object}` : "";
}
