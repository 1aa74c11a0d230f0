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

/** What the checks need to know of an element type; one frozen record per type, from {@link elementInfo}. */
export interface ElementInfo {
  readonly type: SharedType;
  /** "bigint": bigint64/biguint64; "int": the number integer types; "float": float32/float64. */
  readonly kind: "bigint" | "int" | "float";
  /** The least and greatest value an integer type holds exactly (numbers; ±Infinity for floats). */
  readonly min: number;
  readonly max: number;
  /** The same bounds as bigints, for the bigint types (0n otherwise). */
  readonly bigMin: bigint;
  readonly bigMax: bigint;
  /** True for the unsigned integer types. */
  readonly unsigned: boolean;
}

function info(type: SharedType, kind: ElementInfo["kind"], min: number | bigint, max: number | bigint): ElementInfo {
  const big = typeof min === "bigint";
  return Object.freeze({
    type,
    kind,
    min: big ? -Infinity : (min as number),
    max: big ? Infinity : (max as number),
    bigMin: big ? (min as bigint) : 0n,
    bigMax: big ? (max as bigint) : 0n,
    unsigned: kind !== "float" && (min === 0 || min === 0n),
  });
}

const infos: { readonly [T in SharedType]: ElementInfo } = {
  int8: info("int8", "int", -(2 ** 7), 2 ** 7 - 1),
  int16: info("int16", "int", -(2 ** 15), 2 ** 15 - 1),
  int32: info("int32", "int", -(2 ** 31), 2 ** 31 - 1),
  uint8: info("uint8", "int", 0, 2 ** 8 - 1),
  uint16: info("uint16", "int", 0, 2 ** 16 - 1),
  uint32: info("uint32", "int", 0, 2 ** 32 - 1),
  float32: info("float32", "float", -Infinity, Infinity),
  float64: info("float64", "float", -Infinity, Infinity),
  bigint64: info("bigint64", "bigint", -(2n ** 63n), 2n ** 63n - 1n),
  biguint64: info("biguint64", "bigint", 0n, 2n ** 64n - 1n),
};

/** The checks' record of `type` (keep it: looking it up on every write costs more than the check). */
export function elementInfo(type: SharedType): ElementInfo {
  return infos[type];
}

/**
 * True if `value` can be stored as the element type exactly: a bigint within range for the
 * 64-bit integer types, an integer within range for the other integer types (so not
 * fractional, NaN or infinite), any number for the float types.
 */
export function fitsElement(info: ElementInfo, value: unknown): boolean {
  if (typeof value === "number") {
    // NaN fails both comparisons; `value % 1 === 0` is Number.isInteger for finite values.
    return info.kind === "float" || (value >= info.min && value <= info.max && value % 1 === 0);
  }
  // asIntN/asUintN(64) compile to 64-bit operations; comparing with bigMin/bigMax cost ~15 ns a write.
  return typeof value === "bigint" && info.kind === "bigint" && (info.unsigned ? BigInt.asUintN(64, value) : BigInt.asIntN(64, value)) === value;
}

/**
 * The error for a value that {@link fitsElement} refused, `what` naming where it was
 * written (`SharedValue("int32").value`): a `TypeError` for a value of the wrong kind (a
 * number for a bigint type or the reverse, or neither), else a `ValueError` (a
 * `RangeError`) that names the type's range.
 */
export function elementError(info: ElementInfo, value: unknown, what: string): Error {
  const { type } = info;
  const got = typeof value === "bigint" ? `${value}n (a bigint)` : describe(value);
  if (info.kind === "bigint") {
    if (typeof value !== "bigint") return new TypeError(`${what} must be a bigint for type "${type}", got ${got}`);
  } else if (typeof value !== "number") {
    return new TypeError(`${what} must be a number for type "${type}", got ${got}`);
  }
  const range = info.kind === "bigint" ? `${info.bigMin} to ${info.bigMax}` : `${info.min} to ${info.max}`;
  if (typeof value === "number" && !Number.isInteger(value)) {
    return new ValueError(`${what}: ${describe(value)} is not an integer; ${type} holds the integers from ${range}`);
  }
  return new ValueError(`${what}: ${describe(value)} is out of range for ${type} (${range})`);
}
