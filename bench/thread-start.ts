/**
 * Group 1: thread start + join latency of a trivial target, in steady state (warm carriers),
 * against a raw `new Worker` start-to-exit and a raw postMessage round trip to a warm worker,
 * measured in the same run.
 */
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { Thread } from "weft-threads";
import { latency, now, type GroupResult } from "./stats.js";

const GROUP = "1 start+join";

const WEFT_WARMUP = 300;
const WEFT_N = 3000;
const RAW_WORKER_WARMUP = 2;
const RAW_WORKER_N = 20;
const RAW_RTT_WARMUP = 500;
const RAW_RTT_N = 5000;

export async function benchThreadStart(): Promise<GroupResult> {
  // weft: new Thread + start + await join, one after another.
  const weft: number[] = [];
  for (let i = 0; i < WEFT_WARMUP + WEFT_N; i++) {
    const t0 = now();
    const t = new Thread({ target: () => 1 });
    t.start();
    await t.join();
    const t1 = now();
    if (t.result !== 1) throw new Error(`thread returned ${String(t.result)}`);
    if (i >= WEFT_WARMUP) weft.push((t1 - t0) * 1000);
  }

  // raw: a fresh worker (eval) from construction to its "exit" event.
  const rawWorker: number[] = [];
  for (let i = 0; i < RAW_WORKER_WARMUP + RAW_WORKER_N; i++) {
    const t0 = now();
    const w = new Worker("void 0", { eval: true });
    await once(w, "exit");
    const t1 = now();
    if (i >= RAW_WORKER_WARMUP) rawWorker.push((t1 - t0) * 1000);
  }

  // raw: postMessage round trip to an already running worker (the floor for a warm pool).
  const echo = new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));",
    { eval: true },
  );
  const rawRtt: number[] = [];
  for (let i = 0; i < RAW_RTT_WARMUP + RAW_RTT_N; i++) {
    const t0 = now();
    echo.postMessage(i);
    await once(echo, "message");
    const t1 = now();
    if (i >= RAW_RTT_WARMUP) rawRtt.push((t1 - t0) * 1000);
  }
  await echo.terminate();

  const weftFig = latency(weft, WEFT_WARMUP);
  return {
    rows: [
      { group: GROUP, label: "weft: new Thread({target: () => 1}).start(); await join()", figure: weftFig, vs: "raw: new Worker (eval) start→exit" },
      { group: GROUP, label: "raw: new Worker (eval) start→exit", figure: latency(rawWorker, RAW_WORKER_WARMUP) },
      {
        group: GROUP,
        label: "raw: postMessage round trip to a warm Worker",
        figure: latency(rawRtt, RAW_RTT_WARMUP),
        note: "floor for a warm-worker design",
      },
    ],
    checks: [
      { target: "1. Thread start+join median < 1 ms", measured: `${(weftFig.median / 1000).toFixed(3)} ms (p99 ${(weftFig.p99 / 1000).toFixed(3)} ms)`, met: weftFig.median < 1000 },
    ],
    notes: [],
  };
}
