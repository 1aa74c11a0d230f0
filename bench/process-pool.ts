/**
 * Group ppool (issue "multiprocessing"): weft's ProcessPoolExecutor against Python 3.11's
 * `concurrent.futures.ProcessPoolExecutor`, 2 worker processes each, in the same run.
 *
 *  - tiny tasks: `x => x + 1` submitted 100k times, then awaited with `Promise.all`, and
 *    awaited one by one in order; Python submits 20k and calls `result()` on each in
 *    order (at Python's rate, 100k would be most of the group's time). Target: >= 5×.
 *  - map, chunksize 1: 100k items (Python 20k). Target: >= 5×.
 *  - map, chunksize 100: 1M items. Target: >= Python's.
 *
 * Rounds are interleaved (Python's round, then weft's), so that drifting load hits both
 * alike; each side opens its pool once per round and warms it up untimed. The ratio is the
 * median of the per-round ratios. Every sum is checked.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ProcessPoolExecutor } from "weft-threads";
import { median, now, rate, type Check, type GroupResult, type Row } from "./stats.js";

const GROUP = "ppool";
const WORKERS = 2;
const ROUNDS = 3;
const TINY = 100_000;
const MAP1 = 100_000;
const MAP100 = 1_000_000;
const PY_TINY = 20_000;
const PY_MAP1 = 20_000;
const PY_MAP100 = 1_000_000;

const peer = fileURLToPath(new URL("../../bench/peers/process_pool.py", import.meta.url));

interface Figures {
  tiny: number[];
  map1: number[];
  map100: number[];
}

/** One round of Python's pool: its rates per second. */
function python(): Promise<Figures> {
  return new Promise((resolve, reject) => {
    execFile("python3", [peer, String(WORKERS), "1", String(PY_TINY), String(PY_MAP1), String(PY_MAP100)], { timeout: 600_000 }, (error, stdout) => {
      if (error !== null) reject(error);
      else resolve(JSON.parse(stdout) as Figures);
    });
  });
}

const inc = (x: number): number => x + 1;

function* range(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

const sumTo = (n: number): number => (n * (n + 1)) / 2;

/** One round of weft's pool: tiny tasks both ways, then map at both chunk sizes. */
async function weft(wrong: string[]): Promise<{ all: number; each: number; map1: number; map100: number }> {
  const pool = new ProcessPoolExecutor({ maxWorkers: WORKERS });
  try {
    // Warm-up: both processes started and the target compiled.
    await Promise.all(Array.from({ length: 5_000 }, (_, i) => pool.submit(inc, i)));
    for await (const _ of pool.map(inc, range(5_000), { chunksize: 10 }));

    let t0 = now();
    const futures = new Array<PromiseLike<number>>(TINY);
    for (let i = 0; i < TINY; i++) futures[i] = pool.submit(inc, i);
    let sum = 0;
    for (const y of await Promise.all(futures)) sum += y;
    const all = TINY / ((now() - t0) / 1000);
    if (sum !== sumTo(TINY)) wrong.push(`tiny Promise.all: ${sum}`);

    t0 = now();
    for (let i = 0; i < TINY; i++) futures[i] = pool.submit(inc, i);
    sum = 0;
    for (const future of futures) sum += await future;
    const each = TINY / ((now() - t0) / 1000);
    if (sum !== sumTo(TINY)) wrong.push(`tiny await each: ${sum}`);

    const mapRate = async (count: number, chunksize: number): Promise<number> => {
      const start = now();
      let total = 0;
      for await (const y of pool.map(inc, range(count), { chunksize })) total += y;
      if (total !== sumTo(count)) wrong.push(`map chunksize ${chunksize}: ${total}`);
      return count / ((now() - start) / 1000);
    };
    return { all, each, map1: await mapRate(MAP1, 1), map100: await mapRate(MAP100, 100) };
  } finally {
    await pool.shutdown();
  }
}

export async function benchProcessPool(): Promise<GroupResult> {
  const wrong: string[] = [];
  const py: Figures = { tiny: [], map1: [], map100: [] };
  const ours = { all: [] as number[], each: [] as number[], map1: [] as number[], map100: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    const p = await python();
    py.tiny.push(...p.tiny);
    py.map1.push(...p.map1);
    py.map100.push(...p.map100);
    const w = await weft(wrong);
    ours.all.push(w.all);
    ours.each.push(w.each);
    ours.map1.push(w.map1);
    ours.map100.push(w.map100);
  }
  const paired = (a: number[], b: number[]): number[] => a.map((x, i) => x / b[i]);
  const pyTiny = `python: ${PY_TINY / 1000}k tiny tasks, submit then result() each`;
  const pyMap1 = `python: map over ${PY_MAP1 / 1000}k items, chunksize 1`;
  const pyMap100 = `python: map over ${PY_MAP100 / 1e6}M items, chunksize 100`;
  const rows: Row[] = [
    { group: GROUP, label: pyTiny, figure: rate(py.tiny, `${PY_TINY / 1000}k tasks`, 1, "tasks/s") },
    { group: GROUP, label: `weft: ${TINY / 1000}k tiny tasks, submit all then Promise.all`, figure: rate(ours.all, `${TINY / 1000}k tasks`, 1, "tasks/s"), vs: pyTiny, paired: paired(ours.all, py.tiny) },
    { group: GROUP, label: `weft: ${TINY / 1000}k tiny tasks, submit all then await each`, figure: rate(ours.each, `${TINY / 1000}k tasks`, 1, "tasks/s"), vs: pyTiny, paired: paired(ours.each, py.tiny) },
    { group: GROUP, label: pyMap1, figure: rate(py.map1, `${PY_MAP1 / 1000}k items`, 1, "items/s") },
    { group: GROUP, label: `weft: map over ${MAP1 / 1000}k items, chunksize 1`, figure: rate(ours.map1, `${MAP1 / 1000}k items`, 1, "items/s"), vs: pyMap1, paired: paired(ours.map1, py.map1) },
    { group: GROUP, label: pyMap100, figure: rate(py.map100, `${PY_MAP100 / 1e6}M items`, 1, "items/s") },
    { group: GROUP, label: `weft: map over ${MAP100 / 1e6}M items, chunksize 100`, figure: rate(ours.map100, `${MAP100 / 1e6}M items`, 1, "items/s"), vs: pyMap100, paired: paired(ours.map100, py.map100) },
  ];
  const times = (ratios: number[]): string => `${median(ratios).toFixed(1)}×`;
  const tinyBoth = Math.min(median(paired(ours.all, py.tiny)), median(paired(ours.each, py.tiny)));
  const checks: Check[] = [
    { target: "ProcessPoolExecutor tiny tasks >= 5× Python's (both ways of awaiting)", measured: `${times(paired(ours.all, py.tiny))} (Promise.all), ${times(paired(ours.each, py.tiny))} (await each)`, met: tinyBoth >= 5 },
    { target: "map chunksize 1 >= 5× Python's", measured: times(paired(ours.map1, py.map1)), met: median(paired(ours.map1, py.map1)) >= 5 },
    { target: "map chunksize 100 >= Python's", measured: times(paired(ours.map100, py.map100)), met: median(paired(ours.map100, py.map100)) >= 1 },
  ];
  const notes = wrong.length > 0 ? [`WRONG RESULTS: ${wrong.join("; ")}`] : [];
  return { rows, checks, notes };
}
