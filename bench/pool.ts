/**
 * Group 7: worker pools (issue "ThreadPoolExecutor"): weft's ThreadPoolExecutor against
 * piscina, poolifier, tinypool and workerpool, each with 2 workers, in one run.
 *
 *  - tiny tasks: 100k tasks `x => x + 1` submitted, then all awaited in order: tasks/s.
 *    The issue's target is weft >= 5× the best peer. Peers under half the best peer's rate
 *    in round 1 are measured in that round only (they cannot be the best peer, and their
 *    100k tasks would be most of the group's time).
 *  - round-trip latency of one task, one in flight at a time (20k samples, for the p99).
 *  - CPU-bound speedup: 16 tasks of ~20 ms of hashing (tasks/s) on 1 worker and on 2, the
 *    two pools of a library open side by side and measured in turn; parallel efficiency =
 *    speedup / 2.
 *  - map over 1M items in chunks of 1000: weft's `pool.map(fn, items, { chunksize })`,
 *    consumed item by item with `for await`; the peers' nearest equivalent, each chunk
 *    submitted as one task to a worker function that maps it, the chunks then awaited in
 *    order and their items summed.
 *
 * Tiny-task and map rounds are interleaved (every pool in round 1, then every pool in
 * round 2, ...) so that drifting load hits all pools alike, and each round opens a fresh
 * pool (warmed up, untimed) and closes it, so that only one library's workers are alive at
 * a time. The task functions are the same code for every pool (bench/peers/tasks.ts); weft
 * ships `x => x + 1` as a closure, as a user would, and the CPU task as a module target.
 * Every result is checked (sums, hashes).
 */
import { fileURLToPath } from "node:url";
import { ThreadPoolExecutor, asCompleted, type Future, type ModuleTarget } from "weft-threads";
import { burn } from "./peers/tasks.js";
import { latency, median, now, rate, type Check, type GroupResult, type Row } from "./stats.js";

const GROUP = "7 pool";
const WORKERS = 2;

const TINY_TASKS = 100_000;
const TINY_WARMUP_TASKS = 5_000;
const TINY_ROUNDS = 3;
/** After round 1, peers under this share of the best peer's rate are not measured again. */
const TINY_KEEP_SHARE = 0.5;

/** Enough samples for a p99 of 200 of them: the p99 is one of the figures compared. */
const LATENCY_N = 20_000;
const LATENCY_WARMUP = 300;

const CPU_TASKS = 16;
const CPU_TASK_MS = 20;
const CPU_ROUNDS = 3;

const MAP_ITEMS = 1_000_000;
const MAP_CHUNK = 1_000;
const MAP_WARMUP_ITEMS = 50_000;
const MAP_ROUNDS = 3;

const CLOSE_TIMEOUT_MS = 5_000;

/** What the benchmark needs of a pool, whichever library it comes from. */
interface BenchPool {
  inc(x: number): PromiseLike<number>;
  burn(n: number): PromiseLike<number>;
  /** Maps `x => x + 1` over `count` integers from 0 in chunks, in order; returns the sum of the results. */
  mapSum(count: number, chunksize: number): Promise<number>;
  /** weft only: submits `count` tiny tasks and sums them in completion order (`for await ... of asCompleted`). */
  asCompletedSum?(count: number): Promise<number>;
  close(): Promise<void>;
}

interface Library {
  readonly name: string;
  open(workers: number): Promise<BenchPool>;
}

const peerFile = (name: string): string => fileURLToPath(new URL(`./peers/${name}`, import.meta.url));

function* range(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

/** The peers' map: every chunk submitted as one task at once, then awaited in order. */
async function chunkedMapSum(count: number, chunksize: number, submit: (chunk: number[]) => PromiseLike<number[]>): Promise<number> {
  const pending: PromiseLike<number[]>[] = [];
  let chunk: number[] = [];
  for (const x of range(count)) {
    chunk.push(x);
    if (chunk.length === chunksize) {
      pending.push(submit(chunk));
      chunk = [];
    }
  }
  if (chunk.length > 0) pending.push(submit(chunk));
  let sum = 0;
  for (const p of pending) for (const y of await p) sum += y;
  return sum;
}

const incClosure = (x: number): number => x + 1;
const burnTarget: ModuleTarget = { module: new URL("./peers/tasks.js", import.meta.url).href, export: "burn" };

const weft: Library = {
  name: "weft",
  async open(workers) {
    const pool = new ThreadPoolExecutor({ maxWorkers: workers });
    return {
      inc: (x) => pool.submit(incClosure, x),
      burn: (n) => pool.submit(burnTarget, n) as PromiseLike<number>,
      async mapSum(count, chunksize) {
        let sum = 0;
        for await (const y of pool.map(incClosure, range(count), { chunksize })) sum += y;
        return sum;
      },
      async asCompletedSum(count) {
        const futures: Future<number>[] = new Array(count);
        for (let i = 0; i < count; i++) futures[i] = pool.submit(incClosure, i);
        let sum = 0;
        for await (const future of asCompleted(futures)) sum += await future.result();
        return sum;
      },
      close: () => pool.shutdown(),
    };
  },
};

const piscina: Library = {
  name: "piscina",
  async open(workers) {
    const { Piscina } = await import("piscina");
    const pool = new Piscina({ filename: peerFile("piscina-worker.js"), minThreads: workers, maxThreads: workers });
    return {
      inc: (x) => pool.run(x, { name: "inc" }) as Promise<number>,
      burn: (n) => pool.run(n, { name: "burn" }) as Promise<number>,
      mapSum: (count, chunksize) => chunkedMapSum(count, chunksize, (chunk) => pool.run(chunk, { name: "mapChunk" }) as Promise<number[]>),
      close: () => pool.destroy(),
    };
  },
};

const poolifier: Library = {
  name: "poolifier",
  async open(workers) {
    const { FixedThreadPool } = await import("poolifier");
    const pool = new FixedThreadPool<unknown, unknown>(workers, peerFile("poolifier-worker.js"));
    return {
      inc: (x) => pool.execute(x, "inc") as Promise<number>,
      burn: (n) => pool.execute(n, "burn") as Promise<number>,
      mapSum: (count, chunksize) => chunkedMapSum(count, chunksize, (chunk) => pool.execute(chunk, "mapChunk") as Promise<number[]>),
      close: () => destroyPoolifier(pool),
    };
  },
};

/** How often poolifier's destroy() did not settle after its workers had all exited. */
let poolifierMissedExits = 0;

/**
 * poolifier 5.3.2's destroy() sometimes never settles: a worker leaves by itself once it has
 * answered the kill message (it closes its port), and if its "exit" event fires before
 * `WorkerNode.terminate()` listens for it, terminate awaits an event that has passed. So the
 * pool counts as closed once no worker is left (with a grace period for destroy to settle).
 */
async function destroyPoolifier(pool: { destroy(): Promise<void>; readonly info: { workerNodes: number } }): Promise<void> {
  let poll: NodeJS.Timeout | undefined;
  const gone = new Promise<void>((resolve) => {
    poll = setInterval(() => pool.info.workerNodes === 0 && resolve(), 10);
  });
  const settled = await Promise.race([pool.destroy().then(() => true), gone.then(() => sleep(200)).then(() => false)]);
  clearInterval(poll);
  if (!settled) poolifierMissedExits++;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const tinypool: Library = {
  name: "tinypool",
  async open(workers) {
    const { Tinypool } = await import("tinypool");
    const pool = new Tinypool({ filename: peerFile("tinypool-worker.js"), minThreads: workers, maxThreads: workers });
    return {
      inc: (x) => pool.run(x, { name: "inc" }) as Promise<number>,
      burn: (n) => pool.run(n, { name: "burn" }) as Promise<number>,
      mapSum: (count, chunksize) => chunkedMapSum(count, chunksize, (chunk) => pool.run(chunk, { name: "mapChunk" }) as Promise<number[]>),
      close: () => pool.destroy(),
    };
  },
};

const workerpool: Library = {
  name: "workerpool",
  async open(workers) {
    const { default: wp } = await import("workerpool");
    const pool = wp.pool(peerFile("workerpool-worker.js"), { minWorkers: workers, maxWorkers: workers, workerType: "thread" });
    return {
      inc: (x) => pool.exec("inc", [x]) as PromiseLike<number>,
      burn: (n) => pool.exec("burn", [n]) as PromiseLike<number>,
      mapSum: (count, chunksize) => chunkedMapSum(count, chunksize, (chunk) => pool.exec("mapChunk", [chunk]) as PromiseLike<number[]>),
      close: async () => {
        await pool.terminate();
      },
    };
  },
};

const LIBRARIES: readonly Library[] = [weft, piscina, poolifier, tinypool, workerpool];
const PEERS = LIBRARIES.filter((lib) => lib !== weft);

/** Pools whose close did not settle within CLOSE_TIMEOUT_MS (the bench goes on without them). */
const stuckCloses: string[] = [];
/** The measurement under way, for the note on a stuck close. */
let phase = "";

/**
 * Closes a pool, giving up after CLOSE_TIMEOUT_MS. The timer also holds the event loop:
 * poolifier unrefs each worker before it awaits the worker's end, so a stuck destroy() (see
 * destroyPoolifier) would otherwise let the process exit in the middle of the benchmark with
 * its promise unsettled (exit code 13, or a silent 0).
 */
async function closePool(lib: Library, pool: BenchPool): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    pool.close().then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (timedOut) stuckCloses.push(`${lib.name} (${phase})`);
}

/** Opens a pool, runs `body` on it, closes it whatever happens. */
async function withPool<T>(lib: Library, workers: number, body: (pool: BenchPool) => Promise<T>): Promise<T> {
  const pool = await lib.open(workers);
  try {
    return await body(pool);
  } finally {
    await closePool(lib, pool);
  }
}

/** The ways users wait for a batch of tiny tasks. */
type Idiom = "await" | "all" | "asCompleted";
const IDIOMS: Record<Idiom, string> = {
  await: "submit all then await each",
  all: "submit all then Promise.all",
  asCompleted: "for await of asCompleted",
};

/** Submits `count` tiny tasks and waits for them the `idiom` way; returns the sum of the results. */
async function tinyBatch(pool: BenchPool, count: number, idiom: Idiom = "await"): Promise<number> {
  if (idiom === "asCompleted") return (pool.asCompletedSum as (count: number) => Promise<number>)(count);
  const pending = new Array<PromiseLike<number>>(count);
  for (let i = 0; i < count; i++) pending[i] = pool.inc(i);
  let sum = 0;
  if (idiom === "all") for (const y of await Promise.all(pending)) sum += y;
  else for (const p of pending) sum += await p;
  return sum;
}

/** `n` for about `ms` of burn() on this machine (the main thread's JIT, its fastest of several probes, so that load does not shrink the task). */
function calibrateBurn(ms: number): number {
  const probe = 2_000_000;
  for (let i = 0; i < 5; i++) burn(probe);
  let fastest = Infinity;
  for (let i = 0; i < 15; i++) {
    const t0 = now();
    burn(probe);
    fastest = Math.min(fastest, now() - t0);
  }
  const n = (probe * ms) / fastest;
  const magnitude = 10 ** Math.floor(Math.log10(n) - 1);
  return Math.round(n / magnitude) * magnitude; // two significant digits
}

export async function benchPool(): Promise<GroupResult> {
  const wrong: string[] = [];
  const expect = (what: string, got: number, want: number): void => {
    if (got !== want) wrong.push(`${what}: got ${got}, want ${want}`);
  };
  const perLib = (): Map<string, number[]> => new Map(LIBRARIES.map((lib) => [lib.name, []]));

  // 1. Tiny tasks. A peer at less than half the best peer's rate in round 1 cannot be the
  // best peer and is measured once: the slow peers' 100k tasks are most of the group's time.
  phase = "tiny tasks";
  const tiny = perLib();
  const tinyIdioms = new Map<string, number[]>(); // `${lib}/${idiom}` for the other idioms
  const tinySum = (TINY_TASKS * (TINY_TASKS + 1)) / 2;
  let tinyLibs: readonly Library[] = LIBRARIES;
  for (let r = 0; r < TINY_ROUNDS; r++) {
    for (const lib of tinyLibs) {
      await withPool(lib, WORKERS, async (pool) => {
        const idioms: Idiom[] = lib === weft ? ["await", "all", "asCompleted"] : ["await", "all"];
        for (const idiom of idioms) {
          await tinyBatch(pool, TINY_WARMUP_TASKS, idiom);
          const t0 = now();
          const sum = await tinyBatch(pool, TINY_TASKS, idiom);
          const ms = now() - t0;
          expect(`${lib.name} tiny ${idiom}`, sum, tinySum);
          const figures = idiom === "await" ? tiny.get(lib.name) : tinyIdioms.get(`${lib.name}/${idiom}`) ?? tinyIdioms.set(`${lib.name}/${idiom}`, []).get(`${lib.name}/${idiom}`);
          figures?.push(TINY_TASKS / (ms / 1000));
        }
      });
    }
    if (r === 0) {
      const first = (lib: Library): number => tiny.get(lib.name)?.[0] ?? 0;
      const best = Math.max(...PEERS.map(first));
      tinyLibs = LIBRARIES.filter((lib) => lib === weft || first(lib) >= best * TINY_KEEP_SHARE);
    }
  }

  // 2. Round-trip latency, one task in flight.
  phase = "latency";
  const lat = new Map<string, number[]>();
  for (const lib of LIBRARIES) {
    await withPool(lib, WORKERS, async (pool) => {
      const samples: number[] = [];
      for (let i = 0; i < LATENCY_WARMUP + LATENCY_N; i++) {
        const t0 = now();
        const y = await pool.inc(i);
        const t1 = now();
        if (y !== i + 1) expect(`${lib.name} latency`, y, i + 1);
        if (i >= LATENCY_WARMUP) samples.push((t1 - t0) * 1000);
      }
      lat.set(lib.name, samples);
    });
  }

  // 3. CPU-bound speedup, 1 worker against 2.
  phase = "CPU-bound";
  const burnN = calibrateBurn(CPU_TASK_MS);
  const burnHash = burn(burnN);
  // Per library, a 1-worker and a 2-worker pool stay open across the rounds, measured in turn.
  const cpu = new Map<string, number[]>(LIBRARIES.flatMap((lib) => [[`${lib.name}/1`, []], [`${lib.name}/2`, []]]));
  for (const lib of LIBRARIES) {
    await withPool(lib, 1, (one) =>
      withPool(lib, 2, async (two) => {
        for (const [workers, pool] of [[1, one], [2, two]] as const) {
          // Warm-up: every worker started and its burn() compiled.
          await Promise.all(Array.from({ length: workers }, () => pool.burn(burnN)));
        }
        for (let r = 0; r < CPU_ROUNDS; r++) {
          for (const [workers, pool] of [[1, one], [2, two]] as const) {
            const t0 = now();
            const hashes = await Promise.all(Array.from({ length: CPU_TASKS }, () => pool.burn(burnN)));
            const ms = now() - t0;
            for (const h of hashes) expect(`${lib.name} cpu`, h, burnHash);
            cpu.get(`${lib.name}/${workers}`)?.push(CPU_TASKS / (ms / 1000));
          }
        }
      }),
    );
  }

  // 4. Map over 1M items in chunks.
  phase = "map";
  const map = perLib();
  const mapSum = (MAP_ITEMS * (MAP_ITEMS + 1)) / 2;
  for (let r = 0; r < MAP_ROUNDS; r++) {
    for (const lib of LIBRARIES) {
      await withPool(lib, WORKERS, async (pool) => {
        await pool.mapSum(MAP_WARMUP_ITEMS, MAP_CHUNK);
        const t0 = now();
        const sum = await pool.mapSum(MAP_ITEMS, MAP_CHUNK);
        const ms = now() - t0;
        expect(`${lib.name} map`, sum, mapSum);
        map.get(lib.name)?.push(MAP_ITEMS / (ms / 1000));
      });
    }
  }

  // Rows: weft against the best peer of each measurement (paired per round where rounds are).
  const med = (values: number[] | undefined): number => median(values ?? []);
  const bestBy = (score: (lib: Library) => number, among = PEERS): Library => among.reduce((a, b) => (score(b) > score(a) ? b : a));
  const paired = (a: number[] | undefined, b: number[] | undefined): number[] => (a ?? []).map((x, i) => x / (b ?? [])[i]);
  const rows: Row[] = [];

  const tinyLabel = (lib: Library, idiom: Idiom = "await"): string => `${lib.name}: ${TINY_TASKS / 1000}k tiny tasks, ${IDIOMS[idiom]}`;
  const fullyMeasured = PEERS.filter((lib) => tiny.get(lib.name)?.length === TINY_ROUNDS);
  const tinyBest = bestBy((lib) => med(tiny.get(lib.name)), fullyMeasured);
  const tinyRatios = paired(tiny.get("weft"), tiny.get(tinyBest.name));
  const tinyFigures = (lib: Library, idiom: Idiom): number[] | undefined => (idiom === "await" ? tiny.get(lib.name) : tinyIdioms.get(`${lib.name}/${idiom}`));
  // The best peer's best idiom, per round: what each weft idiom has to beat.
  const peerIdioms: Idiom[] = ["await", "all"];
  const peerBest = (idiom: Idiom): Library => bestBy((lib) => med(tinyFigures(lib, idiom)), fullyMeasured);
  const bestPeerIdiom = peerIdioms.reduce((a, b) => (med(tinyFigures(peerBest(b), b)) > med(tinyFigures(peerBest(a), a)) ? b : a));
  const bestPeerLib = peerBest(bestPeerIdiom);
  const idiomRatios = new Map<Idiom, number[]>();
  for (const idiom of Object.keys(IDIOMS) as Idiom[]) {
    for (const lib of LIBRARIES) {
      const figures = tinyFigures(lib, idiom);
      if (figures === undefined || figures.length === 0) continue;
      const figure = rate(figures, `${TINY_TASKS / 1000}k tasks`, 0, "tasks/s");
      if (lib !== weft) {
        rows.push({ group: GROUP, label: tinyLabel(lib, idiom), figure });
        continue;
      }
      const ratios = paired(figures, tinyFigures(bestPeerLib, bestPeerIdiom));
      idiomRatios.set(idiom, ratios);
      rows.push({ group: GROUP, label: tinyLabel(lib, idiom), figure, vs: tinyLabel(bestPeerLib, bestPeerIdiom), paired: ratios });
    }
  }

  const latLabel = (lib: Library): string => `${lib.name}: task round trip, one in flight`;
  const latBest = bestBy((lib) => -latency(lat.get(lib.name) ?? [], 0).median);
  for (const lib of LIBRARIES) {
    const figure = latency(lat.get(lib.name) ?? [], LATENCY_WARMUP);
    rows.push(lib === weft ? { group: GROUP, label: latLabel(lib), figure, vs: latLabel(latBest) } : { group: GROUP, label: latLabel(lib), figure });
  }

  const cpuLabel = (lib: Library, workers: number): string => `${lib.name}: ${CPU_TASKS} CPU tasks of ~${CPU_TASK_MS} ms, ${workers} worker${workers === 1 ? "" : "s"}`;
  const speedups = new Map<string, number[]>(LIBRARIES.map((lib) => [lib.name, paired(cpu.get(`${lib.name}/2`), cpu.get(`${lib.name}/1`))]));
  for (const lib of LIBRARIES) {
    const round = `${CPU_TASKS} tasks`;
    rows.push({ group: GROUP, label: cpuLabel(lib, 1), figure: rate(cpu.get(`${lib.name}/1`) ?? [], round, 0, "tasks/s") });
    rows.push({ group: GROUP, label: cpuLabel(lib, 2), figure: rate(cpu.get(`${lib.name}/2`) ?? [], round, 0, "tasks/s"), vs: cpuLabel(lib, 1), paired: speedups.get(lib.name) });
  }

  const mapLabel = (lib: Library): string =>
    lib === weft ? `weft: pool.map over ${MAP_ITEMS / 1e6}M items, chunksize ${MAP_CHUNK}` : `${lib.name}: ${MAP_ITEMS / 1e6}M items as tasks of ${MAP_CHUNK}`;
  const mapBest = bestBy((lib) => med(map.get(lib.name)));
  for (const lib of LIBRARIES) {
    const figure = rate(map.get(lib.name) ?? [], `${MAP_ITEMS / 1e6}M items`, 0, "items/s");
    rows.push(
      lib === weft
        ? { group: GROUP, label: mapLabel(lib), figure, vs: mapLabel(mapBest), paired: paired(map.get("weft"), map.get(mapBest.name)) }
        : { group: GROUP, label: mapLabel(lib), figure },
    );
  }

  const fmtK = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(1)}k`);
  const tinyRatio = median(tinyRatios);
  const efficiency = (lib: Library): number => median(speedups.get(lib.name) ?? []) / 2;
  const cpuBest = bestBy(efficiency);
  const checks: Check[] = [
    {
      target: `pool: ${TINY_TASKS / 1000}k tiny tasks, weft >= 5× the best peer (${WORKERS} workers)`,
      measured: `weft ${fmtK(med(tiny.get("weft")))} tasks/s, best peer ${tinyBest.name} ${fmtK(med(tiny.get(tinyBest.name)))}: ${tinyRatio.toFixed(2)}× (median of per-round ratios)`,
      met: tinyRatio >= 5,
    },
    ...(Object.keys(IDIOMS) as Idiom[]).map((idiom) => {
      const ratio = median(idiomRatios.get(idiom) ?? []);
      return {
        target: `pool: tiny tasks, ${IDIOMS[idiom]}: weft >= 5× the best peer's best idiom (${bestPeerLib.name}, ${IDIOMS[bestPeerIdiom]})`,
        measured: `weft ${fmtK(med(tinyFigures(weft, idiom)))} tasks/s against ${fmtK(med(tinyFigures(bestPeerLib, bestPeerIdiom)))}: ${ratio.toFixed(2)}×`,
        met: ratio >= 5,
      };
    }),
    {
      target: "pool: map with a chunksize, consumed by for await, >= the best peer's hand-chunked rate",
      measured: `weft ${fmtK(med(map.get("weft")))} items/s, ${mapBest.name} ${fmtK(med(map.get(mapBest.name)))}: ${median(paired(map.get("weft"), map.get(mapBest.name))).toFixed(2)}×`,
      met: median(paired(map.get("weft"), map.get(mapBest.name))) >= 1,
    },
    {
      target: "pool: one task in flight, round trip no worse than the best peer's, median and p99",
      measured: `weft median ${latency(lat.get("weft") ?? [], 0).median.toFixed(1)} µs, p99 ${latency(lat.get("weft") ?? [], 0).p99.toFixed(1)} µs; ${latBest.name} ${latency(lat.get(latBest.name) ?? [], 0).median.toFixed(1)} / ${latency(lat.get(latBest.name) ?? [], 0).p99.toFixed(1)} µs`,
      met:
        latency(lat.get("weft") ?? [], 0).median <= latency(lat.get(latBest.name) ?? [], 0).median &&
        latency(lat.get("weft") ?? [], 0).p99 <= latency(lat.get(latBest.name) ?? [], 0).p99,
    },
    {
      target: "pool: CPU-bound parallel efficiency at 2 workers, weft no more than 5 points below the best peer (this bench's bar)",
      measured: `weft ${(efficiency(weft) * 100).toFixed(0)}%, best peer ${cpuBest.name} ${(efficiency(cpuBest) * 100).toFixed(0)}% (speedup / 2, median of per-round speedups)`,
      met: efficiency(weft) >= efficiency(cpuBest) - 0.05,
    },
    {
      target: "pool: every result correct, every pool",
      measured: wrong.length === 0 ? "all sums and hashes exact" : wrong.slice(0, 3).join("; ") + (wrong.length > 3 ? ` (+${wrong.length - 3} more)` : ""),
      met: wrong.length === 0,
    },
  ];
  const once = PEERS.filter((lib) => !fullyMeasured.includes(lib));
  const notes = [
    `CPU task: burn(${burnN}) (~${CPU_TASK_MS} ms on the main thread when calibrated); parallel efficiency (speedup / 2): ${LIBRARIES.map((lib) => `${lib.name} ${(efficiency(lib) * 100).toFixed(0)}%`).join(", ")}`,
    `map: weft ${median(paired(map.get("weft"), map.get(mapBest.name))).toFixed(2)}× the best peer (${mapBest.name}); latency: weft median ${(latency(lat.get("weft") ?? [], 0).median / latency(lat.get(latBest.name) ?? [], 0).median).toFixed(2)}× the best peer (${latBest.name})`,
  ];
  if (once.length > 0) notes.push(`tiny tasks: ${once.map((lib) => lib.name).join(", ")} under ${TINY_KEEP_SHARE * 100}% of the best peer in round 1, measured in that round only`);
  if (stuckCloses.length > 0) notes.push(`a pool's close did not settle within ${CLOSE_TIMEOUT_MS / 1000} s, left behind: ${stuckCloses.join(", ")}`);
  if (poolifierMissedExits > 0) notes.push(`poolifier destroy() did not settle after its workers had exited, ${poolifierMissedExits} time(s) (a poolifier race, see destroyPoolifier); counted closed once no worker was left`);
  stuckCloses.length = 0;
  poolifierMissedExits = 0;
  return { rows, checks, notes };
}
