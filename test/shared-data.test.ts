import assert from "node:assert/strict";
import { test } from "node:test";
import { Lock, SharedArray, SharedValue, Thread, ValueError, type SharedType } from "weft-threads";

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

test("SharedValue: an integer type refuses a value it cannot hold, naming its range; a sum still wraps", T, () => {
  const range = (type: string, min: string, max: string) => (e: unknown) =>
    e instanceof ValueError && e instanceof RangeError && e.message.includes(`${type} (${min} to ${max})`);
  assert.throws(() => new SharedValue("int32", 2 ** 40), range("int32", "-2147483648", "2147483647"));
  assert.throws(() => new SharedValue("int8", 200), range("int8", "-128", "127"));
  assert.throws(() => new SharedValue("uint8", -1), range("uint8", "0", "255"));
  assert.throws(() => new SharedValue("uint32", 2 ** 32), range("uint32", "0", "4294967295"));
  assert.throws(() => new SharedValue("biguint64", -1n), range("biguint64", "0", "18446744073709551615"));
  assert.throws(() => new SharedValue("bigint64", 2n ** 63n), range("bigint64", "-9223372036854775808", "9223372036854775807"));
  const v = new SharedValue("int32", 7);
  assert.throws(
    () => (v.value = 2 ** 40),
    (e: unknown) =>
      e instanceof ValueError &&
      e.message === 'SharedValue("int32").value: 1099511627776 is out of range for int32 (-2147483648 to 2147483647)',
  );
  for (const bad of [2 ** 31, -(2 ** 31) - 1, 0.5, Number.NaN, Infinity, -Infinity]) {
    assert.throws(() => (v.value = bad), (e: unknown) => e instanceof RangeError && /-2147483648 to 2147483647/.test(e.message), String(bad));
  }
  assert.throws(() => v.add(2 ** 31), /SharedValue\("int32"\)\.add\(n\): n: 2147483648 is out of range/);
  assert.throws(() => v.sub(-(2 ** 40)), RangeError);
  assert.throws(() => v.compareExchange(2 ** 32 + 7, 1), /expected: 4294967303 is out of range/);
  assert.throws(() => v.compareExchange(7, 2 ** 32), /next: 4294967296 is out of range/);
  assert.equal(v.value, 7, "nothing was stored");
  const b = new SharedValue("bigint64");
  assert.throws(() => (b.value = 2n ** 63n), RangeError);
  assert.throws(() => b.add(-(2n ** 63n) - 1n), RangeError);
  b.value = -(2n ** 63n);
  assert.equal(b.value, -(2n ** 63n), "the bounds themselves fit");
  const u = new SharedValue("biguint64", 2n ** 64n - 1n);
  assert.equal(u.value, 2n ** 64n - 1n);
  const f = new SharedValue("float32", 1e300);
  assert.equal(f.value, Infinity, "floats take any number (rounded as float32)");
  assert.equal(new SharedValue("int8", -128).value, -128);
  assert.equal(new SharedValue("uint32", 0xffffffff).value, 0xffffffff);
  const w = new SharedValue("int16", 32767);
  assert.equal(w.add(1), 32767);
  assert.equal(w.value, -32768, "atomic add wraps its result, as C's atomics do");
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
  assert.throws(
    () => new SharedArray("uint8", [1, 300]),
    (e: unknown) => e instanceof ValueError && /lengthOrValues\[1\]: 300 is out of range for uint8 \(0 to 255\)/.test(e.message),
  );
  assert.throws(() => new SharedArray("biguint64", [-1n]), RangeError);
  // A third argument reaches nothing internal: it is ignored.
  const extra = new (SharedArray as unknown as new (...args: unknown[]) => SharedArray<"int32">)("int32", 2, { kind: "SharedArray" });
  assert.deepEqual([...extra], [0, 0]);
  const value = new (SharedValue as unknown as new (...args: unknown[]) => SharedValue<"int32">)("int32", 3, { kind: "SharedValue" });
  assert.equal(value.value, 3);
});

test("SharedArray: arr[i], arr[i] = x, for..of, spread and length work as on the typed array", T, () => {
  const a = new SharedArray("int32", [1, 2, 3]);
  a[1] = 20;
  assert.equal(a[1], 20);
  assert.equal(a.array[1], 20, "the write reached shared memory");
  a.array[2] = 30;
  assert.equal(a[2], 30);
  assert.deepEqual([...a], [1, 20, 30]);
  const seen: number[] = [];
  for (const x of a) seen.push(x);
  assert.deepEqual(seen, [1, 20, 30]);
  assert.deepEqual(Array.from(a), [1, 20, 30]);
  assert.equal(a.length, 3);
  // Out of range: reads undefined, writes ignored (no property appears), as on a typed array.
  for (const key of [3, -1, 1.5, "-0", "NaN", "Infinity"]) {
    assert.equal((a as unknown as Record<string, unknown>)[key], undefined, String(key));
    (a as unknown as Record<string, unknown>)[key] = 5;
    assert.equal((a as unknown as Record<string, unknown>)[key], undefined, String(key));
  }
  assert.deepEqual(Object.keys(a).sort(), ["array", "lock", "type"]);
  assert.deepEqual([...a.array], [1, 20, 30]);
  // Checked writes: an integer type refuses what it cannot hold; .array stays raw.
  const u8 = new SharedArray("uint8", 2);
  assert.throws(
    () => (u8[0] = 300),
    (e: unknown) => e instanceof ValueError && e.message === 'SharedArray("uint8")[0]: 300 is out of range for uint8 (0 to 255)',
  );
  assert.throws(() => (u8[1] = 1.5), /1\.5 is not an integer; uint8 holds the integers from 0 to 255/);
  assert.throws(() => (u8[1] = Number.NaN), RangeError);
  assert.throws(() => (u8[0] = "3" as unknown as number), TypeError);
  assert.deepEqual([...u8], [0, 0], "refused writes store nothing");
  u8.array[0] = 300;
  assert.equal(u8[0], 44, ".array is the raw typed array: it wraps");
  const big = new SharedArray("bigint64", 1);
  big[0] = -(2n ** 63n);
  assert.equal(big[0], -(2n ** 63n));
  assert.throws(() => (big[0] = 2n ** 63n), RangeError);
  assert.throws(() => (big[0] = 1 as unknown as bigint), TypeError);
  const f = new SharedArray("float32", 1);
  f[0] = 0.1;
  assert.equal(f[0], Math.fround(0.1));
  // Named properties and methods are the object's own, not the Proxy's.
  assert.ok(a instanceof SharedArray && a instanceof Object);
  assert.equal(String(a), "[object Object]");
  assert.equal((a as unknown as { then?: unknown }).then, undefined, "not a thenable");
});

test("SharedArray: indexing works on an array that arrived in a thread", T, async () => {
  const array = new SharedArray("uint8", [1, 2, 3]);
  const thread = new Thread({
    target: (a: SharedArray<"uint8">) => {
      a[0] = 100;
      let refused = "";
      try {
        a[1] = 256;
      } catch (e) {
        refused = (e as Error).message;
      }
      a[7] = 9;
      return [[...a], a.length, a[7], refused];
    },
    args: [array],
  });
  thread.start();
  await thread.join();
  assert.equal(thread.error, undefined);
  assert.deepEqual(thread.result, [[100, 2, 3], 3, undefined, 'SharedArray("uint8")[1]: 256 is out of range for uint8 (0 to 255)']);
  assert.deepEqual([...array], [100, 2, 3]);
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
