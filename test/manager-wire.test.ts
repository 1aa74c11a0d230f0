/**
 * The wire to a process that owns shared objects (src/processes/manager-wire.ts): the
 * short frames that skip the serializer carry every primitive exactly (-0, NaN, UTF-8),
 * everything else falls back to `v8.serialize`, and a reader puts frames back together
 * however the FIFO splits them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

const wire = (await import(new URL("../../dist/processes/manager-wire.js", import.meta.url).href)) as typeof import("../dist/processes/manager-wire.js");
const { FrameReader, SCRATCH, frame, replyFrame, requestFrame, scratchAck, scratchCall } = wire;

type Request = Parameters<typeof requestFrame>[0];
type Reply = Parameters<typeof replyFrame>[0];

const primitives: unknown[] = [undefined, null, true, false, 0, -0, 1.5, -(2 ** 53), Number.MAX_VALUE, NaN, Infinity, "", "é€😀 text", "x".repeat(3000)];

function readAll(bytes: Buffer, split: number): unknown[] {
  const reader = new FrameReader();
  const out: unknown[] = [];
  for (let at = 0; at < bytes.length; at += split) out.push(...reader.push(bytes.subarray(at, Math.min(bytes.length, at + split))));
  return out;
}

test("wire: calls and replies of primitives come back exactly, however the bytes are split", () => {
  const requests: Request[] = primitives.map((value, i) => [i + 1, 3, "put", [value, undefined], 0]);
  requests.push([7, 2, "acquire", [], 1], [0, 9, "#cancel", [], 0], [8, 1, "notify", [3], 0]);
  const replies: Reply[] = primitives.map((value, i) => [i + 1, 0, value]);
  const bytes = Buffer.concat([...requests.map(requestFrame), ...replies.map(replyFrame), Buffer.copyBytesFrom(SCRATCH, 0, scratchAck(42))]);
  for (const split of [1, 3, 7, 64, bytes.length]) {
    const got = readAll(bytes, split);
    assert.equal(got.length, requests.length + replies.length + 1, `split ${split}`);
    assert.deepEqual(got.slice(0, requests.length), requests, `split ${split}`);
    assert.deepEqual(got.slice(requests.length, -1), replies, `split ${split}`);
    assert.equal(got.at(-1), 42);
    // deepEqual takes -0 for 0: check its sign where it went through a short frame.
    assert.ok(Object.is((got[5] as Request)[3][0], -0));
    assert.ok(Object.is((got[requests.length + 5] as Reply)[2], -0));
  }
});

test("wire: primitive calls and replies skip the serializer; anything else keeps it", () => {
  // 20 bytes of header, then one byte a primitive that is undefined, true, false or null.
  assert.equal(requestFrame([1, 1, "acquire", [undefined], 1]).length, 21);
  assert.equal(replyFrame([1, 0, true]).length, 17);
  const fallbacks: Request[] = [
    [1, 1, "put", [{ a: 1 }], 0], // an object
    [1, 1, "put", ["x".repeat(70_000)], 0], // a string too long for a short frame
    [1, 1, "put", ["é".repeat(10_000)], 0], // a string short enough, but more bytes than the scratch buffer holds
    [2, 1, "put", [10n], 0], // a bigint
    [3, 1, "acquire", [], 1, "the-object-id"], // a handle's first use names the object
    [4, 1, "toArray", [], 1], // a method without a short code
  ];
  for (const request of fallbacks) {
    assert.deepEqual(requestFrame(request), frame(request), String(request[2]));
    assert.deepEqual(readAll(requestFrame(request), 4096), [request]);
  }
  // A call written straight from the scratch buffer is the frame requestFrame makes.
  const call: Request = [9, 4, "put", [12.5, "text"], 0];
  const length = scratchCall(...(call as [number, number, string, unknown[], 0]));
  assert.deepEqual(Buffer.copyBytesFrom(SCRATCH, 0, length), requestFrame(call));
  assert.equal(scratchCall(1, 1, "put", [{ a: 1 }], 0), -1);
  const lease: Reply = [5, 2, [7, 1, 2, 3]];
  assert.deepEqual(replyFrame(lease), frame(lease));
  const failed: Reply = [6, 1, { name: "ValueError", message: "no" }];
  assert.deepEqual(readAll(replyFrame(failed), 3), [failed]);
});

test("wire: a reader's spin returns what came, -1 when nothing did, 0 at end of file", async () => {
  const { readWithin } = (await import(new URL("../../dist/processes/spin-read.js", import.meta.url).href)) as typeof import("../dist/processes/spin-read.js");
  const { execFileSync } = await import("node:child_process");
  const { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "weft-spin-"));
  try {
    const path = join(dir, "fifo");
    execFileSync("mkfifo", [path]);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(path, constants.O_WRONLY);
    const into = Buffer.alloc(16);
    const limit = Error.stackTraceLimit;
    assert.equal(readWithin(reader, into, 5), -1);
    assert.equal(Error.stackTraceLimit, limit, "the stack trace limit is restored");
    writeSync(writer, "abc");
    assert.equal(readWithin(reader, into, 5), 3);
    assert.equal(into.toString("utf8", 0, 3), "abc");
    assert.equal(readWithin(reader, into, 0), -1, "no window, no read");
    closeSync(writer);
    assert.equal(readWithin(reader, into, 5), 0);
    closeSync(reader);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
