/**
 * Group 4: wake-up latency of Condition and Event, by ping-pong between two weft threads:
 * A sets/notifies, B wakes and answers, A wakes. One sample is one round trip measured by
 * A, halved (= one wake-up). Baselines between the same two threads, in the same run:
 *   - raw Atomics.wait/notify ping-pong (park at once, no spinning);
 *   - the same with 200 spins before parking (weft's SPIN_LIMIT: the algorithm weft uses);
 *   - a postMessage round trip (a BroadcastChannel: the two threads have no MessagePort to
 *     each other, since weft cannot transfer one in `args`; Node delivers both the same way).
 *
 * Both sides meet at a spinning start gate. A spin-then-park ping-pong is bistable: while
 * both sides spin, each answer lands inside the other's spin window (~0.1 µs); once one
 * side has parked, its kernel wake-up (~5 µs or more) outlasts the other's spin window, so
 * that side parks too, and so on. The "< 2 µs" column says which share of wake-ups were
 * caught by spinning.
 */
import { Condition, Event, Lock, Thread, configure } from "weft-threads";
import { BARE_SPIN } from "./bare-futex.js";
import { latency, now, type Check, type GroupResult, type Latency, type Row } from "./stats.js";

const GROUP = "4 wake-up (ping-pong)";
const N = 20_000;
const WARMUP = 1_000;

type Kind = "atomics" | "spin-atomics" | "postMessage" | "event" | "condition" | "condition-lock";

interface Shared {
  cell: Int32Array;
  /** [0] start gate, [1] A's iterations done, [2] B's (for the hang report). */
  ctl: Int32Array;
  channel: string;
  ping: Event | null;
  pong: Event | null;
  cond: Condition | null;
  turn: Int32Array;
}

/** Waits while cell[0] === value: raw park, or spin first. */
function waitWhile(cell: Int32Array, value: number, spin: number): void {
  for (let i = 0; i < spin; i++) if (Atomics.load(cell, 0) !== value) return;
  while (Atomics.load(cell, 0) === value) Atomics.wait(cell, 0, value);
}

function atomicsA(o: Shared, spin: number, out: Float64Array): void {
  const c = o.cell;
  for (let i = 0; i < out.length; i++) {
    const t0 = now();
    const v = 2 * i + 1;
    Atomics.store(c, 0, v);
    Atomics.notify(c, 0, 1);
    waitWhile(c, v, spin);
    out[i] = (now() - t0) * 1000;
    o.ctl[1] = i + 1;
  }
}

function atomicsB(o: Shared, spin: number, n: number): void {
  const c = o.cell;
  for (let i = 0; i < n; i++) {
    waitWhile(c, 2 * i, spin);
    Atomics.store(c, 0, 2 * i + 2);
    Atomics.notify(c, 0, 1);
    o.ctl[2] = i + 1;
  }
}

function eventA(o: Shared, out: Float64Array): void {
  const ping = o.ping as Event;
  const pong = o.pong as Event;
  for (let i = 0; i < out.length; i++) {
    const t0 = now();
    ping.set();
    pong.waitSync();
    pong.clear();
    out[i] = (now() - t0) * 1000;
    o.ctl[1] = i + 1;
  }
}

function eventB(o: Shared, n: number): void {
  const ping = o.ping as Event;
  const pong = o.pong as Event;
  for (let i = 0; i < n; i++) {
    ping.waitSync();
    ping.clear();
    pong.set();
    o.ctl[2] = i + 1;
  }
}

function conditionA(o: Shared, out: Float64Array): void {
  const cond = o.cond as Condition;
  const turn = o.turn;
  cond.acquireSync();
  for (let i = 0; i < out.length; i++) {
    const t0 = now();
    turn[0] = 1;
    cond.notify();
    while (turn[0] !== 0) cond.waitSync();
    out[i] = (now() - t0) * 1000;
    o.ctl[1] = i + 1;
  }
  cond.release();
}

function conditionB(o: Shared, n: number): void {
  const cond = o.cond as Condition;
  const turn = o.turn;
  cond.acquireSync();
  for (let i = 0; i < n; i++) {
    while (turn[0] !== 1) cond.waitSync();
    turn[0] = 0;
    cond.notify();
    o.ctl[2] = i + 1;
  }
  cond.release();
}

/** Both sides start together, each spinning (so that neither starts out parked). */
function gate(o: Shared): void {
  Atomics.add(o.ctl, 0, 1);
  while (Atomics.load(o.ctl, 0) < 2);
}

async function postMessageA(o: Shared, out: Float64Array): Promise<void> {
  const bc = new BroadcastChannel(o.channel);
  let answered: () => void = () => {};
  bc.onmessage = () => answered();
  for (let i = 0; i < out.length; i++) {
    const t0 = now();
    const reply = new Promise<void>((resolve) => (answered = resolve));
    bc.postMessage(i);
    await reply;
    out[i] = (now() - t0) * 1000;
    o.ctl[1] = i + 1;
  }
  bc.close();
}

function postMessageB(o: Shared, n: number): Promise<void> {
  const bc = new BroadcastChannel(o.channel);
  return new Promise<void>((resolve) => {
    let count = 0;
    bc.onmessage = (event) => {
      bc.postMessage((event as MessageEvent).data);
      o.ctl[2] = ++count;
      if (count === n) {
        bc.close();
        resolve();
      }
    };
  });
}

/** Thread target: side A (returns round trips in µs) or side B of one ping-pong. */
export async function pingPongThread(kind: Kind, role: "A" | "B", o: Shared, n: number): Promise<Float64Array | null> {
  // WEFT_BENCH_DETECTION=off: the same ping-pongs with deadlock detection off, to see its share.
  if (process.env.WEFT_BENCH_DETECTION === "off") configure({ deadlockDetection: false });
  if (role === "B") {
    if (kind === "postMessage") {
      const done = postMessageB(o, n); // subscribed before the gate: no message is lost
      gate(o);
      await done;
      return null;
    }
    gate(o);
    if (kind === "atomics") atomicsB(o, 0, n);
    else if (kind === "spin-atomics") atomicsB(o, BARE_SPIN, n);
    else if (kind === "event") eventB(o, n);
    else conditionB(o, n);
    return null;
  }
  const out = new Float64Array(n);
  gate(o);
  if (kind === "atomics") atomicsA(o, 0, out);
  else if (kind === "spin-atomics") atomicsA(o, BARE_SPIN, out);
  else if (kind === "event") eventA(o, out);
  else if (kind === "postMessage") await postMessageA(o, out);
  else conditionA(o, out);
  return out;
}

let channels = 0;

/** A ping-pong that has not finished after this long is reported as a hang. */
const HANG_MS = 30_000;

/** Rejects after `ms` with the state of a ping-pong that did not finish (unref'd: never holds the process). */
function hangAfter(ms: number, kind: Kind, o: Shared, a: Thread, b: Thread): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(() => {
      const state = {
        kind,
        aAlive: a.isAlive(),
        bAlive: b.isAlive(),
        aDone: o.ctl[1],
        bDone: o.ctl[2],
        cell: o.cell[0],
        turn: o.turn[0],
        ping: o.ping === null ? null : Array.from((o.ping as unknown as { cells: Int32Array }).cells),
        pong: o.pong === null ? null : Array.from((o.pong as unknown as { cells: Int32Array }).cells),
        cond: o.cond === null ? null : Array.from((o.cond as unknown as { cells: Int32Array }).cells),
      };
      reject(new Error(`ping-pong "${kind}" did not finish in ${ms / 1000} s: ${JSON.stringify(state)}`));
    }, ms).unref();
  });
}

async function pingPong(kind: Kind, o: Omit<Shared, "cell" | "ctl" | "channel" | "turn">): Promise<Latency> {
  const shared: Shared = {
    ...o,
    cell: new Int32Array(new SharedArrayBuffer(4)),
    ctl: new Int32Array(new SharedArrayBuffer(12)),
    turn: new Int32Array(new SharedArrayBuffer(4)),
    channel: `weft-bench-${process.pid}-${channels++}`,
  };
  const target = { module: import.meta.url, export: "pingPongThread" };
  const b = new Thread({ target, args: [kind, "B", shared, WARMUP + N], name: `${kind}-B` });
  const a = new Thread({ target, args: [kind, "A", shared, WARMUP + N], name: `${kind}-A` });
  b.start();
  a.start();
  await Promise.race([Promise.all([a.join(), b.join()]), hangAfter(HANG_MS, kind, shared, a, b)]);
  if (a.error !== undefined) throw a.error;
  if (b.error !== undefined) throw b.error;
  const rtt = a.result as Float64Array;
  return latency(rtt.subarray(WARMUP).map((x) => x / 2), WARMUP, true);
}

export async function benchWakeup(): Promise<GroupResult> {
  const none = { ping: null, pong: null, cond: null };
  const RAW = "raw: Atomics.wait/notify ping-pong";
  const rows: Row[] = [];
  const hangs: string[] = [];
  const notes: string[] = ["Condition() uses an RLock, as Python's does"];
  const measure = async (label: string, kind: Kind, o: Omit<Shared, "cell" | "ctl" | "channel" | "turn">, vs?: string): Promise<void> => {
    try {
      rows.push({ group: GROUP, label, figure: await pingPong(kind, o), ...(vs === undefined ? {} : { vs }) });
    } catch (error) {
      hangs.push(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  await measure("weft: Event set → waitSync wakes", "event", { ...none, ping: new Event(), pong: new Event() }, RAW);
  await measure("weft: Condition() notify → waitSync wakes", "condition", { ...none, cond: new Condition() }, RAW);
  await measure("weft: Condition(new Lock()) notify → waitSync wakes", "condition-lock", { ...none, cond: new Condition(new Lock()) }, RAW);
  await measure(RAW, "atomics", none);
  await measure(`raw: spin ${BARE_SPIN} then Atomics.wait`, "spin-atomics", none, RAW);
  await measure("raw: postMessage round trip (BroadcastChannel)", "postMessage", none, RAW);
  const checks: Check[] = [
    { target: "4. every ping-pong finishes (no lost wake-up)", measured: hangs.length === 0 ? "all finished" : hangs.join("; "), met: hangs.length === 0 },
  ];
  return { rows, checks, notes };
}
