/**
 * A thread that dies inside a queue operation must not corrupt the queue or leave it
 * locked. A weft thread cannot be killed mid-call from JavaScript, so these tests stage
 * the state such a death leaves: a thread takes the queue's internal mutex, starts an
 * operation (journal and half-written data) and ends without finishing it. Its ident is
 * then no longer alive, and the next thread to need the mutex must take it over and
 * repair the queue.
 *
 * They also cover the FIFO ring's moves (grow while a consumer drains, shrink once
 * drained) across two threads, where an entry's place modulo the ring size must survive.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LifoQueue, PriorityQueue, Queue, Thread, isMainThread } from "weft-threads";
// The header layout is internal: read it from the build (test/ compiles to build/test/).
const layout = (await import(new URL("../../dist/queue/layout.js", import.meta.url).href)) as typeof import("../dist/queue/layout.js");

type WithCells = { cells: Int32Array };

/** Runs in a thread: takes the tail mutex as a producer would and dies mid-put. */
export function dieMidPut(queue: WithCells, ident: number): void {
  const cells = queue.cells;
  Atomics.store(cells, layout.TAIL_MUTEX, ident << 1); // held by this thread (core/mutex.ts)
  cells[layout.P_OLD_PUT] = cells[layout.PUT];
  cells[layout.P_OLD_WRITTEN] = cells[layout.WRITTEN];
  cells[layout.P_OLD_RING] = cells[layout.RING];
  cells[layout.P_JOURNAL] = 1;
  // Half an entry: bytes past WRITTEN, and WRITTEN itself moved, but PUT never committed.
  cells[layout.WRITTEN] = (cells[layout.WRITTEN] + 12) | 0;
}

/** Runs in a thread: takes the head mutex as a consumer would and dies mid-get. */
export function dieMidGet(queue: WithCells, ident: number): void {
  const cells = queue.cells;
  Atomics.store(cells, layout.HEAD_MUTEX, ident << 1); // held by this thread (core/mutex.ts)
  cells[layout.C_OLD_GOT] = cells[layout.GOT];
  cells[layout.C_OLD_CONSUMED] = cells[layout.CONSUMED];
  cells[layout.C_NEW_CONSUMED] = (cells[layout.CONSUMED] + 12) | 0;
  cells[layout.C_JOURNAL] = 1;
}

/** Runs in a thread: takes the one mutex of a LIFO/priority queue and dies after logged writes. */
export function dieMidStoreOp(queue: WithCells, ident: number): void {
  const cells = queue.cells;
  Atomics.store(cells, layout.TAIL_MUTEX, ident << 1); // held by this thread (core/mutex.ts)
  // What an UndoLog records before each write: (heap cell index, old value).
  const heap = new Int32Array(cells.buffer);
  const log = (cells.byteOffset >> 2) + layout.UNDO_LOG;
  const writes: [number, number][] = [
    [layout.TOP, 999],
    [layout.PUT, cells[layout.PUT] + 5],
  ];
  writes.forEach(([cell, value], i) => {
    const index = (cells.byteOffset >> 2) + cell;
    heap[log + 1 + i * 2] = index;
    heap[log + 2 + i * 2] = heap[index];
    Atomics.store(heap, log, i + 1);
    heap[index] = value;
  });
}

/** Runs `target` in a thread of its own, which then ends: its ident is dead from then on. */
async function dieInThread(target: (queue: WithCells, ident: number) => void, queue: object): Promise<void> {
  const name = target.name;
  const staged = new Thread({
    target: async (exportName: string, moduleUrl: string, q: WithCells) => {
      const { getIdent } = await import("weft-threads");
      const module = (await import(moduleUrl)) as Record<string, (q: WithCells, ident: number) => void>;
      module[exportName](q, getIdent());
    },
    args: [name, import.meta.url, queue as WithCells],
  });
  staged.start();
  await staged.join();
  assert.equal(staged.error, undefined);
}

if (isMainThread) {
  test("a producer that died mid-put: the next put takes the mutex over and the queue is intact", { timeout: 30_000 }, async () => {
    const queue = new Queue<number>();
    for (let i = 0; i < 3; i++) await queue.put(i);
    await dieInThread(dieMidPut, queue);
    await queue.put(3);
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await queue.get({ timeout: 5000 }));
    assert.deepEqual(got, [0, 1, 2, 3]);
    assert.equal(queue.qsize(), 0);
  });

  test("a consumer that died mid-get: the next get takes the mutex over; no item lost or doubled", { timeout: 30_000 }, async () => {
    const queue = new Queue<number>();
    for (let i = 0; i < 3; i++) await queue.put(i);
    await dieInThread(dieMidGet, queue);
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await queue.get({ timeout: 5000 }));
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(queue.qsize(), 0);
    await queue.put(7);
    assert.equal(await queue.get(), 7);
  });

  for (const Kind of [LifoQueue, PriorityQueue]) {
    test(`${Kind.name}: the next operation after a dead holder sees the queue as it was`, { timeout: 30_000 }, async () => {
      const queue = new Kind<number>();
      for (const n of [5, 1, 3]) await queue.put(n);
      await dieInThread(dieMidStoreOp, queue);
      await queue.put(4);
      const got = [];
      for (let i = 0; i < 4; i++) got.push(await queue.get({ timeout: 5000 }));
      assert.deepEqual(got, Kind === LifoQueue ? [4, 3, 1, 5] : [1, 3, 4, 5]);
      assert.equal(queue.qsize(), 0);
    });
  }

  test("FIFO ring grows while a consumer drains and shrinks once drained: every item once, in order", { timeout: 120_000 }, async () => {
    const n = 300_000 * Number(process.env.WEFT_STRESS ?? 1);
    for (let round = 0; round < 3; round++) {
      const queue = new Queue<number | { id: number; pad: string }>();
      const consumer = new Thread({
        target: (q: Queue<number | { id: number; pad: string }>, count: number) => {
          let expected = 0;
          let wrong = 0;
          for (let i = 0; i < count; i++) {
            const v = q.getSync();
            const id = typeof v === "number" ? v : v.id;
            if (id !== expected) wrong++;
            expected = id + 1;
            // Now and then fall behind, so that the producer runs ahead and the ring grows.
            if (i % 50_000 === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          }
          return wrong;
        },
        args: [queue, n],
      });
      const producer = new Thread({
        target: (q: Queue<number | { id: number; pad: string }>, count: number) => {
          for (let i = 0; i < count; i++) q.putSync(i % 7 === 0 ? { id: i, pad: "x".repeat(i % 61) } : i);
        },
        args: [queue, n],
      });
      consumer.start();
      producer.start();
      await producer.join();
      await consumer.join();
      assert.equal(producer.error, undefined);
      assert.equal(consumer.error, undefined);
      assert.equal(consumer.result, 0, "items out of order, lost or doubled");
      assert.equal(queue.qsize(), 0);
    }
  });
}
