/**
 * An agent: the daemon thread of the owning process that serves one client thread of
 * another process (see manager-server.ts for why one per client thread).
 *
 * It reads calls `(handle, method, args)` from the client's request FIFO and runs each on
 * the real object with the object's async forms, so that many calls of one client (its
 * event loop's async tasks) wait at once, as async tasks of one thread do; it answers on
 * the FIFO the call names (sync or async). Every wait is given the agent's abort signal.
 *
 * What can be answered at once (an uncontended acquire, an item already there) is
 * answered in the same turn, without a promise. A queue `get` answers a lease (see
 * `deliver`); a `put` sent one way (an unbounded queue) runs as `putNowait`.
 *
 * When the client's end of the request FIFO closes (its process died or exited), the
 * agent aborts the waits it still has, puts back every queue item it handed out that the
 * client did not acknowledge (so none is lost and none is taken twice), and ends. Locks
 * the client still held stay held by the ended agent: the next acquirer takes them over
 * with LockOwnerDiedError, as after a thread's death.
 */
import { closeSync, constants, openSync, readSync, rmSync, unlinkSync } from "node:fs";
import { Socket } from "node:net";
import { encodeError } from "../transport/errors.js";
import { Queue, SimpleQueue } from "../queue/queue.js";
import type { Registration } from "./manager-server.js";
import { CANCEL, CONFIRM, FrameReader, Route, Status, replyFrame, type Reply, type Request } from "./manager-wire.js";
import { decodeInProcess, encodeForProcess, localObject } from "./shared-encode.js";
import { NOT_NOW, methodsOf, type Call } from "./manager-methods.js";
import { SPIN_MS, readWithin, writeNow } from "./spin-read.js";

/** An item handed to the client, until it acknowledges it. */
interface Delivery {
  readonly queue: Queue | SimpleQueue;
  readonly item: unknown;
}

/** The longest one turn of the agent keeps reading a client that keeps calling (ms). */
const SPIN_TURN_MS = 2;

/** Turns of the loop the agent's closed pipes are given to be gone before it ends. */
const CLOSING_TURNS = 8;

/** The most items one `get` leases to a client that takes them in a loop. */
const LEASE_MAX = 256;

/** The agent thread's target: serves one client thread until its process goes. */
export async function serveClient(registration: Registration): Promise<void> {
  const requestFd = openSync(registration.req, constants.O_RDONLY | constants.O_NONBLOCK);
  const requests = new Socket({ fd: requestFd, readable: true, writable: false });
  // Opened before the reply FIFOs, whose opening the client waits for: no acknowledgement
  // can be written before this end is open (there is no lease before the first answer).
  const ackFd = openSync(registration.ack, constants.O_RDONLY | constants.O_NONBLOCK);
  const syncReplyFd = openSync(registration.srep, constants.O_RDWR | constants.O_NONBLOCK);
  const replies: Record<Route.Sync | Route.Async, Socket> = {
    [Route.Sync]: new Socket({ fd: syncReplyFd, readable: false, writable: true }),
    [Route.Async]: new Socket({ fd: openSync(registration.arep, constants.O_RDWR | constants.O_NONBLOCK), readable: false, writable: true }),
  };
  unlinkQuietly(registration.req);
  unlinkQuietly(registration.ack);
  // A reply FIFO's failure is the client's going, which the request FIFO reports; an
  // 'error' left unhandled would end the agent before it cleans up.
  for (const socket of Object.values(replies)) socket.on("error", () => {});
  const gone = new AbortController();
  const objects = new Map<number, unknown>();
  const running = new Map<number, { readonly abort: AbortController; readonly done: Promise<void> }>();
  const deliveries = new Map<number, Delivery>();
  const reader = new FrameReader();

  /** Whether this turn answered a blocking call (whose caller tends to call again at once). */
  let answeredSync = false;
  const answer = (route: Route, reply: Reply): void => {
    if (route === Route.None || gone.signal.aborted) return;
    const bytes = replyFrame(reply);
    if (route === Route.Sync) {
      answeredSync = true;
      // The caller is blocked on it: written at once, past the stream, unless the stream
      // still holds earlier bytes (order) or the FIFO is full.
      if (replies[Route.Sync].writableLength === 0) {
        const written = writeNow(syncReplyFd, bytes);
        if (written === bytes.length) return;
        replies[Route.Sync].write(bytes.subarray(written));
        return;
      }
    }
    replies[route as Route.Sync | Route.Async].write(bytes);
  };

  const fail = (call: number, route: Route, error: unknown): void => {
    // A pipelined call has nobody waiting: its failure goes to the client as a warning.
    answer(route === Route.None ? Route.Sync : route, [route === Route.None ? 0 : call, Status.Failed, encodeError(error)]);
  };

  const acks = new FrameReader();
  const ackChunk = Buffer.allocUnsafe(8 * 1024);
  /** Reads the acknowledgements the client has written so far to the ack FIFO. */
  const readAcks = (): void => {
    for (;;) {
      let n: number;
      try {
        n = readSync(ackFd, ackChunk, 0, ackChunk.length, null);
      } catch {
        return; // EAGAIN: nothing more there.
      }
      if (n === 0) return;
      for (const id of acks.push(ackChunk.subarray(0, n))) deliveries.delete(id as number);
    }
  };

  let nextDelivery = 1;
  /**
   * A `get` answers a lease: the item got and up to `lease - 1` more that are there at
   * once (a client that takes items in a loop asks for more each time), each with a
   * delivery id that the client acknowledges before it hands the item to its caller.
   * What was never acknowledged when the client goes is put back.
   */
  const deliver = (call: number, route: Route, queue: Queue | SimpleQueue, first: unknown, lease: number): void => {
    // The earlier leases' acknowledgements, so that what is kept here stays about a lease.
    if (deliveries.size > 0) readAcks();
    const firstId = nextDelivery;
    const items: unknown[] = [firstId];
    for (let item = first, n = 0; ; ) {
      deliveries.set(nextDelivery++, { queue, item });
      items.push(encodeForProcess(item, "item"));
      if (++n >= lease || queue.empty()) break;
      try {
        item = queue.getNowait();
      } catch {
        break; // Another consumer took it meanwhile.
      }
    }
    answer(route, [call, Status.OkAck, items]);
  };

  const settle = (call: number, route: Route, method: string, target: unknown, result: unknown, args: unknown[]): void => {
    if ((method === "get" || method === "getNowait") && (target instanceof Queue || target instanceof SimpleQueue)) {
      deliver(call, route, target, result, Math.min(LEASE_MAX, Math.max(1, Number(args[1] ?? 1) | 0)));
    } else if (route !== Route.None) {
      answer(route, [call, Status.Ok, encodeForProcess(result, "result")]);
    }
  };

  const handle = (request: Request): void => {
    const [call, handleId, method, args, route, id] = request;
    if (method === CONFIRM) {
      answer(route, [call, Status.Ok, undefined]);
      return;
    }
    if (method === CANCEL) {
      running.get(handleId)?.abort.abort(new Error("cancelled by the client"));
      return;
    }
    let target = objects.get(handleId);
    try {
      if (target === undefined) {
        if (id === undefined) throw new Error(`weft: unknown process-shared object handle ${handleId}`);
        target = localObject(id);
        objects.set(handleId, target);
      }
      // A one-way put (unbounded queues) cannot wait: its non-blocking form, at once.
      const name = route === Route.None && method === "put" ? "putNowait" : method;
      const run = methodsOf(target)[name] as Call | undefined;
      if (run === undefined) throw new TypeError(`weft: ${describeTarget(target)} has no remote method ${method}`);
      // In place: the array is this request's alone (and a lease size, args[1], stays a number).
      for (let i = 0; i < args.length; i++) args[i] = decodeInProcess(args[i]);
      const decoded = args;
      if (!run.waits) {
        settle(call, route, method, target, run(target as never, decoded, gone.signal), args);
        return;
      }
      // What can be done at once is answered at once (no promise, no turn of this loop).
      if (run.now !== undefined) {
        const now = run.now(target as never, decoded);
        if (now !== NOT_NOW) {
          settle(call, route, method, target, now, args);
          return;
        }
      }
      // Its own controller, aborted when the client cancels it or goes (AbortSignal.any on
      // the agent's long-lived signal would pile up listeners, one per call).
      const abort = new AbortController();
      const done = Promise.resolve(run(target as never, decoded, abort.signal)).then(
        (result) => settle(call, route, method, target, result, args),
        (error: unknown) => fail(call, route, error),
      ).finally(() => running.delete(call));
      running.set(call, { abort, done });
    } catch (error) {
      fail(call, route, error);
    }
  };

  await new Promise<void>((resolve) => {
    const take = (chunk: Buffer): void => {
      for (const message of reader.push(chunk)) {
        if (typeof message === "number") deliveries.delete(message);
        else handle(message as Request);
      }
    };
    const spun = Buffer.allocUnsafe(64 * 1024);
    requests.on("data", (chunk: Buffer) => {
      answeredSync = false;
      take(chunk);
      // After a blocking call's answer, read on while the client keeps talking before this
      // loop sleeps: its next call (a release, the next acquire) tends to follow at once.
      // Bounded, so that this loop's own waits still settle.
      if (!answeredSync) return;
      const stop = performance.now() + SPIN_TURN_MS;
      while (performance.now() < stop) {
        const n = readWithin(requestFd, spun, SPIN_MS);
        if (n <= 0) break; // nothing came, or end of file (which the socket reports)
        take(spun.subarray(0, n));
      }
    });
    requests.on("end", resolve);
    requests.on("error", () => resolve());
  });
  // The client has gone: nobody can receive an answer any more.
  const reason = new Error("the client process has gone");
  gone.abort(reason);
  for (const entry of running.values()) entry.abort.abort(reason);
  await Promise.allSettled([...running.values()].map((entry) => entry.done));
  // Everything it acknowledged is in the FIFO (written before the item was handed over).
  readAcks();
  closeSync(ackFd);
  for (const { queue, item } of deliveries.values()) await putBack(queue, item);
  unlinkQuietly(registration.srep);
  unlinkQuietly(registration.arep);
  rmSync(registration.dir, { recursive: true, force: true });
  requests.destroy();
  for (const socket of Object.values(replies)) socket.destroy();
  // The agent ends once its pipes are gone, a turn or two after they close: a carrier
  // that a thread leaves with a handle still open is retired, and the next client's
  // agent would boot on a fresh worker and compile its code again (a fresh agent per
  // short-lived child made the parent's side of a child's queue loop ~40% slower).
  for (let turn = 0; turn < CLOSING_TURNS && process.getActiveResourcesInfo().includes("PipeWrap"); turn++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Returns an item whose delivery was not acknowledged. Its put is not a new task: a
 * queue with task tracking is told one task is done, so that `join()` still balances.
 */
async function putBack(queue: Queue | SimpleQueue, item: unknown): Promise<void> {
  try {
    await queue.put(item);
    if (queue instanceof Queue) queue.taskDone();
  } catch (error) {
    process.emitWarning(`weft: an item a dead process did not receive could not be put back in its queue: ${String(error)}`);
  }
}

function describeTarget(target: unknown): string {
  return typeof target === "object" && target !== null ? target.constructor.name : typeof target;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
