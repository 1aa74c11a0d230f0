import assert from "node:assert/strict";
import { test } from "node:test";
import { Lock, SharedArray, SharedValue, ValueError, type SharedType } from "weft";

const T = { timeout: 20_000 };

const integerTypes = ["int8", "int16", "int32", "uint8", "uint16", "uint32"] as const;

test("SharedValue: every type starts at 0 (or 0n) and round-trips a value", T, () => {
  for (const type of integerTypes) {
    const v = new SharedValue(type);
    assert.equal(v.value, 0);
    assert.equal(v.type, type);
    v.value = 100;
    assert.equal(v.value, 100);
    assert.ok(v.lock instanceof Lock);
  }
  for (const type of ["bigint64", "biguint64"] as const) {
    const v = new SharedValue(type);
    assert.equal(v.value, 0n);
    v.value = 1n << 40n;
    assert.equal(v.value, 1n << 40n);
  }
  const f64 = new SharedValue("float64", 0.1);
  assert.equal(f64.value, 0.1);
  f64.value = -1.5e300;
  assert.equal(f64.value, -1.5e300);
  f64.value = Number.NaN;
  assert.ok(Number.isNaN(f64.value));
  const f32 = new SharedValue("float32", 0.1);
  assert.equal(f32.value, Math.fround(0.1));
  assert.equal(`${new SharedValue("int32", 7)}`, "7");
});

test("SharedValue: integers wrap like a typed array", T, () => {
  assert.equal(new SharedValue("int8", 200).value, -56);
  assert.equal(new SharedValue("uint8", -1).value, 255);
  assert.equal(new SharedValue("uint32", -1).value, 0xffffffff);
  assert.equal(new SharedValue("biguint64", -1n).value, 2n ** 64n - 1n);
  const v = new SharedValue("int16", 32767);
  assert.equal(v.add(1), 32767);
  assert.equal(v.value, -32768);
});

test("SharedValue: add/sub/compareExchange return the previous value", T, () => {
  const v = new SharedValue("int32", 10);
  assert.equal(v.add(5), 10);
  assert.equal(v.sub(3), 15);
  assert.equal(v.value, 12);
  assert.equal(v.compareExchange(0, 99), 12, "no exchange: returns what it found");
  assert.equal(v.value, 12);
  assert.equal(v.compareExchange(12, 99), 12);
  assert.equal(v.value, 99);
  const b = new SharedValue("bigint64", 5n);
  assert.equal(b.add(10n), 5n);
  assert.equal(b.sub(1n), 15n);
  assert.equal(b.compareExchange(14n, -1n), 14n);
  assert.equal(b.value, -1n);
});

test("SharedValue: float compareExchange compares bit patterns; add/sub are TypeError", T, () => {
  const f = new SharedValue("float64", 1.25);
  assert.equal(f.compareExchange(1.25, 2.5), 1.25);
  assert.equal(f.value, 2.5);
  assert.equal(f.compareExchange(1.25, 0), 2.5);
  assert.equal(f.value, 2.5);
  const z = new SharedValue("float64", 0);
  assert.equal(Object.is(z.compareExchange(-0, 1), 0), true, "-0 does not match +0");
  assert.equal(z.value, 0);
  assert.equal(z.compareExchange(0, 1), 0);
  assert.equal(z.value, 1);
  const f32 = new SharedValue("float32", 0.1);
  assert.equal(f32.compareExchange(0.1, 0.5), Math.fround(0.1), "expected is rounded to float32 like the stored value");
  assert.equal(f32.value, 0.5);
  assert.throws(() => f.add(1), TypeError);
  assert.throws(() => f32.sub(1), TypeError);
});

test("SharedValue: bad types and values", T, () => {
  assert.throws(() => new SharedValue("int64" as SharedType), (e: unknown) => e instanceof TypeError && /"int8".*"biguint64"/.test(e.message));
  assert.throws(() => new SharedValue(undefined as unknown as SharedType), TypeError);
  assert.throws(() => new SharedValue("int32", 1n as unknown as number), TypeError);
  assert.throws(() => new SharedValue("bigint64", 1 as unknown as bigint), TypeError);
  assert.throws(() => new SharedValue("int32", 1.5), ValueError);
  assert.throws(() => new SharedValue("int32", Number.NaN), RangeError);
  const v = new SharedValue("int32");
  assert.throws(() => (v.value = "3" as unknown as number), TypeError);
  assert.throws(() => v.add(0.5), ValueError);
  assert.throws(() => v.compareExchange(0, 1n as unknown as number), TypeError);
  assert.equal(v.value, 0);
  const b = new SharedValue("biguint64");
  assert.throws(() => b.add(1 as unknown as bigint), TypeError);
});

test("SharedValue: the lock works as a Lock", T, async () => {
  const v = new SharedValue("float64", 1);
  await v.lock.withLock(() => {
    v.value = v.value * 3;
  });
  assert.equal(v.value, 3);
  assert.equal(v.lock.locked(), false);
});

test("SharedArray: from a length, an array or an iterable", T, () => {
  const a = new SharedArray("int32", 4);
  assert.ok(a.array instanceof Int32Array);
  assert.ok(a.array.buffer instanceof SharedArrayBuffer);
  assert.equal(a.length, 4);
  assert.deepEqual([...a.array], [0, 0, 0, 0]);
  assert.equal(a.type, "int32");
  assert.ok(a.lock instanceof Lock);
  a.array[2] = 9;
  assert.equal(Atomics.add(a.array, 2, 1), 9);
  assert.equal(a.array[2], 10);
  const f = new SharedArray("float64", [1.5, 2.5]);
  assert.ok(f.array instanceof Float64Array);
  assert.deepEqual([...f.array], [1.5, 2.5]);
  const s = new SharedArray("uint8", new Set([1, 2, 3]));
  assert.deepEqual([...s.array], [1, 2, 3]);
  function* gen(): Generator<bigint> {
    yield 1n;
    yield -2n;
  }
  const b = new SharedArray("bigint64", gen());
  assert.ok(b.array instanceof BigInt64Array);
  assert.deepEqual([...b.array], [1n, -2n]);
  assert.equal(new SharedArray("int8", 0).length, 0);
  assert.equal(new SharedArray("int16", []).length, 0);
  const all: SharedType[] = ["int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64", "bigint64", "biguint64"];
  for (const type of all) assert.equal(new SharedArray(type, 3).array.length, 3);
});

test("SharedArray: bad arguments", T, () => {
  assert.throws(() => new SharedArray("int32", -1), ValueError);
  assert.throws(() => new SharedArray("int32", 1.5), RangeError);
  assert.throws(() => new SharedArray("int32", Number.NaN), ValueError);
  assert.throws(() => new SharedArray("int32", "abc" as unknown as number), TypeError);
  assert.throws(() => new SharedArray("int32", null as unknown as number), TypeError);
  assert.throws(() => new SharedArray("int32", [1, "2"] as unknown as number[]), (e: unknown) => e instanceof TypeError && /\[1\]/.test(e.message));
  assert.throws(() => new SharedArray("int32", [1, 2.5]), ValueError);
  assert.throws(() => new SharedArray("bigint64", [1] as unknown as bigint[]), TypeError);
  assert.throws(() => new SharedArray("int128" as SharedType, 2), TypeError);
});

test("SharedArray: a kept .array outlives its SharedArray handle (its memory is not reused)", T, async () => {
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const { array } = new SharedArray("int32", 8);
  array.fill(0x5eed);
  for (let round = 0; round < 5; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve)); // let finalizers run
    // Allocate (and drop) objects that would take the block if it had been freed.
    for (let i = 0; i < 200; i++) {
      new SharedArray("int32", 8).array.fill(-1);
      new SharedValue("int32", -1);
    }
  }
  assert.deepEqual([...array], Array(8).fill(0x5eed));
});
