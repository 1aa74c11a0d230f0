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
  /** Ok, and the value is a lease of queue items `[firstDeliveryId, ...items]`: the caller acknowledges each ({@link ackFrame}). */
  OkAck = 2,
}

/** An answer: `[callId, status, value]`; call 0 carries the failure of a pipelined request. */
export type Reply = [call: number, status: Status, value: unknown];

/** A control method (not a method of the shared object): the client gave up waiting for call `handle`. */
export const CANCEL = "#cancel";

/**
 * An acknowledgement of queue delivery `id` (the most frequent frame of a consumer):
 * eight bytes, a length of ACK_FRAME then the id, read back as the number itself, with
 * no serializer on either side.
 */
const ACK_FRAME = 0xffffffff;

export function ackFrame(id: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(ACK_FRAME, 0);
  out.writeUInt32LE(id >>> 0, 4);
  return out;
}

/** A frame for `message`: its length, then its bytes. */
export function frame(message: unknown): Buffer {
  const body = serialize(message);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Collects frames from chunks as they arrive (an acknowledgement frame comes out as its delivery id, a number). */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /** Adds a chunk without decoding (see {@link next}); the chunk is copied if a frame stays incomplete. */
  add(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
  }

  /** The next complete message, or `undefined`. */
  next(): unknown {
    const data = this.#pending;
    if (data.length < 4) return undefined;
    const length = data.readUInt32LE(0);
    if (length === ACK_FRAME) {
      if (data.length < 8) return undefined;
      this.#pending = data.subarray(8);
      return data.readUInt32LE(4);
    }
    if (data.length < 4 + length) return undefined;
    const message = deserialize(data.subarray(4, 4 + length));
    this.#pending = data.subarray(4 + length);
    return message;
  }

  /** Adds a chunk; returns the messages it completes, in order. */
  push(chunk: Buffer): unknown[] {
    let data = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: unknown[] = [];
    while (data.length >= 4) {
      const length = data.readUInt32LE(0);
      if (length === ACK_FRAME) {
        if (data.length < 8) break;
        out.push(data.readUInt32LE(4));
        data = data.subarray(8);
        continue;
      }
      if (data.length < 4 + length) break;
      out.push(deserialize(data.subarray(4, 4 + length)));
      data = data.subarray(4 + length);
    }
    this.#pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    return out;
  }
}
