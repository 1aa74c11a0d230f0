/**
 * The benchmark suite: `npm run bench` (or `node build/bench/run.js [group...]` after a
 * build, with groups among: start uncontended contended wakeup async queue pool ppool process trace deadlock cluster
 * pshared).
 *
 * Every weft figure is printed next to a raw baseline measured in the same run, on the
 * same machine, a moment apart.
 */
import { availableParallelism, cpus, loadavg } from "node:os";
import { isMainThread } from "weft-threads";
import { benchAsyncWakeup } from "./async-wakeup.js";
import { benchCluster } from "./cluster.js";
import { benchContended } from "./lock-contended.js";
import { benchDeadlock } from "./deadlock.js";
import { benchPool } from "./pool.js";
import { benchProcessPool } from "./process-pool.js";
import { benchProcess } from "./process.js";
import { benchQueue } from "./queue.js";
import { benchProcessShared } from "./process-shared.js";
import { benchUncontended } from "./lock-uncontended.js";
import { renderTables, type Check, type GroupResult, type Row } from "./stats.js";
import { benchThreadStart } from "./thread-start.js";
import { benchTrace } from "./trace.js";
import { benchWakeup } from "./wakeup.js";

const GROUPS: Record<string, () => Promise<GroupResult>> = {
  start: benchThreadStart,
  uncontended: benchUncontended,
  contended: benchContended,
  wakeup: benchWakeup,
  async: benchAsyncWakeup,
  queue: benchQueue,
  pool: benchPool,
  ppool: benchProcessPool,
  trace: benchTrace,
  deadlock: benchDeadlock,
  cluster: benchCluster,
  process: benchProcess,
  pshared: benchProcessShared,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  for (const name of wanted) {
    if (!(name in GROUPS)) throw new Error(`unknown group "${name}"; known: ${Object.keys(GROUPS).join(", ")}`);
  }
  const names = wanted.length > 0 ? wanted : Object.keys(GROUPS);
  const load = (): string => loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`weft benchmarks — node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "?"}), ${new Date().toISOString()}`);
  console.log(`load average at start: ${load()}`);
  const rows: Row[] = [];
  const checks: Check[] = [];
  const notes: string[] = [];
  const t0 = performance.now();
  for (const name of names) {
    const g0 = performance.now();
    process.stderr.write(`running ${name}... `);
    const result = await GROUPS[name]();
    process.stderr.write(`${((performance.now() - g0) / 1000).toFixed(1)} s\n`);
    rows.push(...result.rows);
    checks.push(...result.checks);
    notes.push(...result.notes.map((note) => `${name}: ${note}`));
  }
  console.log("");
  console.log(renderTables(rows, checks));
  for (const note of notes) console.log(`note: ${note}`);
  console.log(`load average at end: ${load()}`);
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (isMainThread) {
  // Exit explicitly: a benchmark thread left hanging (reported above) must not hold the process.
  main().then(
    () => process.exit(),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
