/**
 * Where a new thread's worker comes from. The main thread owns the carriers (so that the
 * threads keep the process alive as Python's do), so a thread that starts a thread asks
 * the main thread for a carrier, and gets the outcome back on a port of its own: the
 * child's carrier posts it there directly, before marking the thread finished, so
 * `joinSync` in the starting thread finds it without the main thread's help.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type ResourceLimits } from "node:worker_threads";
import { isHomeThread } from "../core/identity.js";
import { decodeError } from "../transport/errors.js";
import { takeCarrier, type CarrierClient } from "./carrier.js";
import type { CrashedMessage, DoneMessage, RunMessage, SpawnMessage } from "./protocol.js";
import { setNativeId } from "../core/thread-table.js";

/** A started thread, as its starter holds it. */
export interface Launched {
  /** Handles, synchronously, an outcome that has already been posted (for joinSync). */
  pump(): void;
}

let starterPort: MessagePort | undefined;
const children = new Map<number, { client: CarrierClient; port: MessagePort }>();

/** Starts `run` on a carrier, reporting to `client`. */
export function launch(run: RunMessage, client: CarrierClient, resourceLimits?: ResourceLimits): Launched {
  if (isHomeThread) {
    const carrier = takeCarrier(resourceLimits);
    setNativeId(run.slot, carrier.threadId);
    carrier.run(run, client);
    return { pump: () => carrier.pump() };
  }
  if (starterPort === undefined) throw new Error("weft: internal error: a carrier has no port to its home thread");
  const { port1, port2 } = new MessageChannel();
  const settle = (message: DoneMessage): void => {
    if (children.delete(run.ident)) {
      port1.close();
      client.finished(message);
    }
  };
  const spawn: SpawnMessage = { type: "spawn", run: { ...run, replyPort: port2 }, resourceLimits };
  try {
    starterPort.postMessage(spawn, [port2]);
  } catch (error) {
    // The arguments could not be cloned after all (a MessagePort, a Proxy): nothing was sent.
    port1.close();
    port2.close();
    throw error;
  }
  port1.on("message", settle);
  children.set(run.ident, { client, port: port1 });
  return {
    pump: () => {
      const received = receiveMessageOnPort(port1);
      if (received !== undefined) settle(received.message as DoneMessage);
    },
  };
}

/** @internal A carrier installs the port to the main thread it asks for carriers on. */
export function setStarterPort(port: MessagePort): void {
  starterPort = port;
}

/** @internal The main thread reports that a child's worker died. */
export function deliverCrash(message: CrashedMessage): void {
  const child = children.get(message.ident);
  if (child === undefined) return;
  children.delete(message.ident);
  child.port.close();
  child.client.crashed(decodeError(message.error, "") as Error, message.exitCode);
}
