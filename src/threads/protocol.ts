/**
 * The messages between the main thread and a carrier (a warm worker that runs threads one
 * after another). Thread state that others wait on lives in the control cells, in shared
 * memory; the messages carry what cannot: the target, arguments and result.
 */
import type { Packet } from "../transport/encode.js";
import type { EncodedError } from "../transport/errors.js";
import type { TargetDescriptor } from "../transport/target.js";
import type { WeftConfig } from "../core/config.js";
import type { MessagePort, ResourceLimits } from "node:worker_threads";

/** Control cell [0] of a thread: its lifecycle, parked on by joinSync. */
export const RUNNING = 1;
export const FINISHED = 2;

/** Main -> carrier: run this thread now. */
export interface RunMessage {
  readonly type: "run";
  readonly ident: number;
  readonly name: string;
  readonly daemon: boolean;
  readonly slot: number;
  readonly target: TargetDescriptor;
  readonly args: Packet;
  readonly control: Int32Array;
  readonly config: WeftConfig;
  /** Set when a thread started the thread: its result goes straight back there. */
  readonly replyPort?: MessagePort;
}

/** Main -> a carrier of its own: run the service `name` (threads/services.ts) until the worker ends. */
export interface ServiceMessage {
  readonly type: "service";
  readonly name: string;
  readonly payload: unknown;
}

/** How a thread's target ended. */
export type Outcome = { readonly ok: true; readonly result: Packet } | { readonly ok: false; readonly error: EncodedError };

/**
 * Carrier -> starter: the thread ended. `retire` asks main for the carrier to be replaced.
 * (A thread started by a thread gets the outcome on its reply port; main gets the bare news.)
 */
export type DoneMessage = { readonly type: "done"; readonly ident: number; readonly nativeId: number; readonly retire: boolean } & Outcome;

/** Carrier -> main: a thread asks for a thread to be started on another carrier. */
export interface SpawnMessage {
  readonly type: "spawn";
  readonly run: RunMessage;
  readonly resourceLimits: ResourceLimits | undefined;
}

/** Main -> carrier: a thread that this carrier's thread started died with its worker. */
export interface CrashedMessage {
  readonly type: "crashed";
  readonly ident: number;
  readonly error: EncodedError;
  readonly exitCode: number;
}

/** What a carrier is given when it starts. */
export interface CarrierData {
  /** Tells weft, as it loads in the worker, that it runs on a carrier (core/identity.ts). */
  readonly __weftCarrier: true;
  readonly port: MessagePort;
  readonly identCounter: SharedArrayBuffer;
  readonly registry: SharedArrayBuffer;
  readonly heap: SharedArrayBuffer;
}
