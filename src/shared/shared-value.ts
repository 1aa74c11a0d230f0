/**
 * SharedValue: Python's `multiprocessing.Value`, one number in shared memory with atomic
 * access, and a Lock of its own for compound updates.
 *
 * Layout: a block of the shared heap (core/memory.ts) holding a single element, viewed as
 *   - the type itself for the integer types ("int8" .. "uint32", "bigint64", "biguint64"),
 *     read and written with Atomics;
 *   - the bits of the float for "float32" (an Int32 cell) and "float64" (a BigInt64
 *     cell), also read and written with Atomics. Storing bit patterns keeps a float64
 *     from ever being read half-written, and gives compareExchange a meaning for floats:
 *     it compares bit patterns (so 0 and -0 differ, and a NaN matches only a NaN with the
 *     same bits).
 * The Lock (`.lock`, Python's `get_lock()`) has its own block and travels with the value.
 * Living in the heap, a SharedValue can travel inside queue items as well as in `args`.
 */
import { describe } from "../core/timeouts.js";
import { allocateBlock, ownBlock, type SharedBlock } from "../core/memory.js";
import {
  adoptBlock,
  describeBlock,
  registerShareable,
  reviveShareable,
  toDescriptor,
  takeArriving,
  type SharedDescriptor,
} from "../core/shareable.js";
import { Lock } from "../sync/lock.js";
import {
  bytesOf,
  checkType,
  elementError,
  elementInfo,
  fitsElement,
  isBigIntType,
  isFloatType,
  viewOf,
  type ElementInfo,
  type SharedElement,
  type SharedType,
} from "./element-type.js";
import { formatElement, repr } from "../core/repr.js";

// Thread-local scratch space to move a float's bits in and out of an integer cell.
const scratch = new ArrayBuffer(8);
const scratchF32 = new Float32Array(scratch, 0, 1);
const scratchI32 = new Int32Array(scratch, 0, 1);
const scratchF64 = new Float64Array(scratch);
const scratchB64 = new BigInt64Array(scratch);

/** How a value of each type sits in its atomic cell. */
interface Codec {
  /** A number cell (any integer typed array, typed here as Int32Array for Atomics), or null. */
  readonly num: Int32Array | null;
  /** A bigint cell (BigInt64Array or BigUint64Array, typed as BigInt64Array), or null. */
  readonly big: BigInt64Array | null;
  readonly encode: (value: number | bigint) => number | bigint;
  readonly decode: (stored: number | bigint) => number | bigint;
}

const same = (value: number | bigint): number | bigint => value;

function codecOf(type: SharedType, block: SharedBlock): Codec {
  const { buffer, byteOffset } = block;
  switch (type) {
    case "float32":
      return {
        num: new Int32Array(buffer, byteOffset, 1),
        big: null,
        encode: (value) => ((scratchF32[0] = value as number), scratchI32[0]),
        decode: (stored) => ((scratchI32[0] = stored as number), scratchF32[0]),
      };
    case "float64":
      return {
        num: null,
        big: new BigInt64Array(buffer, byteOffset, 1),
        encode: (value) => ((scratchF64[0] = value as number), scratchB64[0]),
        decode: (stored) => ((scratchB64[0] = stored as bigint), scratchF64[0]),
      };
    default: {
      const view = viewOf(type, buffer, byteOffset, 1);
      return isBigIntType(type)
        ? { num: null, big: view as unknown as BigInt64Array, encode: same, decode: same }
        : { num: view as unknown as Int32Array, big: null, encode: same, decode: same };
    }
  }
}


/**
 * One number in shared memory, read and written atomically from every thread; pass it in
 * `args` to share it. The type fixes its range and whether it holds a number or a bigint.
 */
export class SharedValue<T extends SharedType = SharedType> {
  /** The element type. */
  readonly type: T;
  /** A lock that travels with the value, for updates that need more than one operation (Python's `get_lock()`). */
  readonly lock: Lock;
  /** @internal The block of the shared heap holding the value. */
  readonly block: SharedBlock;
  readonly #codec: Codec;
  readonly #info: ElementInfo;

  /**
   * @param type the element type, e.g. `"int32"`, `"float64"`, `"bigint64"`.
   * @param initial the first value (default 0, or `0n` for the bigint types). An integer
   *   type refuses a value it cannot hold exactly (`RangeError`), as `.value` does.
   */
  constructor(type: T, initial?: SharedElement<T>) {
    const arrived = takeArriving();
    checkType(type, "new SharedValue(type, initial)");
    this.type = type;
    this.#info = elementInfo(type);
    if (arrived !== undefined) {
      this.block = adoptBlock(this, arrived);
      this.lock = reviveShareable(arrived.lock as SharedDescriptor) as Lock;
      this.#codec = codecOf(type, this.block);
      return;
    }
    if (initial !== undefined) this.#check(initial, "", "initial");
    this.block = allocateBlock(bytesOf(type));
    ownBlock(this, this.block);
    this.lock = new Lock();
    this.#codec = codecOf(type, this.block);
    if (initial !== undefined) this.#store(initial);
  }

  /** The value, read atomically. */
  get value(): SharedElement<T> {
    const codec = this.#codec;
    const stored = codec.num !== null ? Atomics.load(codec.num, 0) : Atomics.load(codec.big as BigInt64Array, 0);
    return codec.decode(stored) as SharedElement<T>;
  }

  /**
   * Writes the value atomically. A number for most types, a bigint for "bigint64"/"biguint64";
   * an integer type refuses a value it cannot hold exactly (out of range, fractional, NaN)
   * with a `RangeError` naming its range, rather than wrapping it.
   */
  set value(value: SharedElement<T>) {
    this.#check(value, ".value", "");
    this.#store(value);
  }

  /**
   * Adds `n` atomically and returns the previous value. Integer types only (`TypeError` on
   * floats); `n` must be a value of the type (`RangeError` otherwise). The sum wraps at the
   * type's bounds, as C's atomics do.
   */
  add(n: SharedElement<T>): SharedElement<T> {
    const cells = this.#integerCells("add");
    this.#check(n, ".add(n)", "n");
    return (cells.num !== null ? Atomics.add(cells.num, 0, n as number) : Atomics.add(cells.big!, 0, n as bigint)) as SharedElement<T>;
  }

  /** Subtracts `n` atomically and returns the previous value; as {@link add}. */
  sub(n: SharedElement<T>): SharedElement<T> {
    const cells = this.#integerCells("sub");
    this.#check(n, ".sub(n)", "n");
    return (cells.num !== null ? Atomics.sub(cells.num, 0, n as number) : Atomics.sub(cells.big!, 0, n as bigint)) as SharedElement<T>;
  }

  /**
   * Stores `next` if the value is `expected`, atomically, and returns the value found
   * (equal to `expected` exactly when it stored). For float types it compares bit patterns.
   */
  compareExchange(expected: SharedElement<T>, next: SharedElement<T>): SharedElement<T> {
    this.#check(expected, ".compareExchange(expected, next)", "expected");
    this.#check(next, ".compareExchange(expected, next)", "next");
    const codec = this.#codec;
    const previous =
      codec.num !== null
        ? Atomics.compareExchange(codec.num, 0, codec.encode(expected) as number, codec.encode(next) as number)
        : Atomics.compareExchange(codec.big!, 0, codec.encode(expected) as bigint, codec.encode(next) as bigint);
    return codec.decode(previous) as SharedElement<T>;
  }

  /** The value, as a string (for template literals and `String()`). */
  toString(): string {
    return String(this.value);
  }

  /**
   * Throws unless `value` fits the type. The message is built only on failure:
   * `SharedValue("int32").add(n): n: 1.5 is not an integer; ...`, or, from the constructor
   * (`member` ""), `new SharedValue("int32", initial): initial: ...`.
   */
  #check(value: unknown, member: string, arg: string): void {
    if (fitsElement(this.#info, value)) return;
    const what =
      member === ""
        ? `new SharedValue("${this.type}", ${arg}): ${arg}`
        : `SharedValue("${this.type}")${member}${arg === "" ? "" : `: ${arg}`}`;
    throw elementError(this.#info, value, what);
  }

  #store(value: number | bigint): void {
    const codec = this.#codec;
    const stored = codec.encode(value);
    if (codec.num !== null) Atomics.store(codec.num, 0, stored as number);
    else Atomics.store(codec.big!, 0, stored as bigint);
  }

  #integerCells(method: string): Codec {
    if (isFloatType(this.type)) {
      throw new TypeError(
        `SharedValue.${method}(n): atomic ${method} is for integer types, not ${describe(this.type)}; ` +
          `use compareExchange in a loop, or hold .lock while you read and write .value`,
      );
    }
    return this.#codec;
  }

  /** @internal `util.inspect(value)`: `<SharedValue int32 5>`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return repr("SharedValue", this.type, formatElement(this.value));
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("SharedValue", this.block, { type: this.type, lock: this.lock[toDescriptor]() });
  }
}

registerShareable("SharedValue", (descriptor) => new SharedValue(descriptor.type as SharedType));
