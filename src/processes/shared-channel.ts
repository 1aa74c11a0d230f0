/**
 * A client thread's line to one owning process: three FIFOs in the owner's server
 * directory (manager-server.ts), served there by an agent thread of its own.
 *
 *   req   every call, written with `fs.writeSync` in call order (sync and async alike,
 *         so that a pipelined release is always seen before the next acquire)
 *   srep  answers to blocking calls, read with a blocking `fs.readSync` by the caller
 *   arep  answers to async calls, read by this thread's event loop
 *
 * Each thread of a process has its own channels (a proxy used from two threads is two
 * client threads to the owner, as two threads are two owners of an RLock).
 */
import { execFileSync } from "node:child_process";
import { closeSync, constants, open, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { currentIdent } from "../core/identity.js";
import { RuntimeError } from "../core/errors.js";
import { decodeError, type EncodedError } from "../transport/errors.js";
import { acceptPath, type Registration } from "./manager-server.js";
import { ACK, CANCEL, FrameReader, Route, Status, frame, type Reply, type Request } from "./manager-wire.js";
import { decodeInProcess } from "./shared-encode.js";
import { deserialize } from "node:v8";

/** How long a client keeps trying to register with an owner whose acceptor is not reading yet (ms). */
const REGISTER_PATIENCE_MS = 5000;

let channelCount = 0;

/** One line to one owner. */
export class Channel {
  readonly #address: string;
  readonly #ownerPid: number;
  readonly #req: number;
  readonly #srepPath: string;
  readonly #arepPath: string;
  readonly #srep: number;
  #arep: Socket | undefined;
  #arepOpening = false;
  #closed: Error | undefined;
  #nextCall = 1;
  readonly #handles = new Map<string, number>();
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  readonly #reader = new FrameReader();
  #header = Buffer.allocUnsafe(4);

  constructor(address: string, ownerPid: number) {
    this.#address = address;
    this.#ownerPid = ownerPid;
    const base = join(address, `c-${process.pid}-${currentIdent}-${++channelCount}`);
    const registration: Registration = { pid: process.pid, thread: currentIdent, req: `${base}.req`, srep: `${base}.srep`, arep: `${base}.arep` };
    try {
      execFileSync("mkfifo", ["-m", "600", registration.req, registration.srep, registration.arep]);
    } catch (error) {
      throw this.#gone(error);
    }
    this.#srepPath = registration.srep;
    this.#arepPath = registration.arep;
    // O_RDWR: opening does not wait for the agent, and this is the FIFO's only writer, so
    // the agent sees end-of-file exactly when this process is gone.
    this.#req = openSync(registration.req, constants.O_RDWR);
    register(address, `${JSON.stringify(registration)}\n`, () => this.#gone());
    // Blocks until the agent has opened its ends (it opens req first): from here on, what
    // this thread writes reaches it even if this process exits at once.
    this.#srep = openSync(this.#srepPath, constants.O_RDONLY);
    unlinkQuietly(this.#srepPath);
  }

  /** A blocking call: sends it and blocks this thread until the answer. */
  callSync(id: string, method: string, args: unknown[]): unknown {
    const call = this.#nextCall++;
    this.#send(call, id, method, args, Route.Sync);
    for (;;) {
      const [answered, status, value] = this.#readSync();
      if (answered === 0) {
        warnPipelined(value);
        continue;
      }
      return this.#outcome(call, status, value);
    }
  }

  /** An async call; `signal` cancels it at the owner (what had already happened, stays: its answer is kept). */
  callAsync(id: string, method: string, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const call = this.#nextCall++;
    const answer = new Promise<unknown>((resolve, reject) => this.#pending.set(call, { resolve, reject }));
    try {
      this.#openAsyncReplies();
      this.#send(call, id, method, args, Route.Async);
      // A pending answer is work: it keeps the event loop alive.
      this.#arep?.ref();
    } catch (error) {
      this.#pending.delete(call);
      return Promise.reject(error);
    }
    if (signal !== undefined) {
      const cancel = (): void => {
        if (this.#pending.has(call) && this.#closed === undefined) this.#write([0, call, CANCEL, [], Route.None]);
      };
      signal.addEventListener("abort", cancel, { once: true });
      void answer.then(
        () => signal.removeEventListener("abort", cancel),
        () => signal.removeEventListener("abort", cancel),
      );
    }
    return answer;
  }

  /** A pipelined call: nobody waits for it (a failure is reported as a warning). */
  post(id: string, method: string, args: unknown[]): void {
    this.#send(0, id, method, args, Route.None);
  }

  #send(call: number, id: string, method: string, args: unknown[], route: Route): void {
    if (this.#closed !== undefined) throw this.#closed;
    let handle = this.#handles.get(id);
    const first = handle === undefined;
    if (handle === undefined) this.#handles.set(id, (handle = this.#handles.size + 1));
    this.#write(first ? [call, handle, method, args, route, id] : [call, handle, method, args, route]);
  }

  #write(request: Request): void {
    const bytes = frame(request);
    for (let done = 0; done < bytes.length; ) done += writeSync(this.#req, bytes, done, bytes.length - done);
  }

  #outcome(call: number, status: Status, value: unknown): unknown {
    if (status === Status.Failed) throw decodeError(value as EncodedError, `in process ${this.#ownerPid}`);
    // Acknowledged before it is handed over: from here on, the item is this process's.
    if (status === Status.OkAck) this.#write([0, call, ACK, [], Route.None]);
    return decodeInProcess(value);
  }

  /** Reads one answer from the sync FIFO, blocking. */
  #readSync(): Reply {
    this.#readFully(this.#header, 4);
    const length = this.#header.readUInt32LE(0);
    const body = Buffer.allocUnsafe(length);
    this.#readFully(body, length);
    return deserialize(body) as Reply;
  }

  #readFully(into: Buffer, length: number): void {
    for (let got = 0; got < length; ) {
      const n = readSync(this.#srep, into, got, length - got, null);
      if (n === 0) throw this.#close(this.#gone());
      got += n;
    }
  }

  #openAsyncReplies(): void {
    if (this.#arep !== undefined || this.#arepOpening) return;
    this.#arepOpening = true;
    // Opened off the event loop: the open waits for the agent's end.
    open(this.#arepPath, constants.O_RDONLY, (error, fd) => {
      if (error !== null) {
        this.#close(this.#gone(error));
        return;
      }
      unlinkQuietly(this.#arepPath);
      const socket = new Socket({ fd, readable: true, writable: false });
      this.#arep = socket;
      if (this.#pending.size === 0) socket.unref();
      socket.on("data", (chunk: Buffer) => {
        for (const message of this.#reader.push(chunk)) this.#answered(message as Reply);
      });
      socket.on("end", () => this.#close(this.#gone()));
      socket.on("error", (failure) => this.#close(this.#gone(failure)));
    });
  }

  #answered([call, status, value]: Reply): void {
    if (call === 0) return warnPipelined(value);
    const pending = this.#pending.get(call);
    if (pending === undefined) return;
    this.#pending.delete(call);
    if (this.#pending.size === 0) this.#arep?.unref();
    try {
      pending.resolve(this.#outcome(call, status, value));
    } catch (error) {
      pending.reject(error);
    }
  }

  #close(error: Error): Error {
    if (this.#closed === undefined) {
      this.#closed = error;
      channels.delete(this.#address);
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
      this.#arep?.destroy();
    }
    return error;
  }

  #gone(cause?: unknown): Error {
    return new RuntimeError(`the process that owns this shared object (pid ${this.#ownerPid}) has exited or cannot be reached`, { cause });
  }

}

/** Writes a registration line to the owner's `accept` FIFO. */
function register(address: string, line: string, gone: () => Error): void {
  const started = performance.now();
  for (;;) {
    let fd: number;
    try {
      fd = openSync(acceptPath(address), constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      // ENXIO: nobody reads it (the owner has exited); ENOENT: no such server.
      if ((error as NodeJS.ErrnoException).code === "ENXIO" && performance.now() - started < REGISTER_PATIENCE_MS) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw gone();
    }
    try {
      writeSync(fd, line);
    } finally {
      closeQuietly(fd);
    }
    return;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function warnPipelined(value: unknown): void {
  const error = decodeError(value as EncodedError, "in the owning process");
  process.emitWarning(`weft: a pipelined call on a process-shared object failed: ${String(error)}`);
}

/** This thread's channels, by owner address. */
const channels = new Map<string, Channel>();

/** This thread's channel to the owner at `address`, made on first use. */
export function channelTo(address: string, ownerPid: number): Channel {
  let channel = channels.get(address);
  if (channel === undefined) channels.set(address, (channel = new Channel(address, ownerPid)));
  return channel;
}
