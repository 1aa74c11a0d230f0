/**
 * The wire of a Pipe between two processes: a Unix socket pair made when the child is
 * forked (its fd 4, spare.ts), carrying frames `[u32 length][u8 kind][u32 dest][body]`.
 * `dest` names the end a frame is for, so every Connection between a parent and one
 * child shares that child's link.
 *
 * Writes are synchronous (`writeSync`, retried while the socket is full), so a frame is
 * on its way before the writer might block in `recvSync()`. Reads come two ways into one
 * parser: the socket's 'data' events while the event loop runs, and `pumpSync()`, a
 * non-blocking `readSync` for a thread that blocks in `recvSync()` (the event loop that
 * would deliver 'data' is the one blocked).
 */
import { readSync, writeSync } from "node:fs";
import { Socket } from "node:net";

/** What a frame carries: a `v8.serialize`d value, raw bytes, or the end of the sender's side. */
export const OBJECT = 0;
export const BYTES = 1;
export const CLOSE = 2;

const HEADER = 9;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** One end of a socket pair between this process and another, carrying frames. */
export class Link {
  readonly #socket: Socket;
  readonly #fd: number;
  readonly #onFrame: (kind: number, dest: number, body: Buffer) => void;
  readonly #onClose: () => void;
  #buffered: Buffer = Buffer.alloc(0);
  #closed = false;
  #peerGone = false;
  readonly #scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(socket: Socket, onFrame: (kind: number, dest: number, body: Buffer) => void, onClose: () => void) {
    this.#socket = socket;
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== "number" || fd < 0) throw new Error("weft: internal error: a pipe's socket has no file descriptor");
    this.#fd = fd;
    this.#onFrame = onFrame;
    this.#onClose = onClose;
    socket.on("data", (chunk: Buffer) => this.#feed(chunk));
    socket.on("end", () => this.#close());
    socket.on("close", () => this.#close());
    socket.on("error", () => this.#close());
    socket.unref();
  }

  /** True once the other process closed its side (it exited). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one frame; false if the other process is gone. */
  write(kind: number, dest: number, body?: Uint8Array): boolean {
    if (this.#closed || this.#peerGone) return false;
    const length = body === undefined ? 0 : body.length;
    const frame = Buffer.allocUnsafe(HEADER + length);
    frame.writeUInt32LE(length + 5, 0);
    frame[4] = kind;
    frame.writeUInt32LE(dest, 5);
    if (body !== undefined) frame.set(body, HEADER);
    let offset = 0;
    while (offset < frame.length) {
      try {
        offset += writeSync(this.#fd, frame, offset, frame.length - offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          Atomics.wait(pause, 0, 0, 0.2); // the socket is full: let the reader catch up
          continue;
        }
        if (code === "EPIPE" || code === "ECONNRESET") {
          // The other process has gone, but what it wrote before it went may still be
          // unread here: the read side ends the link once that is read, not this write.
          this.#peerGone = true;
          return false;
        }
        if (code === "EBADF") {
          this.#close();
          return false;
        }
        throw error;
      }
    }
    return true;
  }

  /** Reads what has arrived without waiting (dispatching its frames); true if anything came. */
  pumpSync(): boolean {
    if (this.#closed) return false;
    let read: number;
    try {
      read = readSync(this.#fd, this.#scratch, 0, this.#scratch.length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") return false;
      this.#close();
      return true;
    }
    if (read === 0) {
      this.#close();
      return true;
    }
    this.#feed(Buffer.from(this.#scratch.subarray(0, read)));
    return true;
  }

  /** A short pause between two `pumpSync()` calls that found nothing: `round` 0, 1, 2 ... */
  static idle(round: number, deadline: number): void {
    if (round < 32) return; // ~30 µs of polling first: a reply is often that close
    const left = deadline - performance.now();
    if (left <= 0) return;
    Atomics.wait(pause, 0, 0, Math.min(left, round < 64 ? 0.05 : round < 128 ? 0.2 : 1));
  }

  #feed(chunk: Buffer): void {
    let data = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    while (data.length >= 4) {
      const size = data.readUInt32LE(0);
      if (data.length < 4 + size) break;
      const kind = data[4];
      const dest = data.readUInt32LE(5);
      const body = data.subarray(HEADER, 4 + size);
      data = data.subarray(4 + size);
      this.#onFrame(kind, dest, body);
    }
    this.#buffered = data;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#onClose();
  }
}
