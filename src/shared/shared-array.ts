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
 */
import { ValueError } from "../core/errors.js";
import { describe } from "../core/timeouts.js";
import { allocateBlock, blockOf, localBlock, ownBlock, type SharedBlock } from "../core/memory.js";
import {
  describeBlock,
  registerShareable,
  reviveShareable,
  toDescriptor,
  type SharedDescriptor,
} from "../transport/shareable.js";
import { Lock } from "../sync/lock.js";
import { bytesOf, checkElement, checkType, viewOf, type SharedElement, type SharedType, type SharedTypedArray } from "./element-type.js";
import { formatItems, repr } from "../core/repr.js";

/** The most bytes one array may take: a block of the shared heap is at most half of it (core/memory.ts). */
const MAX_BYTES = 256 * 1024 * 1024;

/**
 * A fixed-length typed array in shared memory, usable from every thread; pass it in
 * `args` to share it (the same memory arrives, not a copy).
 */
export class SharedArray<T extends SharedType = SharedType> {
  /** The element type. */
  readonly type: T;
  /** The TypedArray view over the shared memory. */
  readonly array: SharedTypedArray<T>;
  /** A lock that travels with the array, for updates that span several elements (Python's `get_lock()`). */
  readonly lock: Lock;

  /**
   * @param type the element type, e.g. `"int32"`, `"float64"`, `"bigint64"`.
   * @param lengthOrValues the number of elements (all 0), or the values to copy in
   *   (an array or any iterable; numbers, or bigints for the bigint types).
   */
  constructor(
    type: T,
    lengthOrValues: number | Iterable<SharedElement<T>>,
    /** @internal */ arrived?: SharedDescriptor,
  ) {
    const method = "new SharedArray(type, lengthOrValues)";
    checkType(type, method);
    this.type = type;
    if (arrived !== undefined) {
      // Adopt the travelling reference for the view (see the note at the top of this file).
      const block = localBlock(arrived.block as SharedBlock);
      this.array = viewOf(type, block.buffer, block.byteOffset, arrived.length as number);
      ownBlock(this.array, block);
      this.lock = reviveShareable(arrived.lock as SharedDescriptor) as Lock;
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
      values.forEach((value, i) => checkElement(type, value, `${method}: lengthOrValues[${i}]`));
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
  }

  /** The number of elements. */
  get length(): number {
    return this.array.length;
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

registerShareable("SharedArray", (descriptor) => new SharedArray(descriptor.type as SharedType, 0, descriptor));
