/**
 * The wire between a process that uses a process-shared object and the process that owns
 * it: length-prefixed frames (a u32 little-endian byte count, then `v8.serialize` of the
 * message) over FIFOs (named pipes).
 *
 * Why FIFOs rather than a socket: a `*Sync` call must block its thread until the owner
 * answers, and Node can block a thread only on a file descriptor it reads with
 * `fs.readSync`. A FIFO opened without O_NONBLOCK is such a descriptor, so a blocking call
 * is one write and one read, two kernel wake-ups, as Python's `Pipe`; a courier thread
 * relaying through shared memory would add two more. The owner's side reads and writes the
 * same FIFOs through libuv (`net.Socket` over the descriptor), never blocking.
 */
import { deserialize, serialize } from "node:v8";

/** How a request wants its answer. */
export const enum Route {
  /** Nobody waits: pipelined (a release, a set); a failure comes back as a warning frame. */
  None = 0,
  /** The caller blocks on the sync reply FIFO. */
  Sync = 1,
  /** The caller's event loop reads the async reply FIFO. */
  Async = 2,
}

/** A call: `[callId, handle, method, args, route, id?]`; `id` (the object's id) only with a handle's first use. */
export type Request = [call: number, handle: number, method: string, args: unknown[], route: Route, id?: string];

/** The outcome of a call. */
export const enum Status {
  Ok = 0,
  Failed = 1,
  /** Ok, and the value is a lease of queue items `[firstDeliveryId, ...items]`: the caller acknowledges each ({@link scratchAck}). */
  OkAck = 2,
}

/** An answer: `[callId, status, value]`; call 0 carries the failure of a pipelined request. */
export type Reply = [call: number, status: Status, value: unknown];

/** A control method (not a method of the shared object): the client gave up waiting for call `handle`. */
export const CANCEL = "#cancel";

/** A control method: answered at once, it tells the client that everything it wrote before has run. */
export const CONFIRM = "#confirm";

/**
 * Frames that skip the serializer, which costs more than the FIFO write itself on a slow
 * box (17–25 µs a `v8.serialize` of a call, against 6 µs a write: BENCHMARKS.md). A frame
 * whose length field is one of these markers is read by its own rule:
 *
 *   ACK    marker, delivery id                      (8 bytes; read back as the id, a number;
 *          on the ack FIFO, or on the request FIFO when that one is full)
 *   CALL   marker, size, call, handle, method code u8, route u8, argc u8, 0 u8, args
 *          (a call of a METHODS method whose arguments are all primitives)
 *   REPLY  marker, size, call, status u8, 0 u8 ×3, value
 *          (an answer whose value is a primitive)
 *
 * `size` counts the bytes after it. A primitive is a tag byte, then a float64 (number) or
 * a u32 byte count and UTF-8 (string). Everything else (objects, bigints, shared-object
 * descriptors, leases, a frame larger than {@link SCRATCH}) goes through `v8.serialize`. An acknowledgement is a consumer's
 * most frequent frame; a lock loop's and a producer's are CALL frames, their answers REPLY.
 */
const ACK_FRAME = 0xffffffff;
const CALL_FRAME = 0xfffffffe;
const REPLY_FRAME = 0xfffffffd;

const METHODS = [
  CANCEL, CONFIRM, "acquire", "release", "locked", "set", "clear", "isSet", "wait", "notify", "notifyAll",
  "taskDone", "qsize", "empty", "full", "isShutdown", "join", "nWaiting", "broken", "reset", "abort",
  "put", "putNowait", "get", "getNowait", "load", "store", "add", "sub", "compareExchange", "at", "setAt",
] as const;
const METHOD_CODES = new Map<string, number>(METHODS.map((name, code) => [name, code]));

const enum Tag {
  Undefined = 0,
  Null = 1,
  True = 2,
  False = 3,
  Number = 4,
  String = 5,
}

/** The bytes `value` takes as a primitive, or -1 if it is none that a frame carries. */
function primitiveSize(value: unknown): number {
  switch (typeof value) {
    case "undefined":
    case "boolean":
      return 1;
    case "number":
      return 9;
    case "string":
      return value.length > 0xffff ? -1 : 5 + Buffer.byteLength(value);
    default:
      return value === null ? 1 : -1;
  }
}

/**
 * This thread's buffer for the frame being made. A frame that goes out at once with
 * `writeSync` (a call, an acknowledgement) is made here and written from here, with no
 * allocation; one that waits (in an outbox, a stream) is copied out. Its numbers are set
 * through a DataView, whose setters are builtins, where Buffer's are JavaScript that a
 * fresh process runs unoptimized for its first thousands of calls (BENCHMARKS.md).
 */
export const SCRATCH = Buffer.allocUnsafeSlow(16 * 1024);
const VIEW = new DataView(SCRATCH.buffer, SCRATCH.byteOffset, SCRATCH.length);

function writePrimitive(at: number, value: unknown): number {
  if (value === undefined) VIEW.setUint8(at, Tag.Undefined);
  else if (value === null) VIEW.setUint8(at, Tag.Null);
  else if (value === true) VIEW.setUint8(at, Tag.True);
  else if (value === false) VIEW.setUint8(at, Tag.False);
  else if (typeof value === "number") {
    VIEW.setUint8(at, Tag.Number);
    VIEW.setFloat64(at + 1, value, true);
    return at + 9;
  } else {
    VIEW.setUint8(at, Tag.String);
    const length = SCRATCH.write(value as string, at + 5, "utf8");
    VIEW.setUint32(at + 1, length, true);
    return at + 5 + length;
  }
  return at + 1;
}

/** Where the primitive {@link readPrimitive} read last ends (a variable, not a pair per value). */
let primitiveEnd = 0;

function readPrimitive(data: Buffer, at: number): unknown {
  switch (data[at] as Tag) {
    case Tag.Undefined:
      primitiveEnd = at + 1;
      return undefined;
    case Tag.Null:
      primitiveEnd = at + 1;
      return null;
    case Tag.True:
      primitiveEnd = at + 1;
      return true;
    case Tag.False:
      primitiveEnd = at + 1;
      return false;
    case Tag.Number:
      primitiveEnd = at + 9;
      return data.readDoubleLE(at + 1);
    case Tag.String: {
      const length = data.readUInt32LE(at + 1);
      primitiveEnd = at + 5 + length;
      return data.toString("utf8", at + 5, primitiveEnd);
    }
    default:
      throw new Error(`weft: a malformed frame from another process (value tag ${data[at]})`);
  }
}

/** Makes the acknowledgement of delivery `id` in {@link SCRATCH}; its length. */
export function scratchAck(id: number): number {
  VIEW.setUint32(0, ACK_FRAME, true);
  VIEW.setUint32(4, id >>> 0, true);
  return 8;
}

/**
 * Makes the CALL frame of a call in {@link SCRATCH}: its length, or -1 where the call
 * cannot be one (a method outside METHODS, an argument that is no primitive, more than
 * the buffer holds), which then goes as {@link frame}.
 */
export function scratchCall(call: number, handle: number, method: string, args: unknown[], route: Route): number {
  const code = METHOD_CODES.get(method);
  if (code === undefined || !fitsU32(call) || !fitsU32(handle) || args.length > 0xff) return -1;
  let size = 12;
  for (let i = 0; i < args.length; i++) {
    const bytes = primitiveSize(args[i]);
    if (bytes < 0) return -1;
    size += bytes;
  }
  if (8 + size > SCRATCH.length) return -1;
  VIEW.setUint32(0, CALL_FRAME, true);
  VIEW.setUint32(4, size, true);
  VIEW.setUint32(8, call, true);
  VIEW.setUint32(12, handle, true);
  VIEW.setUint8(16, code);
  VIEW.setUint8(17, route);
  VIEW.setUint8(18, args.length);
  VIEW.setUint8(19, 0);
  let at = 20;
  for (let i = 0; i < args.length; i++) at = writePrimitive(at, args[i]);
  return at;
}

/** A frame for a call, of its own: a CALL frame where it can be one. */
export function requestFrame(request: Request): Buffer {
  const [call, handle, method, args, route, id] = request;
  const length = id === undefined ? scratchCall(call, handle, method, args, route) : -1;
  return length < 0 ? frame(request) : Buffer.copyBytesFrom(SCRATCH, 0, length);
}

/** A frame for an answer, of its own: a REPLY frame where it can be one. */
export function replyFrame(reply: Reply): Buffer {
  const [call, status, value] = reply;
  const bytes = status === Status.OkAck || !fitsU32(call) ? -1 : primitiveSize(value);
  if (bytes < 0 || 16 + bytes > SCRATCH.length) return frame(reply);
  VIEW.setUint32(0, REPLY_FRAME, true);
  VIEW.setUint32(4, 8 + bytes, true);
  VIEW.setUint32(8, call, true);
  VIEW.setUint32(12, status, true);
  return Buffer.copyBytesFrom(SCRATCH, 0, writePrimitive(16, value));
}

function fitsU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function readCall(data: Buffer, at: number): Request {
  const argc = data.readUInt8(at + 18);
  const args: unknown[] = [];
  for (let i = 0, next = at + 20; i < argc; i++) {
    args.push(readPrimitive(data, next));
    next = primitiveEnd;
  }
  return [data.readUInt32LE(at + 8), data.readUInt32LE(at + 12), METHODS[data.readUInt8(at + 16)], args, data.readUInt8(at + 17) as Route];
}

function readReply(data: Buffer, at: number): Reply {
  return [data.readUInt32LE(at + 8), data.readUInt32LE(at + 12) as Status, readPrimitive(data, at + 16)];
}

/** A frame for `message`: its length, then its bytes. */
export function frame(message: unknown): Buffer {
  const body = serialize(message);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  return out;
}

const NOTHING: unique symbol = Symbol("weft.noFrame");

/** The size of the frame {@link parse} read last (a variable, not a result object: a consumer's loop parses a frame per item). */
let parsedSize = 0;

/**
 * The message of the frame at `data[at]` (its size in {@link parsedSize}), or NOTHING if
 * the frame is not complete yet.
 */
function parse(data: Buffer, at: number): unknown {
  const left = data.length - at;
  if (left < 4) return NOTHING;
  const length = data.readUInt32LE(at);
  if (length === ACK_FRAME) {
    if (left < 8) return NOTHING;
    parsedSize = 8;
    return data.readUInt32LE(at + 4);
  }
  if (length === CALL_FRAME || length === REPLY_FRAME) {
    if (left < 8) return NOTHING;
    const size = 8 + data.readUInt32LE(at + 4);
    if (left < size) return NOTHING;
    parsedSize = size;
    return length === CALL_FRAME ? readCall(data, at) : readReply(data, at);
  }
  if (left < 4 + length) return NOTHING;
  parsedSize = 4 + length;
  return deserialize(data.subarray(at + 4, at + 4 + length));
}

const EMPTY = Buffer.alloc(0);

/** Collects frames from chunks as they arrive (an acknowledgement frame comes out as its delivery id, a number). */
export class FrameReader {
  #pending: Buffer = EMPTY;

  /** Adds a chunk without decoding (see {@link next}); the chunk is copied if a frame stays incomplete. */
  add(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
  }

  /** The next complete message, or `undefined`. */
  next(): unknown {
    const message = parse(this.#pending, 0);
    if (message === NOTHING) return undefined;
    this.#pending = this.#pending.subarray(parsedSize);
    return message;
  }

  /** Adds a chunk; returns the messages it completes, in order. */
  push(chunk: Buffer): unknown[] {
    const data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: unknown[] = [];
    let at = 0;
    for (let message = parse(data, at); message !== NOTHING; message = parse(data, at)) {
      out.push(message);
      at += parsedSize;
    }
    this.#pending = at === data.length ? EMPTY : Buffer.from(data.subarray(at));
    return out;
  }
}
