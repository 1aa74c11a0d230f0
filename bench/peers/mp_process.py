"""Python 3.11 multiprocessing, the peer of bench/process.ts (group `process`).

Usage: python3 mp_process.py start METHOD WARMUP N  -> Process(target=noop).start(); .join(), N times
       python3 mp_process.py pipe WARMUP N          -> Pipe round trips to a child that echoes
Prints a JSON list of the N timed samples, in microseconds.
"""
import json
import multiprocessing as mp
import sys
import time


def noop():
    pass


def echo(conn):
    while True:
        item = conn.recv()
        if item is None:
            break
        conn.send(item)


def bench_start(method, warmup, n):
    ctx = mp.get_context(method)
    samples = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        if i >= warmup:
            samples.append((time.perf_counter() - t0) * 1e6)
    return samples


def bench_pipe(warmup, n):
    parent, child = mp.Pipe()
    p = mp.Process(target=echo, args=(child,))
    p.start()
    samples = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        parent.send(i)
        parent.recv()
        if i >= warmup:
            samples.append((time.perf_counter() - t0) * 1e6)
    parent.send(None)
    p.join()
    return samples


if __name__ == "__main__":
    if sys.argv[1] == "start":
        print(json.dumps(bench_start(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        print(json.dumps(bench_pipe(int(sys.argv[2]), int(sys.argv[3]))))
