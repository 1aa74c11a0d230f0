/**
 * multiprocessing.Pipe (API.md, "multiprocessing"): two connected ends, values and bytes in
 * order, EOFError at the end of the stream (the other end closed, or its process died), and
 * an end passed to a Process in args works there.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { EOFError, MainThreadBlockingError, Pipe, Process, RuntimeError, TimeoutError, ValueError, type Connection } from "weft-threads";

const T = { timeout: 30_000 };

test("values and bytes arrive in order; poll tells whether something is there", T, async () => {
  const [a, b] = Pipe();
  assert.equal(await b.poll(), false);
  a.send({ n: 1, when: new Date(0), map: new Map([["k", [1, 2]]]) });
  a.sendBytes(Buffer.from("hello world"), 6, 5);
  a.send("last");
  assert.equal(await b.poll(), true);
  assert.equal(b.pollSync(), true);
  assert.deepEqual(await b.recv(), { n: 1, when: new Date(0), map: new Map([["k", [1, 2]]]) });
  assert.equal((await b.recvBytes()).toString(), "world");
  await assert.rejects(b.recvBytes(2), ValueError); // "last" is longer than 2 bytes
  b.send("back");
  assert.equal(await a.recv(), "back");
  await assert.rejects(a.recv({ timeout: 20 }), TimeoutError);
  assert.throws(() => a.recvSync(), MainThreadBlockingError);
  a.close();
  b.close();
});

test("the end of the stream: what was sent is read, then EOFError", T, async () => {
  const [a, b] = Pipe();
  a.send(1);
  a.close();
  assert.throws(() => a.send(2), RuntimeError);
  assert.equal(await b.recv(), 1);
  assert.equal(await b.poll(), true);
  await assert.rejects(b.recv(), EOFError);
  const [c, d] = Pipe();
  const pending = d.recv();
  c.close();
  await assert.rejects(pending, EOFError);
});

test("Pipe(false): the first end only receives, the second only sends", T, async () => {
  const [reader, writer] = Pipe(false);
  assert.equal(reader.writable, false);
  assert.equal(writer.readable, false);
  assert.throws(() => reader.send(1), /read-only/);
  await assert.rejects(writer.recv(), /write-only/);
  writer.send(7);
  assert.equal(await reader.recv(), 7);
});

test("an end passed to a Process works there, with recvSync, and moves out of the parent", T, async () => {
  const [here, there] = Pipe();
  const p = new Process({
    target: (conn: Connection) => {
      for (;;) {
        const item = conn.recvSync() as number | null;
        if (item === null) break;
        conn.send(item * 2);
      }
      conn.sendBytes(new TextEncoder().encode("done"));
    },
    args: [there],
  });
  p.start();
  assert.equal(there.closed, true);
  assert.throws(() => there.send(1), /sent to another process/);
  assert.throws(() => new Process({ target: (_conn: Connection) => {}, args: [there] }).start(), TypeError);
  for (let i = 0; i < 5; i++) {
    here.send(i);
    assert.equal(await here.recv(), i * 2);
  }
  here.send(null);
  assert.equal((await here.recvBytes()).toString(), "done");
  await assert.rejects(here.recv(), EOFError); // the child exited
  await p.join();
  assert.equal(p.exitCode, 0);
});

test("a receive waiting on a child that dies ends with EOFError", T, async () => {
  const [here, there] = Pipe();
  const p = new Process({ target: async (conn: Connection) => void (await conn.recv()), args: [there] });
  p.start();
  const pending = here.recv();
  p.kill();
  await assert.rejects(pending, EOFError);
  await p.join();
  assert.equal(p.exitCode, -9);
});

test("two children talk through a Pipe whose ends were sent to each", T, async () => {
  const [left, right] = Pipe();
  const [result, resultEnd] = Pipe();
  const sender = new Process({ target: (conn: Connection) => conn.send({ greeting: "from the sender" }), args: [left] });
  const receiver = new Process({
    target: async (conn: Connection, out: Connection) => out.send(await conn.recv()),
    args: [right, resultEnd],
  });
  sender.start();
  receiver.start();
  assert.deepEqual(await result.recv(), { greeting: "from the sender" });
  await Promise.all([sender.join(), receiver.join()]);
  assert.deepEqual([sender.exitCode, receiver.exitCode], [0, 0]);
});

test("what a child sent before it exited is read even when a send to it failed first", { ...T, skip: !existsSync("/proc/self/stat") && "needs /proc to see the child exit" }, async () => {
  const [here, there] = Pipe();
  const p = new Process({ target: (conn: Connection) => conn.send("last words"), args: [there] });
  p.start();
  // Hold this event loop until the child is a zombie, so its words are still unread here
  // when the send below meets the closed socket.
  const stat = `/proc/${p.pid}/stat`;
  const until = Date.now() + 20_000;
  while (!/^\d+ \(.*\) Z/.test(readFileSync(stat, "utf8")) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  assert.match(readFileSync(stat, "utf8"), /^\d+ \(.*\) Z/, "the child did not exit within 20 s");
  assert.throws(() => here.send("too late"), EOFError);
  assert.equal(await here.recv(), "last words");
  await assert.rejects(here.recv(), EOFError);
  await p.join();
  assert.equal(p.exitCode, 0);
});

test("send(): a Connection inside a message is a TypeError naming its path (it travels in a Process's args only); nothing is sent", T, async () => {
  const [a, b] = Pipe();
  const [c, d] = Pipe();
  assert.throws(() => a.send({ reply: [1, c] }), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^obj\.reply\[1\]: a Connection cannot travel inside a message .*pass it to the Process in its args/);
    return true;
  });
  assert.throws(() => a.send(new Map([["end", d]])), /: obj\.get\("end"\): a Connection cannot travel/);
  assert.throws(() => a.send({ callback: () => 1 }), /: obj\.callback: functions cannot be sent to another process/);
  a.send("after");
  assert.equal(await b.recv(), "after", "the refused messages were not sent");
  c.send("still mine");
  assert.equal(await d.recv(), "still mine", "the Connection stays usable here");
  for (const end of [a, b, c, d]) end.close();
});
