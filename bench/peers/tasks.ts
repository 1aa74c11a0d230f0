/**
 * The task functions of the pool benchmark (bench/pool.ts), one copy for every pool: weft
 * runs them as module targets, the peers' worker files re-export or register them. Plain
 * functions with no imports, so that loading this file in a worker costs nothing else.
 */

/** The tiny task: `x => x + 1`. */
export function inc(x: number): number {
  return x + 1;
}

/**
 * The CPU-bound task: `n` rounds of an FNV-1a-style integer hash (about 1 ns a round), so
 * `n` sets the duration. Returns the hash so that the loop cannot be optimized away and the
 * results can be compared between pools.
 */
export function burn(n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) {
    h ^= i & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A chunk of the map benchmark: `x => x + 1` over each item. */
export function mapChunk(items: number[]): number[] {
  const out = new Array<number>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = items[i] + 1;
  return out;
}
