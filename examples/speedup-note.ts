/**
 * What a speedup figure means on the machine it was measured on: a parallel run well under
 * N× on N cores is said to be noise from a busy machine (or uneven work), not weft's limit.
 * Shared by the CPU examples so that every speedup the tour prints carries the caveat.
 */
import { loadavg } from "node:os";

/** A line to print after a speedup, or `undefined` when the figure is close enough to `cores`. */
export function speedupCaveat(speedup: number, cores: number): string | undefined {
  if (cores <= 1 || speedup >= 0.75 * cores) return undefined;
  const load = loadavg()[0] ?? 0;
  return load > cores
    ? `  (well under ${cores}x: the machine was busy — 1-minute load average ${load.toFixed(1)} on ${cores} cores, ` +
        `this program included — so other processes competed for the cores; the figure is noise, rerun on an idle machine)`
    : `  (well under ${cores}x: other processes, uneven shares of work or scheduling took the rest)`;
}
