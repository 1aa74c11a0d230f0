/**
 * Group pshared: process-shared objects, against Python's multiprocessing in the same run.
 *
 *  - a Lock made in this process, acquired and released by a child process (blocking
 *    forms on the child's main thread, and `await acquire()`): the mean per round of N
 *    pairs, against `Manager().Lock()` from a Python child (bench/peers/mp_shared.py).
 *  - a Queue made in this process, 1 producer here -> 1 consumer in a child (a `getSync`
 *    loop, and an `await get()` loop), small ints, against `multiprocessing.Queue` 1 -> 1;
 *    and the other way, a child's `putSync` loop -> `await get()` here.
 *  The children are the test fixture (test/fixtures/process-shared-child.mjs), which has
 *  timing scenarios for this.
 */
import { execFileSync, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Lock, Queue, encodeForProcess } from "weft-threads";
import { latency, rate, type GroupResult, type Row } from "./stats.js";

const GROUP = "pshared";
const ROUNDS = 9;
const LOCK_PAIRS = 2000;
const ITEMS = 20_000;
const child = fileURLToPath(new URL("../../test/fixtures/process-shared-child.mjs", import.meta.url));
const python = fileURLToPath(new URL("../../bench/peers/mp_shared.py", import.meta.url));

function run(scenario: string, args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const proc = fork(child, [], { serialization: "advanced" });
    proc.on("message", (message: { event: string; result?: unknown; message?: string }) => {
      if (message.event === "ready") proc.send({ scenario, args: encodeForProcess(args, "args") });
      else if (message.event === "result") resolve(message.result);
      else if (message.event === "error") reject(new Error(message.message));
    });
    proc.on("close", (code) => reject(new Error(`child exited (${code})`)));
  });
}

/** ROUNDS + 1 rounds (the first a warm-up, as Python's) of a child draining ITEMS put here; its rates. */
async function drainRounds(scenario: string): Promise<number[]> {
  const rates: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const queue = new Queue<number | null>();
    const draining = run(scenario, [queue]);
    for (let i = 0; i < ITEMS; i++) queue.putNowait(i);
    queue.putNowait(null);
    rates.push((await draining) as number);
  }
  return rates;
}

export async function benchProcessShared(): Promise<GroupResult> {
  const lockUs = (await run("timeLockRounds", [new Lock(), ROUNDS + 1, LOCK_PAIRS])) as number[];
  const asyncLockUs = (await run("timeLockRoundsAsync", [new Lock(), ROUNDS + 1, LOCK_PAIRS])) as number[];
  // A fresh child's first call, its connection to this process included; a pause between
  // children, as between Python's (a child does not start the moment the last one ended).
  const firstLock = new Lock();
  const firstUs: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    firstUs.push((await run("timeFirstCall", [firstLock])) as number);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const queueRates = await drainRounds("timeDrain");
  // The same with the idiom of an async child: `await queue.get()` in a loop.
  const asyncRates = await drainRounds("timeDrainAsync");
  // The other direction: a child's putSync loop into a Queue of this process, got here.
  const fillRates: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const queue = new Queue<number | null>();
    const filling = run("timeFill", [queue, ITEMS]);
    await queue.get();
    const t = performance.now();
    let n = 1;
    while ((await queue.get()) !== null) n++;
    fillRates.push(n / ((performance.now() - t) / 1000));
    await filling;
  }
  const py = JSON.parse(execFileSync("python3", [python, String(ROUNDS + 1), String(LOCK_PAIRS), String(ITEMS)], { encoding: "utf8" })) as {
    lock_us: number[];
    first_us: number[];
    queue_per_s: number[];
    fill_per_s: number[];
  };
  const weftLock = latency(lockUs.slice(1), 1);
  const weftAsyncLock = latency(asyncLockUs.slice(1), 1);
  const weftFirst = latency(firstUs.slice(1), 1);
  const pyLock = latency(py.lock_us.slice(1), 1);
  // Python's first queue round is its warm-up (it runs ROUNDS + 1), as its first lock round.
  const pyQueue = rate(py.queue_per_s.slice(1), `${ITEMS} items`, 1, "items/s");
  const pyFill = rate(py.fill_per_s.slice(1), `${ITEMS} items`, 1, "items/s");
  const weftQueue = rate(queueRates.slice(1), `${ITEMS} items`, 1, "items/s");
  const weftFill = rate(fillRates.slice(1), `${ITEMS} items`, 1, "items/s");
  const weftAsync = rate(asyncRates.slice(1), `${ITEMS} items`, 1, "items/s");
  const rows: Row[] = [
    { group: GROUP, label: "Python Manager().Lock() acquire+release, child", figure: pyLock },
    { group: GROUP, label: "process-shared Lock acquireSync+release, child", figure: weftLock, vs: "Python Manager().Lock() acquire+release, child" },
    { group: GROUP, label: "process-shared Lock await acquire()+release, child", figure: weftAsyncLock, vs: "Python Manager().Lock() acquire+release, child" },
    { group: GROUP, label: "Python Manager().Lock() first acquire+release of a fresh child", figure: latency(py.first_us.slice(1), 1) },
    {
      group: GROUP,
      label: "process-shared Lock first acquireSync+release of a fresh child",
      figure: weftFirst,
      vs: "Python Manager().Lock() first acquire+release of a fresh child",
    },
    { group: GROUP, label: "Python multiprocessing.Queue 1->1 ints", figure: pyQueue },
    {
      group: GROUP,
      label: "process-shared Queue 1->1 ints (getSync in a child)",
      figure: weftQueue,
      vs: "Python multiprocessing.Queue 1->1 ints",
    },
    {
      group: GROUP,
      label: "process-shared Queue 1->1 ints (await get in a child)",
      figure: weftAsync,
      vs: "Python multiprocessing.Queue 1->1 ints",
    },
    { group: GROUP, label: "Python multiprocessing.Queue child->parent ints", figure: pyFill },
    {
      group: GROUP,
      label: "process-shared Queue child->parent ints (putSync in a child)",
      figure: weftFill,
      vs: "Python multiprocessing.Queue child->parent ints",
    },
  ];
  return {
    rows,
    checks: [
      {
        target: "process-shared Lock acquire+release >= 3x faster than Manager().Lock()",
        measured: `${(pyLock.median / weftLock.median).toFixed(2)}x`,
        met: pyLock.median / weftLock.median >= 3,
      },
      {
        target: "process-shared Queue 1->1 (parent->child) >= multiprocessing.Queue",
        measured: `${(weftQueue.median / pyQueue.median).toFixed(2)}x`,
        met: weftQueue.median >= pyQueue.median,
      },
      {
        target: "process-shared Queue 1->1 (parent->child, await get) >= multiprocessing.Queue",
        measured: `${(weftAsync.median / pyQueue.median).toFixed(2)}x`,
        met: weftAsync.median >= pyQueue.median,
      },
      {
        target: "process-shared Queue 1->1 (child->parent) >= multiprocessing.Queue",
        measured: `${(weftFill.median / pyFill.median).toFixed(2)}x`,
        met: weftFill.median >= pyFill.median,
      },
    ],
    notes: [
      "a child's acquireSync is one round trip through the owner's agent thread (the release is one-way, pipelined); an await acquire() is the same trip, answered through the child's event loop (see the raw Node echo in group process)",
      "parent->child: each remote get (blocking or async) leases up to 256 items there at once, each acknowledged before it is handed over (a write to a FIFO the owner reads with the next lease); child->parent: each putSync is one one-way write",
    ],
  };
}
