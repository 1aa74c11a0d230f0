/**
 * The messages between the main thread and a carrier (a warm worker that runs threads one
 * after another). Thread state that others wait on lives in the control cells, in shared
 * memory; the messages carry what cannot: the target, arguments and result.
 */
import type { Packet } from "../transport/encode.js";
import type { EncodedError } from "../transport/errors.js";
import type { TargetDescriptor } from "../transport/target.js";
import type { WeftConfig } from "../core/config.js";
import type { MessagePort } from "node:worker_threads";

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
}

/** Carrier -> main: the thread ended. `retire` asks for the carrier to be replaced. */
export type DoneMessage =
  | { readonly type: "done"; readonly ident: number; readonly ok: true; readonly result: Packet; readonly retire: boolean }
  | { readonly type: "done"; readonly ident: number; readonly ok: false; readonly error: EncodedError; readonly retire: boolean };

/** What a carrier is given when it starts. */
export interface CarrierData {
  readonly port: MessagePort;
  readonly identCounter: SharedArrayBuffer;
  readonly registry: SharedArrayBuffer;
}
