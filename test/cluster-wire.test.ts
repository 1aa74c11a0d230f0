/**
 * What a cluster task's arguments and outcome become in Redis (src/cluster/wire.ts): values
 * JSON carries exactly take the short JSON form, everything else V8's serialization, and
 * either way what is unpacked is what was packed (-0, NaN, undefined, Maps, bigints...).
 */
import assert from "node:assert/strict";
import { test } from "node:test";

const { pack, unpack } = (await import(new URL("../../dist/cluster/wire.js", import.meta.url).href)) as typeof import("../dist/cluster/wire.js");

test("cluster wire: every value comes back as it was packed, in the form that carries it exactly", () => {
  const json: unknown[] = [1, 1.5, "é😀", "\ud800", true, null, [], [1, "a", null, false], Array.from({ length: 16 }, (_, i) => i)];
  const serialized: unknown[] = [-0, NaN, Infinity, undefined, 10n, [1, undefined], [1, [2]], [-0], { a: 1 }, new Map([[1, 2]]), new Date(0), Array.from({ length: 17 }, (_, i) => i)];
  for (const value of json) {
    const text = pack(value);
    assert.ok(text.startsWith("~"), `${String(value)} packs as JSON`);
    assert.deepEqual(unpack(text), value);
  }
  for (const value of serialized) {
    const text = pack(value);
    assert.ok(text.startsWith("/"), `${String(value)} packs with the serializer`);
    const back = unpack(text);
    assert.deepEqual(back, value);
    if (typeof value === "number") assert.ok(Object.is(back, value), `${value} keeps its sign and kind`);
  }
  assert.ok(Object.is((unpack(pack([-0])) as number[])[0], -0));
  assert.throws(() => pack(() => 1), /could not be cloned/);
});
