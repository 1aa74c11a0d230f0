/**
 * Shared helpers of the benchmark suite: clocks, percentiles, result rows and the table.
 */
import { hrtime } from "node:process";

/** Milliseconds, high resolution, this thread's clock. */
export const now = (): number => performance.now();

/** Nanoseconds on the process-wide monotonic clock: comparable between threads. */
export const nowNs = (): bigint => hrtime.bigint();

/** A latency figure, in microseconds. */
export interface Latency {
  readonly kind: "latency";
  readonly median: number;
  readonly p99: number;
  readonly n: number;
  readonly warmup: number;
  /** Share of samples under FAST_US (a wake-up that spinning caught, no kernel sleep); wake-up rows only. */
  readonly fastShare?: number;
}

/** Below this a wake-up cannot have gone through a kernel sleep here (those take ~5 µs or more). */
export const FAST_US = 2;

/** A throughput figure: operations per second, over several timed rounds. */
export interface Rate {
  readonly kind: "rate";
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: number;
  /** What one round is (e.g. "2M ops", "300 ms"). */
  readonly round: string;
  readonly warmup: number;
  readonly unit: string;
}

export type Figure = Latency | Rate;

/** One measured line of the table. */
export interface Row {
  readonly group: string;
  readonly label: string;
  readonly figure: Figure;
  /** Label of the raw baseline row (same group) this figure is compared with. */
  readonly vs?: string;
  /**
   * Throughputs only: weft / baseline for each round, the two measured back to back.
   * Its median is what the "vs" column shows: steadier than a ratio of medians when the
   * machine's load drifts during the run.
   */
  readonly paired?: number[];
  readonly note?: string;
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = Float64Array.from(values).sort();
  return quantile(sorted, 0.5);
}

/** A target from the issue, checked against a measured figure. */
export interface Check {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** What a benchmark group returns. */
export interface GroupResult {
  readonly rows: Row[];
  readonly checks: Check[];
  readonly notes: string[];
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const at = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, at)];
}

/** Median and p99 of samples in microseconds (the warm-up already dropped). */
export function latency(samplesUs: ArrayLike<number>, warmup: number, withFastShare = false): Latency {
  const sorted = Float64Array.from(samplesUs).sort();
  const figure: Latency = { kind: "latency", median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), n: sorted.length, warmup };
  if (!withFastShare) return figure;
  const fast = sorted.findIndex((x) => x >= FAST_US);
  return { ...figure, fastShare: (fast < 0 ? sorted.length : fast) / sorted.length };
}

/** Median, min and max of per-round rates. */
export function rate(perRound: number[], round: string, warmup: number, unit = "ops/s"): Rate {
  const sorted = Float64Array.from(perRound).sort();
  return {
    kind: "rate",
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    rounds: sorted.length,
    round,
    warmup,
    unit,
  };
}

/** "12.3 µs", "1.23 ms", "45.6 ms" */
export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return "n/a";
  if (us < 1) return `${(us * 1000).toFixed(0)} ns`;
  if (us < 100) return `${us.toFixed(2)} µs`;
  if (us < 1000) return `${us.toFixed(0)} µs`;
  if (us < 100_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${(us / 1000).toFixed(0)} ms`;
}

/** "42.1M", "812k" */
export function fmtRate(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e8 ? 0 : 1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)}k`;
  return value.toFixed(0);
}

/** Percent, for the ratio of two figures. */
export function pct(a: number, b: number): string {
  return `${((a / b) * 100).toFixed(0)}%`;
}

/** Builds the markdown tables for the rows of every group. */
export function renderTables(rows: Row[], checks: Check[]): string {
  const lat = rows.filter((r) => r.figure.kind === "latency");
  const rates = rows.filter((r) => r.figure.kind === "rate");
  const find = (group: string, label: string): Row | undefined => rows.find((r) => r.group === group && r.label === label);
  const out: string[] = [];
  if (lat.length > 0) {
    out.push("Latencies (median / p99 of individual samples):", "");
    out.push(`| group | measurement | median | p99 | < ${FAST_US} µs | N (warm-up) | median vs raw baseline |`);
    out.push("|---|---|---:|---:|---:|---|---|");
    for (const row of lat) {
      const f = row.figure as Latency;
      const base = row.vs === undefined ? undefined : find(row.group, row.vs);
      const ratio = base === undefined ? row.note ?? "" : `${(f.median / (base.figure as Latency).median).toPrecision(2)}× ${row.vs}`;
      out.push(`| ${row.group} | ${row.label} | ${fmtUs(f.median)} | ${fmtUs(f.p99)} | ${f.fastShare === undefined ? "" : `${(f.fastShare * 100).toFixed(0)}%`} | ${f.n} (${f.warmup}) | ${ratio} |`);
    }
    out.push("");
  }
  if (rates.length > 0) {
    out.push("Throughputs (median of timed rounds, min–max in brackets):", "");
    out.push("| group | measurement | median | min–max | rounds × round (warm-up rounds) | vs raw baseline |");
    out.push("|---|---|---:|---|---|---|");
    for (const row of rates) {
      const f = row.figure as Rate;
      const base = row.vs === undefined ? undefined : find(row.group, row.vs);
      const ratio =
        base === undefined
          ? row.note ?? ""
          : row.paired !== undefined
            ? `${(median(row.paired) * 100).toFixed(0)}% of ${row.vs} (median of per-round ratios)`
            : `${pct(f.median, (base.figure as Rate).median)} of ${row.vs}`;
      out.push(
        `| ${row.group} | ${row.label} | ${fmtRate(f.median)} ${f.unit} | ${fmtRate(f.min)}–${fmtRate(f.max)} | ${f.rounds} × ${f.round} (${f.warmup}) | ${ratio} |`,
      );
    }
    out.push("");
  }
  if (checks.length > 0) {
    out.push("Targets:", "");
    out.push("| target | measured | met |", "|---|---|---|");
    for (const c of checks) out.push(`| ${c.target} | ${c.measured} | ${c.met ? "yes" : "**no**"} |`);
    out.push("");
  }
  return out.join("\n");
}
