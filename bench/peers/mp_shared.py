"""Python's side of bench/process-shared.ts: a Manager().Lock() acquire+release from a
child process (per-round mean, in us), a fresh child's first one (us), and
multiprocessing.Queue 1->1 ints (items/s), both directions (parent puts / child gets, and
child puts / parent gets)."""
import json
import multiprocessing as mp
import sys
import time


def lock_rounds(lock, rounds, n, out):
    means = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            lock.acquire()
            lock.release()
        means.append((time.perf_counter() - t) / n * 1e6)
    out.put(means)


def first_call(lock, out):
    t = time.perf_counter()
    lock.acquire()
    lock.release()
    out.put((time.perf_counter() - t) * 1e6)


def drain(queue, out):
    queue.get()  # timed from the first item on, as the weft side
    t = time.perf_counter()
    n = 1
    while queue.get() is not None:
        n += 1
    out.put(n / (time.perf_counter() - t))


def fill(queue, n):
    for i in range(n):
        queue.put(i)
    queue.put(None)


if __name__ == "__main__":
    rounds, n, items = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with mp.Manager() as manager:
        out = mp.Queue()
        shared_lock = manager.Lock()  # kept: a proxy collected here is gone from the server
        p = mp.Process(target=lock_rounds, args=(shared_lock, rounds, n, out))
        p.start()
        lock = out.get()
        p.join()
        # A fresh child's first call, connection included (each child connects on first use).
        first = []
        for _ in range(rounds):
            p = mp.Process(target=first_call, args=(shared_lock, out))
            p.start()
            first.append(out.get())
            p.join()
            time.sleep(0.1)
    rates = []
    for _ in range(rounds):
        queue, out = mp.Queue(), mp.Queue()
        p = mp.Process(target=drain, args=(queue, out))
        p.start()
        for i in range(items):
            queue.put(i)
        queue.put(None)
        rates.append(out.get())
        p.join()
    fills = []
    for _ in range(rounds):
        queue = mp.Queue()
        p = mp.Process(target=fill, args=(queue, items))
        p.start()
        queue.get()
        t = time.perf_counter()
        got = 1
        while queue.get() is not None:
            got += 1
        fills.append(got / (time.perf_counter() - t))
        p.join()
    print(json.dumps({"lock_us": lock, "first_us": first, "queue_per_s": rates, "fill_per_s": fills}))
