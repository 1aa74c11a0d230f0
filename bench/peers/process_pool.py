"""Python 3.11's ProcessPoolExecutor, the reference for bench/process-pool.ts (group ppool).

Prints one JSON object: for each measurement, the rate (per second) of each timed round.
Run as: python3 process_pool.py WORKERS ROUNDS TINY MAP1 MAP100
"""
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def inc(x):
    return x + 1


def main():
    workers, rounds, tiny, map1, map100 = (int(a) for a in sys.argv[1:6])
    out = {"tiny": [], "map1": [], "map100": []}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Warm-up: every worker started.
        list(pool.map(inc, range(1000)))
        for _ in range(rounds):
            t0 = time.perf_counter()
            futures = [pool.submit(inc, i) for i in range(tiny)]
            total = sum(f.result() for f in futures)
            out["tiny"].append(tiny / (time.perf_counter() - t0))
            assert total == tiny * (tiny + 1) // 2
            for key, count, chunksize in (("map1", map1, 1), ("map100", map100, 100)):
                t0 = time.perf_counter()
                total = sum(pool.map(inc, range(count), chunksize=chunksize))
                out[key].append(count / (time.perf_counter() - t0))
                assert total == count * (count + 1) // 2
    print(json.dumps(out))


if __name__ == "__main__":
    main()
