/**
 * Randomized stress for the queues: several producers and consumers in threads (and the
 * main thread), every kind of queue, bounded and unbounded; each item is a unique id that
 * consumers count in shared memory, and every id must be got exactly once.
 *
 *  - plain: producers put everything, then the queue is shut down and consumers drain it;
 *  - shutdown in the middle of the stream, graceful or immediate;
 *  - timeouts and aborts mixed in (a timed-out or aborted get must not swallow an item;
 *    a timed-out or aborted put must not insert it);
 *  - threads that die (process.exit, throw) while looping on put/get.
 *
 * Scale with WEFT_STRESS (a multiplier, default 1); WEFT_SEED fixes the random seed (the
 * seed is printed in every failure message). This file is also a module target: the
 * exports run in threads, so the tests are registered under `if (isMainThread)`.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  Empty,
  Full,
  LifoQueue,
  PriorityQueue,
  Queue,
  SharedArray,
  ShutDown,
  SimpleQueue,
  Thread,
  enumerate,
  isMainThread,
  setExcepthook,
  sleepSync,
  type ExceptHookArgs,
} from "weft-threads";
import { finish, rng, startExport } from "./helpers/common.js";

type Kind = "Queue" | "LifoQueue" | "PriorityQueue" | "SimpleQueue";
type AnyQueue<X = unknown> = Queue<X> | SimpleQueue<X>;
type Counters = SharedArray<"int32">;

const SCALE = Math.max(0.05, Number(process.env.WEFT_STRESS ?? "1") || 1);
const BASE_SEED = Number(process.env.WEFT_SEED ?? Math.floor(Math.random() * 2 ** 31));

// ---------------------------------------------------------------------------------------
// Shared by main and the threads.

const BIG = 100_000;

/** The payload for an id: ints, strings, small objects, arrays, now and then a 100 KB string. */
function payload(id: number): unknown {
  switch (id % 10) {
    case 0:
    case 1:
    case 2:
      return id;
    case 3:
    case 4:
      return `s${id}`;
    case 5:
    case 6:
      return { id, tag: "obj", list: [id, "x", null] };
    case 7:
      return [id, { deep: { id, f: id + 0.5 } }];
    default:
      return id % 97 === 8 ? { id, big: "z".repeat(BIG) } : { id, ü: `ü${id}` };
  }
}

function idOfPayload(item: unknown): number {
  if (typeof item === "number") return item;
  if (typeof item === "string") return Number(item.slice(1));
  if (Array.isArray(item)) return item[0] as number;
  return (item as { id: number }).id;
}

/** The item for an id: a priority queue's items are [priority, id, payload]. */
function makeItem(kind: Kind, id: number, random: () => number): unknown {
  return kind === "PriorityQueue" ? [Math.floor(random() * 8), id, payload(id)] : payload(id);
}

/** The id in an item, after checking that the payload arrived intact. */
function checkedId(kind: Kind, item: unknown): number {
  const body = kind === "PriorityQueue" ? (item as unknown[])[2] : item;
  const id = idOfPayload(body);
  const want = payload(id);
  if (JSON.stringify(body) !== JSON.stringify(want)) {
    throw new Error(`item ${id} arrived damaged: ${JSON.stringify(body).slice(0, 200)}`);
  }
  if (kind === "PriorityQueue" && (item as unknown[])[1] !== id) throw new Error(`priority item id mismatch for ${id}`);
  return id;
}

/** The id in an item of `fillUntilOutOfMemory` (or a marker's negative id), after checking its padding. */
function checkedIdPadded(kind: Kind, item: unknown): number {
  const [id, pad] = kind === "PriorityQueue" ? (item as [number, number, unknown]).slice(1) : [(item as { id: number }).id, (item as { pad?: unknown }).pad];
  if ((id as number) < 0) return id as number;
  if (typeof pad !== "string" || !pad.endsWith(String(id))) throw new Error(`item ${String(id)} arrived damaged`);
  return id as number;
}

/**
 * Now and then, give way: yield the CPU, sleep a moment, or spin a little. Producers also
 * pause for a few milliseconds at times, so that consumers run dry and park (a lost
 * wake-up then shows as a hang).
 */
function jitter(random: () => number, pauses = false): void {
  const r = random();
  if (pauses && r < 0.04) sleepSync(1 + Math.floor(random() * 4));
  else if (r < 0.05) sleepSync(0);
  else if (r < 0.07) sleepSync(1);
  else if (r < 0.2) {
    const spins = Math.floor(random() * 3000);
    for (let i = 0; i < spins; i++) Math.sqrt(i);
  }
}

async function jitterAsync(random: () => number, pauses = false): Promise<void> {
  const r = random();
  if (pauses && r < 0.04) await new Promise((resolve) => setTimeout(resolve, 1 + Math.floor(random() * 4)));
  else if (r < 0.1) await new Promise((resolve) => setImmediate(resolve));
  else if (r < 0.12) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** A test's settings, as sent to every thread of it. */
interface Plan {
  kind: Kind;
  /** First id and how many, for this producer. */
  first: number;
  count: number;
  seed: number;
  /** "plain": putSync/getSync with a few nowait/timeout calls; "timeouts": many short timeouts. */
  style: "plain" | "timeouts";
  /** Consumers call taskDone (Queue kinds). */
  taskDone: boolean;
}

/** Stats cells: [0] items got, [1] Full/Empty/abort retries, [2] ShutDown seen by producers. */
const GOT_TOTAL = 0;
const RETRIES = 1;

// ---------------------------------------------------------------------------------------
// Module targets (run inside threads).

/** Puts ids first..first+count-1; marks each in `accepted` once put returned. Stops on ShutDown. */
export function producer(q: AnyQueue, plan: Plan, accepted: Counters, stats: Counters): number {
  const random = rng(plan.seed);
  let put = 0;
  for (let id = plan.first; id < plan.first + plan.count; id++) {
    jitter(random, true);
    const item = makeItem(plan.kind, id, random);
    try {
      for (;;) {
        const how = random();
        try {
          if (plan.style === "timeouts" ? how < 0.5 : how < 0.1) q.putSync(item, { timeout: Math.floor(random() * 3) });
          else if (how < (plan.style === "timeouts" ? 0.7 : 0.15)) q.putNowait(item);
          else if (how < 0.2 && plan.style === "timeouts") q.putSync(item, { signal: AbortSignal.abort(new Error("stop")) });
          else q.putSync(item);
          break;
        } catch (error) {
          if (!(error instanceof Full) && !(error instanceof Error && error.message === "stop")) throw error;
          Atomics.add(stats.array, RETRIES, 1);
          if (random() < 0.3) sleepSync(0);
        }
      }
    } catch (error) {
      if (error instanceof ShutDown) return put;
      throw error;
    }
    Atomics.store(accepted.array, id, 1);
    put++;
  }
  return put;
}

/** The async form of `producer`, with aborts from timers mixed in (run on a thread's event loop). */
export async function asyncProducer(q: AnyQueue, plan: Plan, accepted: Counters, stats: Counters): Promise<number> {
  const random = rng(plan.seed);
  let put = 0;
  for (let id = plan.first; id < plan.first + plan.count; id++) {
    await jitterAsync(random, true);
    const item = makeItem(plan.kind, id, random);
    try {
      for (;;) {
        const how = random();
        try {
          if (how < 0.3) {
            const controller = new AbortController();
            const timer = setTimeout(() => controller.abort(new Error("stop")), Math.floor(random() * 3));
            try {
              await q.put(item, { signal: controller.signal });
            } finally {
              clearTimeout(timer);
            }
          } else if (how < 0.5) await q.put(item, { timeout: Math.floor(random() * 3) });
          else await q.put(item);
          break;
        } catch (error) {
          if (!(error instanceof Full) && !(error instanceof Error && error.message === "stop")) throw error;
          Atomics.add(stats.array, RETRIES, 1);
        }
      }
    } catch (error) {
      if (error instanceof ShutDown) return put;
      throw error;
    }
    Atomics.store(accepted.array, id, 1);
    put++;
  }
  return put;
}

/** Gets until ShutDown; counts each id in `got`. */
export function consumer(q: AnyQueue, plan: Plan, got: Counters, stats: Counters): number {
  const random = rng(plan.seed);
  let n = 0;
  for (;;) {
    jitter(random);
    let item: unknown;
    const how = random();
    try {
      if (plan.style === "timeouts" ? how < 0.5 : how < 0.1) item = q.getSync({ timeout: Math.floor(random() * 3) });
      else if (how < (plan.style === "timeouts" ? 0.7 : 0.15)) item = q.getNowait();
      else if (how < 0.75 && plan.style === "timeouts") item = q.getSync({ signal: AbortSignal.abort(new Error("stop")) });
      else item = q.getSync();
    } catch (error) {
      if (error instanceof ShutDown) return n;
      if (error instanceof Empty || (error instanceof Error && error.message === "stop")) {
        Atomics.add(stats.array, RETRIES, 1);
        continue;
      }
      throw error;
    }
    Atomics.add(got.array, checkedId(plan.kind, item), 1);
    Atomics.add(stats.array, GOT_TOTAL, 1);
    if (plan.taskDone) (q as Queue).taskDone();
    n++;
  }
}

/** The async form of `consumer`, with aborts from timers mixed in. */
export async function asyncConsumer(q: AnyQueue, plan: Plan, got: Counters, stats: Counters): Promise<number> {
  const random = rng(plan.seed);
  let n = 0;
  for (;;) {
    await jitterAsync(random);
    let item: unknown;
    const how = random();
    try {
      if (how < 0.3) {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new Error("stop")), Math.floor(random() * 3));
        try {
          item = await q.get({ signal: controller.signal });
        } finally {
          clearTimeout(timer);
        }
      } else if (how < 0.5) item = await q.get({ timeout: Math.floor(random() * 3) });
      else item = await q.get();
    } catch (error) {
      if (error instanceof ShutDown) return n;
      if (error instanceof Empty || (error instanceof Error && error.message === "stop")) {
        Atomics.add(stats.array, RETRIES, 1);
        continue;
      }
      throw error;
    }
    Atomics.add(got.array, checkedId(plan.kind, item), 1);
    Atomics.add(stats.array, GOT_TOTAL, 1);
    if (plan.taskDone) (q as Queue).taskDone();
    n++;
  }
}

/** A producer that dies: process.exit or a throw at random points between its puts. */
export function dyingProducer(q: AnyQueue, plan: Plan, accepted: Counters, how: "exit" | "throw"): number {
  const random = rng(plan.seed);
  for (let id = plan.first; id < plan.first + plan.count; id++) {
    const item = makeItem(plan.kind, id, random);
    try {
      q.putSync(item, { timeout: 5000 });
    } catch (error) {
      if (error instanceof Full) return id; // everyone else died: give up, nothing was put
      throw error;
    }
    Atomics.store(accepted.array, id, 1);
    jitter(random);
    if (random() < 0.04) {
      if (how === "throw") throw new Error("a producer dies");
      process.exit(random() < 0.5 ? 0 : 3);
    }
  }
  return plan.count;
}

/** A consumer that dies at random points between its gets. */
export function dyingConsumer(q: AnyQueue, plan: Plan, got: Counters, how: "exit" | "throw"): string {
  const random = rng(plan.seed);
  for (;;) {
    let item: unknown;
    try {
      item = q.getSync({ timeout: 300 });
    } catch (error) {
      if (error instanceof Empty) return "idle";
      throw error;
    }
    Atomics.add(got.array, checkedId(plan.kind, item), 1);
    jitter(random);
    if (random() < 0.04) {
      if (how === "throw") throw new Error("a consumer dies");
      process.exit(random() < 0.5 ? 0 : 3);
    }
  }
}

/** An async producer killed by a timer, usually while parked in put() on a full queue. */
export async function parkedProducerExits(q: AnyQueue, plan: Plan, accepted: Counters, exitAfterMs: number): Promise<number> {
  setTimeout(() => process.exit(0), exitAfterMs);
  const random = rng(plan.seed);
  for (let id = plan.first; id < plan.first + plan.count; id++) {
    await q.put(makeItem(plan.kind, id, random));
    Atomics.store(accepted.array, id, 1);
  }
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  return plan.count;
}

/** An async consumer killed by a timer, usually while parked in get(). */
export async function parkedConsumerExits(q: AnyQueue, plan: Plan, got: Counters, exitAfterMs: number): Promise<void> {
  setTimeout(() => process.exit(0), exitAfterMs);
  for (;;) {
    const item = await q.get();
    Atomics.add(got.array, checkedId(plan.kind, item), 1);
  }
}

/**
 * Puts (and now and then gets) until this thread runs out of memory: the worker is then
 * terminated wherever it is, often inside a queue operation, with its internal mutex
 * held (a terminated worker runs no `finally`). state: [id*3] put begun, [id*3+1] put
 * returned, [id*3+2] got by this thread; [ids*3] 1 while a get is under way.
 */
export function fillUntilOutOfMemory(q: AnyQueue, kind: Kind, state: Counters, ids: number, padSize: number): string {
  const s = state.array;
  const keep: unknown[] = [];
  const pad = "p".repeat(padSize);
  for (let id = 0; id < ids; id++) {
    keep.push(`k${id}${"_".repeat(20 + (id % 50))}`);
    s[id * 3] = 1;
    q.putSync(kind === "PriorityQueue" ? [id % 7, id, pad + id] : { id, pad: pad + id });
    s[id * 3 + 1] = 1;
    if (id % 3 === 2) {
      s[ids * 3] = 1;
      const item = q.getSync({ blocking: false }) as [number, number, string] | { id: number };
      s[(Array.isArray(item) ? item[1] : item.id) * 3 + 2] = 1;
      s[ids * 3] = 0;
      keep.push(item);
    }
  }
  return "never ran out of memory";
}

/** A later thread: put and get must still complete (the queue was not left locked). Returns what it got. */
export function roundTrip(q: AnyQueue, kind: Kind, markerId: number): unknown {
  q.putSync(makeItem(kind, markerId, () => 0.5), { timeout: 10_000 });
  return q.getSync({ timeout: 10_000 });
}

/** Blocks in getSync; returns how long it waited for the item (ms). */
export function timedGetter(q: AnyQueue, arrived: Counters): { waited: number; item: unknown } {
  Atomics.store(arrived.array, 0, 1);
  const started = performance.now();
  const item = q.getSync({ timeout: 15_000 });
  return { waited: performance.now() - started, item };
}

// ---------------------------------------------------------------------------------------

const self = import.meta.url;
const reported: ExceptHookArgs[] = [];

function makeQueue(kind: Kind, maxsize: number): AnyQueue {
  switch (kind) {
    case "Queue":
      return new Queue({ maxsize });
    case "LifoQueue":
      return new LifoQueue({ maxsize });
    case "PriorityQueue":
      return new PriorityQueue({ maxsize });
    default:
      return new SimpleQueue();
  }
}

/** Starts a daemon thread on this file's export `exportName`. */
function start<R = unknown>(exportName: string, args: unknown[], name = exportName): Thread<R, unknown[]> {
  return startExport<R>(self, exportName, args, name);
}

/** For a failure message only: the queue's first header cells (its mutex words) and who is alive. */
function internals(q: AnyQueue, dead: Thread<unknown, unknown[]>): string {
  const cells = (q as unknown as { cells?: Int32Array }).cells;
  const head = cells === undefined ? "?" : Array.from(cells.subarray(0, Math.min(cells.length, 24))).join(" ");
  return `dead thread ident ${dead.ident}; live idents ${enumerate().map((th) => th.ident).join(",")}; header cells ${head}`;
}

/** `promise`, or a rejection naming what hung after `ms`. */
async function within<R>(promise: Promise<R>, ms: number, what: () => string): Promise<R> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Main's own consumer (async), used in some runs so that main and threads compete. */
async function mainConsumer(q: AnyQueue, plan: Plan, got: Counters, stats: Counters): Promise<number> {
  const random = rng(plan.seed);
  let n = 0;
  for (;;) {
    await jitterAsync(random);
    let item: unknown;
    try {
      item = random() < 0.3 ? await q.get({ timeout: Math.floor(random() * 3) }) : await q.get();
    } catch (error) {
      if (error instanceof ShutDown) return n;
      if (error instanceof Empty) continue;
      throw error;
    }
    Atomics.add(got.array, checkedId(plan.kind, item), 1);
    Atomics.add(stats.array, GOT_TOTAL, 1);
    if (plan.taskDone) (q as Queue).taskDone();
    n++;
  }
}

interface RunOptions {
  kind: Kind;
  maxsize: number;
  producers: number;
  consumers: number;
  perProducer: number;
  seed: number;
  style: "plain" | "timeouts";
  /** Some producers/consumers use the async forms on their thread's event loop. */
  asyncThreads?: boolean;
  /** Main also consumes (async). */
  mainConsumes?: boolean;
  /** Shut down after this fraction of the items was got (undefined: after all were put). */
  shutdownAt?: number;
  immediate?: boolean;
}

/** Runs one configuration and checks exactly-once delivery; a run that hangs fails, named. */
async function run(options: RunOptions): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`hung (a lost wake-up?): ${JSON.stringify(options)}; ${hangNote}`)),
      Math.max(20_000, 20_000 * SCALE),
    );
  });
  try {
    return await Promise.race([runChecked(options), watchdog]);
  } catch (error) {
    // Release whatever still waits on the queue (threads and main), so the process can end.
    current?.shutdown({ immediate: true });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

let hangNote = "";
let current: AnyQueue | undefined;

async function runChecked(options: RunOptions): Promise<string> {
  const { kind, maxsize, producers, consumers, perProducer, seed, style } = options;
  const label = `${kind}(maxsize ${maxsize}) ${producers}x${consumers} ${style} seed=${seed}` +
    (options.shutdownAt !== undefined ? ` shutdown at ${options.shutdownAt.toFixed(2)}${options.immediate ? " immediate" : ""}` : "");
  const total = producers * perProducer;
  const q = makeQueue(kind, maxsize);
  current = q;
  const accepted = new SharedArray("int32", total);
  const got = new SharedArray("int32", total);
  const stats = new SharedArray("int32", 4);
  const taskDone = kind !== "SimpleQueue";
  const plan = (i: number, first = 0, count = 0): Plan => ({ kind, first, count, seed: seed * 1009 + i, style, taskDone });

  const consumerThreads = Array.from({ length: consumers }, (_, i) =>
    start<number>(options.asyncThreads && i % 2 === 1 ? "asyncConsumer" : "consumer", [q, plan(100 + i), got, stats], `consumer-${i}`),
  );
  const producerThreads = Array.from({ length: producers }, (_, i) =>
    start<number>(
      options.asyncThreads && i % 2 === 1 ? "asyncProducer" : "producer",
      [q, plan(i, i * perProducer, perProducer), accepted, stats],
      `producer-${i}`,
    ),
  );
  const onMain = options.mainConsumes ? mainConsumer(q, plan(999), got, stats) : Promise.resolve(0);
  hangNote = "waiting for progress before the shutdown";

  let shutdownDone = false;
  if (options.shutdownAt !== undefined) {
    const target = Math.floor(total * options.shutdownAt);
    const deadline = Date.now() + 30_000;
    while (Atomics.load(stats.array, GOT_TOTAL) < target && producerThreads.some((t) => t.isAlive())) {
      if (Date.now() > deadline) throw new Error(`${label}: no progress`);
      await delay(1);
    }
    q.shutdown({ immediate: options.immediate === true });
    shutdownDone = true;
  }
  hangNote = "waiting for the producers";
  const putCounts = await Promise.all(producerThreads.map((t) => finish(t)));
  if (!shutdownDone) {
    hangNote = `waiting for join() with ${q.qsize()} items queued and ${Atomics.load(stats.array, GOT_TOTAL)} got`;
    if (taskDone) await (q as Queue).join();
    q.shutdown();
  }
  hangNote = "waiting for the consumers";
  const gotCounts = await Promise.all([...consumerThreads.map((t) => finish(t)), onMain]);
  hangNote = "waiting for the final join()";
  if (taskDone) await (q as Queue).join(); // every item got was marked done, or discarded
  hangNote = "";

  // ---- the checks
  let acceptedCount = 0;
  let gotCount = 0;
  const twice: number[] = [];
  const phantom: number[] = [];
  const lost: number[] = [];
  for (let id = 0; id < total; id++) {
    const a = accepted.array[id];
    const g = got.array[id];
    acceptedCount += a;
    gotCount += g;
    if (g > 1) twice.push(id);
    if (g > 0 && a === 0) phantom.push(id);
    if (a === 1 && g === 0 && !options.immediate) lost.push(id);
  }
  assert.deepEqual(twice.slice(0, 10), [], `${label}: ids delivered more than once`);
  assert.deepEqual(phantom.slice(0, 10), [], `${label}: ids delivered whose put did not succeed`);
  assert.deepEqual(lost.slice(0, 10), [], `${label}: accepted ids never delivered`);
  assert.equal(putCounts.reduce((a, b) => a + b, 0), acceptedCount, `${label}: producers' counts`);
  assert.equal(gotCounts.reduce((a, b) => a + b, 0), gotCount, `${label}: consumers' counts`);
  if (options.shutdownAt === undefined) {
    assert.equal(acceptedCount, total, `${label}: every put succeeded`);
    assert.equal(gotCount, total, `${label}: every item was got`);
  }
  assert.equal(q.qsize(), 0, `${label}: the queue is empty at the end`);
  await assert.rejects(q.get(), ShutDown);
  return `${label}: put ${acceptedCount}, got ${gotCount}, retries ${stats.array[RETRIES]}`;
}

const KINDS: Kind[] = ["Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"];
const SHAPES: [number, number][] = [
  [3, 3],
  [4, 2],
  [1, 4],
  [2, 1],
  [1, 1],
];

if (isMainThread) {
  setExcepthook((args) => void reported.push(args));
  registerTests();
  // A test that failed by hanging may leave waits behind: do not let them keep the process.
  after(() => void setTimeout(() => process.exit(), 3000).unref());
}

function registerTests(): void {
  const T = { timeout: Math.max(60_000, 60_000 * SCALE) };
  const n = (base: number): number => Math.max(4, Math.round(base * SCALE));

  test(`stress: every kind, bounded and unbounded, P producers x C consumers: each id got exactly once (seed ${BASE_SEED})`, T, async (t) => {
    let i = 0;
    for (const kind of KINDS) {
      for (const maxsize of kind === "SimpleQueue" ? [0] : [1, 7, 64, 0]) {
        const [producers, consumers] = SHAPES[i % SHAPES.length];
        const line = await run({
          kind,
          maxsize,
          producers,
          consumers,
          perProducer: n(Math.round(360 / producers)),
          seed: BASE_SEED + i,
          style: "plain",
          asyncThreads: i % 3 === 2,
          mainConsumes: i % 4 === 1,
        });
        t.diagnostic(line);
        i++;
      }
    }
  });

  test(`stress: shutdown in the middle of the stream, graceful and immediate (seed ${BASE_SEED})`, T, async (t) => {
    let i = 0;
    for (const kind of KINDS) {
      for (const immediate of [false, true]) {
        const random = rng(BASE_SEED + 500 + i);
        const [producers, consumers] = SHAPES[i % SHAPES.length];
        const line = await run({
          kind,
          maxsize: kind === "SimpleQueue" ? 0 : [1, 7, 64, 0][i % 4],
          producers,
          consumers,
          perProducer: n(Math.round(600 / producers)),
          seed: BASE_SEED + 500 + i,
          style: "plain",
          asyncThreads: i % 2 === 1,
          mainConsumes: i % 3 === 0,
          shutdownAt: 0.1 + random() * 0.5,
          immediate,
        });
        t.diagnostic(line);
        i++;
      }
    }
  });

  test(`stress: timeouts and aborts mixed in: no item swallowed, none inserted twice (seed ${BASE_SEED})`, T, async (t) => {
    let i = 0;
    for (const kind of KINDS) {
      for (const maxsize of kind === "SimpleQueue" ? [0] : [1, 7]) {
        const [producers, consumers] = SHAPES[(i + 1) % SHAPES.length];
        const line = await run({
          kind,
          maxsize,
          producers,
          consumers,
          perProducer: n(Math.round(200 / producers)),
          seed: BASE_SEED + 900 + i,
          style: "timeouts",
          asyncThreads: true,
          mainConsumes: i % 2 === 0,
        });
        t.diagnostic(line);
        i++;
      }
    }
  });

  test("a thread killed by running out of memory in the middle of put/get leaves the queue consistent and unlocked", T, async (t) => {
    // V8 terminates the worker wherever the allocation fails: for a priority queue usually
    // inside the critical section (decoding items to compare them), so the next user must
    // take the dead holder's mutex over and repair the queue.
    for (const kind of ["PriorityQueue", "PriorityQueue", "LifoQueue", "Queue"] as Kind[]) {
      const ids = 100_000;
      const q = makeQueue(kind, 0);
      const state = new SharedArray("int32", ids * 3 + 1);
      const filler = new Thread<string, unknown[]>({
        target: { module: self, export: "fillUntilOutOfMemory" },
        args: [q, kind, state, ids, 2000],
        resourceLimits: { maxOldGenerationSizeMb: 12, maxYoungGenerationSizeMb: 2 },
        daemon: true,
        name: `oom-${kind}`,
      });
      filler.start();
      await within(filler.join(), 20_000, () => `${kind}: the filler never ended (alive: ${filler.isAlive()}, qsize ${q.qsize()})`);
      assert.ok(filler.error !== undefined, `${kind}: the filler should have run out of memory (${String(filler.result)})`);
      const s = state.array;
      const getInFlight = s[ids * 3] === 1;

      // a later thread can put and get (taking the mutex over from the dead holder if need be)
      const started = performance.now();
      const later = start<unknown>("roundTrip", [q, kind, -2], `after-oom-${kind}`);
      const back = await within(finish(later), 20_000, () => `${kind}: a later thread's put and get never ended (qsize ${q.qsize()}); ${internals(q, filler)}`);
      const tookOver = performance.now() - started;
      const seen = new Map<number, number>();
      const order: [number, number][] = [];
      const record = (item: unknown): void => {
        const id = checkedIdPadded(kind, item);
        if (id < 0) return;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        order.push([kind === "PriorityQueue" ? (item as number[])[0] : 0, id]);
      };
      record(back);
      for (;;) {
        let item: unknown;
        try {
          item = q.getNowait();
        } catch (error) {
          if (error instanceof Empty) break;
          throw error;
        }
        record(item);
      }
      const problems: string[] = [];
      let lost = 0;
      let putInFlight = -1;
      for (let id = 0; id < ids; id++) {
        const begun = s[id * 3];
        const done = s[id * 3 + 1];
        const byThread = s[id * 3 + 2];
        const inQueue = seen.get(id) ?? 0;
        if (begun && !done) putInFlight = id;
        if (inQueue > 1) problems.push(`${id} got ${inQueue} times`);
        if (inQueue && byThread) problems.push(`${id} got by the dead thread and still queued`);
        if (inQueue && !begun) problems.push(`${id} was never put`);
        if (done && !inQueue && !byThread) lost++;
      }
      // an item the thread was getting when it died may be gone with it; nothing else
      if (lost > (getInFlight ? 1 : 0)) problems.push(`${lost} items lost (a get was ${getInFlight ? "" : "not "}in flight)`);
      // what is left comes out in order (the first item went to the later thread's get)
      for (let i = 2; i < order.length; i++) {
        const [pa, a] = order[i - 1];
        const [pb, b] = order[i];
        const inOrder = kind === "PriorityQueue" ? pa < pb || (pa === pb && a < b) : kind === "LifoQueue" ? a > b : a < b;
        if (!inOrder) {
          problems.push(`out of order: ${a} then ${b}`);
          break;
        }
      }
      assert.deepEqual(problems.slice(0, 8), [], `${kind}: after the death`);
      await q.put(makeItem(kind, -3, () => 0.5));
      assert.equal(checkedId(kind, await q.get({ timeout: 10_000 })), -3);
      t.diagnostic(
        `${kind}: died with ${seen.size} items queued; put in flight: ${putInFlight >= 0}, get in flight: ${getInFlight}; ` +
          `a later thread's put+get took ${Math.round(tookOver)} ms`,
      );
    }
  });

  test(`threads that die while looping on put/get leave the queue working and the counts exact (seed ${BASE_SEED})`, T, async (t) => {
    reported.length = 0;
    let round = 0;
    for (const kind of KINDS) {
      for (const maxsize of kind === "SimpleQueue" ? [0] : [4, 0]) {
        t.diagnostic(await dyingRound(kind, maxsize, BASE_SEED + 2000 + round++, n(60)));
      }
    }
    assert.ok(reported.length > 0, "some threads did die");
    assert.ok(
      reported.every((r) => /dies|exited with code 3|died/.test(String((r.error as Error)?.message))),
      `only the planned deaths: ${reported.map((r) => String(r.error)).join("; ")}`,
    );
  });
}

/**
 * One round of threads that die: producers and consumers that exit or throw at random
 * points, or are killed by a timer while parked; main drains alongside. Afterwards the
 * queue must still work from other threads, and every id put must be got exactly once
 * (by a thread before it died, by main, or from what is left in the queue).
 */
async function dyingRound(kind: Kind, maxsize: number, seed: number, perProducer: number): Promise<string> {
  const random = rng(seed);
  const label = `${kind}(maxsize ${maxsize}) seed=${seed}`;
  const producers = 4;
  const total = producers * perProducer;
  const q = makeQueue(kind, maxsize);
  let hung = "";
  const watchdog = setTimeout(() => {
    hung = `${label}: hung (${hangNote}); the queue holds ${q.qsize()} items`;
    q.shutdown({ immediate: true }); // wakes every waiter, so the test can end
  }, 20_000 * Math.max(1, SCALE));
  try {
    const accepted = new SharedArray("int32", total);
    const got = new SharedArray("int32", total);
    const plan = (i: number, first = 0, count = 0): Plan => ({ kind, first, count, seed: seed * 31 + i, style: "plain", taskDone: false });
    const threads: Thread<unknown, unknown[]>[] = [
      start("dyingProducer", [q, plan(0, 0, perProducer), accepted, "exit"], "dying-producer-0"),
      start("dyingProducer", [q, plan(1, perProducer, perProducer), accepted, "throw"], "dying-producer-1"),
      start("parkedProducerExits", [q, plan(2, 2 * perProducer, perProducer), accepted, 5 + Math.floor(random() * 40)], "parked-producer-2"),
      start("dyingProducer", [q, plan(3, 3 * perProducer, perProducer), accepted, "exit"], "dying-producer-3"),
      start("dyingConsumer", [q, plan(10), got, "exit"], "dying-consumer-0"),
      start("dyingConsumer", [q, plan(11), got, "throw"], "dying-consumer-1"),
      start("parkedConsumerExits", [q, plan(12), got, 5 + Math.floor(random() * 40)], "parked-consumer-2"),
    ];
    // main drains slowly alongside, so that bounded producers are not stuck for long
    hangNote = "while the dying threads ran";
    let mainGot = 0;
    while (threads.some((th) => th.isAlive())) {
      try {
        const item = await q.get({ timeout: 20 });
        Atomics.add(got.array, checkedId(kind, item), 1);
        mainGot++;
      } catch (error) {
        if (!(error instanceof Empty)) throw error;
      }
      if (random() < 0.3) await delay(1);
    }
    for (const th of threads) await th.join();

    // a getter that died parked must not swallow the wake-up meant for a live one
    hangNote = "a live getter after the deaths";
    const arrived = new SharedArray("int32", 1);
    const getter = start<{ waited: number; item: unknown }>("timedGetter", [q, arrived], "live-getter");
    // (whatever is still queued goes to it at once; else it parks until main puts)
    while (Atomics.load(arrived.array, 0) === 0) await delay(1);
    await delay(30);
    // (markers have negative ids: they are not counted)
    const count = (item: unknown): number => {
      const id = checkedId(kind, item);
      if (id >= 0) Atomics.add(got.array, id, 1);
      return id;
    };
    if (getter.isAlive()) await q.put(makeItem(kind, -1, random));
    const { waited, item } = await finish(getter);
    if (count(item) === -1) assert.ok(waited < 5000, `${label}: the live getter waited ${Math.round(waited)} ms for a put (a lost wake-up?)`);

    // the queue is not left locked: a later thread and main can still put and get
    hangNote = "a later thread's put and get";
    count(await finish(start<unknown>("roundTrip", [q, kind, -2], "later")));
    await q.put(makeItem(kind, -3, random));
    count(await q.get({ timeout: 10_000 }));
    hangNote = "draining what is left";
    for (;;) {
      let left: unknown;
      try {
        left = q.getNowait();
      } catch (error) {
        if (error instanceof Empty) break;
        throw error;
      }
      count(left);
    }

    const mismatched: string[] = [];
    let acceptedCount = 0;
    for (let id = 0; id < total; id++) {
      acceptedCount += accepted.array[id];
      if (got.array[id] !== accepted.array[id]) mismatched.push(`${id}: put ${accepted.array[id]}, got ${got.array[id]}`);
    }
    assert.deepEqual(mismatched.slice(0, 10), [], `${label}: items lost or duplicated`);
    const died = threads.filter((th) => th.error !== undefined).length;
    return `${label}: ${acceptedCount} put, ${mainGot} got by main, ${died} threads died with an error`;
  } catch (error) {
    if (hung !== "") throw new Error(hung, { cause: error });
    throw error;
  } finally {
    clearTimeout(watchdog);
  }
}
