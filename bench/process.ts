/**
 * Group `process`: multiprocessing against Python 3.11's, in the same run.
 *
 * - Process start+join of a no-op target, with a warm spare child (weft waits, untimed,
 *   until the spare has booted, as Python's forkserver has its server up), back to back
 *   (the spare still booting: close to a cold start), and a raw `fork` of an empty file
 *   start→exit; against Python's fork, forkserver and spawn start methods.
 * - Pipe round trip (send, then recv the echo) with a child that echoes with a blocking
 *   recv (weft: recvSync; Python: recv), and weft with an async echo; and the floor under
 *   an async echo, two bare Node event loops echoing over a socket pair.
 */
import { execFileSync, fork, spawn } from "node:child_process";
import type { Socket } from "node:net";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Pipe, Process, type Connection } from "weft-threads";
import { latency, now, type GroupResult, type Latency } from "./stats.js";

const GROUP = "process";
const peer = fileURLToPath(new URL("../../bench/peers/mp_process.py", import.meta.url));
const START_WARMUP = 3;
const START_N = 30;
const COLD_N = 10;
const PIPE_WARMUP = 1000;
const PIPE_N = 10_000;

/** Runs the Python peer; its samples (µs). */
function python(args: string[]): number[] {
  return JSON.parse(execFileSync("python3", [peer, ...args], { encoding: "utf8", maxBuffer: 64 << 20 })) as number[];
}

async function startJoin(n: number, warmup: number, warm: boolean): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    if (warm) await (Process as unknown as { _whenSpareReady(): Promise<void> })._whenSpareReady();
    const t0 = now();
    const p = new Process({ target: () => {} });
    p.start();
    await p.join();
    const t1 = now();
    if (p.exitCode !== 0) throw new Error(`the child exited with ${p.exitCode}`);
    if (i >= warmup) samples.push((t1 - t0) * 1000);
  }
  return samples;
}

async function rawFork(n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    const t0 = now();
    const child = fork("-e", [], { execArgv: ["-e", "0"], stdio: "ignore" });
    await once(child, "exit");
    if (i >= 1) samples.push((now() - t0) * 1000);
  }
  return samples;
}

async function pipeRoundTrip(sync: boolean): Promise<number[]> {
  const [here, there] = Pipe();
  const echo = sync
    ? (conn: Connection) => {
        for (;;) {
          const item = conn.recvSync();
          if (item === null) return;
          conn.send(item);
        }
      }
    : async (conn: Connection) => {
        for (;;) {
          const item = await conn.recv();
          if (item === null) return;
          conn.send(item);
        }
      };
  const p = new Process({ target: echo, args: [there] });
  p.start();
  const samples: number[] = [];
  for (let i = 0; i < PIPE_WARMUP + PIPE_N; i++) {
    const t0 = now();
    here.send(i);
    await here.recv();
    if (i >= PIPE_WARMUP) samples.push((now() - t0) * 1000);
  }
  here.send(null);
  await p.join();
  return samples;
}

/** The floor under an async echo: two bare Node event loops echoing over a socket pair (no weft). */
async function rawEcho(): Promise<number[]> {
  const echo = "const s = new (require('node:net').Socket)({ fd: 3 }); s.on('data', (d) => d[0] === 0xff ? process.exit(0) : s.write(d));";
  const child = spawn(process.execPath, ["-e", echo], { stdio: ["ignore", "inherit", "inherit", "pipe"] });
  const socket = child.stdio[3] as Socket;
  const message = Buffer.alloc(16, 1);
  const samples: number[] = [];
  for (let i = 0; i < PIPE_WARMUP + PIPE_N; i++) {
    const t0 = now();
    const answered = once(socket, "data");
    socket.write(message);
    await answered;
    if (i >= PIPE_WARMUP) samples.push((now() - t0) * 1000);
  }
  socket.write(Buffer.from([0xff]));
  await once(child, "exit");
  return samples;
}

export async function benchProcess(): Promise<GroupResult> {
  const warm = latency(await startJoin(START_N, START_WARMUP, true), START_WARMUP);
  const backToBack = latency(await startJoin(COLD_N, 1, false), 1);
  const raw = latency(await rawFork(COLD_N), 1);
  const pyFork = latency(python(["start", "fork", String(START_WARMUP), String(START_N)]), START_WARMUP);
  const pyForkserver = latency(python(["start", "forkserver", String(START_WARMUP), String(START_N)]), START_WARMUP);
  const pySpawn = latency(python(["start", "spawn", "1", String(COLD_N)]), 1);
  const pipeSync = latency(await pipeRoundTrip(true), PIPE_WARMUP);
  const pipeAsync = latency(await pipeRoundTrip(false), PIPE_WARMUP);
  const rawPipe = latency(await rawEcho(), PIPE_WARMUP);
  const pyPipe = latency(python(["pipe", String(PIPE_WARMUP), String(PIPE_N)]), PIPE_WARMUP);
  const ms = (figure: Latency): string => `${(figure.median / 1000).toFixed(2)} ms`;
  return {
    rows: [
      { group: GROUP, label: "weft: Process start+join, warm spare", figure: warm, vs: "python: Process start+join, fork" },
      { group: GROUP, label: "weft: Process start+join, back to back (spare still booting)", figure: backToBack, vs: "python: Process start+join, spawn" },
      { group: GROUP, label: "raw: child_process.fork(-e 0) start→exit", figure: raw },
      { group: GROUP, label: "python: Process start+join, fork", figure: pyFork },
      { group: GROUP, label: "python: Process start+join, forkserver", figure: pyForkserver },
      { group: GROUP, label: "python: Process start+join, spawn", figure: pySpawn },
      { group: GROUP, label: "weft: Pipe round trip, child echoes with recvSync", figure: pipeSync, vs: "python: Pipe round trip" },
      { group: GROUP, label: "weft: Pipe round trip, child echoes with await recv", figure: pipeAsync, vs: "python: Pipe round trip" },
      { group: GROUP, label: "raw: Node socket pair round trip, both sides async (no weft)", figure: rawPipe, vs: "python: Pipe round trip" },
      { group: GROUP, label: "python: Pipe round trip", figure: pyPipe },
    ],
    checks: [
      { target: "Process start+join with a warm spare <= Python fork", measured: `${ms(warm)} vs ${ms(pyFork)}`, met: warm.median <= pyFork.median },
      {
        target: "Pipe round trip <= 1.5x Python's",
        measured: `${pipeSync.median.toFixed(1)} µs (recvSync echo), ${pipeAsync.median.toFixed(1)} µs (async echo) vs ${pyPipe.median.toFixed(1)} µs`,
        met: Math.min(pipeSync.median, pipeAsync.median) <= 1.5 * pyPipe.median,
      },
    ],
    notes: ["an async recv wakes through the event loop (epoll): the raw row is two bare Node loops echoing, the floor for any async echo"],
  };
}
