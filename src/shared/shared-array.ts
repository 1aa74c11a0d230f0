/**
 * SharedArray: Python's `multiprocessing.Array`, a typed array in shared memory, with a
 * Lock of its own for updates that span several elements.
 *
 * Layout: a block of the shared heap (core/memory.ts) of `length` elements of `type`;
 * `.array` is a plain TypedArray view over exactly those elements. Reads and writes through
 * `.array` are ordinary typed-array accesses: use `Atomics` on it (integer types) or hold
 * `.lock` when several threads write. The Lock has its own block and travels with the array.
 * Living in the heap, a SharedArray can travel inside queue items as well as in `args`.
 * (So `.array.buffer` is the whole heap: use `.array`, never a new view over its buffer.)
 *
 * The memory belongs to the `.array` view itself (it returns to the heap once that view is
 * garbage-collected), so `const { array } = new SharedArray(...)` is safe to keep and use.
 *
 * Indexing: `SharedArray.prototype`'s own prototype is a Proxy, so a key that neither the
 * instance nor the class has, which includes every element index, reaches its traps, which
 * send numeric keys to the instance's view: `arr[i]` and `arr[i] = x` behave as on the
 * typed array (an index out of range reads undefined, a write there is ignored), except
 * that a write is checked as `SharedValue.value` is (a uint8 refuses 300 instead of
 * storing 44). The instance itself is an ordinary object, not a Proxy: `.array`, `.lock`,
 * `.length` and the methods are found before the Proxy and cost what they did. (A Proxy
 * returned by the constructor made `arr.array` ~40x slower; V8 sends integer keys on any
 * Proxy through a slow path, ~0.5 µs here, either way.) `for..of`, spread and `length`
 * come from the class.
 */
import { ValueError } from "../core/errors.js";
import { describe } from "../core/timeouts.js";
import { allocateBlock, blockOf, localBlock, ownBlock, type SharedBlock } from "../core/memory.js";
import {
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
  viewOf,
  type ElementInfo,
  type SharedElement,
  type SharedType,
  type SharedTypedArray,
} from "./element-type.js";
import { formatItems, repr } from "../core/repr.js";

/** The most bytes one array may take: a block of the shared heap is at most half of it (core/memory.ts). */
const MAX_BYTES = 256 * 1024 * 1024;


/**
 * True if `key` is a CanonicalNumericIndexString (ECMA-262 7.1.21): a key that a typed
 * array treats as an element index, never as a property, whether or not it is in range
 * ("0", "-1", "1.5", "-0", "NaN", "Infinity"). Keys that cannot be one ("array", "lock",
 * "type", "length", ...) are told apart by their first character, cheaply.
 */
function isNumericKey(key: string): boolean {
  const c = key.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45 /* - */ || c === 73 /* I */ || c === 78 /* N */)) return false;
  return key === "-0" || String(Number(key)) === key;
}

/**
 * A fixed-length typed array in shared memory, usable from every thread; pass it in
 * `args` to share it (the same memory arrives, not a copy).
 *
 * Index it as the typed array it wraps: `arr[i]`, `arr[i] = x`, `for (const x of arr)`,
 * `[...arr]`, `arr.length`. Each write through `arr[i] = x` is checked: an integer type
 * refuses a value it cannot hold exactly (out of range, fractional, NaN) with a
 * `RangeError` naming its range, and a value of the wrong kind (a number for a bigint type,
 * or the reverse) is a `TypeError`. `arr[i]` goes through a Proxy; in a hot loop use
 * `.array` (`const a = arr.array; a[i] = x`), the raw typed array: as fast as any typed
 * array, and as unchecked (300 stored in a uint8 is 44 there), and the one `Atomics` takes.
 */
export class SharedArray<T extends SharedType = SharedType> {
  /** An element, as on the typed array (see the class's doc: checked on write). */
  [index: number]: SharedElement<T>;
  /** The element type. */
  readonly type: T;
  /**
   * The raw TypedArray view over the shared memory: the fast path, for hot loops and for
   * `Atomics`. Writes through it are not checked: an integer out of range wraps there.
   */
  readonly array: SharedTypedArray<T>;
  /** A lock that travels with the array, for updates that span several elements (Python's `get_lock()`). */
  readonly lock: Lock;

  /**
   * @param type the element type, e.g. `"int32"`, `"float64"`, `"bigint64"`.
   * @param lengthOrValues the number of elements (all 0), or the values to copy in
   *   (an array or any iterable; numbers, or bigints for the bigint types).
   */
  constructor(type: T, lengthOrValues: number | Iterable<SharedElement<T>>) {
    const arrived = takeArriving();
    const method = "new SharedArray(type, lengthOrValues)";
    checkType(type, method);
    this.type = type;
    const info = elementInfo(type);
    if (arrived !== undefined) {
      // Adopt the travelling reference for the view (see the note at the top of this file).
      const block = localBlock(arrived.block as SharedBlock);
      this.array = viewOf(type, block.buffer, block.byteOffset, arrived.length as number);
      ownBlock(this.array, block);
      this.lock = reviveShareable(arrived.lock as SharedDescriptor) as Lock;
      views.set(this, { array: this.array as unknown as Record<string, unknown>, info });
      return;
    }
    let values: readonly unknown[] | undefined;
    let length: number;
    if (typeof lengthOrValues === "number") {
      if (!Number.isInteger(lengthOrValues) || lengthOrValues < 0) {
        throw new ValueError(`${method}: a length must be a non-negative integer, got ${describe(lengthOrValues)}`);
      }
      length = lengthOrValues;
    } else if (
      lengthOrValues !== null &&
      typeof lengthOrValues === "object" &&
      typeof (lengthOrValues as Partial<Iterable<unknown>>)[Symbol.iterator] === "function"
    ) {
      values = Array.from(lengthOrValues as Iterable<unknown>);
      values.forEach((value, i) => {
        if (!fitsElement(info, value)) throw elementError(info, value, `new SharedArray("${type}", lengthOrValues): lengthOrValues[${i}]`);
      });
      length = values.length;
    } else {
      throw new TypeError(`${method}: lengthOrValues must be a length or an iterable of values, got ${describe(lengthOrValues)}`);
    }
    if (length * bytesOf(type) > MAX_BYTES) {
      throw new ValueError(`${method}: ${length} elements of "${type}" exceed the ${MAX_BYTES / 2 ** 20} MiB a shared array may take`);
    }
    const block = allocateBlock(length * bytesOf(type), values === undefined);
    this.array = viewOf(type, block.buffer, block.byteOffset, length);
    ownBlock(this.array, block);
    if (values !== undefined) (this.array as { set(values: ArrayLike<unknown>): void }).set(values);
    this.lock = new Lock();
    views.set(this, { array: this.array as unknown as Record<string, unknown>, info });
  }

  /** The number of elements. */
  get length(): number {
    return this.array.length;
  }

  /** The elements in order, as the typed array's `values()`: `for..of` and spread. */
  [Symbol.iterator](): IterableIterator<SharedElement<T>> {
    return this.array.values() as IterableIterator<SharedElement<T>>;
  }

  /** @internal `util.inspect(array)`: `<SharedArray int32(3) [1, 2, 3]>`, the first 10 elements at most. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return repr("SharedArray", `${this.type}(${this.array.length})`, formatItems(this.array));
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return describeBlock("SharedArray", blockOf(this.array), {
      type: this.type,
      length: this.array.length,
      lock: this.lock[toDescriptor](),
    });
  }
}

/** Each SharedArray's view and element checks, for the index traps (whose receiver may be any object). */
const views = new WeakMap<object, { readonly array: Record<string, unknown>; readonly info: ElementInfo }>();

const indexTraps: ProxyHandler<object> = {
  get(target, key, receiver) {
    if (typeof key === "string" && isNumericKey(key)) return views.get(receiver as object)?.array[key];
    return Reflect.get(target, key, receiver);
  },
  set(target, key, value, receiver) {
    if (typeof key === "string" && isNumericKey(key)) {
      const view = views.get(receiver as object);
      if (view !== undefined) {
        if (!fitsElement(view.info, value)) throw elementError(view.info, value, `SharedArray("${view.info.type}")[${key}]`);
        // A typed array ignores a write to an index it does not have (and reports success).
        view.array[key] = value;
        return true;
      }
    }
    return Reflect.set(target, key, value, receiver);
  },
};

// Instance -> SharedArray.prototype -> the index Proxy -> (its target) -> Object.prototype.
Object.setPrototypeOf(SharedArray.prototype, new Proxy(Object.create(Object.prototype) as object, indexTraps));

registerShareable("SharedArray", (descriptor) => new SharedArray(descriptor.type as SharedType, 0));
