/**
 * What `util.inspect` (and so `console.log`) shows of weft's objects: Python's repr, read
 * from a snapshot of their state, never their cells or the shared heap.
 *
 * This file is also a module target (`holdAndDescribe` runs in a thread), so every test is
 * registered under `if (isMainThread)`.
 */
import assert from "node:assert/strict";
import { executorFuture, type ExecutorFuture } from "./helpers/internals.js";
import { test } from "node:test";
import { inspect } from "node:util";
import {
  Barrier,
  BoundedSemaphore,
  BrokenExecutorError,
  Condition,
  Event,
  Future,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  RLock,
  Semaphore,
  SharedArray,
  SharedValue,
  SimpleQueue,
  Thread,
  ThreadPoolExecutor,
  ValueError,
  currentThread,
  isMainThread,
  mainThread,
} from "weft-threads";
import { until } from "./helpers/common.js";

/** Run in a thread: holds `lock` and `rlock` (twice) until the gate opens; returns what it saw of itself and of them. */
export function holdAndDescribe(lock: Lock, rlock: RLock, gate: Int32Array): string[] {
  lock.acquireSync();
  rlock.acquireSync();
  rlock.acquireSync();
  const seen = [inspect(currentThread()), inspect(lock), inspect(rlock)];
  Atomics.store(gate, 1, 1);
  while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 1000);
  rlock.release();
  rlock.release();
  lock.release();
  return seen;
}

const T = { timeout: 20_000 };

function openGate(gate: Int32Array): void {
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
}

if (isMainThread) {
  test("Lock: unlocked, locked by the main thread, fair; short, and used when nested", T, async () => {
    const lock = new Lock();
    assert.equal(inspect(lock), "<Lock unlocked>");
    assert.ok(inspect(lock).length < 200);
    assert.equal(inspect({ lock }), "{ lock: <Lock unlocked> }");
    assert.equal(inspect([lock, new Lock({ fair: true })]), "[ <Lock unlocked>, <Lock fair unlocked> ]");
    await lock.acquire();
    assert.equal(inspect(lock), "<Lock locked by MainThread>");
    lock.release();
    const fair = new Lock({ fair: true });
    await fair.acquire();
    assert.equal(inspect(fair), "<Lock fair locked by MainThread>");
    fair.release();
    assert.equal(inspect(fair), "<Lock fair unlocked>");
  });

  test("Lock, RLock and Thread: held by a started thread, by its name, seen from both sides", T, async () => {
    const lock = new Lock();
    const rlock = new RLock();
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const thread = new Thread<string[], [Lock, RLock, Int32Array]>({
      target: { module: import.meta.url, export: "holdAndDescribe" },
      args: [lock, rlock, gate],
      name: "holder",
    });
    assert.equal(inspect(thread), "<Thread(holder, initial)>");
    assert.equal(inspect(rlock), "<RLock unlocked>");
    thread.start();
    const ident = thread.ident as number;
    try {
      await until(() => Atomics.load(gate, 1) === 1, "the thread to hold the locks");
      assert.equal(inspect(thread), `<Thread(holder, started ${ident})>`);
      assert.equal(inspect(lock), "<Lock locked by holder>");
      assert.equal(inspect(rlock), "<RLock locked by holder count=2>");
      assert.equal(inspect(new Condition(rlock)), "<Condition(<RLock locked by holder count=2>, waiters=0)>");
    } finally {
      openGate(gate);
    }
    await thread.join();
    assert.equal(thread.error, undefined);
    assert.deepEqual(thread.result, [`<Thread(holder, started ${ident})>`, "<Lock locked by holder>", "<RLock locked by holder count=2>"]);
    assert.equal(inspect(thread), `<Thread(holder, stopped ${ident})>`);
    assert.equal(inspect(lock), "<Lock unlocked>");
    assert.equal(inspect(rlock), "<RLock unlocked>");
  });

  test("Lock: a holder no longer alive is named by its ident", T, async () => {
    const lock = new Lock();
    const thread = new Thread({ target: (held: Lock) => void held.acquireSync(), args: [lock], name: "leaver" });
    thread.start();
    await thread.join();
    await until(() => !inspect(lock).includes("leaver"), "the thread table to drop the thread");
    assert.equal(inspect(lock), `<Lock locked by ident ${thread.ident}>`);
  });

  test("RLock: fair, and re-entered by the main thread", T, async () => {
    const rlock = new RLock({ fair: true });
    assert.equal(inspect(rlock), "<RLock fair unlocked>");
    await rlock.acquire();
    await rlock.acquire();
    assert.equal(inspect(rlock), "<RLock fair locked by MainThread count=2>");
    rlock.release();
    rlock.release();
    assert.equal(inspect(rlock), "<RLock fair unlocked>");
  });

  test("Thread and the main thread: daemon, stopped, _MainThread", T, async () => {
    const main = `<_MainThread(MainThread, started ${mainThread().ident})>`;
    assert.equal(main, "<_MainThread(MainThread, started 1)>");
    assert.equal(inspect(mainThread()), main);
    assert.equal(inspect(currentThread()), main);
    const thread = new Thread({ target: () => 1, name: "worker-1", daemon: true });
    assert.equal(inspect(thread), "<Thread(worker-1, initial daemon)>");
    thread.start();
    await thread.join();
    assert.equal(inspect(thread), `<Thread(worker-1, stopped daemon ${thread.ident})>`);
  });

  test("Condition: its lock's repr and its waiters", T, async () => {
    assert.equal(inspect(new Condition()), "<Condition(<RLock unlocked>, waiters=0)>");
    const condition = new Condition(new Lock());
    assert.equal(inspect(condition), "<Condition(<Lock unlocked>, waiters=0)>");
    await condition.acquire();
    assert.equal(inspect(condition), "<Condition(<Lock locked by MainThread>, waiters=0)>");
    const waited = condition.wait({ timeout: 10_000 });
    await until(() => inspect(condition).endsWith("waiters=1)>"), "the wait to register");
    assert.equal(inspect(condition), "<Condition(<Lock unlocked>, waiters=1)>");
    await condition.acquire();
    condition.notify();
    condition.release();
    assert.equal(await waited, true);
    condition.release();
    assert.equal(inspect(condition), "<Condition(<Lock unlocked>, waiters=0)>");
  });

  test("Semaphore and BoundedSemaphore: value, and value/bound", T, async () => {
    const semaphore = new Semaphore(3);
    assert.equal(inspect(semaphore), "<Semaphore value=3>");
    await semaphore.acquire();
    assert.equal(inspect(semaphore), "<Semaphore value=2>");
    const bounded = new BoundedSemaphore(3);
    await bounded.acquire();
    await bounded.acquire();
    assert.equal(inspect(bounded), "<BoundedSemaphore value=1/3>");
  });

  test("Event: set and unset", T, () => {
    const event = new Event();
    assert.equal(inspect(event), "<Event unset>");
    event.set();
    assert.equal(inspect(event), "<Event set>");
    event.clear();
    assert.equal(inspect(event), "<Event unset>");
  });

  test("Barrier: waiting/parties, and broken", T, async () => {
    const barrier = new Barrier(3);
    assert.equal(inspect(barrier), "<Barrier waiting=0/3>");
    const waited = barrier.wait().then(
      () => "passed",
      (error: unknown) => (error as Error).name,
    );
    await until(() => barrier.nWaiting === 1, "the wait to arrive");
    assert.equal(inspect(barrier), "<Barrier waiting=1/3>");
    barrier.abort();
    assert.equal(await waited, "BrokenBarrierError");
    assert.equal(inspect(barrier), "<Barrier waiting=0/3 broken>");
  });

  test("SharedValue and SharedArray: type and contents, a long array cut short", T, () => {
    assert.equal(inspect(new SharedValue("int32", 5)), "<SharedValue int32 5>");
    assert.equal(inspect(new SharedValue("float64", -1.5)), "<SharedValue float64 -1.5>");
    assert.equal(inspect(new SharedValue("bigint64", 7n)), "<SharedValue bigint64 7n>");
    assert.equal(inspect(new SharedArray("int32", [1, 2, 3])), "<SharedArray int32(3) [1, 2, 3]>");
    assert.equal(inspect(new SharedArray("uint8", 0)), "<SharedArray uint8(0) []>");
    const long = new SharedArray("int32", Array.from({ length: 100_000 }, (_, i) => i));
    assert.equal(inspect(long), "<SharedArray int32(100000) [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 99990 more items]>");
    assert.equal(inspect(new SharedArray("biguint64", [1n, 2n])), "<SharedArray biguint64(2) [1n, 2n]>");
    assert.equal(inspect(new SharedArray("float32", 11)), "<SharedArray float32(11) [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ... 1 more item]>");
  });

  test("Queue, LifoQueue, PriorityQueue, SimpleQueue: qsize, maxsize, shutdown", T, () => {
    const queue = new Queue<number>({ maxsize: 10 });
    for (const item of [1, 2, 3]) queue.putNowait(item);
    assert.equal(inspect(queue), "<Queue qsize=3 maxsize=10>");
    queue.shutdown();
    assert.equal(inspect(queue), "<Queue qsize=3 maxsize=10 shutdown>");
    assert.equal(inspect(new LifoQueue()), "<LifoQueue qsize=0 maxsize=0>");
    const priority = new PriorityQueue<number>({ maxsize: 2 });
    priority.putNowait(1);
    assert.equal(inspect(priority), "<PriorityQueue qsize=1 maxsize=2>");
    const simple = new SimpleQueue<string>();
    simple.putNowait("a");
    assert.equal(inspect(simple), "<SimpleQueue qsize=1>");
    assert.ok(inspect(queue).length < 200);
  });

  test("Future: pending, running, finished (returned, raised), cancelled", T, () => {
    const future = executorFuture<number>();
    assert.match(inspect(future), /^<Future at 0x[0-9a-f]+ state=pending>$/);
    future.setRunningOrNotifyCancel();
    assert.match(inspect(future), /^<Future at 0x[0-9a-f]+ state=running>$/);
    future.setResult(1);
    assert.match(inspect(future), /^<Future at 0x[0-9a-f]+ state=finished returned number>$/);
    const failed = executorFuture<number>();
    failed.setRunningOrNotifyCancel();
    failed.setException(new ValueError("no"));
    assert.match(inspect(failed), /^<Future at 0x[0-9a-f]+ state=finished raised ValueError>$/);
    const cancelled = executorFuture<number>();
    cancelled.cancel();
    assert.match(inspect(cancelled), /^<Future at 0x[0-9a-f]+ state=cancelled>$/);
  });

  test("ThreadPoolExecutor and its futures: workers, pending, running, shutdown", T, async () => {
    const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
    assert.equal(inspect(pool), "<ThreadPoolExecutor maxWorkers=2 workers=0 pending=0>");
    // Task arguments travel through a queue: a SharedArray arrives as the same memory.
    const shared = new SharedArray("int32", 2);
    const gate = shared.array;
    const future = pool.submit((arrived: SharedArray<"int32">) => {
      const cells = arrived.array;
      Atomics.store(cells, 1, 1);
      while (Atomics.load(cells, 0) === 0) Atomics.wait(cells, 0, 0, 1000);
      return 7;
    }, shared);
    try {
      assert.equal(inspect(pool), "<ThreadPoolExecutor maxWorkers=2 workers=1 pending=1>");
      await until(() => Atomics.load(gate, 1) === 1, "the task to start");
      // The worker has started it; the repr shows that without the future catching up.
      assert.match(inspect(future), /^<Future at 0x[0-9a-f]+ state=running>$/);
      assert.equal(inspect(pool), "<ThreadPoolExecutor maxWorkers=2 workers=1 pending=1>");
    } finally {
      openGate(gate);
    }
    assert.equal(await future, 7);
    assert.match(inspect(future), /state=finished returned number>$/);
    assert.equal(inspect(pool), "<ThreadPoolExecutor maxWorkers=2 workers=1 pending=0>");
    await pool.shutdown();
    assert.equal(inspect(pool), "<ThreadPoolExecutor maxWorkers=2 workers=0 pending=0 shutdown>");
  });

  test("ThreadPoolExecutor: broken once an initializer fails", T, async () => {
    const pool = new ThreadPoolExecutor({
      maxWorkers: 1,
      initializer: () => {
        throw new Error("the initializer failed on purpose");
      },
    });
    await assert.rejects(pool.submit(() => 1).result(), BrokenExecutorError);
    assert.match(inspect(pool), /^<ThreadPoolExecutor maxWorkers=1 workers=[01] pending=0 broken>$/);
    await pool.shutdown();
  });
}
