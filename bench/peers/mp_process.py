"""Python 3.11 multiprocessing, the peer of bench/process.ts.

Usage: python3 mp_process.py start METHOD N   -> mean ms of Process(target=noop).start(); join(), N times
       python3 mp_process.py pipe N           -> mean µs of a Pipe round trip to a child that echoes, N times
Prints one number.
"""
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


def bench_start(method, n):
    ctx = mp.get_context(method)
    ctx.Process(target=noop).start()  # warm the start method (forkserver boots its server)
    total = 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        total += time.perf_counter() - t0
    return total / n * 1e3


def bench_pipe(n):
    parent, child = mp.Pipe()
    p = mp.Process(target=echo, args=(child,))
    p.start()
    for i in range(1000):
        parent.send(i)
        parent.recv()
    t0 = time.perf_counter()
    for i in range(n):
        parent.send(i)
        parent.recv()
    elapsed = time.perf_counter() - t0
    parent.send(None)
    p.join()
    return elapsed / n * 1e6


if __name__ == "__main__":
    if sys.argv[1] == "start":
        print(f"{bench_start(sys.argv[2], int(sys.argv[3])):.3f}")
    else:
        print(f"{bench_pipe(int(sys.argv[2])):.3f}")
