/**
 * Group "trace": what tracing costs. With tracing off, an instrumented fast path pays one
 * read of a shared cell: measured on an uncontended Lock loop carrying the two guarded
 * calls a Lock's fast paths make (`if (traceFlags[TRACE_ON] !== 0) traceLock(...)`), next
 * to the same loop without them, rounds interleaved. With tracing on: ns per recorded event
 * (raw, and `trace.mark` with a label), beside the clock read every event makes; and a
 * pool's one-task round trip with tracing off and on (three events per task).
 */
import { Lock, Thread, ThreadPoolExecutor, trace } from "weft-threads";
import { latency, median, now, rate, type GroupResult } from "./stats.js";

const GROUP = "trace";
const OPS = 1_000_000;
const EVENTS = 200_000;
const ROUNDS = 15;
const WARMUP_ROUNDS = 3;
const POOL_TRIPS = 2_000;
const POOL_ROUNDS = 6;

/** The recorder's internals this bench drives (not in the published types). */
interface Recorder {
  traceFlags: Int32Array;
  TRACE_ON: number;
  EV: { ACQUIRE: number; RELEASE: number; MARK: number };
  traceEvent(code: number, object: number, label?: string, detail?: number): void;
  traceLock(kind: number, cells: Int32Array): void;
}

async function recorder(): Promise<Recorder> {
  return (await import(new URL("../../dist/core/trace-buffer.js", import.meta.url).href)) as Recorder;
}

function loopLock(lock: Lock, n: number): void {
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    lock.release();
  }
}

/** loopLock with the guarded calls the Lock's fast paths carry, as the lines in the Lock would. */
function loopLockGuarded(lock: Lock, n: number, r: Recorder): void {
  const flags = r.traceFlags;
  const on = r.TRACE_ON;
  const cells = (lock as unknown as { cells: Int32Array }).cells;
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    if (flags[on] !== 0) r.traceLock(r.EV.ACQUIRE, cells);
    if (flags[on] !== 0) r.traceLock(r.EV.RELEASE, cells);
    lock.release();
  }
}

function perOpNs(fn: () => void, n: number): number {
  const t0 = now();
  fn();
  return ((now() - t0) * 1e6) / n;
}

/** Thread target, tracing off: ns per acquire+release, plain and guarded, interleaved. */
export async function offThread(lock: Lock, guardedLock: Lock): Promise<{ plain: number[]; guarded: number[] }> {
  const r = await recorder();
  if (r.traceFlags[r.TRACE_ON] !== 0) throw new Error("tracing is on");
  const out = { plain: [] as number[], guarded: [] as number[] };
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const plain = perOpNs(() => loopLock(lock, OPS), OPS);
    const guarded = perOpNs(() => loopLockGuarded(guardedLock, OPS, r), OPS);
    if (round < WARMUP_ROUNDS) continue;
    out.plain.push(plain);
    out.guarded.push(guarded);
  }
  return out;
}

/** Thread target, tracing on: ns per event, raw and as `trace.mark`, and per clock read. */
export async function onThread(): Promise<{ raw: number[]; mark: number[]; clock: number[] }> {
  const r = await recorder();
  if (r.traceFlags[r.TRACE_ON] === 0) throw new Error("tracing is off");
  const out = { raw: [] as number[], mark: [] as number[], clock: [] as number[] };
  let sink = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const raw = perOpNs(() => {
      for (let i = 0; i < EVENTS; i++) r.traceEvent(r.EV.MARK, i);
    }, EVENTS);
    const mark = perOpNs(() => {
      for (let i = 0; i < EVENTS; i++) trace.mark("bench");
    }, EVENTS);
    const clock = perOpNs(() => {
      for (let i = 0; i < EVENTS; i++) sink += process.hrtime()[1];
    }, EVENTS);
    if (round < WARMUP_ROUNDS) continue;
    out.raw.push(raw);
    out.mark.push(mark);
    out.clock.push(clock);
  }
  if (sink === 0.5) console.log(sink);
  return out;
}

async function inThread<R>(exportName: string, args: unknown[]): Promise<R> {
  const t = new Thread({ target: { module: import.meta.url, export: exportName }, args });
  t.start();
  await t.join();
  if (t.error !== undefined) throw t.error;
  return t.result as R;
}

export function noop(x: number): number {
  return x;
}

/** µs per one-task round trip (submit, await), `POOL_TRIPS` of them. */
async function poolTrips(pool: ThreadPoolExecutor): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < POOL_TRIPS; i++) {
    const t0 = now();
    await pool.submit(noop, i);
    samples.push((now() - t0) * 1000);
  }
  return samples;
}

export async function benchTrace(): Promise<GroupResult> {
  const off = await inThread<{ plain: number[]; guarded: number[] }>("offThread", [new Lock(), new Lock()]);
  trace.start({ eventsPerThread: 100_000 });
  let on: { raw: number[]; mark: number[]; clock: number[] };
  try {
    on = await inThread("onThread", []);
  } finally {
    trace.stop();
  }

  const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
  const tripsOff: number[] = [];
  const tripsOn: number[] = [];
  try {
    await poolTrips(pool); // warm-up
    for (let round = 0; round < POOL_ROUNDS; round++) {
      tripsOff.push(...(await poolTrips(pool)));
      trace.start();
      try {
        tripsOn.push(...(await poolTrips(pool)));
      } finally {
        trace.stop();
      }
    }
  } finally {
    await pool.shutdown();
  }

  const nsRate = (perOpNs: number[]): number[] => perOpNs.map((ns) => 1e9 / ns);
  const overhead = off.guarded.map((g, i) => g - off.plain[i]);
  const lockOff = rate(nsRate(off.guarded), `${OPS / 1e6}M ops`, WARMUP_ROUNDS);
  const lockPlain = rate(nsRate(off.plain), `${OPS / 1e6}M ops`, WARMUP_ROUNDS);
  const eventNs = median(on.raw);
  const markNs = median(on.mark);
  const clockNs = median(on.clock);
  const BASE = "weft: Lock acquireSync+release, no trace calls";
  const tripOff = latency(tripsOff, 0);
  const tripOn = latency(tripsOn, 0);
  return {
    rows: [
      { group: GROUP, label: "weft: Lock acquireSync+release + 2 guarded trace calls, tracing off", figure: lockOff, vs: BASE, paired: off.guarded.map((g, i) => off.plain[i] / g) },
      { group: GROUP, label: BASE, figure: lockPlain },
      { group: GROUP, label: "weft: one event recorded (raw), tracing on", figure: rate(nsRate(on.raw), `${EVENTS / 1000}k events`, WARMUP_ROUNDS, "events/s") },
      { group: GROUP, label: "weft: trace.mark(label), tracing on", figure: rate(nsRate(on.mark), `${EVENTS / 1000}k events`, WARMUP_ROUNDS, "events/s") },
      { group: GROUP, label: "raw: process.hrtime() (the clock read each event makes)", figure: rate(nsRate(on.clock), `${EVENTS / 1000}k reads`, WARMUP_ROUNDS, "reads/s") },
      { group: GROUP, label: "weft: pool round trip, one task in flight, tracing off", figure: tripOff },
      { group: GROUP, label: "weft: pool round trip, one task in flight, tracing on", figure: tripOn, vs: "weft: pool round trip, one task in flight, tracing off" },
    ],
    checks: [
      {
        target: "trace: tracing off costs no measurable time on a fast path (guarded Lock loop within 5% of the plain one)",
        measured: `${median(off.guarded).toFixed(1)} vs ${median(off.plain).toFixed(1)} ns per acquire+release; median difference ${median(overhead).toFixed(2)} ns`,
        met: median(off.guarded) <= median(off.plain) * 1.05,
      },
    ],
    notes: [
      `per recorded event: ${eventNs.toFixed(0)} ns raw, ${markNs.toFixed(0)} ns as trace.mark; a process.hrtime() read alone costs ${clockNs.toFixed(0)} ns here`,
      `pool round trip median ${tripOff.median.toFixed(1)} µs off, ${tripOn.median.toFixed(1)} µs on (3 events per task)`,
    ],
  };
}
