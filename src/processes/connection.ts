/**
 * Pipe and Connection: Python's `multiprocessing.Pipe()`, two connected ends that send
 * values (`v8.serialize`d) or raw bytes, in order.
 *
 * Both ends start in this process. An end passed to a Process in `args` moves there: the
 * child gets a live end over its link (link.ts), and the parent routes frames to it by
 * the end's id (from the other end, or from another child when both ends were sent
 * away). When the process holding one end exits, or the end is closed, the other end
 * reads what was already sent and then `EOFError`.
 *
 * Each end belongs to one process and one thread: it is not one of weft's thread-shared
 * objects.
 */
import { Socket } from "node:net";
import { deserialize, serialize } from "node:v8";
import { EOFError, RuntimeError, TimeoutError, ValueError } from "../core/errors.js";
import { assertMayBlock } from "../core/parking.js";
import { deadlineOf, remaining } from "../core/timeouts.js";
import { settleWithin } from "../core/wait.js";
import { isChildProcess } from "../core/identity.js";
import { BYTES, CLOSE, Link, OBJECT } from "./link.js";
import { crossProcessRefusal, registerProcessTransfer, type ChildRef } from "./process-args.js";
import { checkProcessSendable } from "./process-pool-sendable.js";
import { decodeInProcess, encodeForProcess } from "./shared-encode.js";
import { onChildStart } from "./process.js";
import { LINK_FD } from "./spare.js";

interface Frame {
  readonly kind: number;
  readonly body: Buffer;
}

/** How an end arrives in a child. */
interface EndDescriptor {
  readonly id: number;
  readonly peer: number;
  readonly readable: boolean;
  readonly writable: boolean;
}

let nextId = 0;
/** The ends made in this process (also those moved to a child, which are routed through here). */
const ends = new Map<number, Connection>();
/** The ends this process got from its parent, by the parent's ids. */
const received = new Map<number, Connection>();
/** The links to children that hold ends, by child id; and the moves waiting for their child to start. */
const childLinks = new Map<number, Link>();
const pendingMoves = new Map<number, Connection[]>();
let parentLink: Link | undefined;

const CREATE: unique symbol = Symbol("weft.Connection");

/** One end of a {@link Pipe}. */
export class Connection {
  readonly #id: number;
  readonly #peer: number;
  readonly #viaParent: boolean;
  readonly #readable: boolean;
  readonly #writable: boolean;
  readonly #inbox: Frame[] = [];
  readonly #waiters = new Set<() => void>();
  #eof = false;
  #closed = false;
  #movedTo: number | undefined;

  /** @internal Made by {@link Pipe} (or revived in a child), never by hand. */
  constructor(token: typeof CREATE, id: number, peer: number, viaParent: boolean, readable: boolean, writable: boolean) {
    if (token !== CREATE) throw new TypeError("Connection: use Pipe() to make a pair of connections");
    this.#id = id;
    this.#peer = peer;
    this.#viaParent = viaParent;
    this.#readable = readable;
    this.#writable = writable;
  }

  /** True if this end may receive. */
  get readable(): boolean {
    return this.#readable;
  }

  /** True if this end may send. */
  get writable(): boolean {
    return this.#writable;
  }

  /** True once `close()` was called (or the end was sent to another process). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `value` (structured-clone rules, as `v8.serialize`) to the other end. What cannot
   * arrive there working is a `TypeError` naming its path (`obj.reply: ...`), nothing sent:
   * a function, shared memory, or a Connection (an end moves to a process in its `args`
   * only; inside a message it would arrive as an empty object).
   */
  send(value: unknown): void {
    this.#checkWritable("send()");
    checkProcessSendable(value, "obj", messageRefusal);
    let body: Buffer;
    try {
      body = serialize(encodeForProcess(value, "send(value)"));
    } catch (error) {
      if (error instanceof TypeError && error.message.startsWith("send(value)")) throw error;
      throw new TypeError(`send(): the value cannot be sent to another process: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.#deliver(OBJECT, body);
  }

  /** Sends raw bytes (`buffer[offset, offset + size)`), read on the other side with `recvBytes()`. */
  sendBytes(buffer: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): void {
    this.#checkWritable("sendBytes()");
    const bytes = ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength) : buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : undefined;
    if (bytes === undefined) throw new TypeError(`sendBytes(buffer): expected a Buffer, typed array or ArrayBuffer, got ${typeof buffer}`);
    if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) throw new ValueError(`sendBytes(): offset must be an integer in 0..${bytes.length}, got ${offset}`);
    const length = size ?? bytes.length - offset;
    if (!Number.isInteger(length) || length < 0 || offset + length > bytes.length) throw new ValueError(`sendBytes(): size must be an integer in 0..${bytes.length - offset}, got ${size}`);
    this.#deliver(BYTES, Buffer.from(bytes.subarray(offset, offset + length)));
  }

  /** Receives the next value; `EOFError` once the other end is closed and everything sent was read. */
  async recv(options?: { timeout?: number }): Promise<unknown> {
    return decodeFrame(await this.#next("recv()", options?.timeout));
  }

  /** {@link recv}, blocking this thread (not on the main thread: use `recv()`). */
  recvSync(options?: { timeout?: number }): unknown {
    return decodeFrame(this.#nextSync("recvSync()", "connection.recv()", options?.timeout));
  }

  /** Receives the next message as bytes (a value sent with `send()` comes as its serialized bytes). */
  async recvBytes(maxLength?: number): Promise<Buffer> {
    checkMaxLength(maxLength);
    return bytesOf(await this.#next("recvBytes()", undefined), maxLength);
  }

  /** {@link recvBytes}, blocking this thread. */
  recvBytesSync(maxLength?: number): Buffer {
    checkMaxLength(maxLength);
    return bytesOf(this.#nextSync("recvBytesSync()", "connection.recvBytes()", undefined), maxLength);
  }

  /**
   * Whether there is something to receive (or the end of the stream), waiting up to
   * `timeout` ms for it (default 0: look and return).
   */
  async poll(timeout = 0): Promise<boolean> {
    this.#checkReadable("poll()");
    const deadline = deadlineOf(timeout, "poll()");
    if (this.#inbox.length > 0 || this.#eof) return true;
    return settleWithin<boolean>({
      watch: (settle) => this.#watch(() => settle(true)),
      deadline,
      onTimeout: () => this.#inbox.length > 0 || this.#eof,
      keepAlive: true,
    });
  }

  /** {@link poll}, blocking this thread. */
  pollSync(timeout = 0): boolean {
    this.#checkReadable("pollSync()");
    const deadline = deadlineOf(timeout, "pollSync()");
    assertMayBlock("Connection.pollSync()", "connection.poll(timeout)", { timeout });
    this.#pumpUntil(deadline);
    return this.#inbox.length > 0 || this.#eof;
  }

  /** Closes this end; the other end reads what was sent, then `EOFError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#movedTo !== undefined) return; // the end lives on in the child it was sent to
    try {
      this.#deliver(CLOSE);
    } catch {
      // The other end is gone already.
    }
    this.#forget();
  }

  /** @internal A frame for this end. */
  _receive(kind: number, body: Buffer): void {
    if (kind === CLOSE) this.#eof = true;
    else this.#inbox.push({ kind, body: Buffer.from(body) });
    for (const waiter of this.#waiters) waiter();
  }

  /** @internal Where this end now lives (a child), if it was sent there. */
  get _movedTo(): number | undefined {
    return this.#movedTo;
  }

  /** @internal Describes this end for the child it is sent to, and moves it there once the child starts. */
  _describeFor(child: ChildRef, path: string): EndDescriptor {
    if (this.#closed) throw new TypeError(`${path}: this Connection is closed${this.#movedTo !== undefined ? " (it was sent to another process)" : ""}`);
    if (this.#viaParent) throw new TypeError(`${path}: a Connection received from the parent process cannot be passed on to another process`);
    let moves = pendingMoves.get(child.id);
    if (moves === undefined) pendingMoves.set(child.id, (moves = []));
    moves.push(this);
    return { id: this.#id, peer: this.#peer, readable: this.#readable, writable: this.#writable };
  }

  /** @internal The child started: this end lives there now. */
  _moveTo(childId: number): void {
    this.#movedTo = childId;
    this.#closed = true;
  }

  /** @internal The process holding the other end has gone. */
  _peerGone(): void {
    this._receive(CLOSE, Buffer.alloc(0));
  }

  #forget(): void {
    (this.#viaParent ? received : ends).delete(this.#id);
  }

  #deliver(kind: number, body?: Buffer): void {
    const ok = this.#viaParent ? (parentLink?.write(kind, this.#peer, body) ?? false) : route(this.#peer, kind, body);
    if (!ok && kind !== CLOSE) throw new EOFError(`Connection: the other end is closed (or its process has exited)`);
  }

  #watch(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }

  async #next(method: string, timeout: number | undefined): Promise<Frame> {
    this.#checkReadable(method);
    const deadline = deadlineOf(timeout, `Connection.${method}`);
    for (;;) {
      const frame = this.#take();
      if (frame !== undefined) return frame;
      const arrived = await settleWithin<boolean>({
        watch: (settle) => this.#watch(() => settle(true)),
        deadline,
        onTimeout: () => false,
        keepAlive: true,
      });
      if (!arrived && this.#inbox.length === 0 && !this.#eof) throw timedOut(method, timeout);
    }
  }

  #nextSync(method: string, asyncForm: string, timeout: number | undefined): Frame {
    this.#checkReadable(method);
    const deadline = deadlineOf(timeout, `Connection.${method}`);
    assertMayBlock(`Connection.${method}`, asyncForm, { timeout });
    const frame = this.#take() ?? (this.#pumpUntil(deadline), this.#take());
    if (frame === undefined) throw timedOut(method, timeout);
    return frame;
  }

  /** The next frame; `undefined` if none has come; `EOFError` at the end. */
  #take(): Frame | undefined {
    const frame = this.#inbox.shift();
    if (frame !== undefined) return frame;
    if (this.#eof) throw new EOFError("Connection: the other end was closed (or its process exited) and everything it sent has been read");
    return undefined;
  }

  /** Reads the link the other end's frames come on until one is here (or the end), or `deadline`. */
  #pumpUntil(deadline: number): void {
    const link = this.#viaParent ? parentLink : linkOf(this.#peer);
    if (link === undefined) {
      if (this.#inbox.length === 0 && !this.#eof && deadline === Infinity) {
        throw new RuntimeError("Connection: the other end is in this thread, so a blocking receive would wait forever; use `await connection.recv()`");
      }
      return;
    }
    for (let round = 0; this.#inbox.length === 0 && !this.#eof && !link.closed; round++) {
      if (link.pumpSync()) continue;
      if (remaining(deadline) === 0) return;
      Link.idle(round, deadline);
    }
  }

  #checkReadable(method: string): void {
    if (this.#closed) throw new RuntimeError(`Connection.${method}: the connection is closed${this.#movedTo !== undefined ? " here: it was sent to another process" : ""}`);
    if (!this.#readable) throw new RuntimeError(`Connection.${method}: the connection is write-only`);
  }

  #checkWritable(method: string): void {
    if (this.#closed) throw new RuntimeError(`Connection.${method}: the connection is closed${this.#movedTo !== undefined ? " here: it was sent to another process" : ""}`);
    if (!this.#writable) throw new RuntimeError(`Connection.${method}: the connection is read-only`);
  }

  /** @internal `util.inspect(connection)`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    const state = this.#closed ? "closed" : this.#eof ? "eof" : "open";
    return `<Connection ${state}${this.#readable ? " readable" : ""}${this.#writable ? " writable" : ""}>`;
  }
}

/** A receive that timed out (Python's recv has no timeout; weft's raises TimeoutError). */
function timedOut(method: string, timeout: number | undefined): TimeoutError {
  return new TimeoutError(`Connection.${method}: nothing arrived within ${timeout} ms`);
}

/**
 * A pair of connected ends (Python's `multiprocessing.Pipe()`). `duplex` false: the first
 * end only receives and the second only sends.
 */
export function Pipe(duplex = true): [Connection, Connection] {
  if (typeof duplex !== "boolean") throw new TypeError(`Pipe(duplex): expected a boolean, got ${typeof duplex}`);
  const a = ++nextId;
  const b = ++nextId;
  const first = new Connection(CREATE, a, b, false, true, duplex);
  const second = new Connection(CREATE, b, a, false, duplex, true);
  ends.set(a, first);
  ends.set(b, second);
  return [first, second];
}

/** Delivers a frame to the end `dest` made here: to it, or on to the child it moved to. */
function route(dest: number, kind: number, body?: Buffer): boolean {
  const end = ends.get(dest);
  if (end === undefined) return false;
  const child = end._movedTo;
  if (child === undefined) {
    end._receive(kind, body ?? Buffer.alloc(0));
    return true;
  }
  return childLinks.get(child)?.write(kind, dest, body) ?? false;
}

/** The link the frames for the end `peer` made here come on: its child's, if it moved. */
function linkOf(peer: number): Link | undefined {
  const child = ends.get(peer)?._movedTo;
  return child === undefined ? undefined : childLinks.get(child);
}

function decodeFrame(frame: Frame): unknown {
  return frame.kind === OBJECT ? decodeInProcess(deserialize(frame.body)) : frame.body;
}

function checkMaxLength(maxLength: number | undefined): void {
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 0)) {
    throw new ValueError(`recvBytes(maxLength): expected a non-negative integer, got ${maxLength}`);
  }
}

function bytesOf(frame: Frame, maxLength: number | undefined): Buffer {
  if (maxLength !== undefined && frame.body.length > maxLength) {
    throw new ValueError(`recvBytes(): the message is ${frame.body.length} bytes, more than maxLength ${maxLength}`);
  }
  return frame.body;
}

// A child starts: the ends sent to it move there, and its link carries their frames.
onChildStart(({ id, vessel }) => {
  const moves = pendingMoves.get(id);
  if (moves === undefined) return;
  pendingMoves.delete(id);
  for (const end of moves) end._moveTo(id);
  const link = new Link(
    vessel.link,
    (kind, dest, body) => void route(dest, kind, body),
    () => {
      // The child exited: the ends it held are gone, so their peers reach the end of the stream.
      childLinks.delete(id);
      for (const [endId, end] of ends) {
        if (end._movedTo !== id) continue;
        ends.delete(endId);
        route(peerOf(endId), CLOSE);
      }
    },
  );
  childLinks.set(id, link);
});

/** What a message cannot carry: what no process may receive, and a Connection (see `send`). */
function messageRefusal(value: unknown): string | undefined {
  if (value instanceof Connection) {
    return "a Connection cannot travel inside a message (it would arrive as an empty object): pass it to the Process in its args, or send data and make the Pipe there";
  }
  // Shared objects travel: encodeForProcess gives the other side a proxy served from here.
  return crossProcessRefusal(value, true);
}

/** The id of the other end of the end `id` (ends are made in pairs of consecutive ids). */
function peerOf(id: number): number {
  return id % 2 === 1 ? id + 1 : id - 1;
}

registerProcessTransfer<Connection>({
  kind: "connection",
  test: (value): value is Connection => value instanceof Connection,
  describe: (end, child, path) => end._describeFor(child, path),
  revive: (data) => {
    const { id, peer, readable, writable } = data as EndDescriptor;
    const end = new Connection(CREATE, id, peer, true, readable, writable);
    received.set(id, end);
    connectParent();
    return end;
  },
});

/** In a child: opens the link to the parent (fd 4) the first time an end arrives. */
function connectParent(): void {
  if (parentLink !== undefined || !isChildProcess) return;
  parentLink = new Link(
    new Socket({ fd: LINK_FD, readable: true, writable: false }),
    (kind, dest, body) => received.get(dest)?._receive(kind, body),
    () => {
      for (const end of received.values()) end._peerGone();
    },
  );
}
