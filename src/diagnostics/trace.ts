/**
 * `trace`: records what every thread does (thread start and end, waits, lock holds, queue
 * traffic, pool tasks) with µs timestamps while it runs, and turns the result into a Chrome
 * trace (Perfetto, chrome://tracing) or a self-contained timeline page.
 *
 * Recording costs no message: each thread writes into its own buffer in shared memory
 * (core/trace-buffer.ts) and `stop()` reads them all on the main thread, those of threads
 * that ended meanwhile included. While no trace runs, an instrumented path pays one read
 * of a shared cell.
 */
import { FOREIGN_IDENT_BASE, homeIdent } from "../core/identity.js";
import { liveThreads } from "../core/thread-table.js";
import { DEFAULT_EVENTS, EV, startSession, stopSession, traceEvent, tracing, type RawEvent } from "../core/trace-buffer.js";
import { toChromeTrace, type ChromeTrace } from "./chrome-trace.js";
import { toHTML, type TimelineOptions } from "./timeline-html.js";
import { decodeEvents, type TraceEvent } from "./trace-event.js";
import { RuntimeError, ValueError } from "../core/errors.js";

/** Options of `trace.start()`. */
export interface TraceOptions {
  /**
   * How many events each thread keeps (default 30 000, ~1 MiB a thread); a thread that
   * records more keeps its latest ones, and `trace.dropped` counts the others.
   */
  eventsPerThread?: number;
}

/** The tracer (see the module's description). */
export interface Trace {
  /** Starts recording in every thread, those already running included. Main thread only. */
  start(options?: TraceOptions): void;
  /** Stops recording; every thread's events, sorted by time. Main thread only. */
  stop(): TraceEvent[];
  /** True while a trace runs. */
  readonly active: boolean;
  /** Events the last trace lost because a thread's buffer was full. */
  readonly dropped: number;
  /** Records a mark with `label` in the calling thread, from any thread (nothing when off). */
  mark(label: string): void;
  /** The events as a Chrome trace: `JSON.stringify` it and open it in ui.perfetto.dev or chrome://tracing. */
  toChromeTrace(events: readonly TraceEvent[]): ChromeTrace;
  /** The events as a self-contained HTML page: a lane per thread, waits and holds as bars. */
  toHTML(events: readonly TraceEvent[], options?: TimelineOptions): string;
}

let dropped = 0;

export const trace: Trace = {
  start(options?: TraceOptions): void {
    if (tracing()) throw new RuntimeError("trace.start(): a trace is already running");
    const events = options?.eventsPerThread ?? DEFAULT_EVENTS;
    if (!Number.isInteger(events) || events < 16 || events > 4_000_000) {
      throw new ValueError(`trace.start(options): eventsPerThread must be an integer from 16 to 4000000, got ${String(events)}`);
    }
    startSession(events);
  },
  stop(): TraceEvent[] {
    const record = stopSession();
    dropped = record.dropped;
    return decodeEvents(record.events, threadNames(record.events));
  },
  get active(): boolean {
    return tracing();
  },
  get dropped(): number {
    return dropped;
  },
  mark(label: string): void {
    traceEvent(EV.MARK, 0, String(label));
  },
  toChromeTrace(events: readonly TraceEvent[]): ChromeTrace {
    return toChromeTrace(events);
  },
  toHTML(events: readonly TraceEvent[], options?: TimelineOptions): string {
    return toHTML(events, options);
  },
};

/** Names threads by what their start and end events say, else by the live thread table. */
function threadNames(events: readonly RawEvent[]): (ident: number) => string {
  const names = new Map<number, string>([[homeIdent, "MainThread"]]);
  for (const e of events) {
    const kind = e.code & 0xff;
    if ((kind === EV.THREAD_START || kind === EV.THREAD_END) && e.label !== undefined) names.set(e.ident, e.label);
  }
  for (const t of liveThreads()) if (!names.has(t.ident)) names.set(t.ident, t.name);
  return (ident) => names.get(ident) ?? (ident >= FOREIGN_IDENT_BASE ? `carrier ${ident - FOREIGN_IDENT_BASE}` : `Thread ${ident}`);
}
