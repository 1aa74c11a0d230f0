/**
 * The byte encoding of queue items. Items travel through a shared ring as bytes, so this
 * is weft's own serializer, built for the common case: numbers, strings, booleans, null,
 * bigints of up to 64 bits, and plain objects and arrays of those are written directly (a
 * few bytes each, no `v8.serialize`, which costs ~4 µs per small object here: a queue put
 * and get of a bigint took 3.4 µs through it, 0.16 µs written directly). Anything else
 * (Map, Date, typed arrays, larger bigints, cycles, deep nesting) falls back to
 * `v8.serialize` for the whole item. Shared objects travel as their descriptors, with heap blocks as offsets: every
 * weft thread maps the same heap (core/memory.ts), so an offset is all it takes.
 *
 * Format: a tag byte, then the payload (little-endian):
 *   UNDEFINED NULL FALSE TRUE   -
 *   INT32                       i32
 *   FLOAT64                     f64
 *   BIGINT64                    i64 (a bigint that fits in 64 bits, signed)
 *   ASCII / UTF8                u32 byte length, bytes
 *   ARRAY                       u32 count, items
 *   INT32S / FLOAT64S           u32 count, count × i32 / f64: an array of numbers only, all int32
 *                               or not (map's chunks and their results: no tag per item)
 *   OBJECT                      u32 count, (key as ASCII/UTF8 without tag... tagged string, value)*
 *   SHARED                      a tagged value: the descriptor, blocks flattened
 *   V8                          u32 length, v8.serialize bytes (whole item only)
 */
import { deserialize, serialize } from "node:v8";
import { heapBuffer, localBlock, type SharedBlock } from "../core/memory.js";
import { checkSendable, restoreShared, swapShared } from "../transport/encode.js";
import { isShareable, reviveShareable, toDescriptor, type SharedDescriptor } from "../core/shareable.js";

const UNDEFINED = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
const INT32 = 4;
const FLOAT64 = 5;
const ASCII = 6;
const UTF8 = 7;
const ARRAY = 8;
const OBJECT = 9;
const SHARED = 10;
const V8 = 11;
const BIGINT64 = 12;
const INT32S = 13;
const FLOAT64S = 14;

const MAX_DEPTH = 32;
/** Strings up to this length are written and read character by character (cheaper than a native call). */
const SHORT_STRING = 32;
const BLOCK_MARK = "__weft_block__";

/** Thrown inside the fast encoder when the item needs the general serializer. */
const FALL_BACK = new Error("fall back to v8.serialize");

/** Encodes items into a reusable local buffer. One per thread is enough. */
export class ItemWriter {
  bytes: Buffer = Buffer.allocUnsafe(1024);
  #view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  length = 0;

  /** Encodes `item`; the bytes are `this.bytes[0 .. this.length)`. */
  encode(item: unknown): void {
    this.length = 0;
    try {
      this.#value(item, 0);
    } catch (error) {
      if (error !== FALL_BACK) throw error;
      this.length = 0;
      this.#general(item);
    }
  }

  #reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
    this.#view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }

  #tag(tag: number): void {
    this.#reserve(1);
    this.bytes[this.length++] = tag;
  }

  #u32(value: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.length, value, true);
    this.length += 4;
  }

  #value(value: unknown, depth: number): void {
    switch (typeof value) {
      case "number":
        if ((value | 0) === value && !Object.is(value, -0)) {
          this.#reserve(5);
          this.bytes[this.length] = INT32;
          this.#view.setInt32(this.length + 1, value, true);
          this.length += 5;
        } else {
          this.#reserve(9);
          this.bytes[this.length] = FLOAT64;
          this.#view.setFloat64(this.length + 1, value, true);
          this.length += 9;
        }
        return;
      case "string":
        this.#string(value);
        return;
      case "boolean":
        this.#tag(value ? TRUE : FALSE);
        return;
      case "bigint":
        if (BigInt.asIntN(64, value) !== value) throw FALL_BACK;
        this.#reserve(9);
        this.bytes[this.length] = BIGINT64;
        this.#view.setBigInt64(this.length + 1, value, true);
        this.length += 9;
        return;
      case "undefined":
        this.#tag(UNDEFINED);
        return;
      case "object":
        if (value === null) return this.#tag(NULL);
        if (depth >= MAX_DEPTH) throw FALL_BACK;
        if (Array.isArray(value)) return this.#array(value, depth);
        if (isShareable(value)) {
          this.#tag(SHARED);
          this.#value(flattenBlocks(value[toDescriptor]()), depth + 1);
          return;
        }
        {
          const prototype = Object.getPrototypeOf(value);
          if (prototype === Object.prototype || prototype === null) return this.#object(value as Record<string, unknown>, depth);
        }
        throw FALL_BACK;
      default:
        throw FALL_BACK;
    }
  }

  #string(value: string): void {
    const length = value.length;
    if (length <= SHORT_STRING) {
      // Short strings: write the characters while checking they are ASCII.
      this.#reserve(5 + length);
      const bytes = this.bytes;
      const at = this.length + 5;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code > 0x7f) break;
        bytes[at + i] = code;
      }
      if (i === length) {
        bytes[this.length] = ASCII;
        this.#view.setUint32(this.length + 1, length, true);
        this.length = at + length;
        return;
      }
    }
    // UTF-8 cannot carry a lone surrogate (it would arrive as U+FFFD): such strings take
    // the general path, which keeps them exact, as structured clone does.
    if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) throw FALL_BACK;
    const byteLength = Buffer.byteLength(value, "utf8");
    this.#reserve(5 + byteLength);
    this.bytes[this.length] = UTF8;
    this.#view.setUint32(this.length + 1, byteLength, true);
    this.bytes.write(value, this.length + 5, byteLength, "utf8");
    this.length += 5 + byteLength;
  }

  #array(value: unknown[], depth: number): void {
    const numbers = numericKind(value);
    if (numbers !== ARRAY) return this.#numbers(value as number[], numbers);
    this.#tag(ARRAY);
    this.#u32(value.length);
    for (let i = 0; i < value.length; i++) this.#value(value[i], depth + 1);
  }

  /** An array of numbers only, as INT32S or FLOAT64S: one reserve, no tag or dispatch per item. */
  #numbers(value: number[], kind: typeof INT32S | typeof FLOAT64S): void {
    const count = value.length;
    this.#reserve(5 + count * (kind === INT32S ? 4 : 8));
    const view = this.#view;
    let at = this.length;
    this.bytes[at] = kind;
    view.setUint32(at + 1, count, true);
    at += 5;
    if (kind === INT32S) {
      for (let i = 0; i < count; i++, at += 4) view.setInt32(at, value[i], true);
    } else {
      for (let i = 0; i < count; i++, at += 8) view.setFloat64(at, value[i], true);
    }
    this.length = at;
  }

  #object(value: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(value);
    this.#tag(OBJECT);
    this.#u32(keys.length);
    for (const key of keys) {
      this.#string(key);
      this.#value(value[key], depth + 1);
    }
  }

  /** The general path: check sendability (naming the path), flatten shared objects, v8.serialize. */
  #general(item: unknown): void {
    const hasShared = checkSendable(item, "item");
    let bytes: Buffer;
    try {
      bytes = serialize(hasShared ? swapShared(item, (shared) => flattenBlocks(shared[toDescriptor]())) : item);
    } catch (error) {
      throw new TypeError(`item: cannot be sent to another thread (${(error as Error).message})`);
    }
    this.#tag(V8);
    this.#u32(hasShared ? bytes.length | 0x80000000 : bytes.length);
    this.#reserve(bytes.length);
    bytes.copy(this.bytes, this.length);
    this.length += bytes.length;
  }
}

/**
 * INT32S if every item of `value` is an int32 (not -0), FLOAT64S if every item is a number
 * and some is not, ARRAY otherwise (and for arrays too short to gain: a tag per item is cheap there).
 */
function numericKind(value: unknown[]): typeof ARRAY | typeof INT32S | typeof FLOAT64S {
  const count = value.length;
  if (count < 4) return ARRAY;
  let kind: typeof INT32S | typeof FLOAT64S = INT32S;
  for (let i = 0; i < count; i++) {
    const item = value[i];
    if (typeof item !== "number") return ARRAY;
    if (kind === INT32S && ((item | 0) !== item || (item === 0 && 1 / item < 0))) kind = FLOAT64S;
  }
  return kind;
}

/**
 * Decodes one item from `bytes[start ..]`. Shared objects inside are revived, taking over
 * the references the encoded item holds, unless `peek` is set (to look at an item that
 * stays in the queue, as a priority comparison does): they then decode as `null`.
 */
export function decodeItem(bytes: Uint8Array, start: number, peek = false): unknown {
  // Decoding never re-enters itself (revivers run no user code), so one reader serves all.
  reader.reset(bytes, start, peek);
  return reader.value();
}

class ItemReader {
  bytes: Uint8Array = new Uint8Array(0);
  at = 0;
  peek = false;
  #view = new DataView(this.bytes.buffer);

  reset(bytes: Uint8Array, at: number, peek: boolean): void {
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.at = at;
    this.peek = peek;
  }

  value(): unknown {
    const bytes = this.bytes;
    const tag = bytes[this.at++];
    switch (tag) {
      case INT32: {
        const value = this.#view.getInt32(this.at, true);
        this.at += 4;
        return value;
      }
      case FLOAT64: {
        const value = this.#view.getFloat64(this.at, true);
        this.at += 8;
        return value;
      }
      case BIGINT64: {
        const value = this.#view.getBigInt64(this.at, true);
        this.at += 8;
        return value;
      }
      case ASCII:
      case UTF8:
        return this.#stringBody(tag);
      case UNDEFINED:
        return undefined;
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case ARRAY: {
        const count = this.#u32();
        const array = new Array<unknown>(count);
        for (let i = 0; i < count; i++) array[i] = this.value();
        return array;
      }
      case INT32S: {
        const count = this.#u32();
        const view = this.#view;
        const array = new Array<number>(count);
        for (let i = 0, at = this.at; i < count; i++, at += 4) array[i] = view.getInt32(at, true);
        this.at += count * 4;
        return array;
      }
      case FLOAT64S: {
        const count = this.#u32();
        const view = this.#view;
        const array = new Array<number>(count);
        for (let i = 0, at = this.at; i < count; i++, at += 8) array[i] = view.getFloat64(at, true);
        this.at += count * 8;
        return array;
      }
      case OBJECT: {
        const count = this.#u32();
        const object: Record<string, unknown> = {};
        for (let i = 0; i < count; i++) {
          const key = this.#stringBody(bytes[this.at++]);
          // An own "__proto__" key is data (as structured clone keeps it), not the prototype.
          if (key === "__proto__") Object.defineProperty(object, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
          else object[key] = this.value();
        }
        return object;
      }
      case SHARED: {
        const flat = this.value();
        return this.peek ? null : reviveShareable(unflattenBlocks(flat) as SharedDescriptor);
      }
      case V8: {
        const header = this.#u32();
        const length = header & 0x7fffffff;
        const value: unknown = deserialize(Buffer.from(bytes.buffer, bytes.byteOffset + this.at, length));
        this.at += length;
        if (!(header & 0x80000000)) return value;
        return restoreShared(value, (flat) => (this.peek ? null : reviveShareable(unflattenBlocks(flat) as SharedDescriptor)));
      }
      default:
        throw new Error(`weft: corrupt queue item (tag ${tag} at byte ${this.at - 1})`);
    }
  }

  #u32(): number {
    const value = this.#view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  #stringBody(tag: number): string {
    const length = this.#u32();
    const start = this.at;
    const bytes = this.bytes;
    this.at += length;
    if (tag === ASCII && length <= SHORT_STRING) {
      let text = "";
      for (let i = start; i < start + length; i++) text += String.fromCharCode(bytes[i]);
      return text;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString(tag === ASCII ? "latin1" : "utf8");
  }
}

const reader = new ItemReader();

/** A descriptor with each heap block replaced by its offset and length (plain numbers); also used for process-shared objects' ids. */
export function flattenBlocks(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if ((value as SharedBlock).buffer instanceof SharedArrayBuffer && "byteOffset" in value) {
    const block = localBlock(value as SharedBlock);
    if (block.buffer !== heapBuffer()) {
      throw new TypeError("item: this shared object does not live in weft's shared heap, so it can only be sent in a thread's args");
    }
    return { [BLOCK_MARK]: [block.byteOffset, block.byteLength] };
  }
  if (value instanceof SharedArrayBuffer || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    // Memory of its own, outside the heap: it cannot ride in a byte stream (and flattening
    // it as a plain object would revive a broken handle).
    throw new TypeError("item: this shared object does not live in weft's shared heap, so it can only be sent in a thread's args");
  }
  if (Array.isArray(value)) return value.map(flattenBlocks);
  const flat: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) flat[key] = flattenBlocks(field);
  return flat;
}

export function unflattenBlocks(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(unflattenBlocks);
  const record = value as Record<string, unknown>;
  const mark = record[BLOCK_MARK] as [number, number] | undefined;
  if (mark !== undefined) return { buffer: heapBuffer(), byteOffset: mark[0], byteLength: mark[1] } satisfies SharedBlock;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) out[key] = unflattenBlocks(field);
  return out;
}
