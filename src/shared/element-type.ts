/**
 * The element types of SharedValue and SharedArray: their names, typed-array classes,
 * and the checks on values written to them.
 */
import { ValueError } from "../core/errors.js";
import { describe } from "../core/timeouts.js";

/** The typed array behind each element type. */
export interface SharedTypedArrays {
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  float32: Float32Array;
  float64: Float64Array;
  bigint64: BigInt64Array;
  biguint64: BigUint64Array;
}

/** The name of an element type: `"int8"` .. `"uint32"`, `"float32"`, `"float64"`, `"bigint64"`, `"biguint64"`. */
export type SharedType = keyof SharedTypedArrays;

/** The JavaScript value of an element type: `bigint` for the 64-bit integer types, `number` otherwise. */
export type SharedElement<T extends SharedType> = T extends "bigint64" | "biguint64" ? bigint : number;

/** The typed array of an element type. */
export type SharedTypedArray<T extends SharedType> = SharedTypedArrays[T];

type TypedArrayClass = {
  new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): SharedTypedArrays[SharedType];
  readonly BYTES_PER_ELEMENT: number;
};

const arrayClasses: { readonly [T in SharedType]: TypedArrayClass } = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  bigint64: BigInt64Array,
  biguint64: BigUint64Array,
};

/** Every element type name, in a stable order (for messages). */
export const sharedTypes: readonly SharedType[] = Object.freeze(Object.keys(arrayClasses) as SharedType[]);

/** Throws a `TypeError` listing the valid names unless `type` is one of them. */
export function checkType(type: unknown, method: string): asserts type is SharedType {
  if (typeof type !== "string" || !Object.hasOwn(arrayClasses, type)) {
    throw new TypeError(`${method}: type must be one of ${sharedTypes.map((t) => `"${t}"`).join(", ")}; got ${describe(type)}`);
  }
}

/** True for the 64-bit integer types, whose values are bigints. */
export function isBigIntType(type: SharedType): boolean {
  return type === "bigint64" || type === "biguint64";
}

/** True for float32 and float64. */
export function isFloatType(type: SharedType): boolean {
  return type === "float32" || type === "float64";
}

/** Bytes per element of `type`. */
export function bytesOf(type: SharedType): number {
  return arrayClasses[type].BYTES_PER_ELEMENT;
}

/** A typed array of `length` elements of `type` over `buffer` from `byteOffset`. */
export function viewOf<T extends SharedType>(type: T, buffer: SharedArrayBuffer, byteOffset: number, length: number): SharedTypedArray<T> {
  return new arrayClasses[type](buffer, byteOffset, length) as SharedTypedArray<T>;
}

/**
 * Checks a value about to be stored as `type`: a bigint for the 64-bit integer types, a
 * number otherwise (`TypeError`), and an integer for the integer types (`ValueError`).
 * Integers outside the type's range wrap, as in a typed array.
 */
export function checkElement(type: SharedType, value: unknown, what: string): void {
  if (isBigIntType(type)) {
    if (typeof value !== "bigint") throw new TypeError(`${what} must be a bigint for type "${type}", got ${describe(value)}`);
    return;
  }
  if (typeof value !== "number") throw new TypeError(`${what} must be a number for type "${type}", got ${describe(value)}`);
  if (!isFloatType(type) && !Number.isInteger(value)) {
    throw new ValueError(`${what} must be an integer for type "${type}", got ${describe(value)}`);
  }
}
