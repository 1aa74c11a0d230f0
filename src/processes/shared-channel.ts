/**
 * A client thread's line to one owning process: four FIFOs in the owner's server
 * directory (manager-server.ts), served there by an agent thread of its own.
 *
 *   req   every call, written with `fs.writeSync` in call order (sync and async alike,
 *         so that a pipelined release is always seen before the next acquire)
 *   srep  answers to blocking calls, read with a blocking `fs.readSync` by the caller
 *         (after a short spin on a second, non-blocking descriptor: spin-read.ts)
 *   arep  answers to async calls, read by this thread's event loop
 *   ack   acknowledgements of leased queue items, which the agent reads only when it
 *         needs them (before its next lease, and when the client is gone): an
 *         acknowledgement must be in the kernel before its item is handed over, but
 *         nobody has to wake up for it. A consumer's loop is an acknowledgement per item,
 *         and waking the agent for each cost a third of the loop (BENCHMARKS.md).
 *
 * Each thread of a process has its own channels (a proxy used from two threads is two
 * client threads to the owner, as two threads are two owners of an RLock).
 */
import { closeSync, constants, open, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import { join } from "node:path";
import { currentIdent } from "../core/identity.js";
import { beforeThreadEnd } from "../core/thread-end.js";
import { RuntimeError } from "../core/errors.js";
import { decodeError, type EncodedError } from "../transport/errors.js";
import { acceptPath, claimFifos, makeFifos, type FifoPaths, type Registration } from "./manager-server.js";
import { CANCEL, CONFIRM, FrameReader, Route, SCRATCH, Status, requestFrame, scratchAck, scratchCall, type Reply, type Request } from "./manager-wire.js";
import { decodeInProcess } from "./shared-encode.js";
import { SPIN_MS, readWithin, writeNow } from "./spin-read.js";
import { deserialize } from "node:v8";

/** How long a client keeps trying to register with an owner whose acceptor is not reading yet (ms). */
const REGISTER_PATIENCE_MS = 5000;

let channelCount = 0;

/** One line to one owner. */
export class Channel {
  readonly #address: string;
  readonly #ownerPid: number;
  readonly #req: number;
  /** The acknowledgement FIFO, non-blocking: an acknowledgement that finds it full goes on `#req`. */
  readonly #ack: number;
  readonly #srepPath: string;
  readonly #arepPath: string;
  readonly #srep: number;
  /** The same FIFO, non-blocking: what the caller spins on before it sleeps on `#srep`. */
  readonly #srepPoll: number;
  #arep: Socket | undefined;
  #arepOpening = false;
  #closed: Error | undefined;
  #nextCall = 1;
  readonly #handles = new Map<string, number>();
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  readonly #reader = new FrameReader();
  readonly #syncReader = new FrameReader();
  readonly #chunk = Buffer.allocUnsafe(64 * 1024);
  /** One-way frames of async calls (puts) not yet written: written together at the end of this turn, or before any other frame. */
  #outbox: Buffer[] = [];
  #outboxWaiters: Array<() => void> = [];
  /** Pipelined calls were written since the last answer to a blocking call. */
  #unconfirmed = false;

  constructor(address: string, ownerPid: number) {
    this.#address = address;
    this.#ownerPid = ownerPid;
    const dir = join(address, `c-${process.pid}-${currentIdent}-${++channelCount}`);
    const claimed = claimFifos(address, dir);
    let fifos: FifoPaths;
    try {
      fifos = claimed ?? makeFifos(dir);
    } catch (error) {
      throw this.#gone(error);
    }
    const registration: Registration = { pid: process.pid, thread: currentIdent, ...fifos, dir, fromStock: claimed !== undefined };
    this.#srepPath = registration.srep;
    this.#arepPath = registration.arep;
    // O_RDWR: opening does not wait for the agent, and this is the FIFO's only writer, so
    // the agent sees end-of-file exactly when this process is gone.
    this.#req = openSync(registration.req, constants.O_RDWR);
    // Held open from here, so that what is written to it stays there until the agent reads
    // it, even after this process is gone (the agent opens it before it answers anything).
    this.#ack = openSync(registration.ack, constants.O_RDWR | constants.O_NONBLOCK);
    register(address, `${JSON.stringify(registration)}\n`, () => this.#gone());
    // Blocks until the agent has opened its ends (it opens req first): from here on, what
    // this thread writes reaches it even if this process exits at once.
    this.#srep = openSync(this.#srepPath, constants.O_RDONLY);
    this.#srepPoll = openSync(this.#srepPath, constants.O_RDONLY | constants.O_NONBLOCK);
    unlinkQuietly(this.#srepPath);
  }

  /** A blocking call: sends it and blocks this thread until the answer. */
  callSync(id: string, method: string, args: unknown[]): unknown {
    const call = this.#nextCall++;
    this.#send(call, id, method, args, Route.Sync);
    return this.#answerTo(call);
  }

  /**
   * Blocks until the owner has run every pipelined call of this thread (a release, a set,
   * a one-way put), if any is not known to have run: an answer to a blocking call means
   * that everything written before it has run. A child calls this before it says it has
   * ended, so that its parent's `join()` finds them done, as Python's synchronous Manager
   * calls are.
   */
  confirm(): void {
    if (!this.#unconfirmed || this.#closed !== undefined) return;
    const call = this.#nextCall++;
    this.#write([call, 0, CONFIRM, [], Route.Sync]);
    this.#answerTo(call);
  }

  #answerTo(call: number): unknown {
    for (;;) {
      const [answered, status, value] = this.#readSync();
      if (answered === 0) {
        warnPipelined(value);
        continue;
      }
      this.#unconfirmed = false;
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
    this.#unconfirmed = true;
  }

  /**
   * A pipelined call of an async caller: coalesced with the others of this turn of the
   * event loop into one write; resolves once it is written (in the FIFO, it reaches the
   * owner even if this process dies).
   */
  postSoon(id: string, method: string, args: unknown[]): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    try {
      this.#outbox.push(requestFrame(this.#request(0, id, method, args, Route.None)));
      this.#unconfirmed = true;
    } catch (error) {
      return Promise.reject(error);
    }
    const written = new Promise<void>((resolve) => this.#outboxWaiters.push(resolve));
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
    return written;
  }

  #flush(): void {
    if (this.#outbox.length === 0) return;
    const bytes = this.#outbox.length === 1 ? this.#outbox[0] : Buffer.concat(this.#outbox);
    const waiters = this.#outboxWaiters;
    this.#outbox = [];
    this.#outboxWaiters = [];
    this.#writeAll(bytes);
    for (const resolve of waiters) resolve();
  }

  #send(call: number, id: string, method: string, args: unknown[], route: Route): void {
    if (this.#closed !== undefined) throw this.#closed;
    // The common call (a known object, primitive arguments, nothing coalesced before it)
    // is made in the scratch buffer and written from there: a producer's loop allocates
    // nothing per put.
    const handle = this.#handles.get(id);
    if (handle !== undefined && this.#outbox.length === 0) {
      const length = scratchCall(call, handle, method, args, route);
      if (length >= 0) return this.#writeAll(SCRATCH, length);
    }
    this.#write(this.#request(call, id, method, args, route));
  }

  #request(call: number, id: string, method: string, args: unknown[], route: Route): Request {
    let handle = this.#handles.get(id);
    const first = handle === undefined;
    if (handle === undefined) this.#handles.set(id, (handle = this.#handles.size + 1));
    return first ? [call, handle, method, args, route, id] : [call, handle, method, args, route];
  }

  /** Writes a frame, after the coalesced ones before it (the owner sees calls in call order). */
  #write(request: Request): void {
    if (this.#outbox.length > 0) {
      this.#outbox.push(requestFrame(request));
      this.#flush();
    } else {
      this.#writeAll(requestFrame(request));
    }
  }

  #writeAll(bytes: Buffer, length = bytes.length): void {
    for (let done = 0; done < length; ) done += writeSync(this.#req, bytes, done, length - done);
  }

  #outcome(call: number, status: Status, value: unknown): unknown {
    if (status === Status.Failed) throw decodeError(value as EncodedError, `in process ${this.#ownerPid}`);
    // A lease of queue items, `[firstDeliveryId, ...items]`: the proxy acknowledges and decodes each as it hands it over.
    if (status === Status.OkAck) return value;
    return decodeInProcess(value);
  }

  /**
   * Acknowledges a delivered queue item, before it is handed to the caller: once the
   * write returns, the owner will read it even if this process dies at once, and the
   * item is this process's (the owner puts back only what was never acknowledged).
   */
  ack(delivery: number): void {
    if (this.#closed !== undefined) throw this.#closed;
    const length = scratchAck(delivery);
    // Eight bytes, below PIPE_BUF: written whole or not at all. Where it is not (the FIFO
    // is full), the request FIFO takes it, which the agent always reads.
    if (writeNow(this.#ack, SCRATCH, length) === length) return;
    if (this.#outbox.length > 0) this.#flush();
    this.#writeAll(SCRATCH, length);
  }

  /** Reads one answer from the sync FIFO, blocking; reads as much as is there, keeping the rest for the next answer. */
  #readSync(): Reply {
    for (;;) {
      const message = this.#syncReader.next();
      if (message !== undefined) return message as Reply;
      let n = readWithin(this.#srepPoll, this.#chunk, SPIN_MS);
      if (n < 0) n = readSync(this.#srep, this.#chunk, 0, this.#chunk.length, null);
      if (n === 0) throw this.#close(this.#gone());
      this.#syncReader.add(this.#chunk.subarray(0, n));
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

/**
 * Confirms every channel of this thread (see {@link Channel.confirm}); an owner that has
 * gone is passed over. Run at the end of each thread (a thread's channels outlive it on its
 * carrier), so that joining a thread of this process implies what it pipelined has run.
 */
export function confirmPosted(): void {
  for (const channel of channels.values()) {
    try {
      channel.confirm();
    } catch {
      // Its owner has gone: nothing is left to wait for there.
    }
  }
}

beforeThreadEnd(confirmPosted);

/** This thread's channel to the owner at `address`, made on first use. */
export function channelTo(address: string, ownerPid: number): Channel {
  let channel = channels.get(address);
  if (channel === undefined) channels.set(address, (channel = new Channel(address, ownerPid)));
  return channel;
}
