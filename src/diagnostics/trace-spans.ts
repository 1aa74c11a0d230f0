/**
 * A trace's events paired into what a timeline draws: spans (a wait, a lock held, a task
 * run, a thread's life) and instants (a task submitted, an item put), lane by lane. The
 * Chrome trace and the HTML page both draw from this, so they pair events the same way.
 */
import type { TraceEvent, WaitKind, WaitOutcome } from "./trace-event.js";

/** What a span shows. */
export type SpanCategory = "thread" | "task" | "hold" | "wait";

/** Something a thread did for a while. */
export interface TraceSpan {
  readonly category: SpanCategory;
  readonly ident: number;
  readonly name: string;
  /** µs since the trace started. */
  readonly start: number;
  readonly end: number;
  readonly object: number;
  readonly label: string;
  readonly waitKind?: WaitKind;
  readonly outcome?: WaitOutcome;
  /** True when the span began before the trace did, or had not ended when it stopped. */
  readonly clipped: boolean;
}

/** Something that happened at one moment. */
export interface TraceInstant {
  readonly ident: number;
  readonly name: string;
  readonly ts: number;
  readonly kind: TraceEvent["kind"];
  readonly object: number;
  readonly label: string;
  readonly detail: number;
}

/** A thread seen in the trace. */
export interface TraceLane {
  readonly ident: number;
  readonly name: string;
}

/** A trace ready to draw. */
export interface TraceLayout {
  readonly lanes: TraceLane[];
  readonly spans: TraceSpan[];
  readonly instants: TraceInstant[];
  /** The last moment in the trace, µs. */
  readonly end: number;
}

interface Open {
  readonly event: TraceEvent;
  depth: number;
}

/** Pairs start and end events: waits by thread and object, holds by object, tasks by id. */
export function layoutTrace(events: readonly TraceEvent[]): TraceLayout {
  const lanes = new Map<number, TraceLane>();
  const spans: TraceSpan[] = [];
  const instants: TraceInstant[] = [];
  const waits = new Map<number, TraceEvent[]>(); // per thread, a stack
  const holds = new Map<string, Open>(); // `${object}` -> the holder's acquire (a Lock may be released by another thread)
  const tasks = new Map<string, TraceEvent>(); // `${pool}:${id}`
  const lives = new Map<number, TraceEvent>();
  let end = 0;
  for (const e of events) if (e.ts > end) end = e.ts;

  const span = (category: SpanCategory, from: TraceEvent | undefined, to: TraceEvent | undefined): void => {
    const e = (from ?? to) as TraceEvent;
    const what = e.waitKind !== undefined && e.waitKind !== "lock" ? `${e.waitKind} ` : "";
    const name = category === "thread" ? e.threadName : category === "task" ? `task ${e.label}` : `${category} ${what}${e.label}`;
    const s: { -readonly [K in keyof TraceSpan]: TraceSpan[K] } = {
      category,
      ident: e.ident,
      name,
      start: from?.ts ?? 0,
      end: to?.ts ?? end,
      object: e.object,
      label: e.label,
      clipped: from === undefined || to === undefined,
    };
    if (e.waitKind !== undefined) s.waitKind = e.waitKind;
    const outcome = to?.outcome;
    if (outcome !== undefined) s.outcome = outcome;
    spans.push(s);
  };

  for (const e of events) {
    if (!lanes.has(e.ident)) lanes.set(e.ident, { ident: e.ident, name: e.threadName });
    switch (e.kind) {
      case "thread-start":
        lives.set(e.ident, e);
        break;
      case "thread-end":
        span("thread", lives.get(e.ident), e);
        lives.delete(e.ident);
        break;
      case "wait-start": {
        let stack = waits.get(e.ident);
        if (stack === undefined) waits.set(e.ident, (stack = []));
        stack.push(e);
        break;
      }
      case "wait-end": {
        const stack = waits.get(e.ident) ?? [];
        let at = stack.length - 1;
        while (at >= 0 && (stack[at].object !== e.object || stack[at].waitKind !== e.waitKind)) at--;
        span("wait", at >= 0 ? stack.splice(at, 1)[0] : undefined, e);
        break;
      }
      case "acquire": {
        const key = `${e.object}`;
        const open = holds.get(key);
        if (open !== undefined && open.event.ident === e.ident) open.depth++; // an RLock again
        else {
          if (open !== undefined) span("hold", open.event, undefined);
          holds.set(key, { event: e, depth: 1 });
        }
        break;
      }
      case "release": {
        const key = `${e.object}`;
        const open = holds.get(key);
        if (open === undefined) {
          span("hold", undefined, e);
        } else if (--open.depth === 0) {
          holds.delete(key);
          span("hold", open.event, { ...e, ident: open.event.ident });
        }
        break;
      }
      case "task-start":
        tasks.set(`${e.detail}:${e.object}`, e);
        break;
      case "task-end": {
        const key = `${e.detail}:${e.object}`;
        span("task", tasks.get(key), e);
        tasks.delete(key);
        break;
      }
      default:
        instants.push({ ident: e.ident, name: `${e.kind} ${e.label}`.trim(), ts: e.ts, kind: e.kind, object: e.object, label: e.label, detail: e.detail });
    }
  }
  for (const e of lives.values()) span("thread", e, undefined);
  for (const stack of waits.values()) for (const e of stack) span("wait", e, undefined);
  for (const open of holds.values()) span("hold", open.event, undefined);
  for (const e of tasks.values()) span("task", e, undefined);
  for (const e of events) {
    if (e.kind === "thread-start" || e.kind === "thread-end") {
      instants.push({ ident: e.ident, name: `${e.kind} ${e.label}`, ts: e.ts, kind: e.kind, object: e.object, label: e.label, detail: e.detail });
    }
  }
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  instants.sort((a, b) => a.ts - b.ts);
  return { lanes: [...lanes.values()].sort((a, b) => a.ident - b.ident), spans, instants, end };
}
