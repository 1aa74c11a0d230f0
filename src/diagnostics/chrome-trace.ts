/**
 * A trace in the Trace Event Format that Perfetto (ui.perfetto.dev) and chrome://tracing
 * open: one process, a track per thread named by a "thread_name" metadata event, spans as
 * complete ("X") events, moments as instants ("i"), and a flow arrow from each task's
 * submission to its start. Timestamps are µs, as the format wants.
 */
import type { TraceEvent } from "./trace-event.js";
import { layoutTrace } from "./trace-spans.js";

/** Argument values in a Chrome trace event. */
export type ChromeTraceArgs = Record<string, string | number | boolean>;

/** One event of the Trace Event Format (the fields weft writes). */
export interface ChromeTraceEvent {
  readonly name: string;
  readonly ph: "X" | "B" | "E" | "i" | "M" | "s" | "f";
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  /** Instants: "t", scoped to the thread. */
  readonly s?: "t" | "p" | "g";
  /** Flow events: the id that links a start to its finish. */
  readonly id?: number;
  /** Flow finish: bind to the enclosing slice. */
  readonly bp?: "e";
  readonly args?: ChromeTraceArgs;
}

/** What `trace.toChromeTrace()` returns: `JSON.stringify` it into a .json file. */
export interface ChromeTrace {
  readonly traceEvents: ChromeTraceEvent[];
  readonly displayTimeUnit: "ms" | "ns";
  readonly otherData: Record<string, string>;
}

/** Converts a trace; `pid` names the process track (the process's pid by default). */
export function toChromeTrace(events: readonly TraceEvent[], pid: number = process.pid): ChromeTrace {
  const layout = layoutTrace(events);
  const out: ChromeTraceEvent[] = [{ name: "process_name", ph: "M", pid, tid: 0, args: { name: `weft (pid ${pid})` } }];
  for (const lane of layout.lanes) {
    out.push({ name: "thread_name", ph: "M", pid, tid: lane.ident, args: { name: lane.name } });
    out.push({ name: "thread_sort_index", ph: "M", pid, tid: lane.ident, args: { sort_index: lane.ident } });
  }
  for (const s of layout.spans) {
    const args: ChromeTraceArgs = { object: s.object, label: s.label };
    if (s.waitKind !== undefined) args.kind = s.waitKind;
    if (s.outcome !== undefined) args.outcome = s.outcome;
    if (s.clipped) args.clipped = true;
    out.push({ name: s.name, cat: s.category, ph: "X", ts: round(s.start), dur: round(Math.max(0, s.end - s.start)), pid, tid: s.ident, args });
  }
  for (const i of layout.instants) {
    out.push({ name: i.name, cat: i.kind, ph: "i", s: "t", ts: round(i.ts), pid, tid: i.ident, args: { object: i.object, label: i.label } });
  }
  // Flow arrows: a task's submission to the start of its run, in whichever thread ran it.
  const starts = new Map<string, TraceEvent>();
  for (const e of events) if (e.kind === "task-start") starts.set(`${e.detail}:${e.object}`, e);
  let flow = 0;
  for (const e of events) {
    if (e.kind !== "task-submit") continue;
    const start = starts.get(`${e.detail}:${e.object}`);
    if (start === undefined || start.ts < e.ts) continue;
    flow++;
    out.push({ name: "task", cat: "task", ph: "s", id: flow, ts: round(e.ts), pid, tid: e.ident });
    out.push({ name: "task", cat: "task", ph: "f", bp: "e", id: flow, ts: round(start.ts), pid, tid: start.ident });
  }
  return { traceEvents: out, displayTimeUnit: "ms", otherData: { producer: "weft", version: "1" } };
}

/** Rounds to 1/1000 µs: the format's viewers want plain decimals, not 17 digits. */
function round(us: number): number {
  return Math.round(us * 1000) / 1000;
}
