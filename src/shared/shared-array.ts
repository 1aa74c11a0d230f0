/**
 * SharedArray: Python's `multiprocessing.Array`, a typed array in shared memory, with a
 * Lock of its own for updates that span several elements.
 *
 * Layout: one SharedArrayBuffer of `length` elements of `type`; `.array` is a plain
 * TypedArray view over it. Reads and writes through `.array` are ordinary typed-array
 * accesses: use `Atomics` on it (integer types) or hold `.lock` when several threads write.
 * The Lock has its own cells and travels with the array.
 */
import { ValueError } from "../core/errors.js";
import { describe } from "../core/timeouts.js";
import { registerShareable, reviveShareable, toDescriptor, type SharedDescriptor } from "../transport/shareable.js";
import { Lock } from "../sync/lock.js";
import { bytesOf, checkElement, checkType, viewOf, type SharedElement, type SharedType, type SharedTypedArray } from "./element-type.js";

/** The largest length accepted (elements); Node's SharedArrayBuffer limit is far above any sane use. */
const MAX_LENGTH = 2 ** 32;

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
    /** @internal */ shared?: { buffer: SharedArrayBuffer; lock: Lock },
  ) {
    const method = "new SharedArray(type, lengthOrValues)";
    checkType(type, method);
    this.type = type;
    if (shared !== undefined) {
      this.array = viewOf(type, shared.buffer);
      this.lock = shared.lock;
      return;
    }
    let values: readonly unknown[] | undefined;
    let length: number;
    if (typeof lengthOrValues === "number") {
      if (!Number.isInteger(lengthOrValues) || lengthOrValues < 0 || lengthOrValues > MAX_LENGTH) {
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
    this.array = viewOf(type, new SharedArrayBuffer(length * bytesOf(type)));
    if (values !== undefined) (this.array as { set(values: ArrayLike<unknown>): void }).set(values);
    this.lock = new Lock();
  }

  /** The number of elements. */
  get length(): number {
    return this.array.length;
  }

  /** @internal */
  [toDescriptor](): SharedDescriptor {
    return { kind: "SharedArray", type: this.type, buffer: this.array.buffer, lock: this.lock[toDescriptor]() };
  }
}

registerShareable(
  "SharedArray",
  (descriptor) =>
    new SharedArray(descriptor.type as SharedType, 0, {
      buffer: descriptor.buffer as SharedArrayBuffer,
      lock: reviveShareable(descriptor.lock as SharedDescriptor) as Lock,
    }),
);
